// chromium.mjs - what the headless-Chromium tests share (browser.mjs,
// upstream.mjs): the test packages from tests/node_modules, the
// "ok N - ..." lines, the run in a fresh browser profile, and the demo
// page's (www/index.html + www/ownauth.js) helpers.

import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

// tests/: node_modules (npm ci in tests/) and out/ (screenshots).
export const testsDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { chromium } = await import(join(testsDir, 'node_modules/playwright-core/index.mjs'));
const jose = await import(join(testsDir, 'node_modules/jose/dist/node/esm/index.js'));

// --- results: "ok N - ..." / "not ok N - ..." lines -------------------------

let passed = 0, failed = 0;
export function ok(d) {
	passed++;
	console.log(`ok ${passed + failed} - ${d}`);
}
export function notOk(d) {
	failed++;
	console.log(`not ok ${passed + failed} - ${d}`);
}
// check(d, cond, detail): ok when COND holds, else not ok (with DETAIL);
// returns whether it held.
export function check(d, cond, detail) {
	if (cond)
		ok(d);
	else
		notOk(detail === undefined ? d : `${d}: ${detail}`);
	return !!cond;
}
export function eq(d, got, want) {
	return check(d, got === want, `got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
}
// must(d, cond, detail): a check the rest depends on: when it fails, the
// run ends there (Abort, caught by runInChromium).
export class Abort extends Error {}
export function must(d, cond, detail) {
	if (!check(d, cond, detail))
		throw new Abort(d);
}

// --- the run ------------------------------------------------------------------

// runInChromium(name, timeout, body): headless Chromium on a fresh profile
// (/tmp/oa-chromium-*), TIMEOUT ms its default timeout; await body(ctx),
// ctx the browser context. A failed must() ends the body; anything else
// it throws is a "not ok - unexpected" line. Then the browser is closed,
// the profile removed, "NAME: N passed, N failed" printed, and the process
// exits: 0 when every check passed (and there was one), else 1.
export async function runInChromium(name, timeout, body) {
	const profile = mkdtempSync('/tmp/oa-chromium-');
	let ctx = null;
	try {
		ctx = await chromium.launchPersistentContext(profile, {
			executablePath: '/usr/bin/chromium',
			headless: true,
			args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
				'--no-first-run', '--disable-background-networking',
				'--disable-component-update', '--disable-sync'],
			viewport: { width: 900, height: 900 },
		});
		ctx.setDefaultTimeout(timeout);
		await body(ctx);
	} catch (e) {
		if (!(e instanceof Abort))
			notOk(`unexpected: ${e && e.stack ? e.stack : e}`);
	} finally {
		if (ctx)
			await ctx.close().catch(() => {});
		rmSync(profile, { recursive: true, force: true });
	}
	console.log(`${name}: ${passed} passed, ${failed} failed`);
	process.exit(failed === 0 && passed > 0 ? 0 : 1);
}

// --- tokens -------------------------------------------------------------------

// decode(token): a JWT's payload, unverified (null when it is not one).
export function decode(token) {
	try {
		return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8'));
	} catch {
		return null;
	}
}

// verifyAt(base, client, token): jose's jwtVerify of TOKEN against
// {base}/.well-known/jwks.json, with iss BASE and aud CLIENT (RS256, ES256
// or EdDSA). Resolves to { payload, protectedHeader }; rejects when it
// does not verify.
export function verifyAt(base, client, token) {
	const jwks = jose.createRemoteJWKSet(new URL(`${base}/.well-known/jwks.json`));
	return jose.jwtVerify(token, jwks,
	    { issuer: base, audience: client, algorithms: ['RS256', 'ES256', 'EdDSA'] });
}

// --- the demo page ------------------------------------------------------------

// storeKey(base, client): where ownauth.js keeps the session in
// localStorage; stored(page, base, client): that record (null: none).
export const storeKey = (base, client) => `ownauth:${base}:${client}`;
export async function stored(page, base, client) {
	return page.evaluate((k) => JSON.parse(localStorage.getItem(k) || 'null'),
	    storeKey(base, client));
}

// state(page): the page's #status state (signed-in, signed-out, error...).
export async function state(page) {
	return page.$eval('#status', (e) => e.dataset.state);
}

// settled(page, states): waits (the context's default timeout) until the
// page is ready and its state is one of STATES.
export async function settled(page, states) {
	await page.waitForFunction((s) => document.documentElement.dataset.ready === '1' &&
	    s.includes(document.getElementById('status').dataset.state), states);
}

// signedOut(page): waits until the page shows signed out.
export async function signedOut(page) {
	await page.waitForFunction(() =>
	    document.getElementById('status').dataset.state === 'signed-out');
}

// shownClaims(page): the claims the page shows in #claims, parsed (null
// when they are not JSON).
export async function shownClaims(page) {
	try {
		return JSON.parse(await page.textContent('#claims'));
	} catch {
		return null;
	}
}

// sentVerifier(bodies): one of BODIES (form bodies of requests to /token)
// is a code exchange with a PKCE code_verifier: 43 to 128 unreserved
// characters (RFC 7636 §4.1).
export function sentVerifier(bodies) {
	return bodies.some((b) => {
		const f = new URLSearchParams(b);
		return f.get('grant_type') === 'authorization_code' &&
		    /^[A-Za-z0-9_~.-]{43,128}$/.test(f.get('code_verifier') || '');
	});
}

// forceRefresh(page, base, client, rec): clicks "Refresh (force)" while
// the page holds REC (its stored record, stored(page, base, client)) and
// waits for another token; checks that #token-jti showed REC's, that the
// page is still signed in, and that the token string changed. Resolves to
// the new record.
export async function forceRefresh(page, base, client, rec) {
	const jtiBefore = await page.$eval('#token-jti', (e) => e.dataset.jti);
	eq('#token-jti shows the current token', jtiBefore, decode(rec.access_token).jti);
	await page.click('#refresh');
	await page.waitForFunction((j) => {
		const e = document.getElementById('token-jti');
		return e.dataset.jti && e.dataset.jti !== j &&
		    document.getElementById('status').dataset.state !== 'refreshing';
	}, jtiBefore);
	eq('after Refresh (force): still signed in', await state(page), 'signed-in');
	const now = await stored(page, base, client);
	check('forced refresh: a different token string', now.access_token !== rec.access_token);
	return now;
}

// screenshot(page, dir, name): the whole page in DIR/NAME (PNG); an ok line
// names it.
export async function screenshot(page, dir, name) {
	mkdirSync(dir, { recursive: true });
	const shot = join(dir, name);
	await page.screenshot({ path: shot, fullPage: true });
	ok(`screenshot ${shot}`);
}

// refreshGrant(page, rt, client): the page POSTs a refresh grant of RT to
// its origin's /token; resolves to [status, JSON body or null].
export function refreshGrant(page, rt, client) {
	return page.evaluate(async ([t, cid]) => {
		const res = await fetch('/token', { method: 'POST',
			headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
			body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: t,
				client_id: cid }).toString() });
		return [res.status, await res.json().catch(() => null)];
	}, [rt, client]);
}

// provokedTokenError(m, base): console message M is Chromium's "Failed to
// load resource ... 400" for /token: the invalid_grant answers the tests
// provoke on purpose, not errors of the page.
export function provokedTokenError(m, base) {
	const at = m.location() && m.location().url ? new URL(m.location().url, base) : null;
	return !!(at && at.pathname === '/token' &&
	    /^Failed to load resource: .* 400 /.test(m.text()));
}
