#!/usr/bin/env node
// github.mjs - a small fake of GitHub's OAuth app flow and REST API on
// 127.0.0.1, for the `github` provider type.
//
//   node tests/upstream/github.mjs [--port P] [--client-id X]
//       [--client-secret Y] [--redirect-uri URI]... [--user LOGIN]
//
// Prints "READY <port>" on stdout once listening (--port 0, the default,
// picks a free port); logs to stderr. Serves, like github.com and
// api.github.com (both on this one port):
//
//   GET  /login/oauth/authorize   client_id, redirect_uri, state, scope,
//        code_challenge(+_method S256), login. Approves at once: 302 to
//        redirect_uri?code=...&state=... The user is the `login` parameter,
//        else --user (default "octocat"). A login of "denied" gets
//        error=access_denied instead (the user pressed Cancel).
//        Unknown client_id or redirect_uri: a 400 page, no redirect.
//   POST /login/oauth/access_token  form body (or query): client_id,
//        client_secret (or HTTP Basic), code, redirect_uri, code_verifier.
//        JSON when the Accept header asks for application/json, else
//        form-encoded - as GitHub does. Errors come, as on GitHub, with
//        status 200 and {"error":"bad_verification_code"|
//        "incorrect_client_credentials"|"redirect_uri_mismatch"|
//        "invalid_grant", ...}. Codes are single use and live 10 minutes.
//   GET  /user           Authorization: Bearer|token TOKEN. A request
//        without a User-Agent gets 403 (GitHub's rule).
//   GET  /user/emails    a JSON array; needs the user:email (or user) scope,
//        else 404 like GitHub.
//
// Users: any login. id: a stable number from the login; name: from the
// login; email: LOGIN@example.test, primary and verified, plus an
// unverified secondary. Logins starting with "unverified" have an
// unverified primary email; logins starting with "noemail" have none;
// logins starting with "public" also show their email on /user.

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import { listen, parseArgs, portOk, quietStdout, usageOf } from './serve.mjs';

quietStdout();
const usage = usageOf('github.mjs', 'usage: github.mjs [--port P] [--client-id X] ' +
    '[--client-secret Y] [--redirect-uri URI]... [--user LOGIN]');
const opts = parseArgs(process.argv.slice(2),
    { port: 0, clientId: 'gh-client', clientSecret: 'gh-secret', redirectUris: [],
	user: 'octocat' },
    { '--port': 'port', '--client-id': 'clientId', '--client-secret': 'clientSecret',
	'--redirect-uri': 'redirectUris', '--user': 'user' }, usage);
if (!portOk(opts.port))
	usage('bad --port');

function log(msg) {
	process.stderr.write(`github.mjs: ${msg}\n`);
}

const codes = new Map();   // code -> {login, redirectUri, challenge, scope, exp}
const tokens = new Map();  // token -> {login, scope}
let base = '';

function userOf(login) {
	const h = createHash('sha256').update(login).digest();
	return {
		login,
		id: 1000000 + (h.readUInt32BE(0) % 90000000),
		node_id: `U_${h.subarray(0, 9).toString('base64url')}`,
		avatar_url: `${base}/avatars/${encodeURIComponent(login)}.png`,
		html_url: `${base}/${encodeURIComponent(login)}`,
		type: 'User',
		site_admin: false,
		name: login.split(/[._-]+/).filter(Boolean)
		    .map((w) => w[0].toUpperCase() + w.slice(1)).join(' ') || login,
		company: null,
		blog: '',
		location: null,
		email: login.startsWith('public') ? `${login}@example.test` : null,
		created_at: '2011-01-25T18:44:36Z',
		updated_at: '2024-01-01T00:00:00Z',
	};
}

function emailsOf(login) {
	if (login.startsWith('noemail')) return [];
	return [
		{ email: `${login}.old@example.test`, primary: false, verified: false,
			visibility: null },
		{ email: `${login}@example.test`, primary: true,
			verified: !login.startsWith('unverified'), visibility: 'private' },
	];
}

function send(res, status, type, body, headers = {}) {
	res.statusCode = status;
	res.setHeader('content-type', type);
	for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
	res.end(body);
}
function json(res, status, obj, headers) {
	send(res, status, 'application/json; charset=utf-8', JSON.stringify(obj), headers);
}

function safeEq(a, b) {
	const x = Buffer.from(String(a)), y = Buffer.from(String(b));
	return x.length === y.length && timingSafeEqual(x, y);
}

function authorize(res, q) {
	if (q.get('client_id') !== opts.clientId)
		return send(res, 400, 'text/html', '<p>unknown client_id</p>');
	let redirectUri = q.get('redirect_uri');
	if (redirectUri === null) {
		if (opts.redirectUris.length === 0)
			return send(res, 400, 'text/html', '<p>redirect_uri required</p>');
		redirectUri = opts.redirectUris[0];
	} else if (opts.redirectUris.length > 0 && !opts.redirectUris.includes(redirectUri)) {
		return send(res, 400, 'text/html', '<p>redirect_uri mismatch</p>');
	}
	const method = q.get('code_challenge_method');
	const challenge = q.get('code_challenge');
	if (challenge !== null && method !== null && method !== 'S256')
		return send(res, 400, 'text/html', '<p>unsupported code_challenge_method</p>');
	const login = q.get('login') || opts.user;
	const target = new URL(redirectUri);
	if (login === 'denied') {
		target.searchParams.set('error', 'access_denied');
		target.searchParams.set('error_description',
		    'The user has denied your application access.');
	} else {
		const code = randomBytes(10).toString('hex');
		codes.set(code, { login, redirectUri: q.get('redirect_uri'), challenge,
			scope: (q.get('scope') ?? '').split(/[ ,]+/).filter(Boolean).join(','),
			exp: Date.now() + 600000 });
		target.searchParams.set('code', code);
	}
	if (q.get('state') !== null) target.searchParams.set('state', q.get('state'));
	log(`authorize ${login} -> ${target.origin}${target.pathname}`);
	return send(res, 302, 'text/html', '', { location: target.href });
}

function tokenReply(req, res, obj) {
	const wantsJson = (req.headers.accept ?? '').includes('application/json');
	if (wantsJson) return json(res, 200, obj);
	const f = new URLSearchParams();
	for (const [k, v] of Object.entries(obj)) f.set(k, String(v));
	return send(res, 200, 'application/x-www-form-urlencoded; charset=utf-8', f.toString());
}

function accessToken(req, res, url, body) {
	if (req.method !== 'POST')
		return json(res, 404, { message: 'Not Found' });
	const p = new URLSearchParams(body);
	for (const [k, v] of url.searchParams) if (!p.has(k)) p.set(k, v);
	let id = p.get('client_id'), secret = p.get('client_secret');
	const auth = req.headers.authorization ?? '';
	if (auth.toLowerCase().startsWith('basic ')) {
		const dec = Buffer.from(auth.slice(6).trim(), 'base64').toString('utf8');
		const i = dec.indexOf(':');
		if (i >= 0) {
			const un = (s) => decodeURIComponent(s.replace(/\+/g, '%20'));
			id = un(dec.slice(0, i));
			secret = un(dec.slice(i + 1));
		}
	}
	const err = (error, description) => {
		log(`access_token: ${error}`);
		return tokenReply(req, res, { error, error_description: description,
			error_uri: 'https://docs.github.com/apps/oauth' });
	};
	if (id !== opts.clientId || secret === null || !safeEq(secret, opts.clientSecret))
		return err('incorrect_client_credentials',
		    'The client_id and/or client_secret passed are incorrect.');
	const code = p.get('code');
	const c = code !== null ? codes.get(code) : undefined;
	if (c === undefined || c.exp < Date.now())
		return err('bad_verification_code', 'The code passed is incorrect or expired.');
	codes.delete(code);
	if (c.redirectUri !== null && p.get('redirect_uri') !== null &&
	    p.get('redirect_uri') !== c.redirectUri)
		return err('redirect_uri_mismatch',
		    'The redirect_uri MUST match the registered callback URL for this application.');
	if (c.challenge !== null) {
		const v = p.get('code_verifier');
		if (v === null || !safeEq(createHash('sha256').update(v).digest('base64url'),
		    c.challenge))
			return err('invalid_grant', 'The code_verifier does not match.');
	}
	const token = `gho_${randomBytes(18).toString('base64url')}`;
	tokens.set(token, { login: c.login, scope: c.scope });
	log(`access_token issued for ${c.login}`);
	return tokenReply(req, res, { access_token: token, token_type: 'bearer', scope: c.scope });
}

function api(req, res, path) {
	if (!req.headers['user-agent'])
		return send(res, 403, 'text/plain',
		    'Request forbidden by administrative rules. Please make sure your ' +
		    'request has a User-Agent header.\n');
	const m = (req.headers.authorization ?? '').match(/^(?:bearer|token)\s+(\S+)$/i);
	const t = m ? tokens.get(m[1]) : undefined;
	if (t === undefined)
		return json(res, 401, { message: 'Requires authentication',
			documentation_url: 'https://docs.github.com/rest' });
	const scopes = t.scope.split(',');
	const hdrs = { 'x-oauth-scopes': scopes.join(', ') };
	if (path === '/user')
		return json(res, 200, userOf(t.login), hdrs);
	if (!scopes.includes('user:email') && !scopes.includes('user'))
		return json(res, 404, { message: 'Not Found',
			documentation_url: 'https://docs.github.com/rest' }, hdrs);
	return json(res, 200, emailsOf(t.login), hdrs);
}

function handle(req, res, body) {
	const url = new URL(req.url, 'http://github.invalid');
	log(`${req.method} ${url.pathname}`);
	switch (url.pathname) {
	case '/login/oauth/authorize':
		return authorize(res, url.searchParams);
	case '/login/oauth/access_token':
		return accessToken(req, res, url, body);
	case '/user':
	case '/user/emails':
		if (req.method !== 'GET') break;
		return api(req, res, url.pathname);
	default:
		break;
	}
	return json(res, 404, { message: 'Not Found' });
}

const server = http.createServer((req, res) => {
	const chunks = [];
	req.on('data', (c) => chunks.push(c));
	req.on('end', () => handle(req, res, Buffer.concat(chunks).toString('utf8')));
});
listen(server, opts.port, (port) => {
	base = `http://127.0.0.1:${port}`;
	log(`listening on ${base}, client ${opts.clientId}`);
});
