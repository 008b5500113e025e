#!/usr/bin/env node
// browser.mjs - the demo page and www/ownauth.js driven in headless
// Chromium (SPEC §8, §9 "the whole flow driven in headless Chromium").
//
//   node tests/e2e/browser.mjs --base http://127.0.0.1:PORT [--client demo]
//        [--out DIR] [--mock] [--email E]
//
// --base is the issuer, which also serves www/ at / (etc/demo.sh's layout,
// or mock_issuer.mjs). --mock: the server is mock_issuer.mjs, whose
// /mock/stats lets the test check the cross-tab rules exactly (no rotated
// refresh token ever presented when Web Locks serialise the tabs).
//
// What it checks, in one fresh browser profile:
//  - the page loads with no console error (its CSP allows no third party);
//  - fetchAccessToken() is null when signed out;
//  - Sign in: the authorization request carries code + PKCE S256, state,
//    nonce; the dev provider's form; back on the page the URL holds no
//    code/state/iss; claims shown; the access token verifies with jose
//    against the server's JWKS (iss, aud = client, exp);
//  - expiry countdown; screenshot of the signed-in page;
//  - "Refresh (force)" shows a new jti; forced refreshes always give a
//    different token, a plain fetch gives the cached one;
//  - two tabs refreshing at the same moment (with Web Locks, and without
//    them - then the server's refresh_reuse_window must absorb the race):
//    both get a token, both stay signed in, the family is not revoked;
//  - sign-out: every tab signed out, the refresh token revoked
//    (invalid_grant afterwards);
//  - a refresh answered invalid_grant signs the tab out;
//  - unknown state, an iss of another issuer (RFC 9207) and an error=
//    response are refused and shown, without any call to /token.
//
// Prints "ok N - ..." / "not ok N - ..." lines; exits 1 on any failure.

import { join } from 'node:path';
import { parseArgs, usageOf } from '../upstream/serve.mjs';
import { check, decode, eq, forceRefresh, must, notOk, ok, provokedTokenError, refreshGrant,
	runInChromium, screenshot, sentVerifier, settled, shownClaims, signedOut, state, storeKey,
	stored, testsDir, verifyAt } from './chromium.mjs';

const usage = usageOf('browser.mjs',
    'usage: browser.mjs --base URL [--client C] [--out DIR] [--mock]');
const opts = parseArgs(process.argv.slice(2),
    { base: null, client: 'demo', out: join(testsDir, 'out'), mock: false,
	email: 'alice@example.com', name: 'Alice Example' },
    { '--base': 'base', '--client': 'client', '--out': 'out', '--email': 'email',
	'--mock': 'mock' }, usage);
if (!opts.base)
	usage();
const BASE = opts.base;
const CLIENT = opts.client;
const NAME = opts.mock ? 'browser(mock)' : 'browser';

async function stats() {
	if (!opts.mock)
		return null;
	const r = await fetch(`${BASE}/mock/stats`);
	return r.json();
}

// In a page: a fresh ownauth.js instance for this client (same storage as
// the demo page's own).
const AUTH = `const m = await import('/ownauth.js');
	const auth = m.createAuth({ issuer: location.origin, clientId: CLIENT,
		redirectUri: location.origin + '/', ...(EXTRA || {}) });`;
function inPage(page, body, arg = {}) {
	// eslint-disable-next-line no-new-func
	return page.evaluate(new Function('A', `return (async () => {
		const CLIENT = A.client, EXTRA = A.extra, ARG = A.arg;
		${AUTH}
		${body}
	})();`), { client: CLIENT, extra: arg.extra || null, arg: arg.arg ?? null });
}

const ready = (page) => settled(page, ['signed-in', 'signed-out', 'error']);

const tokenRequests = [];	// every request to /token seen by any page
const pageErrors = [];

function watch(page, label) {
	page.on('console', (m) => {
		if (m.type() === 'error' && !provokedTokenError(m, BASE))
			pageErrors.push(`${label} console: ${m.text()}`);
	});
	page.on('pageerror', (e) => pageErrors.push(`${label} pageerror: ${e.message}`));
	page.on('request', (r) => {
		if (new URL(r.url()).pathname === '/token')
			tokenRequests.push(r.postData() || '');
	});
}

// Fills and submits the dev provider's form (SPEC §6: type any email and
// name) on whatever page login.fcgi rendered.
async function devForm(page, email, name) {
	await page.waitForSelector('input[name="email"]', { timeout: 15000 });
	await page.fill('input[name="email"]', email);
	if (await page.$('input[name="name"]'))
		await page.fill('input[name="name"]', name);
	const submit = await page.$('form button[type="submit"], form input[type="submit"], form button:not([type])');
	if (submit)
		await submit.click();
	else
		await page.$eval('input[name="email"]', (e) => e.form.requestSubmit());
}

async function signIn(page, email) {
	const authorizeUrls = [];
	const onReq = (r) => {
		const u = new URL(r.url());
		if (u.pathname.startsWith('/oauth/') && r.isNavigationRequest())
			authorizeUrls.push(u);
	};
	page.on('request', onReq);
	await page.click('#signin');
	await devForm(page, email, 'Alice Example');
	await settled(page, ['signed-in', 'error']);
	page.off('request', onReq);
	return authorizeUrls;
}

await runInChromium(NAME, 15000, async (ctx) => {
	const page = ctx.pages()[0] || await ctx.newPage();
	watch(page, 'tab1');

	// --- signed out ---
	await page.goto(`${BASE}/`);
	await ready(page);
	eq('page loads signed out', await state(page), 'signed-out');
	check('#signin visible', await page.isVisible('#signin'));
	eq('fetchAccessToken() is null when signed out',
	    await inPage(page, 'return await auth.fetchAccessToken();'), null);
	eq('fetchAccessToken({forceRefreshToken:true}) is null when signed out',
	    await inPage(page, 'return await auth.fetchAccessToken({ forceRefreshToken: true });'), null);
	const conv = await inPage(page, `const a = auth.convexAuth(), b = auth.convexAuth();
		return [a === b, a.isLoading, a.isAuthenticated, typeof a.fetchAccessToken,
			m.useAuthForConvex(auth) === a];`);
	eq('convexAuth(): stable snapshot, not loading, not authenticated', JSON.stringify(conv),
	    JSON.stringify([true, false, false, 'function', true]));

	// --- sign in through the dev provider ---
	const t0 = Math.floor(Date.now() / 1000);
	const navs = await signIn(page, opts.email);
	const az = navs.find((u) => u.searchParams.has('code_challenge'));
	must('the authorization request went to {issuer}/oauth/authorize',
	    az && az.origin === BASE && az.pathname === '/oauth/authorize', navs.map(String).join(' '));
	eq('authorization request: response_type=code', az.searchParams.get('response_type'), 'code');
	eq('authorization request: client_id', az.searchParams.get('client_id'), CLIENT);
	eq('authorization request: redirect_uri', az.searchParams.get('redirect_uri'), `${BASE}/`);
	eq('authorization request: code_challenge_method=S256',
	    az.searchParams.get('code_challenge_method'), 'S256');
	check('authorization request: S256 challenge is 43 base64url chars',
	    /^[A-Za-z0-9_-]{43}$/.test(az.searchParams.get('code_challenge') || ''));
	check('authorization request: random state and nonce',
	    (az.searchParams.get('state') || '').length >= 22 && (az.searchParams.get('nonce') || '').length >= 22);
	eq('authorization request: scope', az.searchParams.get('scope'), 'openid email profile');
	must('signed in through the dev provider', (await state(page)) === 'signed-in',
	    await page.textContent('#status'));
	const loc = new URL(page.url());
	eq('the redirect URI shows no code/state/iss any more', `${loc.pathname}${loc.search}`, '/');
	check('the code exchange sent the PKCE verifier', sentVerifier(tokenRequests));
	eq('sign-in left no in-flight state in sessionStorage',
	    await page.evaluate(() => Object.keys(sessionStorage).filter((k) => k.startsWith('ownauth:')).length), 0);

	const rec1 = await stored(page, BASE, CLIENT);
	must('tokens stored', rec1 && typeof rec1.access_token === 'string' && rec1.refresh_token !== undefined);
	const shown = await shownClaims(page);
	must('#claims shows the decoded claims as JSON', shown && typeof shown === 'object');
	const c1 = decode(rec1.access_token);
	eq('#claims = the access token payload', JSON.stringify(shown), JSON.stringify(c1));
	eq('claim iss = issuer', c1.iss, BASE);
	eq('claim aud = the client (one string)', c1.aud, CLIENT);
	eq('claim email', c1.email, opts.email);
	check('claim sub: ASCII, 1..64 chars', /^[\x21-\x7e]{1,64}$/.test(c1.sub || ''), c1.sub);
	check('claims jti, sid present', !!c1.jti && !!c1.sid);
	check('claim iat is now', c1.iat >= t0 - 5 && c1.iat <= Math.floor(Date.now() / 1000) + 5,
	    `iat ${c1.iat}, test started ${t0}`);
	check('claim exp > iat', c1.exp > c1.iat);
	try {
		const { payload, protectedHeader } = await verifyAt(BASE, CLIENT, rec1.access_token);
		ok(`jose verifies the access token against the JWKS (${protectedHeader.alg}, kid ${protectedHeader.kid})`);
		eq('verified sub = shown sub', payload.sub, shown.sub);
		eq('header typ JWT', protectedHeader.typ, 'JWT');
	} catch (e) {
		notOk(`jose verifies the access token against the JWKS: ${e.message}`);
	}
	if (rec1.id_token) {
		const idc = decode(rec1.id_token);
		eq('ID token aud = client id', idc && idc.aud, CLIENT);
		check('ID token carries the nonce of the request', idc && idc.nonce === az.searchParams.get('nonce'));
	}
	const secs = Number(await page.$eval('#expires', (e) => e.dataset.seconds));
	check('#expires counts down from the token lifetime',
	    secs > 0 && secs <= c1.exp - c1.iat, `${secs} s, lifetime ${c1.exp - c1.iat} s`);
	check('#expires text', /^expires in \d+ s$/.test(await page.textContent('#expires')));
	await screenshot(page, opts.out, opts.mock ? 'signed-in-mock.png' : 'signed-in.png');

	// --- refresh ---
	const rec2 = await forceRefresh(page, BASE, CLIENT, rec1);
	const c2 = decode(rec2.access_token);
	check('forced refresh: a different jti, shown', c2.jti !== c1.jti &&
	    (await page.$eval('#token-jti', (e) => e.dataset.jti)) === c2.jti);
	check('forced refresh: iat not older', c2.iat >= c1.iat);
	eq('forced refresh: same session (sid)', c2.sid, c1.sid);
	check('forced refresh: refresh token rotated', rec2.refresh_token !== rec1.refresh_token ||
	    rec1.refresh_token === null);
	eq('#claims follows the new token', (JSON.parse(await page.textContent('#claims'))).jti, c2.jti);

	const seq = await inPage(page, `
		const a = await auth.fetchAccessToken({ forceRefreshToken: false });
		const b = await auth.fetchAccessToken({ forceRefreshToken: false });
		const c = await auth.fetchAccessToken({ forceRefreshToken: true });
		const d = await auth.fetchAccessToken({ forceRefreshToken: true });
		const e = await auth.fetchAccessToken();
		return [a, b, c, d, e];`);
	eq('fetchAccessToken(): the cached token', seq[0], rec2.access_token);
	eq('fetchAccessToken() again: the same string', seq[1], seq[0]);
	check('force: a new token', typeof seq[2] === 'string' && seq[2] !== seq[1]);
	check('force again: yet another token', typeof seq[3] === 'string' && seq[3] !== seq[2] && seq[3] !== seq[1]);
	eq('then fetchAccessToken(): the newest', seq[4], seq[3]);

	// Reload: the session survives, no refresh needed.
	const nTok = tokenRequests.length;
	await page.reload();
	await ready(page);
	eq('after reload: signed in', await state(page), 'signed-in');
	eq('after reload: no token request (cached token still valid)', tokenRequests.length, nTok);

	// --- two tabs at the same moment ---
	const page2 = await ctx.newPage();
	watch(page2, 'tab2');
	await page2.goto(`${BASE}/`);
	await ready(page2);
	eq('second tab: signed in from the shared storage', await state(page2), 'signed-in');

	// The refresh tokens presented to /token since request number `from`.
	const presented = (from) => tokenRequests.slice(from).map((b) => new URLSearchParams(b))
	    .filter((f) => f.get('grant_type') === 'refresh_token').map((f) => f.get('refresh_token'));

	// race(label, extra, hold): both tabs force a refresh at the same
	// moment. hold: the two /token requests are held until both have been
	// sent, then released together (without the lock both tabs then
	// present the same refresh token to the server, concurrently).
	async function race(label, extra, hold) {
		const before = await stored(page, BASE, CLIENT);
		const s0 = await stats();
		const from = tokenRequests.length;
		const held = [];
		let release = null;
		const gate = new Promise((r) => { release = r; });
		const timer = setTimeout(() => release(), 10000);
		const isToken = (u) => u.origin === BASE && u.pathname === '/token';
		const holdIt = async (route) => {
			held.push(route);
			if (held.length === 2)
				release();
			await gate;
			await route.continue();
		};
		if (hold) {
			await page.route(isToken, holdIt);
			await page2.route(isToken, holdIt);
		}
		// Both tabs wait for one BroadcastChannel message, then force a
		// refresh in the same task.
		const body = `const ch = new BroadcastChannel('oa-go');
			await new Promise((r) => { ch.onmessage = r; });
			ch.close();
			return await auth.fetchAccessToken({ forceRefreshToken: true });`;
		const arm = (p) => inPage(p, `window.__armed = (window.__armed || 0) + 1; ${body}`, { extra });
		const r1 = arm(page), r2 = arm(page2);
		await page.waitForFunction(() => window.__armed > 0);
		await page2.waitForFunction(() => window.__armed > 0);
		await page.evaluate(() => {
			window.__armed = 0;
			const ch = new BroadcastChannel('oa-go');
			ch.postMessage('go');
			ch.close();
		});
		await page2.evaluate(() => { window.__armed = 0; });
		const [a, b] = await Promise.all([r1, r2]);
		clearTimeout(timer);
		if (hold) {
			await page.unroute(isToken);
			await page2.unroute(isToken);
		}
		const race = presented(from);
		if (hold) {
			check(`${label}: both tabs presented the same refresh token at once (a real race)`,
			    race.length === 2 && race[0] === race[1] && held.length === 2,
			    `${held.length} request(s) held, ${new Set(race).size} distinct token(s)`);
		} else {
			check(`${label}: no refresh token presented twice`,
			    race.length >= 1 && new Set(race).size === race.length,
			    `${race.length} presented, ${new Set(race).size} distinct`);
		}
		check(`${label}: tab 1 got a token`, typeof a === 'string' && a.length > 0, String(a));
		check(`${label}: tab 2 got a token`, typeof b === 'string' && b.length > 0, String(b));
		check(`${label}: both differ from the token before`, a !== before.access_token && b !== before.access_token);
		eq(`${label}: same session in both`, decode(b)?.sid, decode(a)?.sid);
		// The family lives on: each tab refreshes again, one after the other.
		const n1 = await inPage(page, 'return await auth.fetchAccessToken({ forceRefreshToken: true });');
		const n2 = await inPage(page2, 'return await auth.fetchAccessToken({ forceRefreshToken: true });');
		check(`${label}: tab 1 refreshes again afterwards (family not revoked)`, typeof n1 === 'string', String(n1));
		check(`${label}: tab 2 refreshes again afterwards (family not revoked)`, typeof n2 === 'string', String(n2));
		eq(`${label}: tab 1 still signed in`, await state(page), 'signed-in');
		eq(`${label}: tab 2 still signed in`, await state(page2), 'signed-in');
		const s1 = await stats();
		return s0 && s1 ? {
			grants: s1.refreshGrants - s0.refreshGrants,
			rotated: s1.rotatedPresented - s0.rotatedPresented,
			siblings: s1.siblings - s0.siblings,
			revoked: s1.familiesRevoked - s0.familiesRevoked,
		} : null;
	}
	// Five rounds: the hand-over between tabs is a matter of milliseconds.
	for (const round of [1, 2, 3, 4, 5]) {
		const locked = await race(`two tabs, Web Locks, round ${round}`);
		if (locked) {
			eq('Web Locks: no rotated refresh token was ever presented', locked.rotated, 0);
			eq('Web Locks: one refresh grant for both tabs, plus the two afterwards', locked.grants, 3);
			eq('Web Locks: no family revoked', locked.revoked, 0);
		}
	}
	const unlocked = await race('two tabs, no lock (server reuse window)', { crossTabLock: false }, true);
	if (unlocked) {
		eq('no lock: the server gave the second tab a sibling', unlocked.siblings, 1);
		eq('no lock: no family revoked', unlocked.revoked, 0);
	}

	// --- sign-out ---
	const recOut = await stored(page, BASE, CLIENT);
	await page.click('#signout');
	await signedOut(page);
	ok('Sign out: tab 1 signed out');
	eq('Sign out: tokens removed', await stored(page, BASE, CLIENT), null);
	await signedOut(page2);
	ok('Sign out: tab 2 follows (storage event)');
	check('Sign out: #signin shown again', await page2.isVisible('#signin'));
	if (recOut.refresh_token) {
		const r = await refreshGrant(page, recOut.refresh_token, CLIENT);
		eq('Sign out revoked the refresh token: invalid_grant', r[1] && r[1].error, 'invalid_grant');
		check('  with status 400', r[0] === 400, `status ${r[0]}`);
	}
	await page2.close();

	// --- invalid_grant ends the session ---
	await signIn(page, opts.email);
	must('signed in again', (await state(page)) === 'signed-in', await page.textContent('#status'));
	// An unknown refresh token and an expired access token, in both
	// copies of the record (IndexedDB is the one a refresh reads).
	const gone = await page.evaluate(async (k) => {
		const r = JSON.parse(localStorage.getItem(k));
		r.refresh_token = 'x'.repeat(43);
		r.expires_at = 0;
		localStorage.setItem(k, JSON.stringify(r));
		const db = await new Promise((res, rej) => {
			const q = indexedDB.open('ownauth');
			q.onsuccess = () => res(q.result);
			q.onerror = () => rej(q.error);
		});
		await new Promise((res, rej) => {
			const tx = db.transaction('session', 'readwrite');
			tx.objectStore('session').put(r, k);
			tx.oncomplete = res;
			tx.onerror = () => rej(tx.error);
		});
		db.close();
		return true;
	}, storeKey(BASE, CLIENT));
	check('tampered the stored refresh token', gone);
	eq('refresh answered invalid_grant: fetchAccessToken() -> null',
	    await inPage(page, 'return await auth.fetchAccessToken();'), null);
	eq('... and the session is cleared', await stored(page, BASE, CLIENT), null);
	await page.reload();
	await ready(page);
	eq('... the page shows signed out', await state(page), 'signed-out');

	// --- refused redirects: no call to /token ---
	let n0 = tokenRequests.length;
	await page.goto(`${BASE}/?code=${'A'.repeat(43)}&state=nope&iss=${encodeURIComponent(BASE)}`);
	await ready(page);
	eq('unknown state: error shown', await state(page), 'error');
	check('unknown state: invalid_state', /invalid_state/.test(await page.textContent('#status')));
	eq('unknown state: no token request', tokenRequests.length, n0);
	eq('unknown state: URL cleaned', new URL(page.url()).search, '');

	async function forged(label, params, want) {
		const isAuthorize = (u) => u.origin === BASE && u.pathname === '/oauth/authorize';
		await page.route(isAuthorize, (route) => {
			const u = new URL(route.request().url());
			const q = new URLSearchParams(params);
			q.set('state', u.searchParams.get('state'));
			route.fulfill({ status: 302, headers: { Location: `${BASE}/?${q}` } });
		});
		n0 = tokenRequests.length;
		await page.click('#signin');
		await page.waitForFunction(() => document.documentElement.dataset.ready === '1' &&
		    document.getElementById('status').dataset.state === 'error');
		await page.unroute(isAuthorize);
		const text = await page.textContent('#status');
		check(`${label}: refused with ${want}`, text.includes(want), text);
		eq(`${label}: no token request`, tokenRequests.length, n0);
		eq(`${label}: URL cleaned`, new URL(page.url()).search, '');
		eq(`${label}: signed out`, await stored(page, BASE, CLIENT), null);
	}
	await forged('iss of another issuer (RFC 9207)',
	    { code: 'B'.repeat(43), iss: 'http://evil.example' }, 'invalid_issuer');
	await forged('no iss with a code (RFC 9207)', { code: 'C'.repeat(43) }, 'invalid_issuer');
	await forged('error=access_denied', { error: 'access_denied', error_description: 'User <b>cancelled</b>',
		iss: BASE }, 'access_denied: User <b>cancelled</b>');
	check('error description shown as text, not HTML', (await page.$('#status b')) === null);

	eq('no console error or page error in any tab', pageErrors.join(' | '), '');
});
