#!/usr/bin/env node
// op.mjs - a real OpenID Provider (the `oidc-provider` npm package, v9) on
// 127.0.0.1, the upstream that ownauth's tests sign in through.
//
//   node tests/upstream/op.mjs [--port P] [--issuer URL]
//       --client-id X --client-secret Y --redirect-uri URI [--redirect-uri URI2]
//       [--auth-method client_secret_basic|client_secret_post]
//       [--alg RS256|ES256]
//
// --port 0 (the default) picks a free port; the issuer defaults to
// http://127.0.0.1:PORT. Prints "READY <port>" on stdout once listening;
// everything else goes to stderr.
//
// What it does:
//  - one client with the given id, secret and redirect URIs, code flow
//    only, registered with token_endpoint_auth_method client_secret_basic
//    (default) or client_secret_post (--auth-method). Note: oidc-provider
//    9 accepts either of the two secret methods whichever is registered;
//    PKCE required (S256; oidc-provider 9 knows no other method);
//  - ID tokens signed with RS256 (default) or ES256 (--alg); the JWKS
//    publishes one RSA and one P-256 key, generated at startup;
//  - scopes openid email profile -> claims sub, email, email_verified,
//    name, picture, all in the ID token too (conformIdTokenClaims off:
//    like Google, not only at the userinfo endpoint);
//  - any login name works (the password is ignored): accountId = login.
//    email: the login itself when it contains '@', else
//    login@example.test; email_verified: true, false for a login that
//    starts with "unverified"; name: "Login Name" from the login.
//  - the dev interactions (a real HTML login form with input[name=login]
//    and input[name=password], then a consent form) for the browser
//    tests; tests/upstream/drive.mjs submits them without a browser.
//
// Facts worth knowing: the memory adapter keeps at most 1000 entries
// (fine for tests); offline_access is dropped unless prompt=consent (we
// need no upstream refresh tokens); codes live 60 s and are single use.

import { generateKeyPairSync, randomBytes } from 'node:crypto';
import http from 'node:http';
import Provider from 'oidc-provider';
import { listen, parseArgs, portOk, quietStdout, usageOf } from './serve.mjs';

quietStdout();
const usage = usageOf('op.mjs', 'usage: op.mjs [--port P] [--issuer URL] --client-id X ' +
    '--client-secret Y --redirect-uri URI [--redirect-uri URI2] ' +
    '[--auth-method client_secret_basic|client_secret_post] [--alg RS256|ES256]');
const opts = parseArgs(process.argv.slice(2),
    { port: 0, issuer: null, clientId: null, clientSecret: null, redirectUris: [],
	authMethod: 'client_secret_basic', alg: 'RS256' },
    { '--port': 'port', '--issuer': 'issuer', '--client-id': 'clientId',
	'--client-secret': 'clientSecret', '--redirect-uri': 'redirectUris',
	'--auth-method': 'authMethod', '--alg': 'alg' }, usage);
if (!portOk(opts.port))
	usage('bad --port');
if (!opts.clientId || !opts.clientSecret || opts.redirectUris.length === 0)
	usage('--client-id, --client-secret and --redirect-uri are required');
if (!['client_secret_basic', 'client_secret_post'].includes(opts.authMethod))
	usage('bad --auth-method');
if (!['RS256', 'ES256'].includes(opts.alg))
	usage('bad --alg');

function log(msg) {
	process.stderr.write(`op.mjs: ${msg}\n`);
}

function makeJwk(kind) {
	const { privateKey } = kind === 'RSA' ?
	    generateKeyPairSync('rsa', { modulusLength: 2048 }) :
	    generateKeyPairSync('ec', { namedCurve: 'P-256' });
	const jwk = privateKey.export({ format: 'jwk' });
	jwk.use = 'sig';
	jwk.alg = kind === 'RSA' ? 'RS256' : 'ES256';
	jwk.kid = `${kind.toLowerCase()}-${randomBytes(6).toString('hex')}`;
	return jwk;
}

function account(id) {
	const email = id.includes('@') ? id : `${id}@example.test`;
	const base = id.split('@')[0];
	const name = base.split(/[._-]+/).filter(Boolean)
	    .map((w) => w[0].toUpperCase() + w.slice(1)).join(' ') || base;
	return {
		sub: id,
		email,
		email_verified: !id.startsWith('unverified'),
		name,
		picture: `https://pictures.example.test/${encodeURIComponent(base)}.png`,
	};
}

// The provider needs its issuer, which needs the port: listen first, hand
// requests to the provider once it exists (nothing arrives before READY).
let handler = null;
const server = http.createServer((req, res) => {
	if (handler === null) {
		res.statusCode = 503;
		res.end();
		return;
	}
	handler(req, res);
});

listen(server, opts.port, (port) => {
	const issuer = opts.issuer ?? `http://127.0.0.1:${port}`;
	const provider = new Provider(issuer, {
		clients: [{
			client_id: opts.clientId,
			client_secret: opts.clientSecret,
			redirect_uris: opts.redirectUris,
			token_endpoint_auth_method: opts.authMethod,
			id_token_signed_response_alg: opts.alg,
			grant_types: ['authorization_code'],
			response_types: ['code'],
		}],
		pkce: { required: () => true },
		jwks: { keys: [makeJwk('RSA'), makeJwk('EC')] },
		claims: {
			openid: ['sub'],
			email: ['email', 'email_verified'],
			profile: ['name', 'picture'],
		},
		conformIdTokenClaims: false,
		cookies: { keys: [randomBytes(32).toString('base64url')] },
		features: {
			devInteractions: { enabled: true },
			userinfo: { enabled: true },
		},
		async findAccount(_ctx, id) {
			return {
				accountId: id,
				async claims() {
					return account(id);
				},
			};
		},
	});
	provider.on('server_error', (_ctx, err) => log(`server_error: ${err.stack}`));
	provider.on('grant.error', (_ctx, err) => log(`grant.error: ${err.message}` +
	    (err.error_description ? ` (${err.error_description})` : '')));
	provider.on('authorization.error', (_ctx, err) => log(`authorization.error: ` +
	    `${err.message}` + (err.error_description ? ` (${err.error_description})` : '')));
	handler = provider.callback();
	log(`issuer ${issuer}, client ${opts.clientId} (${opts.authMethod}, ${opts.alg})`);
});
