// demo.js - the ownauth demo page (www/index.html): sign in, show the
// access token's claims and expiry, force a refresh, sign out. Every
// value from a token is shown through textContent (never as HTML).
import { createAuth, decodeJwt } from './ownauth.js';

const $ = (id) => document.getElementById(id);
const cfg = document.body.dataset;
const auth = createAuth({
	issuer: cfg.issuer || location.origin,
	clientId: cfg.clientId || 'demo',
	redirectUri: cfg.redirectUri || `${location.origin}${location.pathname}`,
});

let busy = false;

function status(state, text) {
	const s = $('status');
	s.dataset.state = state;
	s.textContent = text;
}

function showToken(token) {
	const c = decodeJwt(token) || {};
	$('token-jti').textContent = `jti ${c.jti ?? '?'} · iat ${c.iat ?? '?'}`;
	$('token-jti').dataset.jti = c.jti ?? '';
	$('token-jti').dataset.iat = String(c.iat ?? '');
}

function render() {
	const c = auth.claims();
	const inside = c !== null;
	$('signed-in').hidden = !inside;
	$('signed-out').hidden = inside;
	if (inside) {
		$('claims').textContent = JSON.stringify(c, null, 2);
		if (!busy) {
			const who = c.email || c.name || c.sub || '?';
			status('signed-in', `Signed in as ${who}`);
		}
		tick();
	} else {
		$('claims').textContent = '';
		$('token-jti').textContent = '';
		if (!busy && $('status').dataset.state !== 'error')
			status('signed-out', 'Signed out');
	}
}

function tick() {
	const at = auth.expiresAt();
	if (at === null)
		return;
	const left = Math.round((at - Date.now()) / 1000);
	$('expires').textContent = left > 0 ? `expires in ${left} s` : 'expired';
	$('expires').dataset.seconds = String(left);
}

function failed(what, e) {
	const msg = e && e.code ? `${e.code}${e.description ? `: ${e.description}` : ''}` : String(e);
	status('error', `${what} failed: ${msg}`);
}

$('signin').addEventListener('click', async () => {
	$('signin').disabled = true;
	try {
		await auth.signIn();
	} catch (e) {
		$('signin').disabled = false;
		failed('Sign-in', e);
	}
});

$('refresh').addEventListener('click', async () => {
	busy = true;
	$('refresh').disabled = true;
	status('refreshing', 'Refreshing…');
	try {
		const t = await auth.fetchAccessToken({ forceRefreshToken: true });
		busy = false;
		if (t === null) {
			status('signed-out', 'Signed out (the session has ended)');
		} else {
			showToken(t);
			render();
		}
	} catch (e) {
		busy = false;
		failed('Refresh', e);
	} finally {
		$('refresh').disabled = false;
	}
});

$('signout').addEventListener('click', async () => {
	busy = true;
	$('signout').disabled = true;
	try {
		await auth.signOut();
	} finally {
		busy = false;
		$('signout').disabled = false;
		status('signed-out', 'Signed out');
		render();
	}
});

// Another tab signed in, refreshed or signed out.
auth.onChange((st) => {
	if (st.loading) {
		status('loading', 'Signing in…');
		return;
	}
	render();
	const t = auth.claims() ? auth.fetchAccessToken() : null;
	if (t)
		t.then((tok) => tok && showToken(tok), () => {});
});
setInterval(tick, 1000);

try {
	if (await auth.handleRedirect())
		status('signed-in', 'Signed in');
} catch (e) {
	failed('Sign-in', e);
}
render();
if (auth.isSignedIn()) {
	// The cached token, or a refreshed one when it is about to expire.
	const t = await auth.fetchAccessToken().catch(() => null);
	if (t)
		showToken(t);
	render();
}
document.documentElement.dataset.ready = '1';
