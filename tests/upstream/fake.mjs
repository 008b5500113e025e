#!/usr/bin/env node
// fake.mjs - a misbehaving upstream for failure tests, on 127.0.0.1.
//
//   node tests/upstream/fake.mjs [--port P] [--routes FILE.json]
//       [--tls-cert CERT.pem --tls-key KEY.pem]
//
// Prints "READY <port>" on stdout once listening (--port 0, the default,
// picks a free port); logs one line per request to stderr.
//
// Built-in paths (any method):
//   /json            200 {"ok":true,"n":1}
//   /array           200 [1,2,3]
//   /status/NNN      status NNN with {"error":"server_error"}
//   /malformed       200 application/json '{"ok": tru'
//   /trailing        200 '{"ok":true} {"again":1}'
//   /nul             200 '{"a":"x\u0000y"}' (an escaped NUL in a string)
//   /html            200 text/html page
//   /empty           200 with an empty body
//   /big?bytes=N[&cl=1]  200 with N bytes of JSON ('{"pad":"xxx...'),
//                    chunked, or with Content-Length when cl=1
//   /hang            never answers (the socket stays open)
//   /slow            headers and half a body, then nothing
//   /close           closes the connection without any response
//   /redirect[?to=URL]  302 to URL (default http://other.example.test/x)
//   /echo            200 {"method","path","query","headers","body"}
//   /token/json      200 a JSON token response (RFC 6749 §5.1)
//   /token/form      200 the same, form-encoded (GitHub without Accept)
//   /token/error     400 {"error":"invalid_grant",...}
//   /_hits           200 {"hits":N}: requests seen so far (not counting
//                    /_hits itself)
// Routes can be added or replaced per path, at startup with --routes
// FILE.json or at run time with POST /_routes, both a JSON object
// {"/path": SPEC}. SPEC members (all optional):
//   status (200), type (application/json), body (a string is sent as is,
//   anything else as JSON), headers {name: value}, location (a Location
//   header), hang (true: never answer), close (true: drop the
//   connection), bytes (N bytes of padding as the body), delay_ms (wait
//   before answering).

import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { listen, parseArgs, portOk, quietStdout, usageOf } from './serve.mjs';

quietStdout();
const usage = usageOf('fake.mjs', 'usage: fake.mjs [--port P] [--routes FILE.json] ' +
    '[--tls-cert CERT --tls-key KEY]');
const opts = parseArgs(process.argv.slice(2),
    { port: 0, routes: null, cert: null, key: null, quiet: false },
    { '--port': 'port', '--routes': 'routes', '--tls-cert': 'cert', '--tls-key': 'key',
	'-q': 'quiet', '--quiet': 'quiet' }, usage);
if (!portOk(opts.port))
	usage('bad --port');
if ((opts.cert === null) !== (opts.key === null))
	usage('--tls-cert and --tls-key go together');

function log(msg) {
	if (!opts.quiet) process.stderr.write(`fake.mjs: ${msg}\n`);
}

const routes = new Map();
function addRoutes(obj) {
	if (obj === null || typeof obj !== 'object' || Array.isArray(obj))
		throw new Error('routes must be a JSON object {"/path": spec}');
	for (const [path, spec] of Object.entries(obj)) {
		if (!path.startsWith('/') || spec === null || typeof spec !== 'object')
			throw new Error(`bad route ${path}`);
		routes.set(path, spec);
	}
}
if (opts.routes) addRoutes(JSON.parse(readFileSync(opts.routes, 'utf8')));

let hits = 0;
const hanging = new Set();

const tokenResponse = {
	access_token: 'fake-access-token-0123456789',
	token_type: 'Bearer',
	expires_in: 3600,
	id_token: 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln',
	scope: 'openid email profile',
};

function send(res, status, type, body, headers = {}) {
	res.statusCode = status;
	if (type) res.setHeader('content-type', type);
	for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
	res.end(body);
}

function padding(n) {
	// '{"pad":"xxx..."}' cut or padded to exactly n bytes.
	const head = '{"pad":"', tail = '"}';
	if (n <= head.length + tail.length) return 'x'.repeat(n);
	return head + 'x'.repeat(n - head.length - tail.length) + tail;
}

function sendBig(res, n, withLength) {
	res.statusCode = 200;
	res.setHeader('content-type', 'application/json');
	if (withLength) res.setHeader('content-length', String(n));
	const body = padding(n);
	// In pieces, so that a client that aborts early stops the stream.
	let off = 0;
	const step = () => {
		while (off < body.length) {
			const chunk = body.slice(off, off + 65536);
			off += chunk.length;
			if (!res.write(chunk)) {
				res.once('drain', step);
				return;
			}
		}
		res.end();
	};
	res.on('error', () => {});
	step();
}

function hang(req, res) {
	hanging.add(res);
	req.socket.on('close', () => hanging.delete(res));
}

function serveSpec(req, res, spec, body) {
	const go = () => {
		if (spec.hang) return hang(req, res);
		if (spec.close) return req.socket.destroy();
		const headers = { ...(spec.headers ?? {}) };
		if (spec.location) headers.location = spec.location;
		if (spec.bytes !== undefined)
			return sendBig(res, Number(spec.bytes), false);
		let b = spec.body ?? '';
		if (typeof b !== 'string') b = JSON.stringify(b);
		send(res, spec.status ?? 200, spec.type ?? 'application/json', b, headers);
	};
	if (spec.delay_ms) setTimeout(go, Number(spec.delay_ms));
	else go();
}

function handle(req, res, body) {
	const url = new URL(req.url, 'http://fake.invalid');
	const p = url.pathname;
	if (p !== '/_hits') hits++;
	log(`${req.method} ${req.url}`);

	if (p === '/_routes' && req.method === 'POST') {
		try {
			addRoutes(JSON.parse(body));
		} catch (e) {
			return send(res, 400, 'text/plain', `${e.message}\n`);
		}
		return send(res, 204, null, '');
	}
	if (routes.has(p)) return serveSpec(req, res, routes.get(p), body);

	const st = p.match(/^\/status\/(\d{3})$/);
	if (st)
		return send(res, Number(st[1]), 'application/json',
		    '{"error":"server_error","error_description":"fake failure"}');
	switch (p) {
	case '/_hits':
		return send(res, 200, 'application/json', JSON.stringify({ hits }));
	case '/json':
		return send(res, 200, 'application/json', '{"ok":true,"n":1}');
	case '/array':
		return send(res, 200, 'application/json', '[1,2,3]');
	case '/malformed':
		return send(res, 200, 'application/json', '{"ok": tru');
	case '/trailing':
		return send(res, 200, 'application/json', '{"ok":true} {"again":1}');
	case '/nul':
		return send(res, 200, 'application/json', '{"a":"x\\u0000y"}');
	case '/html':
		return send(res, 200, 'text/html', '<!DOCTYPE html><title>no</title><p>not JSON</p>');
	case '/empty':
		return send(res, 200, 'application/json', '');
	case '/big':
		return sendBig(res, Number(url.searchParams.get('bytes') ?? 2097152),
		    url.searchParams.get('cl') === '1');
	case '/hang':
		return hang(req, res);
	case '/slow':
		res.statusCode = 200;
		res.setHeader('content-type', 'application/json');
		res.setHeader('content-length', '100');
		res.write('{"ok":');
		return hang(req, res);
	case '/close':
		return req.socket.destroy();
	case '/redirect':
		return send(res, 302, 'text/plain', 'moved\n', {
			location: url.searchParams.get('to') ?? 'http://other.example.test/x',
		});
	case '/echo':
		return send(res, 200, 'application/json', JSON.stringify({
			method: req.method,
			path: p,
			query: Object.fromEntries(url.searchParams),
			headers: req.headers,
			body,
		}));
	case '/token/json':
		return send(res, 200, 'application/json', JSON.stringify(tokenResponse));
	case '/token/form':
		return send(res, 200, 'application/x-www-form-urlencoded; charset=utf-8',
		    new URLSearchParams({ access_token: tokenResponse.access_token,
			scope: 'read:user,user:email', token_type: 'bearer' }).toString());
	case '/token/error':
		return send(res, 400, 'application/json', JSON.stringify({
			error: 'invalid_grant', error_description: 'code expired' }));
	default:
		return send(res, 404, 'application/json', '{"error":"not_found"}');
	}
}

function onRequest(req, res) {
	const chunks = [];
	let size = 0;
	req.on('data', (c) => {
		size += c.length;
		if (size <= 1 << 20) chunks.push(c);
	});
	req.on('end', () => handle(req, res, Buffer.concat(chunks).toString('utf8')));
}

const server = opts.cert ?
    https.createServer({ cert: readFileSync(opts.cert), key: readFileSync(opts.key) }, onRequest) :
    http.createServer(onRequest);
server.on('clientError', (_e, sock) => sock.destroy());
listen(server, opts.port, (port) =>
    log(`listening on ${opts.cert ? 'https' : 'http'}://127.0.0.1:${port}`));
