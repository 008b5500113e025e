#!/usr/bin/env node
// drive.mjs - plays the browser through a sign-in without a browser.
//
//   node tests/upstream/drive.mjs --url URL [--login NAME] [--password PW]
//       [--jar FILE] [--stop-at PREFIX] [--deny]
//
// Starting at URL (our login program's URL, or an upstream authorize URL),
// it follows redirects with a cookie jar, submits the upstream's login
// form (input[name=login] and input[name=password], as op.mjs's dev
// interactions render it) and its consent form, and stops at the first
// redirect that returns to the relying party: a URL whose query has
// "state" and "code" or "error" (or, with --stop-at, the first URL that
// starts with PREFIX). That URL is printed on stdout, without requesting
// it. --deny follows the upstream's cancel link at its first page instead
// (-> error=access_denied).
//
// --jar FILE: a curl ("Netscape") cookie file, read first when it exists
// and written back at the end, so that `curl -c FILE` / `curl -b FILE`
// can run before and after (e.g. our callback needs the login cookie that
// our login program set). Cookies are kept per host (not per port, as
// browsers do), honour Path, Max-Age/Expires; Secure cookies are sent
// over http to loopback hosts (browsers treat those as secure contexts).
//
// Exit status: 0 and the URL printed; 1 with a message on stderr when the
// flow ended anywhere else (an error page, too many steps).

import { readFileSync, writeFileSync, existsSync } from 'node:fs';

function usage(msg) {
	if (msg) process.stderr.write(`drive.mjs: ${msg}\n`);
	process.stderr.write('usage: drive.mjs --url URL [--login NAME] ' +
	    '[--password PW] [--jar FILE] [--stop-at PREFIX] [--deny]\n');
	process.exit(2);
}

const opts = { url: null, login: 'alice', password: 'secret', jar: null,
	stopAt: null, deny: false, verbose: false };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
	const a = argv[i];
	const val = () => {
		if (i + 1 >= argv.length) usage(`${a} needs a value`);
		return argv[++i];
	};
	switch (a) {
	case '--url': opts.url = val(); break;
	case '--login': opts.login = val(); break;
	case '--password': opts.password = val(); break;
	case '--jar': opts.jar = val(); break;
	case '--stop-at': opts.stopAt = val(); break;
	case '--deny': opts.deny = true; break;
	case '-v': case '--verbose': opts.verbose = true; break;
	case '-h': case '--help': usage(); break;
	default: usage(`unknown argument ${a}`);
	}
}
if (!opts.url) usage('--url is required');

function fail(msg) {
	process.stderr.write(`drive.mjs: ${msg}\n`);
	saveJar();
	process.exit(1);
}
function debug(msg) {
	if (opts.verbose) process.stderr.write(`drive.mjs: ${msg}\n`);
}

// ---- cookie jar ----------------------------------------------------

/** @type {{domain:string, hostOnly:boolean, path:string, secure:boolean,
 *  httpOnly:boolean, expires:number, name:string, value:string}[]} */
let jar = [];

function isLoopback(host) {
	return host === 'localhost' || host === '[::1]' || host === '::1' ||
	    /^127\.\d+\.\d+\.\d+$/.test(host);
}

function loadJar() {
	if (!opts.jar || !existsSync(opts.jar)) return;
	for (let line of readFileSync(opts.jar, 'utf8').split('\n')) {
		let httpOnly = false;
		if (line.startsWith('#HttpOnly_')) {
			httpOnly = true;
			line = line.slice('#HttpOnly_'.length);
		} else if (line.startsWith('#') || line.trim() === '') {
			continue;
		}
		const f = line.split('\t');
		if (f.length < 7) continue;
		const dom = f[0].replace(/^\./, '');
		jar.push({ domain: dom, hostOnly: f[1] !== 'TRUE', path: f[2],
			secure: f[3] === 'TRUE', expires: Number(f[4]) || 0,
			name: f[5], value: f[6], httpOnly });
	}
}

function saveJar() {
	if (!opts.jar) return;
	const lines = ['# Netscape HTTP Cookie File', '# written by drive.mjs', ''];
	const now = Date.now() / 1000;
	for (const c of jar) {
		if (c.expires && c.expires < now) continue;
		lines.push([(c.httpOnly ? '#HttpOnly_' : '') +
		    (c.hostOnly ? c.domain : `.${c.domain}`),
		    c.hostOnly ? 'FALSE' : 'TRUE', c.path,
		    c.secure ? 'TRUE' : 'FALSE', String(Math.floor(c.expires)),
		    c.name, c.value].join('\t'));
	}
	writeFileSync(opts.jar, lines.join('\n') + '\n', { mode: 0o600 });
}

function defaultPath(url) {
	const p = url.pathname;
	if (!p.startsWith('/') || p.lastIndexOf('/') === 0) return '/';
	return p.slice(0, p.lastIndexOf('/'));
}

function pathMatches(reqPath, cookiePath) {
	if (reqPath === cookiePath) return true;
	if (!reqPath.startsWith(cookiePath)) return false;
	return cookiePath.endsWith('/') || reqPath[cookiePath.length] === '/';
}

function storeCookie(url, header) {
	const parts = header.split(';');
	const eq = parts[0].indexOf('=');
	if (eq < 0) return;
	const c = { name: parts[0].slice(0, eq).trim(),
		value: parts[0].slice(eq + 1).trim(), domain: url.hostname,
		hostOnly: true, path: defaultPath(url), secure: false,
		httpOnly: false, expires: 0 };
	let maxAge = null;
	for (const attr of parts.slice(1)) {
		const i = attr.indexOf('=');
		const k = (i < 0 ? attr : attr.slice(0, i)).trim().toLowerCase();
		const v = i < 0 ? '' : attr.slice(i + 1).trim();
		if (k === 'path' && v.startsWith('/')) c.path = v;
		else if (k === 'domain' && v) {
			const d = v.replace(/^\./, '').toLowerCase();
			if (url.hostname !== d && !url.hostname.endsWith(`.${d}`))
				return; // not ours to set
			c.domain = d;
			c.hostOnly = false;
		} else if (k === 'secure') c.secure = true;
		else if (k === 'httponly') c.httpOnly = true;
		else if (k === 'max-age') maxAge = Number(v);
		else if (k === 'expires') {
			const t = Date.parse(v);
			if (!Number.isNaN(t)) c.expires = t / 1000;
		}
	}
	if (maxAge !== null && !Number.isNaN(maxAge))
		c.expires = maxAge <= 0 ? 1 : Date.now() / 1000 + maxAge;
	if (c.secure && url.protocol !== 'https:' && !isLoopback(url.hostname))
		return;
	jar = jar.filter((o) => !(o.name === c.name && o.domain === c.domain &&
	    o.path === c.path));
	if (c.expires && c.expires <= Date.now() / 1000) {
		debug(`cookie ${c.name} deleted`);
		return;
	}
	debug(`cookie ${c.name} set for ${c.domain}${c.path}`);
	jar.push(c);
}

function cookieHeader(url) {
	const now = Date.now() / 1000;
	const host = url.hostname;
	const secureOk = url.protocol === 'https:' || isLoopback(host);
	const list = jar.filter((c) => (!c.expires || c.expires > now) &&
	    (c.hostOnly ? c.domain === host : host === c.domain ||
	    host.endsWith(`.${c.domain}`)) &&
	    pathMatches(url.pathname, c.path) && (!c.secure || secureOk));
	// Longer paths first (RFC 6265 §5.4).
	list.sort((a, b) => b.path.length - a.path.length);
	return list.map((c) => `${c.name}=${c.value}`).join('; ');
}

// ---- HTML forms ----------------------------------------------------

function decodeEntities(s) {
	return s.replace(/&(#x[0-9a-f]+|#\d+|amp|lt|gt|quot|apos|#39);/gi, (_m, e) => {
		const l = e.toLowerCase();
		if (l === 'amp') return '&';
		if (l === 'lt') return '<';
		if (l === 'gt') return '>';
		if (l === 'quot') return '"';
		if (l === 'apos') return "'";
		if (l.startsWith('#x')) return String.fromCodePoint(parseInt(l.slice(2), 16));
		return String.fromCodePoint(parseInt(l.slice(1), 10));
	});
}

function attrs(tag) {
	const out = {};
	const re = /([a-zA-Z_:-]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+)))?/g;
	let m;
	for (const body = tag.replace(/^<\w+/, ''); (m = re.exec(body));)
		out[m[1].toLowerCase()] = decodeEntities(m[2] ?? m[3] ?? m[4] ?? '');
	return out;
}

/** Every <form> of the page: {action, method, fields: [[name, value]]}. */
function forms(html) {
	const out = [];
	const re = /<form\b[^>]*>([\s\S]*?)<\/form>/gi;
	let m;
	while ((m = re.exec(html))) {
		const fa = attrs(m[0].match(/<form\b[^>]*>/i)[0]);
		const fields = [];
		for (const inp of m[1].match(/<input\b[^>]*>/gi) ?? []) {
			const a = attrs(inp);
			if (a.name === undefined) continue;
			fields.push([a.name, a.value ?? '', (a.type ?? 'text').toLowerCase()]);
		}
		out.push({ action: fa.action ?? '', method: (fa.method ?? 'get').toLowerCase(), fields });
	}
	return out;
}

// ---- the walk ------------------------------------------------------

function isStop(u) {
	if (opts.stopAt !== null) return u.startsWith(opts.stopAt);
	const q = new URL(u).searchParams;
	return q.has('state') && (q.has('code') || q.has('error'));
}

async function request(url, method, body) {
	const u = new URL(url);
	const headers = { 'user-agent': 'ownauth-tests-drive/1',
		accept: 'text/html,application/json;q=0.9,*/*;q=0.8' };
	const ck = cookieHeader(u);
	if (ck) headers.cookie = ck;
	if (body !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded';
	debug(`${method} ${url}`);
	const res = await fetch(url, { method, headers, body, redirect: 'manual' });
	for (const sc of res.headers.getSetCookie()) storeCookie(u, sc);
	const text = await res.text();
	return { status: res.status, location: res.headers.get('location'), text };
}

async function main() {
	loadJar();
	let url = opts.url, method = 'GET', body;
	for (let step = 0; step < 30; step++) {
		let r;
		try {
			r = await request(url, method, body);
		} catch (e) {
			fail(`${method} ${url}: ${e.cause?.message ?? e.message}`);
		}
		if (r.status >= 300 && r.status < 400 && r.location) {
			const next = new URL(r.location, url).href;
			if (isStop(next)) {
				saveJar();
				process.stdout.write(`${next}\n`);
				return;
			}
			url = next;
			// 307/308 keep the method and body; the others become GET.
			if (r.status !== 307 && r.status !== 308) {
				method = 'GET';
				body = undefined;
			}
			continue;
		}
		if (r.status !== 200)
			fail(`${method} ${url}: status ${r.status}: ${r.text.slice(0, 300)}`);
		if (opts.deny) {
			// Cancel at the first upstream page (login or consent).
			const abort = r.text.match(/href="([^"]*\/abort)"/);
			if (!abort) fail(`--deny: no cancel link at ${url}`);
			url = new URL(decodeEntities(abort[1]), url).href;
			method = 'GET';
			body = undefined;
			continue;
		}
		const fs = forms(r.text);
		const loginForm = fs.find((f) => f.fields.some(([n]) => n === 'login'));
		const consentForm = fs.find((f) => f.fields.some(([n, v]) =>
		    n === 'prompt' && v === 'consent'));
		let form, values;
		if (loginForm) {
			form = loginForm;
			values = form.fields.map(([n, v]) => [n,
			    n === 'login' ? opts.login : n === 'password' ? opts.password : v]);
		} else if (consentForm) {
			form = consentForm;
			values = form.fields.map(([n, v]) => [n, v]);
		} else if (fs.length === 1) {
			// Any other single form (e.g. a form_post response page).
			form = fs[0];
			values = form.fields.map(([n, v]) => [n, v]);
		} else {
			fail(`${url}: a page with no form to submit: ${r.text.slice(0, 300)}`);
		}
		const target = new URL(form.action || url, url).href;
		const enc = new URLSearchParams(values).toString();
		if (form.method === 'post') {
			url = target;
			method = 'POST';
			body = enc;
		} else {
			const t = new URL(target);
			t.search = enc;
			url = t.href;
			method = 'GET';
			body = undefined;
		}
		if (method === 'GET' && isStop(url)) {
			saveJar();
			process.stdout.write(`${url}\n`);
			return;
		}
	}
	fail('too many steps');
}

main().catch((e) => fail(e.stack ?? String(e)));
