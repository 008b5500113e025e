// ownauth.js - browser helper for an ownauth server (SPEC §8).
//
// A dependency-free ES module for single-page apps: it starts sign-in
// (authorization code + PKCE S256, RFC 7636), handles the redirect back
// (state, RFC 9207 `iss`, ID token nonce), keeps the tokens, hands out an
// access token with the exact contract of Convex's `setAuth` /
// `ConvexProviderWithAuth` (`fetchAccessToken({forceRefreshToken})`),
// serialises refresh-token rotation across tabs with Web Locks, and signs
// out (RFC 7009 revocation, optional OIDC RP-Initiated Logout).
//
//   import { createAuth } from './ownauth.js';
//   const auth = createAuth({
//     issuer: 'https://auth.example.com',          // no trailing slash
//     clientId: 'web',                             // a [client web] section
//     redirectUri: 'https://app.example.com/',     // listed in redirect_uris
//   });
//   await auth.handleRedirect();   // on every page load: true after sign-in
//   if (!auth.isSignedIn()) button.onclick = () => auth.signIn();
//   const token = await auth.fetchAccessToken();  // string, or null
//
// Convex (convex/react), with React's useSyncExternalStore - this module
// imports nothing, so the two lines of glue live in the app:
//
//   import { useSyncExternalStore } from 'react';
//   import { ConvexProviderWithAuth } from 'convex/react';
//   function useOwnauth() {
//     return useSyncExternalStore(auth.onChange, auth.convexAuth);
//   }
//   <ConvexProviderWithAuth client={convex} useAuth={useOwnauth}>
//
// `auth.convexAuth()` (also exported as `useAuthForConvex(auth)`) returns
// {isLoading, isAuthenticated, fetchAccessToken}: the same object until
// one of the two flags changes, and always the same fetchAccessToken
// function (Convex calls setAuth again whenever its identity changes).
// Without React: `convex.setAuth(auth.fetchAccessToken)` once signed in,
// `convex.clearAuth()` after signOut().
//
// Where tokens live: shared by the tabs of the app's origin, in
// IndexedDB (database "ownauth") and localStorage (key
// "ownauth:{issuer}:{clientId}"). localStorage gives synchronous reads and
// "storage" events to the other tabs, but Chromium propagates it between
// tabs asynchronously: a tab taking the refresh lock right after another
// released it may still see the old refresh token there. IndexedDB's
// transactions are ordered across tabs, so the refresh reads the record
// from there and never presents a refresh token that another tab has
// already rotated. The in-flight sign-in (PKCE verifier, state, nonce)
// stays in sessionStorage of the tab that started it.
// localStorage is readable by any script on the origin: an app that
// worries about XSS sets `refresh_token_delivery = cookie` for its client
// on the server and `refreshTokenDelivery: 'cookie'` here, so that the
// refresh token stays in an HttpOnly cookie of the issuer.
//
// Requires a secure context (https, or http on localhost / 127.0.0.1):
// WebCrypto's SHA-256 is not available elsewhere.

const DEFAULT_SCOPE = 'openid email profile';
const FLIGHT_TTL_MS = 10 * 60 * 1000;	// the server's login cookie lives 10 min
const FETCH_TIMEOUT_MS = 15000;		// a hung request must not hold the lock
const RETRY_DELAYS_MS = [0, 500, 2000];	// transient refresh failures
// Parameters of an authorization response (RFC 6749 §4.1.2, RFC 9207),
// removed from the address bar once handled.
const RESPONSE_PARAMS = ['code', 'state', 'iss', 'error', 'error_description',
	'error_uri', 'session_state'];

/**
 * An OAuth error: `code` is the RFC 6749 error code (`access_denied`,
 * `invalid_grant`, ...) or one of ours (`invalid_state`, `invalid_issuer`,
 * `invalid_id_token`, `invalid_response`, `network_error`,
 * `insecure_context`); `description` the server's error_description.
 */
export class OwnAuthError extends Error {
	constructor(code, description, status) {
		super(description ? `${code}: ${description}` : code);
		this.name = 'OwnAuthError';
		this.code = code;
		this.description = description || '';
		this.status = status || 0;
	}
}

// --- encoding helpers ------------------------------------------------------

function b64url(bytes) {
	let s = '';
	for (let i = 0; i < bytes.length; i++)
		s += String.fromCharCode(bytes[i]);
	return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

// 32 random bytes -> 43 base64url characters (RFC 7636 §4.1: a verifier
// of 43-128 characters from the unreserved set).
function randomToken(nbytes = 32) {
	const a = new Uint8Array(nbytes);
	crypto.getRandomValues(a);
	return b64url(a);
}

async function s256(text) {
	if (!globalThis.crypto || !crypto.subtle)
		throw new OwnAuthError('insecure_context',
		    'WebCrypto is unavailable: serve the app over https (or from localhost)');
	const d = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
	return b64url(new Uint8Array(d));
}

/**
 * Decodes a JWT's payload without verifying it (the browser got the token
 * straight from the token endpoint over TLS, OIDC Core §3.1.3.7 item 6;
 * the app's backend verifies it). Returns an object, or null.
 */
export function decodeJwt(token) {
	if (typeof token !== 'string')
		return null;
	const parts = token.split('.');
	if (parts.length !== 3)
		return null;
	try {
		let s = parts[1].replace(/-/g, '+').replace(/_/g, '/');
		s += '='.repeat((4 - (s.length % 4)) % 4);
		const bin = atob(s);
		const bytes = new Uint8Array(bin.length);
		for (let i = 0; i < bin.length; i++)
			bytes[i] = bin.charCodeAt(i);
		const v = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
		return v && typeof v === 'object' && !Array.isArray(v) ? v : null;
	} catch {
		return null;
	}
}

function delay(ms) {
	return new Promise((resolve) => setTimeout(resolve, ms));
}

// Storage that degrades to memory where the browser refuses it (Safari
// private windows throw on setItem; sandboxed iframes throw on access).
function safeStorage(get) {
	let s = null;
	try {
		s = get();
		const probe = '__ownauth_probe__';
		s.setItem(probe, '1');
		s.removeItem(probe);
	} catch {
		const m = new Map();
		s = {
			getItem: (k) => (m.has(k) ? m.get(k) : null),
			setItem: (k, v) => { m.set(k, String(v)); },
			removeItem: (k) => { m.delete(k); },
			key: (i) => Array.from(m.keys())[i] ?? null,
			get length() { return m.size; },
		};
	}
	return s;
}

// --- createAuth ------------------------------------------------------------

/**
 * createAuth(options) -> auth
 *
 * options:
 *   issuer        the ownauth issuer URL, exactly as in ownauth.conf
 *   clientId      the [client NAME] of this app
 *   redirectUri   where the server sends the browser back (one of the
 *                 client's redirect_uris, byte for byte)
 *   scope         default "openid email profile"
 *   postLogoutRedirectUri   default for signOut({redirect: true})
 *   refreshTokenDelivery    'body' (default) or 'cookie': must match the
 *                 client's refresh_token_delivery; 'cookie' sends the
 *                 requests with credentials (the issuer's CORS must allow
 *                 them when it is another origin)
 *   refreshMargin seconds before expiry at which a cached token is no
 *                 longer handed out (default 30; at most half the
 *                 token's lifetime)
 *   crossTabLock  default true: serialise refreshes across tabs with Web
 *                 Locks (false: only within this tab; the server's
 *                 refresh_reuse_window then absorbs the races)
 */
export function createAuth(options) {
	const o = options || {};
	if (typeof o.issuer !== 'string' || !/^https?:\/\/[^/?#]+(\/[^?#]*)?$/.test(o.issuer) ||
	    o.issuer.endsWith('/'))
		throw new TypeError('ownauth: issuer must be an http(s) URL without a trailing slash');
	if (typeof o.clientId !== 'string' || o.clientId === '')
		throw new TypeError('ownauth: clientId is required');
	if (typeof o.redirectUri !== 'string' || o.redirectUri === '')
		throw new TypeError('ownauth: redirectUri is required');
	const issuer = o.issuer;
	const clientId = o.clientId;
	const redirectUri = o.redirectUri;
	const scope = o.scope || DEFAULT_SCOPE;
	const cookieMode = o.refreshTokenDelivery === 'cookie';
	const marginMs = (o.refreshMargin ?? 30) * 1000;
	const useLocks = o.crossTabLock !== false;
	const credentials = cookieMode ? 'include' : 'same-origin';

	const local = safeStorage(() => globalThis.localStorage);
	const session = safeStorage(() => globalThis.sessionStorage);
	const KEY = `ownauth:${issuer}:${clientId}`;
	const FLIGHT = `ownauth:flight:${issuer}:${clientId}:`;
	const LOCK = `ownauth-refresh-${clientId}`;

	const listeners = new Set();
	const pending = new Map();	// handleRedirect calls in progress, by URL
	let lastHanded = null;		// the token this tab last handed out
	let loading = 0;		// handleRedirect calls running
	let lastError = null;
	let tabChain = Promise.resolve();	// lock fallback within the tab
	let storageListener = null;
	let snapshot = null;

	// --- the stored session ---

	// The session record: {access_token, id_token, refresh_token (null in
	// cookie mode), expires_at (ms, this machine's clock), lifetime (ms),
	// sid, id (random, one per sign-in)}.
	function valid(v) {
		return v && typeof v === 'object' && typeof v.access_token === 'string' &&
		    typeof v.id === 'string' ? v : null;
	}

	// read(): the record as this tab's localStorage shows it - at once,
	// but possibly a few milliseconds behind another tab's write (Chromium
	// propagates localStorage between renderer processes asynchronously).
	// Good enough to hand out a cached token; not to pick the refresh
	// token to present.
	function read() {
		try {
			return valid(JSON.parse(local.getItem(KEY) || 'null'));
		} catch {
			return null;
		}
	}

	// load(): the authoritative record, from IndexedDB, whose transactions
	// are ordered across tabs: read under the refresh lock, it shows what
	// the previous holder committed before releasing it. localStorage is
	// brought in line. Falls back on localStorage without IndexedDB.
	async function load() {
		const db = await idb();
		if (!db)
			return read();
		let v;
		try {
			v = valid(await idbReq(db, 'readonly', (st) => st.get(KEY)));
		} catch {
			return read();
		}
		const l = read();
		if (v === null ? l !== null : !l || l.access_token !== v.access_token || l.id !== v.id) {
			try {
				if (v === null)
					local.removeItem(KEY);
				else
					local.setItem(KEY, JSON.stringify(v));
			} catch {
				/* quota: the IndexedDB copy is the one that counts */
			}
		}
		return v;
	}

	// save(rec): IndexedDB first (committed before the lock is released),
	// then localStorage, whose storage event tells the other tabs.
	async function save(rec) {
		const db = await idb();
		if (db)
			await idbReq(db, 'readwrite', (st) => st.put(rec, KEY)).catch(() => {});
		local.setItem(KEY, JSON.stringify(rec));
	}

	// drop(): the session is gone, here at once, then in IndexedDB.
	async function drop() {
		local.removeItem(KEY);
		const db = await idb();
		if (db)
			await idbReq(db, 'readwrite', (st) => st.delete(KEY)).catch(() => {});
	}

	// The IndexedDB database "ownauth", object store "session", one
	// record per issuer and client; null when IndexedDB is unavailable.
	let dbPromise = null;
	function idb() {
		if (dbPromise)
			return dbPromise;
		dbPromise = new Promise((resolve) => {
			let req = null;
			try {
				req = globalThis.indexedDB ? indexedDB.open('ownauth', 1) : null;
			} catch {
				req = null;
			}
			if (!req)
				return resolve(null);
			req.onupgradeneeded = () => req.result.createObjectStore('session');
			req.onsuccess = () => {
				const db = req.result;
				db.onversionchange = () => {
					db.close();
					dbPromise = null;
				};
				resolve(db);
			};
			req.onerror = () => resolve(null);
			req.onblocked = () => resolve(null);
		});
		return dbPromise;
	}

	// One request in its own transaction: resolves to its result once the
	// transaction has completed (for readwrite: committed).
	function idbReq(db, mode, fn) {
		return new Promise((resolve, reject) => {
			let tx, r;
			try {
				tx = db.transaction('session', mode);
				r = fn(tx.objectStore('session'));
			} catch (e) {
				return reject(e);
			}
			tx.oncomplete = () => resolve(r.result);
			tx.onerror = () => reject(tx.error);
			tx.onabort = () => reject(tx.error);
		});
	}

	// fresh: the access token may still be handed out (not within the
	// margin of its expiry).
	function fresh(rec) {
		if (!rec || !rec.access_token)
			return false;
		const margin = Math.min(marginMs, (rec.lifetime || 0) / 2);
		return rec.expires_at - Date.now() > margin;
	}

	// A token response (RFC 6749 §5.1) -> a session record.
	function record(body, id, prev) {
		if (!body || typeof body.access_token !== 'string' || body.access_token === '' ||
		    typeof body.token_type !== 'string' || body.token_type.toLowerCase() !== 'bearer')
			throw new OwnAuthError('invalid_response', 'the token response has no bearer access_token');
		let lifetime = Number(body.expires_in);
		if (!Number.isFinite(lifetime) || lifetime <= 0) {
			// No expires_in: fall back on the token's own exp - iat.
			const c = decodeJwt(body.access_token);
			lifetime = c && c.exp && c.iat ? c.exp - c.iat : 300;
		}
		const claims = decodeJwt(body.access_token) || {};
		let refresh = typeof body.refresh_token === 'string' ? body.refresh_token : null;
		if (refresh === null && !cookieMode && prev)
			refresh = prev.refresh_token;	// a server that did not rotate
		return {
			access_token: body.access_token,
			id_token: typeof body.id_token === 'string' ? body.id_token :
			    (prev ? prev.id_token : null),
			refresh_token: refresh,
			expires_at: Date.now() + lifetime * 1000,
			lifetime: lifetime * 1000,
			sid: claims.sid || (prev ? prev.sid : null),
			id,
		};
	}

	// --- change notification ---

	function notify() {
		const state = { signedIn: isSignedIn(), loading: loading > 0 };
		for (const cb of Array.from(listeners)) {
			try {
				cb(state);
			} catch (e) {
				setTimeout(() => { throw e; });
			}
		}
	}

	function onStorage(e) {
		// Another tab signed in, refreshed or signed out (e.key null: localStorage.clear()).
		if (e.storageArea === globalThis.localStorage && (e.key === KEY || e.key === null))
			notify();
	}

	/**
	 * onChange(cb) -> unsubscribe(). cb({signedIn, loading}) runs after
	 * every change of the session, in this tab or another one (storage
	 * events), including refreshes. Shaped for useSyncExternalStore.
	 */
	function onChange(cb) {
		listeners.add(cb);
		if (!storageListener && typeof window !== 'undefined') {
			storageListener = onStorage;
			window.addEventListener('storage', storageListener);
		}
		return () => {
			listeners.delete(cb);
			if (listeners.size === 0 && storageListener) {
				window.removeEventListener('storage', storageListener);
				storageListener = null;
			}
		};
	}

	// --- HTTP ---

	// POST a form to {issuer}{path}. Resolves to {status, body} (body: the
	// parsed JSON or null); rejects with OwnAuthError('network_error') when
	// the request never got an answer.
	async function post(path, params, extra = {}) {
		const ctl = typeof AbortController !== 'undefined' ? new AbortController() : null;
		const timer = ctl ? setTimeout(() => ctl.abort(), FETCH_TIMEOUT_MS) : null;
		try {
			const r = await fetch(issuer + path, {
				method: 'POST',
				// Exactly this type, and only CORS-safelisted headers:
				// no preflight for a cross-origin issuer.
				headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
				body: new URLSearchParams(params).toString(),
				credentials,
				cache: 'no-store',
				signal: ctl ? ctl.signal : undefined,
				...extra,
			});
			let body = null;
			try {
				body = await r.json();
			} catch {
				body = null;
			}
			return { status: r.status, body };
		} catch (e) {
			throw new OwnAuthError('network_error', `${path}: ${e && e.message ? e.message : e}`);
		} finally {
			if (timer)
				clearTimeout(timer);
		}
	}

	function oauthError(r, what) {
		const b = r.body && typeof r.body === 'object' ? r.body : {};
		const code = typeof b.error === 'string' ? b.error :
		    (r.status >= 500 ? 'server_error' : 'invalid_response');
		const desc = typeof b.error_description === 'string' ? b.error_description :
		    `${what} answered HTTP ${r.status}`;
		return new OwnAuthError(code, desc, r.status);
	}

	// --- sign-in ---

	function flightKeys() {
		const keys = [];
		for (let i = 0; i < session.length; i++) {
			const k = session.key(i);
			if (k && k.startsWith(FLIGHT))
				keys.push(k);
		}
		return keys;
	}

	/**
	 * signIn({provider, returnTo, prompt, loginHint}) navigates to the
	 * server's authorization endpoint ({issuer}/oauth/authorize, the
	 * provider chooser) or straight to one provider
	 * ({issuer}/oauth/{provider}). returnTo: a same-origin path to show
	 * after the redirect (default: stay on the redirect URI). Resolves
	 * once the navigation has started.
	 */
	async function signIn(opts = {}) {
		const verifier = randomToken(32);
		const state = randomToken(24);
		const nonce = randomToken(24);
		const challenge = await s256(verifier);
		// Forget abandoned sign-ins of this tab (the server's cookie for
		// them has expired anyway).
		for (const k of flightKeys()) {
			try {
				const f = JSON.parse(session.getItem(k));
				if (!f || Date.now() - f.t > FLIGHT_TTL_MS)
					session.removeItem(k);
			} catch {
				session.removeItem(k);
			}
		}
		session.setItem(FLIGHT + state, JSON.stringify({
			verifier, nonce, t: Date.now(),
			returnTo: typeof opts.returnTo === 'string' ? opts.returnTo : null,
		}));
		const q = new URLSearchParams({
			response_type: 'code',
			client_id: clientId,
			redirect_uri: redirectUri,
			scope,
			state,
			nonce,
			code_challenge: challenge,
			code_challenge_method: 'S256',
		});
		if (opts.prompt)
			q.set('prompt', opts.prompt);
		if (opts.loginHint)
			q.set('login_hint', opts.loginHint);
		const where = opts.provider ? encodeURIComponent(opts.provider) : 'authorize';
		const url = `${issuer}/oauth/${where}?${q}`;
		if (opts.navigate === false)	// for tests and custom navigation
			return url;
		window.location.assign(url);
		return url;
	}

	// Removes the authorization response from the address bar (so that a
	// reload or a bookmark never replays it) and optionally moves to
	// returnTo (same origin only: never an open redirect).
	function cleanUrl(u, returnTo) {
		if (typeof history === 'undefined' || typeof location === 'undefined')
			return;
		if (location.href !== u.href)
			return;		// called with another URL: leave the page alone
		let target = null;
		if (returnTo) {
			try {
				const t = new URL(returnTo, u);
				if (t.origin === u.origin)
					target = t.pathname + t.search + t.hash;
			} catch {
				target = null;
			}
		}
		if (target === null) {
			const c = new URL(u.href);
			for (const p of RESPONSE_PARAMS)
				c.searchParams.delete(p);
			const qs = c.searchParams.toString();
			target = c.pathname + (qs ? `?${qs}` : '') + c.hash;
		}
		history.replaceState(history.state, '', target);
	}

	/**
	 * handleRedirect([url]) handles an authorization response at the
	 * redirect URI (default: the current location). Resolves to false when
	 * the URL is not one (no code/error), to true once the code has been
	 * exchanged and the tokens stored. Rejects with an OwnAuthError for an
	 * error= response (error.code = the OAuth error), an unknown or
	 * replayed state, an `iss` other than the issuer (RFC 9207 mix-up
	 * defence), a failed exchange or an ID token with the wrong
	 * iss/aud/nonce. Either way the response parameters are removed from
	 * the address bar. Calling it twice with the same URL (React strict
	 * mode) returns the same promise.
	 */
	function handleRedirect(url) {
		let u;
		try {
			u = new URL(url ?? window.location.href);
		} catch {
			return Promise.resolve(false);
		}
		const p = u.searchParams;
		if (!p.has('code') && !p.has('error'))
			return Promise.resolve(false);
		let r;
		try {
			r = new URL(redirectUri);
		} catch {
			return Promise.resolve(false);
		}
		if (u.origin !== r.origin || u.pathname !== r.pathname)
			return Promise.resolve(false);
		const key = u.href;
		if (pending.has(key))
			return pending.get(key);
		loading++;
		notify();
		const run = exchange(u).then((v) => {
			lastError = null;
			return v;
		}, (e) => {
			lastError = e;
			throw e;
		}).finally(() => {
			loading--;
			notify();
			// Keep the entry briefly so that a second call in the same
			// tick sees the same outcome, then forget it.
			setTimeout(() => pending.delete(key), 0);
		});
		pending.set(key, run);
		return run;
	}

	async function exchange(u) {
		const p = u.searchParams;
		const state = p.get('state');
		const code = p.get('code');
		const error = p.get('error');
		const iss = p.get('iss');
		let flight = null;
		if (state !== null) {
			const raw = session.getItem(FLIGHT + state);
			session.removeItem(FLIGHT + state);	// single use
			try {
				flight = raw ? JSON.parse(raw) : null;
			} catch {
				flight = null;
			}
		}
		cleanUrl(u, null);
		if (!flight || Date.now() - flight.t > FLIGHT_TTL_MS)
			throw new OwnAuthError('invalid_state', state === null ?
			    'the redirect carries no state' :
			    'unknown, expired or already used state: start the sign-in again from this tab');
		// RFC 9207 §2.4: an iss that differs from the issuer this flight
		// was sent to is a mix-up attack. ownauth always sends iss with a
		// code; an error response from an older server may lack it.
		if (iss !== null ? iss !== issuer : error === null)
			throw new OwnAuthError('invalid_issuer', iss === null ?
			    'the authorization response has no iss parameter (RFC 9207)' :
			    'the authorization response comes from another issuer (RFC 9207)');
		if (error !== null)
			throw new OwnAuthError(error, p.get('error_description') || '');
		const r = await post('/token', {
			grant_type: 'authorization_code',
			code,
			redirect_uri: redirectUri,
			code_verifier: flight.verifier,
			client_id: clientId,
		});
		if (r.status !== 200)
			throw oauthError(r, 'the token endpoint');
		const rec = record(r.body, randomToken(12), null);
		if (!cookieMode && !rec.refresh_token)
			throw new OwnAuthError('invalid_response', 'no refresh_token in the token response ' +
			    '(is the client configured with refresh_token_delivery = cookie?)');
		// OIDC Core §3.1.3.7: iss, aud and nonce of the ID token.
		if (rec.id_token) {
			const c = decodeJwt(rec.id_token);
			const aud = c && (Array.isArray(c.aud) ? c.aud : [c.aud]);
			if (!c || c.iss !== issuer || !aud.includes(clientId) ||
			    (aud.length > 1 && c.azp !== clientId))
				throw new OwnAuthError('invalid_id_token', 'ID token iss or aud mismatch');
			if (c.nonce !== flight.nonce)
				throw new OwnAuthError('invalid_id_token', 'ID token nonce mismatch');
		}
		await save(rec);
		lastHanded = null;
		notify();
		if (flight.returnTo)
			cleanUrl(new URL(window.location.href), flight.returnTo);
		return true;
	}

	// --- tokens ---

	// fn runs alone: across the origin's tabs with Web Locks, else within
	// this tab.
	function withLock(fn) {
		if (useLocks && typeof navigator !== 'undefined' && navigator.locks &&
		    typeof navigator.locks.request === 'function')
			return navigator.locks.request(LOCK, fn);
		const run = tabChain.then(fn, fn);
		tabChain = run.catch(() => {});
		return run;
	}

	/**
	 * fetchAccessToken({forceRefreshToken}) -> Promise<string | null>,
	 * the contract of Convex's setAuth / ConvexProviderWithAuth:
	 * - null when signed out (or once the session has ended: a refresh
	 *   answered invalid_grant clears it);
	 * - forceRefreshToken false: the cached access token unless it expires
	 *   within the margin, else a refreshed one;
	 * - forceRefreshToken true: a token different from the one this tab
	 *   last handed out - a fresh refresh grant, or the token another tab
	 *   has just obtained (Convex needs a different string after a forced
	 *   refresh: the server mints a new jti every time).
	 * Refreshes are serialised across tabs (Web Locks); after taking the
	 * lock it re-reads the storage, and uses a token another tab has just
	 * rotated instead of presenting the old refresh token again.
	 * A network or server failure (after retries) resolves to the cached
	 * token when it is still valid and no refresh was forced, else null
	 * without ending the session; auth.lastError() tells which.
	 */
	async function fetchAccessToken(args) {
		const force = !!(args && args.forceRefreshToken);
		const before = read();
		if (!before)
			return null;
		if (fresh(before) && (!force || (lastHanded !== null && before.access_token !== lastHanded))) {
			lastHanded = before.access_token;
			return before.access_token;
		}
		return withLock(() => refreshLocked(before, force));
	}

	async function refreshLocked(before, force) {
		const cur = await load();
		if (!cur)
			return null;		// signed out meanwhile
		// Another tab rotated while this one waited for the lock (or
		// before: this tab's localStorage may lag behind IndexedDB). Its
		// token will do - unless a forced refresh must replace exactly it.
		if (fresh(cur) && (cur.id !== before.id || cur.access_token !== before.access_token ||
		    cur.refresh_token !== before.refresh_token) &&
		    !(force && cur.access_token === lastHanded)) {
			lastHanded = cur.access_token;
			return cur.access_token;
		}
		if (!cookieMode && !cur.refresh_token) {
			await drop();
			notify();
			return null;
		}
		const params = { grant_type: 'refresh_token', client_id: clientId };
		if (!cookieMode)
			params.refresh_token = cur.refresh_token;
		let failure = null;
		for (const wait of RETRY_DELAYS_MS) {
			if (wait)
				await delay(wait);
			let r;
			try {
				r = await post('/token', params);
			} catch (e) {
				failure = e;
				continue;	// no answer: try again
			}
			if (r.status === 200) {
				let rec;
				try {
					rec = record(r.body, cur.id, cur);
				} catch (e) {
					failure = e;
					break;
				}
				const now = await load();
				if (!now || now.id !== cur.id) {
					// Signed out (or in again) while the request ran: the
					// new token must not outlive the session it belonged to.
					if (rec.refresh_token)
						revoke(rec.refresh_token);
					return now && fresh(now) ? now.access_token : null;
				}
				await save(rec);
				lastHanded = rec.access_token;
				lastError = null;
				notify();
				return rec.access_token;
			}
			failure = oauthError(r, 'the token endpoint');
			if (r.status < 500 && r.status !== 429)
				break;		// a definite answer: no retry
		}
		lastError = failure;
		// RFC 6749 §5.2: invalid_grant = the refresh token is expired,
		// revoked or reused - the session is over.
		if (failure && failure.code === 'invalid_grant') {
			const now = await load();
			if (now && now.id === cur.id) {
				await drop();
				lastHanded = null;
				notify();
			}
			return null;
		}
		if (!force && cur.expires_at > Date.now()) {
			lastHanded = cur.access_token;
			return cur.access_token;
		}
		return null;
	}

	function revoke(token) {
		// RFC 7009: 200 even for unknown tokens; best effort, keepalive so
		// that it survives a navigation.
		return post('/revoke', { token, token_type_hint: 'refresh_token', client_id: clientId },
		    { keepalive: true }).catch(() => null);
	}

	/**
	 * signOut({redirect, postLogoutRedirectUri, state}) ends the session:
	 * the local tokens are dropped at once (every tab sees it), then the
	 * refresh token is revoked at {issuer}/revoke (RFC 7009; in cookie mode
	 * {issuer}/logout, which revokes the family and clears the cookie).
	 * With redirect true it then navigates to {issuer}/logout (OIDC
	 * RP-Initiated Logout) with id_token_hint, client_id and the
	 * post_logout_redirect_uri (must be one of the client's
	 * post_logout_redirect_uris). Resolves when done (or navigating).
	 */
	async function signOut(opts = {}) {
		const s = (await load()) || read();
		await drop();
		lastHanded = null;
		notify();
		if (s && s.refresh_token)
			await revoke(s.refresh_token);
		else if (s && cookieMode)
			await post('/logout', { client_id: clientId }).catch(() => null);
		if (opts.redirect) {
			const q = new URLSearchParams({ client_id: clientId });
			const plr = opts.postLogoutRedirectUri || o.postLogoutRedirectUri;
			if (s && s.id_token)
				q.set('id_token_hint', s.id_token);
			if (plr)
				q.set('post_logout_redirect_uri', plr);
			if (opts.state)
				q.set('state', opts.state);
			window.location.assign(`${issuer}/logout?${q}`);
		}
	}

	// --- state ---

	/** isSignedIn(): a session is stored (it may still end at the next refresh). */
	function isSignedIn() {
		return read() !== null;
	}

	/** claims(): the decoded payload of the current access token, or null. */
	function claims() {
		const s = read();
		return s ? decodeJwt(s.access_token) : null;
	}

	/** expiresAt(): when the current access token expires (ms since the epoch, this clock), or null. */
	function expiresAt() {
		const s = read();
		return s ? s.expires_at : null;
	}

	/**
	 * convexAuth() -> {isLoading, isAuthenticated, fetchAccessToken}: the
	 * shape ConvexProviderWithAuth's useAuth must return. The same object
	 * until isLoading or isAuthenticated changes (useSyncExternalStore's
	 * getSnapshot contract), and always the same fetchAccessToken.
	 */
	function convexAuth() {
		const isLoading = loading > 0;
		const isAuthenticated = !isLoading && isSignedIn();
		if (!snapshot || snapshot.isLoading !== isLoading ||
		    snapshot.isAuthenticated !== isAuthenticated)
			snapshot = { isLoading, isAuthenticated, fetchAccessToken };
		return snapshot;
	}

	return Object.freeze({
		issuer,
		clientId,
		redirectUri,
		signIn,
		handleRedirect,
		fetchAccessToken,
		isSignedIn,
		claims,
		expiresAt,
		signOut,
		onChange,
		convexAuth,
		lastError: () => lastError,
	});
}

/**
 * useAuthForConvex(auth) -> {isLoading, isAuthenticated, fetchAccessToken}
 * for ConvexProviderWithAuth's useAuth, without importing React: the
 * current snapshot (see auth.convexAuth). In a React app, subscribe so
 * that it re-renders:
 *   const useAuth = () => useSyncExternalStore(auth.onChange, auth.convexAuth);
 */
export function useAuthForConvex(auth) {
	return auth.convexAuth();
}
