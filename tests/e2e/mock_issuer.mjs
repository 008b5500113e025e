#!/usr/bin/env node
// mock_issuer.mjs - a stand-in ownauth server in Node, for testing
// www/ownauth.js and the demo page in isolation (browser.mjs --mock).
//
//   node tests/e2e/mock_issuer.mjs --www DIR [--port N] [--client demo]
//        [--ttl 3600] [--reuse-window 10]
//
// It is NOT the product and proves nothing about the C programs: it plays
// the server side of SPEC §2 closely enough (authorize -> dev form ->
// callback -> code + iss; code grant with PKCE S256; refresh rotation with
// the reuse window; revocation; discovery; JWKS) that the browser helper's
// own rules can be checked exactly - in particular that, with Web Locks,
// two tabs refreshing at once never present a rotated refresh token
// (GET /mock/stats counts every presentation of a rotated token, every
// sibling issued and every family revoked), which the real server
// tolerates within refresh_reuse_window and so cannot show.
//
// Listens on 127.0.0.1 (port 0 = any free port) and prints
// "listening PORT" on stdout once ready. The issuer is
// http://127.0.0.1:PORT; the client's redirect URI is {issuer}/.

import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { join, normalize, extname } from 'node:path';
import crypto from 'node:crypto';

const opts = { www: null, port: 0, client: 'demo', ttl: 3600, reuseWindow: 10 };
for (let i = 2; i < process.argv.length; i++) {
	const a = process.argv[i], v = process.argv[i + 1];
	switch (a) {
	case '--www': opts.www = v; i++; break;
	case '--port': opts.port = Number(v); i++; break;
	case '--client': opts.client = v; i++; break;
	case '--ttl': opts.ttl = Number(v); i++; break;
	case '--reuse-window': opts.reuseWindow = Number(v); i++; break;
	default:
		process.stderr.write(`mock_issuer: unknown argument ${a}\n`);
		process.exit(2);
	}
}
if (!opts.www) {
	process.stderr.write('usage: mock_issuer.mjs --www DIR [--port N]\n');
	process.exit(2);
}

const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwk = publicKey.export({ format: 'jwk' });
const kid = crypto.createHash('sha256')
	.update(JSON.stringify({ e: jwk.e, kty: 'RSA', n: jwk.n })).digest('base64url');
let issuer = null;	// set once listening

const b64u = (b) => Buffer.from(b).toString('base64url');
const rnd = (n = 32) => crypto.randomBytes(n).toString('base64url');
const sha = (s) => crypto.createHash('sha256').update(s).digest('base64url');

function sign(claims) {
	const h = b64u(JSON.stringify({ alg: 'RS256', kid, typ: 'JWT' }));
	const p = b64u(JSON.stringify(claims));
	const s = crypto.sign('sha256', Buffer.from(`${h}.${p}`), privateKey).toString('base64url');
	return `${h}.${p}.${s}`;
}

const flights = new Map();	// id -> authorization request
const codes = new Map();	// sha(code) -> {..., used}
const refresh = new Map();	// sha(token) -> {fam, rotatedAt, child, parent}
const families = new Map();	// sid -> {user, revoked, authTime}
const stats = { codeGrants: 0, refreshGrants: 0, rotatedPresented: 0, siblings: 0,
	familiesRevoked: 0, revocations: 0, requests: [] };

function mint(fam, nonce) {
	const now = Math.floor(Date.now() / 1000);
	const u = fam.user;
	const base = { iss: issuer, sub: u.sub, iat: now, exp: now + opts.ttl, sid: fam.sid,
		auth_time: fam.authTime, email: u.email, email_verified: true, name: u.name };
	const access = sign({ ...base, aud: opts.client, jti: rnd(16) });
	const idt = nonce ? sign({ ...base, aud: opts.client, jti: rnd(16), nonce }) : access;
	return { access, idt };
}

function newRefresh(fam, parent) {
	const t = rnd(32);
	refresh.set(sha(t), { fam, rotatedAt: 0, child: null, parent });
	return t;
}

function send(res, status, headers, body) {
	res.writeHead(status, headers);
	res.end(body);
}

function json(res, status, obj) {
	send(res, status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' },
	    JSON.stringify(obj));
}

function page(res, status, title, html) {
	send(res, status, { 'Content-Type': 'text/html; charset=utf-8',
		'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
		'Referrer-Policy': 'no-referrer' },
	    `<!doctype html><title>${title}</title><h1>${title}</h1>${html}`);
}

const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function redirect(res, url) {
	send(res, 302, { Location: url, 'Cache-Control': 'no-store' }, '');
}

async function body(req) {
	const chunks = [];
	for await (const c of req)
		chunks.push(c);
	return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function authorize(req, res, q) {
	const redirectUri = `${issuer}/`;
	if (q.get('client_id') !== opts.client || q.get('redirect_uri') !== redirectUri)
		return page(res, 400, 'Invalid client or redirect URI', '');
	const err = (e, d) => redirect(res, `${redirectUri}?${new URLSearchParams({
		error: e, error_description: d, state: q.get('state') || '', iss: issuer })}`);
	if ((q.get('response_type') || 'code') !== 'code')
		return err('unsupported_response_type', 'code only');
	if (q.get('code_challenge_method') !== 'S256' || !q.get('code_challenge'))
		return err('invalid_request', 'PKCE S256 is required');
	const id = rnd(16);
	flights.set(id, { state: q.get('state'), nonce: q.get('nonce'),
		challenge: q.get('code_challenge'), redirectUri });
	page(res, 200, 'Sign in (dev)',
	    `<form method="post" action="/oauth/dev/callback">
<input type="hidden" name="flight" value="${esc(id)}">
<label>Email <input type="email" name="email" required></label>
<label>Name <input type="text" name="name"></label>
<button type="submit">Sign in</button></form>`);
}

async function callback(req, res) {
	const f = await body(req);
	const fl = flights.get(f.get('flight'));
	flights.delete(f.get('flight'));
	if (!fl)
		return page(res, 400, 'Unknown or replayed sign-in', '');
	const email = (f.get('email') || '').toLowerCase();
	const user = { sub: `u_${sha(email).slice(0, 20)}`, email, name: f.get('name') || '' };
	const code = rnd(32);
	codes.set(sha(code), { ...fl, user, t: Date.now(), used: false });
	redirect(res, `${fl.redirectUri}?${new URLSearchParams({ code, state: fl.state, iss: issuer })}`);
}

function tokenResponse(res, fam, nonce, parent) {
	const { access, idt } = mint(fam, nonce);
	json(res, 200, { access_token: access, id_token: idt, token_type: 'Bearer',
		expires_in: opts.ttl, refresh_token: newRefresh(fam, parent) });
}

async function token(req, res) {
	const f = await body(req);
	const gt = f.get('grant_type');
	if (f.get('client_id') !== opts.client)
		return json(res, 401, { error: 'invalid_client' });
	if (gt === 'authorization_code') {
		stats.codeGrants++;
		const c = codes.get(sha(f.get('code') || ''));
		if (!c || c.used || Date.now() - c.t > 60000)
			return json(res, 400, { error: 'invalid_grant', error_description: 'bad code' });
		c.used = true;
		if (f.get('redirect_uri') !== c.redirectUri ||
		    sha(f.get('code_verifier') || '') !== c.challenge)
			return json(res, 400, { error: 'invalid_grant', error_description: 'PKCE or redirect_uri' });
		const sid = rnd(12);
		const fam = { sid, user: c.user, revoked: false, authTime: Math.floor(Date.now() / 1000) };
		families.set(sid, fam);
		return tokenResponse(res, fam, c.nonce, null);
	}
	if (gt === 'refresh_token') {
		stats.refreshGrants++;
		const t = refresh.get(sha(f.get('refresh_token') || ''));
		if (!t || t.fam.revoked)
			return json(res, 400, { error: 'invalid_grant', error_description: 'unknown or revoked' });
		if (t.rotatedAt) {
			stats.rotatedPresented++;
			const child = t.child && refresh.get(t.child);
			if (Date.now() - t.rotatedAt <= opts.reuseWindow * 1000 && child && !child.rotatedAt) {
				stats.siblings++;
				return tokenResponse(res, t.fam, null, t);
			}
			t.fam.revoked = true;
			stats.familiesRevoked++;
			return json(res, 400, { error: 'invalid_grant', error_description: 'reuse' });
		}
		t.rotatedAt = Date.now();
		const { access, idt } = mint(t.fam, null);
		const nt = newRefresh(t.fam, t);
		t.child = sha(nt);
		return json(res, 200, { access_token: access, id_token: idt, token_type: 'Bearer',
			expires_in: opts.ttl, refresh_token: nt });
	}
	json(res, 400, { error: 'unsupported_grant_type' });
}

async function revoke(req, res) {
	const f = await body(req);
	const t = refresh.get(sha(f.get('token') || ''));
	stats.revocations++;
	if (t && !t.fam.revoked) {
		t.fam.revoked = true;
		stats.familiesRevoked++;
	}
	send(res, 200, { 'Cache-Control': 'no-store' }, '');
}

const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8',
	'.css': 'text/css; charset=utf-8', '.json': 'application/json' };

async function file(req, res, path) {
	const rel = normalize(path === '/' ? '/index.html' : path);
	if (rel.includes('..'))
		return send(res, 404, {}, 'not found');
	try {
		const b = await readFile(join(opts.www, rel));
		send(res, 200, { 'Content-Type': TYPES[extname(rel)] || 'application/octet-stream' }, b);
	} catch {
		send(res, 404, { 'Content-Type': 'text/plain' }, 'not found');
	}
}

const server = createServer(async (req, res) => {
	try {
		const u = new URL(req.url, issuer);
		const p = u.pathname;
		stats.requests.push(`${req.method} ${p}`);
		if (p === '/oauth/authorize' || p === '/oauth/dev')
			return authorize(req, res, u.searchParams);
		if (p === '/oauth/dev/callback' && req.method === 'POST')
			return await callback(req, res);
		if (p === '/token' && req.method === 'POST')
			return await token(req, res);
		if (p === '/revoke' && req.method === 'POST')
			return await revoke(req, res);
		if (p === '/.well-known/jwks.json')
			return json(res, 200, { keys: [{ ...jwk, kid, alg: 'RS256', use: 'sig' }] });
		if (p === '/.well-known/openid-configuration')
			return json(res, 200, { issuer, jwks_uri: `${issuer}/.well-known/jwks.json`,
				authorization_endpoint: `${issuer}/oauth/authorize`,
				token_endpoint: `${issuer}/token` });
		if (p === '/mock/stats')
			return json(res, 200, stats);
		if (p === '/ready.txt')
			return send(res, 200, { 'Content-Type': 'text/plain' }, 'ready\n');
		if (req.method === 'GET')
			return await file(req, res, p);
		send(res, 405, {}, '');
	} catch (e) {
		process.stderr.write(`mock_issuer: ${e.stack}\n`);
		send(res, 500, {}, '');
	}
});
server.listen(opts.port, '127.0.0.1', () => {
	const port = server.address().port;
	issuer = `http://127.0.0.1:${port}`;
	process.stdout.write(`listening ${port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
