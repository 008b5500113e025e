#!/usr/bin/env node
// upstream.mjs - the fast fake upstream of `make bench`, for timing
// callback.fcgi per sign-in without an OpenID Provider's own cost in the
// way (node's built-ins only).
//
//   node bench/upstream.mjs serve --client-id ID [--port P] [--sub SUB]
//       An OIDC upstream on 127.0.0.1 (issuer http://127.0.0.1:PORT):
//       /.well-known/openid-configuration, /jwks (one RSA key, RS256),
//       /authorize (redirects straight back: code = the nonce), and
//       POST /token, which answers every code with an ID token for SUB
//       (default "bench-user": a returning user) whose nonce is the code,
//       aud ID, signed RS256. Nothing is checked: the bench measures
//       ownauth, not this. Prints "READY <port>" once listening.
//
//   node bench/upstream.mjs prepare --login URL --n N --callback PATH
//       Starts N sign-ins at our login program (URL: a full
//       authorization request for a provider played by `serve`), and
//       prints for each the callback request the upstream would send the
//       browser back with, as "PATH?code=NONCE&state=STATE<TAB>COOKIE"
//       (COOKIE: the login cookie as set, "name=value"): a line for
//       bench/lines.lua (mode get). Fails on any answer but a 302 to the
//       upstream with a cookie.

import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import http from 'node:http';
import { listen, parseArgs, quietStdout, usageOf } from '../tests/upstream/serve.mjs';

quietStdout();
const usage = usageOf('upstream.mjs',
    'usage: upstream.mjs serve --client-id ID [--port P] [--sub SUB]\n' +
    '       upstream.mjs prepare --login URL --n N --callback PATH');
const [cmd, ...argv] = process.argv.slice(2);
const opts = parseArgs(argv,
    { port: 0, clientId: null, sub: 'bench-user', login: null, n: 0, callback: null },
    { '--port': 'port', '--client-id': 'clientId', '--sub': 'sub', '--login': 'login',
	'--n': 'n', '--callback': 'callback' }, usage);

const b64u = (b) => Buffer.from(b).toString('base64url');

function serve() {
	if (!opts.clientId) usage('--client-id is required');
	const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
	const kid = `bench-${randomBytes(4).toString('hex')}`;
	const jwk = { ...publicKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' };
	const header = b64u(JSON.stringify({ alg: 'RS256', kid, typ: 'JWT' }));
	let issuer = null;
	const json = (res, status, obj) => {
		const body = JSON.stringify(obj);
		res.writeHead(status, { 'Content-Type': 'application/json',
			'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store' });
		res.end(body);
	};
	const server = http.createServer((req, res) => {
		const u = new URL(req.url, issuer);
		if (u.pathname === '/.well-known/openid-configuration') {
			json(res, 200, {
				issuer,
				authorization_endpoint: `${issuer}/authorize`,
				token_endpoint: `${issuer}/token`,
				jwks_uri: `${issuer}/jwks`,
				response_types_supported: ['code'],
				subject_types_supported: ['public'],
				id_token_signing_alg_values_supported: ['RS256'],
				token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
			});
			return;
		}
		if (u.pathname === '/jwks') {
			json(res, 200, { keys: [jwk] });
			return;
		}
		if (u.pathname === '/authorize') {
			const back = new URL(u.searchParams.get('redirect_uri'));
			back.searchParams.set('code', u.searchParams.get('nonce'));
			back.searchParams.set('state', u.searchParams.get('state'));
			res.writeHead(302, { Location: back.href, 'Content-Length': 0 });
			res.end();
			return;
		}
		if (u.pathname === '/token' && req.method === 'POST') {
			const chunks = [];
			req.on('data', (c) => chunks.push(c));
			req.on('end', () => {
				const form = new URLSearchParams(Buffer.concat(chunks).toString());
				const now = Math.floor(Date.now() / 1000);
				const payload = b64u(JSON.stringify({
					iss: issuer, sub: opts.sub, aud: opts.clientId,
					iat: now, exp: now + 300, nonce: form.get('code'),
					email: `${opts.sub}@example.test`, email_verified: true,
					name: 'Bench User',
				}));
				const sig = sign('sha256', Buffer.from(`${header}.${payload}`), privateKey);
				json(res, 200, {
					access_token: b64u(randomBytes(24)), token_type: 'Bearer',
					expires_in: 300, id_token: `${header}.${payload}.${b64u(sig)}`,
				});
			});
			return;
		}
		json(res, 404, { error: 'not_found' });
	});
	server.keepAliveTimeout = 60000;
	listen(server, opts.port, (port) => {
		issuer = `http://127.0.0.1:${port}`;
		process.stderr.write(`upstream.mjs: issuer ${issuer}\n`);
	});
}

async function prepare() {
	if (!opts.login || !opts.callback || !Number.isInteger(opts.n) || opts.n < 1)
		usage('prepare needs --login, --n and --callback');
	const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
	const get = (url) => new Promise((resolve, reject) => {
		http.get(url, { agent }, (res) => {
			res.resume();
			res.on('end', () => resolve(res));
		}).on('error', reject);
	});
	const lines = [];
	for (let i = 0; i < opts.n; i++) {
		const url = new URL(opts.login);
		url.searchParams.set('state', `bench-${i}-${b64u(randomBytes(6))}`);
		const res = await get(url.href);
		const loc = res.headers.location;
		const cookie = (res.headers['set-cookie'] ?? [])[0];
		if (res.statusCode !== 302 || !loc || !cookie) {
			process.stderr.write(`upstream.mjs: login answered ${res.statusCode}` +
			    ` (Location ${loc ? 'set' : 'missing'}, cookie ${cookie ? 'set' : 'missing'})\n`);
			process.exit(1);
		}
		const up = new URL(loc);
		const state = up.searchParams.get('state');
		const nonce = up.searchParams.get('nonce');
		if (!state || !nonce) {
			process.stderr.write('upstream.mjs: no state or nonce sent upstream\n');
			process.exit(1);
		}
		const q = new URLSearchParams({ code: nonce, state });
		lines.push(`${opts.callback}?${q}\t${cookie.split(';')[0]}`);
	}
	agent.destroy();
	process.stdout.write(lines.join('\n') + '\n');
}

if (cmd === 'serve') serve();
else if (cmd === 'prepare') prepare().catch((e) => {
	process.stderr.write(`upstream.mjs: ${e.stack}\n`);
	process.exit(1);
});
else usage();
