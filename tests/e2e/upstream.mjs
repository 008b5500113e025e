#!/usr/bin/env node
// upstream.mjs - sign-in through a real upstream OpenID Provider
// (oidc-provider, tests/upstream/op.mjs) in headless Chromium: the demo
// page (www/index.html + www/ownauth.js) served with the four programs,
// ownauth federating to the OP, a person typing into the OP's own login
// form and answering its consent screen (SPEC §2.2, §8, §9).
//
//   node tests/e2e/upstream.mjs --base URL --conf FILE --cli PATH --op URL
//        [--chooser URL --chooser-conf FILE] [--provider corp] [--client demo]
//        [--out DIR]
//
// --base: an ownauth issuer whose only provider is the OP (the chooser
// redirects straight on), serving www/ at /. --chooser: a second issuer
// with the dev provider AND the OP (the chooser page is shown: clicked).
// --conf / --chooser-conf: their configs, for `ownauth users` (--cli).
// --op: the OP's issuer URL.
//
// What it checks, in one fresh browser profile:
//  - Sign in: #signin -> {issuer}/oauth/authorize -> straight to the OP's
//    authorization endpoint (code + PKCE S256, state, nonce, scope,
//    redirect_uri {issuer}/oauth/corp/callback) -> the OP's login page:
//    a login name and a password TYPED into input[name=login] and
//    input[name=password], submitted -> its consent page: "Continue"
//    clicked -> callback.fcgi -> the demo page signed in;
//  - #claims: the access token's claims, sub (an ownauth user id, not the
//    OP's subject) and the OP's email/name/email_verified; the access
//    token verifies with jose against the served JWKS (iss, aud), the ID
//    token (aud = client, nonce of the request) too;
//  - the store: `ownauth users list/show --json`: one user, its identity
//    is (corp, the OP's subject = the login name), one live session;
//  - screenshot tests/out/signed-in-upstream.png;
//  - "Refresh (force)": a different token string (same sid), verifying;
//  - sign-out: signed out, refresh token revoked (invalid_grant), no
//    live session left;
//  - sign in again while the OP session lives: no OP page at all, the
//    same ownauth user (identified by provider + subject, not email);
//  - the OP's consent cancelled ("[ Cancel ]"): back on the demo page
//    with access_denied shown, signed out, no call to /token;
//  - --chooser: the provider chooser lists dev and corp, "Continue with
//    corp" clicked, the OP's form typed in, signed in on that issuer.
//
// Prints "ok N - ..." / "not ok N - ..." lines; exits 1 on any failure.

import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { parseArgs, usageOf } from '../upstream/serve.mjs';
import { check, decode, eq, forceRefresh, must, notOk, ok, provokedTokenError, refreshGrant,
	runInChromium, screenshot, sentVerifier, settled, shownClaims, signedOut, state, stored,
	testsDir, verifyAt } from './chromium.mjs';

const usage = usageOf('upstream.mjs', 'usage: upstream.mjs --base URL --conf FILE --cli PATH ' +
    '--op URL [--chooser URL --chooser-conf FILE] [--provider P] [--client C] [--out DIR]');
const opts = parseArgs(process.argv.slice(2),
    { base: null, conf: null, cli: null, op: null, chooser: null, chooserConf: null,
	provider: 'corp', client: 'demo', out: join(testsDir, 'out') },
    { '--base': 'base', '--conf': 'conf', '--cli': 'cli', '--op': 'op', '--chooser': 'chooser',
	'--chooser-conf': 'chooserConf', '--provider': 'provider', '--client': 'client',
	'--out': 'out' }, usage);
if (!opts.base || !opts.conf || !opts.cli || !opts.op ||
    (opts.chooser !== null) !== (opts.chooserConf !== null))
	usage();
const CLIENT = opts.client;
const PROVIDER = opts.provider;
const OP = new URL(opts.op).origin;

// ownauth CLI against one instance's config (JSON listings).
function cli(conf, ...args) {
	const out = execFileSync(opts.cli, ['-c', conf, ...args],
	    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 20000 });
	return JSON.parse(out);
}

// What the browser did, for every tab: navigations (redirect hops
// included) with their status, and calls to {issuer}/token.
const OURS = [new URL(opts.base).origin, ...(opts.chooser ? [new URL(opts.chooser).origin] : [])];
const navs = [];
const navStatus = new Map();	// URL string -> HTTP status of the navigation
const tokenRequests = [];
const pageErrors = [];
function watch(page, label) {
	page.on('console', (m) => {
		// Only our pages count: the OP's dev pages ask for a web font
		// (refused below) and a favicon it does not have.
		if (m.type() !== 'error' || !OURS.includes(new URL(page.url()).origin))
			return;
		if (!provokedTokenError(m, opts.base))
			pageErrors.push(`${label} console (${page.url()}): ${m.text()}`);
	});
	page.on('pageerror', (e) => pageErrors.push(`${label} pageerror: ${e.message}`));
	page.on('request', (r) => {
		const u = new URL(r.url());
		if (r.isNavigationRequest())
			navs.push(u);
		if (u.pathname === '/token' && r.method() === 'POST')
			tokenRequests.push(r.postData() || '');
	});
	page.on('response', (r) => {
		if (r.request().isNavigationRequest())
			navStatus.set(r.url(), r.status());
	});
}

// The OP's login page: a real form, typed into key by key.
async function opLogin(page, login, password) {
	await page.waitForSelector('input[name="login"]', { timeout: 20000 });
	eq('the OP login page is served by the OP', new URL(page.url()).origin, OP);
	await page.locator('input[name="login"]').pressSequentially(login);
	await page.locator('input[name="password"]').pressSequentially(password);
	eq('typed login name is in the field', await page.inputValue('input[name="login"]'), login);
	await Promise.all([
		page.waitForURL((u) => u.pathname.includes('/interaction/') ||
		    u.origin !== OP, { waitUntil: 'load' }),
		page.locator('form button[type="submit"]').click(),
	]);
}

// The OP's consent page: "Continue" (approve) or "[ Cancel ]" (deny).
async function opConsent(page, approve) {
	await page.waitForSelector('input[name="prompt"][value="consent"]',
	    { state: 'attached', timeout: 20000 });
	eq('the OP consent page is served by the OP', new URL(page.url()).origin, OP);
	if (approve)
		await page.locator('form button[type="submit"]', { hasText: 'Continue' }).click();
	else
		await page.locator('a', { hasText: 'Cancel' }).click();
}

// The authorization request the OP received from login.fcgi.
function upstreamAuthz(from, base) {
	const u = navs.slice(from).find((x) => x.origin === OP && x.searchParams.has('client_id'));
	if (!u)
		return null;
	return u;
}

// verify(base, token): jose against {base}/.well-known/jwks.json.
async function verify(label, base, token) {
	try {
		const { payload, protectedHeader } = await verifyAt(base, CLIENT, token);
		ok(`${label}: jose verifies it against the JWKS (${protectedHeader.alg}, iss, aud)`);
		return payload;
	} catch (e) {
		notOk(`${label}: jose verifies it against the JWKS: ${e.message}`);
		return null;
	}
}

// The store of one instance: the single user with this email, its
// identities and sessions.
function storeUser(conf, email) {
	const list = cli(conf, 'users', 'list', '--json');
	const mine = list.filter((u) => u.email === email);
	if (mine.length !== 1)
		return { list, user: null };
	return { list, user: cli(conf, 'users', 'show', mine[0].id, '--json') };
}

await runInChromium('upstream', 20000, async (ctx) => {
	// Tests talk to 127.0.0.1 only: anything else (the OP's dev pages
	// link a Google web font) is refused in the browser.
	const outside = [];
	await ctx.route((u) => u.hostname !== '127.0.0.1', (route) => {
		outside.push(route.request().url());
		return route.abort('blockedbyclient');
	});
	const page = ctx.pages()[0] || await ctx.newPage();
	watch(page, 'tab');
	const BASE = opts.base;
	const LOGIN = 'carol.upstream';
	const EMAIL = `${LOGIN}@example.test`;

	// --- signed out ---
	await page.goto(`${BASE}/`);
	await settled(page, ['signed-out']);
	ok('demo page loads signed out');

	// --- sign in through the OP, typing into its form ---
	let from = navs.length;
	const t0 = Math.floor(Date.now() / 1000);
	await page.click('#signin');
	await opLogin(page, LOGIN, 'correct horse battery staple');
	await opConsent(page, true);
	await settled(page, ['signed-in', 'error']);
	must('signed in through the OP', (await state(page)) === 'signed-in',
	    await page.textContent('#status'));

	const hops = navs.slice(from);
	const az = hops.find((u) => u.origin === BASE && u.pathname === '/oauth/authorize');
	must('the demo page went to {issuer}/oauth/authorize', !!az, hops.map(String).join(' '));
	const ai = hops.indexOf(az);
	const up = upstreamAuthz(from, BASE);
	must('login.fcgi sent the browser to the OP', up !== null, hops.map(String).join(' '));
	const between = hops.slice(ai, hops.indexOf(up));
	const chain = between.map((u) => `${navStatus.get(u.href)} ${u.pathname}`).join(', ');
	check(`one provider: /oauth/authorize redirects straight on to the OP (${chain})`,
	    between.length > 0 && between.every((u) => u.origin === BASE &&
		[302, 303].includes(navStatus.get(u.href))));
	check('... no chooser page: nothing under /oauth/ was rendered',
	    !hops.some((u) => u.origin === BASE && u.pathname.startsWith('/oauth/') &&
		navStatus.get(u.href) === 200));
	eq('upstream request: redirect_uri = {issuer}/oauth/corp/callback',
	    up.searchParams.get('redirect_uri'), `${BASE}/oauth/${PROVIDER}/callback`);
	eq('upstream request: response_type=code', up.searchParams.get('response_type'), 'code');
	eq('upstream request: PKCE S256', up.searchParams.get('code_challenge_method'), 'S256');
	check('upstream request: its own state and nonce (not the page\'s)',
	    (up.searchParams.get('state') || '').length >= 22 &&
	    (up.searchParams.get('nonce') || '').length >= 22 &&
	    up.searchParams.get('state') !== az.searchParams.get('state') &&
	    up.searchParams.get('nonce') !== az.searchParams.get('nonce'));
	check('upstream request: scope has openid email profile',
	    ['openid', 'email', 'profile'].every((s) =>
		(up.searchParams.get('scope') || '').split(' ').includes(s)),
	    up.searchParams.get('scope'));
	const cbHop = hops.find((u) => u.origin === BASE &&
	    u.pathname === `/oauth/${PROVIDER}/callback` && u.searchParams.has('code'));
	check('the OP returned to callback.fcgi with a code and its state',
	    cbHop && cbHop.searchParams.has('code') &&
	    cbHop.searchParams.get('state') === up.searchParams.get('state'),
	    cbHop && cbHop.search);
	const back = hops.find((u) => u.origin === BASE && u.pathname === '/' && u.searchParams.has('code'));
	check('callback.fcgi redirected to the page with code, state, iss (RFC 9207)',
	    back && back.searchParams.get('state') === az.searchParams.get('state') &&
	    back.searchParams.get('iss') === BASE, back && back.search);
	const loc = new URL(page.url());
	eq('the page URL holds no code/state/iss any more', `${loc.pathname}${loc.search}`, '/');
	check('the code exchange at /token sent the PKCE verifier', sentVerifier(tokenRequests));

	const rec1 = await stored(page, BASE, CLIENT);
	must('tokens stored by ownauth.js', rec1 && typeof rec1.access_token === 'string');
	const shown = await shownClaims(page);
	must('#claims shows the claims as JSON', shown && typeof shown === 'object');
	const c1 = decode(rec1.access_token);
	eq('#claims = the access token payload', JSON.stringify(shown), JSON.stringify(c1));
	check('#claims: sub is an ownauth user id (ASCII, 1..64), not the OP subject',
	    /^[\x21-\x7e]{1,64}$/.test(shown.sub || '') && shown.sub !== LOGIN, shown.sub);
	eq('#claims: email from the OP', shown.email, EMAIL);
	eq('#claims: email_verified from the OP', shown.email_verified, true);
	eq('#claims: name from the OP', shown.name, 'Carol Upstream');
	eq('#claims: iss', shown.iss, BASE);
	eq('#claims: aud = the client', shown.aud, CLIENT);
	check('#claims: iat is now', c1.iat >= t0 - 5 && c1.iat <= Math.floor(Date.now() / 1000) + 5,
	    `iat ${c1.iat}, started ${t0}`);
	check('status names the user', (await page.textContent('#status')).includes(EMAIL),
	    await page.textContent('#status'));
	const v1 = await verify('access token', BASE, rec1.access_token);
	if (v1)
		eq('verified sub = shown sub', v1.sub, shown.sub);
	if (check('an ID token was issued', typeof rec1.id_token === 'string')) {
		const idc = decode(rec1.id_token);
		eq('ID token: aud = client id', idc && idc.aud, CLIENT);
		eq('ID token: the nonce of the page\'s request', idc && idc.nonce, az.searchParams.get('nonce'));
		eq('ID token: email from the OP', idc && idc.email, EMAIL);
	}

	// The store: the identity is (corp, the OP's subject).
	const s1 = storeUser(opts.conf, EMAIL);
	if (check('ownauth users list --json: one user with the OP\'s email', s1.user !== null,
	    JSON.stringify(s1.list))) {
		eq('users show: id = the token\'s sub', s1.user.id, shown.sub);
		eq('users show: one identity, provider corp, subject = the OP login',
		    JSON.stringify((s1.user.identities || []).map((i) => [i.provider, i.subject])),
		    JSON.stringify([[PROVIDER, LOGIN]]));
		eq('users show: one live session', s1.user.sessions && s1.user.sessions.live, 1);
	}

	await screenshot(page, opts.out, 'signed-in-upstream.png');

	// --- forced refresh ---
	const rec2 = await forceRefresh(page, BASE, CLIENT, rec1);
	const c2 = decode(rec2.access_token);
	check('forced refresh: a different jti', c2.jti !== c1.jti);
	eq('forced refresh: same session (sid)', c2.sid, c1.sid);
	eq('forced refresh: same user', c2.sub, c1.sub);
	eq('forced refresh: the OP\'s email kept', c2.email, EMAIL);
	check('forced refresh: refresh token rotated', rec2.refresh_token !== rec1.refresh_token);
	await verify('refreshed access token', BASE, rec2.access_token);

	// --- sign-out ---
	await page.click('#signout');
	await signedOut(page);
	ok('Sign out: signed out');
	eq('Sign out: tokens removed', await stored(page, BASE, CLIENT), null);
	check('Sign out: #signin shown again', await page.isVisible('#signin'));
	const r = await refreshGrant(page, rec2.refresh_token, CLIENT);
	eq('Sign out revoked the refresh token: 400 invalid_grant', `${r[0]} ${r[1] && r[1].error}`,
	    '400 invalid_grant');
	const s2 = storeUser(opts.conf, EMAIL);
	eq('store: no live session after sign-out', s2.user && s2.user.sessions.live, 0);

	// --- again, while the OP still has a session: no OP page at all ---
	from = navs.length;
	await page.click('#signin');
	await settled(page, ['signed-in', 'error']);
	must('signed in again through the OP session', (await state(page)) === 'signed-in',
	    await page.textContent('#status'));
	const again = navs.slice(from);
	check('second sign-in: the OP asked nothing (no login or consent page)',
	    again.some((u) => u.origin === OP) && !again.some((u) => u.origin === OP &&
		u.pathname.includes('/interaction/')), again.map((u) => u.pathname).join(' '));
	const c3 = decode((await stored(page, BASE, CLIENT)).access_token);
	eq('second sign-in: the same ownauth user (provider + subject)', c3.sub, c1.sub);
	check('second sign-in: a new session', c3.sid !== c1.sid);
	const s3 = storeUser(opts.conf, EMAIL);
	eq('store: still one user, one identity', s3.list.length + ':' +
	    (s3.user ? s3.user.identities.length : '?'), '1:1');
	await page.click('#signout');
	await signedOut(page);
	ok('signed out again');

	// --- the OP's consent cancelled: access_denied, signed out ---
	await ctx.clearCookies();	// the OP forgets the person: its login page again
	from = navs.length;
	let nTok = tokenRequests.length;
	await page.click('#signin');
	await opLogin(page, 'dora', 'pw');
	await opConsent(page, false);
	await settled(page, ['error', 'signed-in']);
	eq('consent cancelled: back on the demo page with an error', await state(page), 'error');
	const txt = await page.textContent('#status');
	check('consent cancelled: access_denied shown', /access_denied/.test(txt), txt);
	const denied = navs.slice(from).find((u) => u.origin === opts.base && u.pathname === '/' &&
	    u.searchParams.get('error') === 'access_denied');
	check('callback.fcgi passed error=access_denied to the page (with state and iss)',
	    denied && denied.searchParams.has('state') && denied.searchParams.get('iss') === BASE,
	    navs.slice(from).map(String).join(' '));
	eq('consent cancelled: signed out (nothing stored)', await stored(page, BASE, CLIENT), null);
	check('consent cancelled: #signin shown', await page.isVisible('#signin'));
	eq('consent cancelled: no call to /token', tokenRequests.length, nTok);
	eq('consent cancelled: URL cleaned', new URL(page.url()).search, '');
	check('consent cancelled: no user made for the login',
	    !cli(opts.conf, 'users', 'list', '--json').some((u) => u.email === 'dora@example.test'));

	// --- the chooser: two providers, corp clicked ---
	if (opts.chooser) {
		const CB = opts.chooser;
		await ctx.clearCookies();
		await page.goto(`${CB}/`);
		await settled(page, ['signed-out']);
		from = navs.length;
		await page.click('#signin');
		await page.waitForSelector(`a[href*="/oauth/${PROVIDER}?"]`);
		const chooserUrl = new URL(page.url());
		eq('chooser: shown at {issuer}/oauth/authorize', `${chooserUrl.origin}${chooserUrl.pathname}`,
		    `${CB}/oauth/authorize`);
		const links = await page.$$eval('nav a', (as) => as.map((a) => new URL(a.href).pathname));
		eq('chooser: lists dev and corp', JSON.stringify(links.sort()),
		    JSON.stringify(['/oauth/corp', '/oauth/dev'].sort()));
		await page.click(`a[href*="/oauth/${PROVIDER}?"]`);
		await opLogin(page, 'erin', 'pw-erin');
		await opConsent(page, true);
		await settled(page, ['signed-in', 'error']);
		must('chooser: signed in through the OP', (await state(page)) === 'signed-in',
		    await page.textContent('#status'));
		const ch = navs.slice(from).find((u) => u.origin === OP && u.searchParams.has('client_id'));
		eq('chooser: upstream redirect_uri of that issuer', ch && ch.searchParams.get('redirect_uri'),
		    `${CB}/oauth/${PROVIDER}/callback`);
		const rc = await stored(page, CB, CLIENT);
		const cc = decode(rc.access_token);
		eq('chooser: #claims email from the OP', JSON.parse(await page.textContent('#claims')).email,
		    'erin@example.test');
		await verify('chooser: access token', CB, rc.access_token);
		const sc = storeUser(opts.chooserConf, 'erin@example.test');
		eq('chooser: the identity stored is (corp, erin)',
		    sc.user && JSON.stringify(sc.user.identities.map((i) => [i.provider, i.subject])),
		    JSON.stringify([[PROVIDER, 'erin']]));
		eq('chooser: users show id = sub', sc.user && sc.user.id, cc.sub);
		await page.click('#signout');
		await signedOut(page);
		ok('chooser: signed out');
	}

	eq('no console error or page error on the demo page or ownauth\'s pages',
	    pageErrors.join(' | '), '');
	check('nothing but the OP\'s web font asked for outside 127.0.0.1',
	    outside.every((u) => new URL(u).hostname === 'fonts.googleapis.com'), outside.join(' '));
});
