#!/usr/bin/env node
// peer.mjs - the peer of `make bench` (SPEC §11): the `oidc-provider` npm
// package (the version pinned in tests/package.json) as an OpenID
// Provider on 127.0.0.1, serving the endpoints ownauth is compared on:
// discovery, JWKS and the refresh grant with rotation.
//
//   node tests/upstream/peer.mjs [--port P]
//
// Prints "READY <port>" on stdout once listening (--port 0, the default,
// picks a free port); the issuer is http://127.0.0.1:PORT.
//
// Set up like ownauth's bench instance: one RS256 key (RSA 2048) in the
// JWKS; one public client "bench" (token_endpoint_auth_method none, like
// ownauth's clients) with the refresh_token grant; refresh tokens rotated
// on every use (rotateRefreshToken: true); ID tokens with sub, email,
// email_verified, name. Its access tokens are oidc-provider's default
// opaque ones, so a refresh answer costs it one signature (the ID token),
// as it costs ownauth one (access and ID token are the same string).
//
// Storage: a plain Map adapter (oidc-provider's own memory adapter is an
// LRU of 1,000 entries, too small for a bench). Nothing is written to
// disk: the peer's refresh grant has no durable commit, ownauth's has.
//
// Fresh refresh tokens, each for its own grant (a sign-in of its own), as
// a client's: POST /_bench/mint?n=N answers N of them, one a line,
// created through oidc-provider's own models (Grant and RefreshToken
// .save()), as the authorization_code grant would have made them. The
// bench fetches them between its measured runs.

import { generateKeyPairSync, randomBytes } from 'node:crypto';
import http from 'node:http';
import Provider from 'oidc-provider';
import { listen, parseArgs, portOk, quietStdout, usageOf } from './serve.mjs';

quietStdout();
const usage = usageOf('peer.mjs', 'usage: peer.mjs [--port P]');
const { port } = parseArgs(process.argv.slice(2), { port: 0 }, { '--port': 'port' }, usage);
if (!portOk(port)) usage('bad --port');

const CLIENT = 'bench';
const SCOPE = 'openid offline_access email profile';

// One Map for every model; grant members kept for revokeByGrantId (reuse
// of a rotated token revokes the grant).
const store = new Map();
const grants = new Map();
class MapAdapter {
	constructor(model) {
		this.model = model;
	}

	key(id) {
		return `${this.model}:${id}`;
	}

	async upsert(id, payload) {
		const key = this.key(id);
		store.set(key, payload);
		if (payload.grantId) {
			let m = grants.get(payload.grantId);
			if (!m) grants.set(payload.grantId, (m = new Set()));
			m.add(key);
		}
		if (payload.uid) store.set(`uid:${payload.uid}`, id);
		if (payload.userCode) store.set(`userCode:${payload.userCode}`, id);
	}

	async find(id) {
		return store.get(this.key(id));
	}

	async findByUid(uid) {
		return this.find(store.get(`uid:${uid}`));
	}

	async findByUserCode(code) {
		return this.find(store.get(`userCode:${code}`));
	}

	async consume(id) {
		const p = store.get(this.key(id));
		if (p) p.consumed = Math.floor(Date.now() / 1000);
	}

	async destroy(id) {
		store.delete(this.key(id));
	}

	async revokeByGrantId(grantId) {
		for (const key of grants.get(grantId) ?? []) store.delete(key);
		grants.delete(grantId);
	}
}

function log(msg) {
	process.stderr.write(`peer.mjs: ${msg}\n`);
}

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwk = privateKey.export({ format: 'jwk' });
jwk.use = 'sig';
jwk.alg = 'RS256';
jwk.kid = `rsa-${randomBytes(6).toString('hex')}`;

let handler = null;
let provider = null;
let client = null;

async function mint(n) {
	if (client === null) client = await provider.Client.find(CLIENT);
	const now = Math.floor(Date.now() / 1000);
	const out = [];
	for (let i = 0; i < n; i++) {
		const accountId = `user-${i % 1000}`;
		const grant = new provider.Grant({ accountId, clientId: CLIENT });
		grant.addOIDCScope(SCOPE);
		const grantId = await grant.save();
		const rt = new provider.RefreshToken({
			accountId,
			authTime: now,
			client,
			grantId,
			gty: 'authorization_code',
			scope: SCOPE,
			expiresWithSession: false,
		});
		out.push(await rt.save());
	}
	return out;
}

const server = http.createServer((req, res) => {
	if (handler === null) {
		res.statusCode = 503;
		res.end();
		return;
	}
	if (req.method === 'POST' && req.url.startsWith('/_bench/mint?')) {
		const n = Number(new URL(req.url, 'http://x').searchParams.get('n'));
		if (!Number.isInteger(n) || n < 1 || n > 1000000) {
			res.statusCode = 400;
			res.end('bad n\n');
			return;
		}
		mint(n).then((tokens) => {
			res.setHeader('Content-Type', 'text/plain');
			res.end(tokens.join('\n') + '\n');
		}, (err) => {
			log(`mint: ${err.stack}`);
			res.statusCode = 500;
			res.end();
		});
		return;
	}
	handler(req, res);
});

listen(server, port, (p) => {
	const issuer = `http://127.0.0.1:${p}`;
	provider = new Provider(issuer, {
		adapter: MapAdapter,
		clients: [{
			client_id: CLIENT,
			token_endpoint_auth_method: 'none',
			application_type: 'web',
			redirect_uris: ['http://127.0.0.1:5173/cb'],
			grant_types: ['authorization_code', 'refresh_token'],
			response_types: ['code'],
			id_token_signed_response_alg: 'RS256',
		}],
		jwks: { keys: [jwk] },
		pkce: { required: () => true },
		rotateRefreshToken: true,
		ttl: {
			AccessToken: 3600,
			IdToken: 3600,
			RefreshToken: 14 * 24 * 3600,
			Grant: 14 * 24 * 3600,
		},
		claims: {
			openid: ['sub'],
			email: ['email', 'email_verified'],
			profile: ['name'],
		},
		conformIdTokenClaims: false,
		cookies: { keys: [randomBytes(32).toString('base64url')] },
		features: {
			devInteractions: { enabled: false },
			userinfo: { enabled: true },
			revocation: { enabled: true },
		},
		async findAccount(_ctx, id) {
			return {
				accountId: id,
				async claims() {
					return {
						sub: id,
						email: `${id}@example.test`,
						email_verified: true,
						name: 'Bench User',
					};
				},
			};
		},
	});
	provider.on('server_error', (_ctx, err) => log(`server_error: ${err.stack}`));
	provider.on('grant.error', (_ctx, err) => log(`grant.error: ${err.message}` +
	    (err.error_description ? ` (${err.error_description})` : '')));
	handler = provider.callback();
	log(`issuer ${issuer}, client ${CLIENT}, oidc-provider with a Map adapter`);
});
