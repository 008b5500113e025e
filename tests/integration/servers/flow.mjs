// flow.mjs - the whole sign-in through one web server, as a browser and
// an app would do it (servers.sh runs it once per server).
//
//   node flow.mjs flow ISSUER CLIENT REDIRECT_URI
//       Discovery and JWKS at the URLs of SPEC §2 (200, JSON, issuer
//       byte-equal); the authorization request at the discovered
//       authorization_endpoint (code + PKCE S256, state, nonce), followed
//       to the dev provider's form with the login cookie; the form POSTed
//       to its action ({issuer}/oauth/dev/callback) with the cookie; the
//       302 to REDIRECT_URI?code&state&iss; the code exchange at the
//       discovered token_endpoint; both tokens verified by jose against
//       the served JWKS (createRemoteJWKSet on the discovered jwks_uri);
//       /userinfo with the Bearer token (the server must pass the
//       Authorization header); a refresh (a different access token, a
//       rotated refresh token); /revoke, after which the refresh token is
//       refused.
//   node flow.mjs jwks JWKS_URL ISSUER TOKEN AUDIENCE
//       Verifies TOKEN with jose's createRemoteJWKSet(JWKS_URL) (the
//       Convex customJwt way: only the JWKS URL), issuer and audience.
//   node flow.mjs oidc ISSUER TOKEN AUDIENCE
//       The Convex OIDC way: discovery at
//       {ISSUER}/.well-known/openid-configuration, its issuer byte-equal,
//       then TOKEN verified against its jwks_uri.
//
// Prints one line per check, "ok<TAB>what" or "fail<TAB>what: detail",
// then "done"; exits 0 even when a check failed (servers.sh counts the
// lines; a missing "done" is itself a failure). Talks to 127.0.0.1 only.
import { createHash, randomBytes } from 'node:crypto';
import { createRemoteJWKSet, jwtVerify } from 'jose';

const out = (r, what) => process.stdout.write(`${r}\t${what.replace(/[\t\n\r]/g, ' ')}\n`);
const ok = (what) => out('ok', what);
const fail = (what, detail) => out('fail', detail === undefined ? what : `${what}: ${detail}`);
const expect = (what, got, want) => {
  if (got === want) ok(what);
  else fail(what, `got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
  return got === want;
};
const truthy = (what, cond, detail) => {
  if (cond) ok(what);
  else fail(what, detail);
  return !!cond;
};
class Abort extends Error {}
const must = (cond, what, detail) => {
  if (!truthy(what, cond, detail)) throw new Abort(what);
};
const b64u = (b) => Buffer.from(b).toString('base64url');
const short = (s) => String(s).slice(0, 300);

// A cookie jar for one origin (paths and expiry beyond deletion ignored:
// everything here is on the issuer's host).
const jar = new Map();
function remember(res) {
  for (const c of res.headers.getSetCookie()) {
    const [pair, ...attrs] = c.split(';');
    const eq = pair.indexOf('=');
    if (eq < 1) continue;
    const name = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1).trim();
    const gone = attrs.some((a) => /^\s*max-age\s*=\s*0\s*$/i.test(a)) || value === '';
    if (gone) jar.delete(name);
    else jar.set(name, value);
  }
}
const cookieHeader = () => [...jar].map(([k, v]) => `${k}=${v}`).join('; ');

// req METHOD URL [form]: no redirect followed; cookies sent and kept.
async function req(method, url, form, headers = {}) {
  const h = { ...headers };
  if (jar.size) h.cookie = cookieHeader();
  let body;
  if (form) {
    h['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(form).toString();
  }
  const res = await fetch(url, {
    method, headers: h, body, redirect: 'manual', signal: AbortSignal.timeout(20000),
  });
  remember(res);
  const text = await res.text();
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: res.status, headers: res.headers, text, json };
}

const unhtml = (s) => s.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<')
  .replace(/&gt;/g, '>').replace(/&amp;/g, '&');

async function discovery(iss) {
  const r = await req('GET', `${iss}/.well-known/openid-configuration`);
  expect('discovery: status', r.status, 200);
  expect('discovery: Content-Type', r.headers.get('content-type'), 'application/json');
  must(r.json && typeof r.json === 'object', 'discovery: a JSON object', short(r.text));
  expect('discovery: issuer byte-equal', r.json.issuer, iss);
  return r.json;
}

async function jwks(url) {
  const r = await req('GET', url);
  expect('JWKS: status', r.status, 200);
  expect('JWKS: Content-Type', r.headers.get('content-type'), 'application/json');
  truthy('JWKS: Cache-Control public, max-age', /^public, max-age=\d+$/.test(r.headers.get('cache-control') ?? ''),
    r.headers.get('cache-control'));
  must(Array.isArray(r.json?.keys) && r.json.keys.length > 0 &&
    r.json.keys.every((k) => k.kid && k.kty && k.alg && k.use === 'sig'),
  'JWKS: keys with kid, kty, alg, use sig', short(r.text));
  truthy('JWKS: no private parts', r.json.keys.every((k) => !('d' in k || 'p' in k || 'q' in k)));
  return r.json;
}

async function verifyTok(what, token, keyset, issuer, audience, extra = {}) {
  try {
    const { payload, protectedHeader } = await jwtVerify(token, keyset, {
      issuer, audience, typ: 'JWT', requiredClaims: ['iss', 'sub', 'aud', 'exp', 'iat', 'jti'],
    });
    if (!protectedHeader.kid) throw new Error('no kid');
    if (typeof payload.aud !== 'string') throw new Error('aud is not one string');
    for (const [k, v] of Object.entries(extra)) {
      if (payload[k] !== v) throw new Error(`${k} is ${JSON.stringify(payload[k])}, want ${JSON.stringify(v)}`);
    }
    ok(`${what}: verified by jose against the served JWKS`);
    return payload;
  } catch (e) {
    fail(`${what}: verified by jose against the served JWKS`, `${e.code ?? e.name}: ${e.message}`);
    return undefined;
  }
}

async function flow(iss, client, redirectUri) {
  const d = await discovery(iss);
  expect('discovery: jwks_uri', d.jwks_uri, `${iss}/.well-known/jwks.json`);
  for (const [k, p] of [['authorization_endpoint', '/oauth/authorize'], ['token_endpoint', '/token'],
    ['userinfo_endpoint', '/userinfo'], ['revocation_endpoint', '/revoke']]) {
    expect(`discovery: ${k}`, d[k], `${iss}${p}`);
  }
  await jwks(d.jwks_uri);
  const keyset = createRemoteJWKSet(new URL(d.jwks_uri));

  // The authorization request, followed (on the issuer's origin) to the
  // dev provider's form.
  const verifier = b64u(randomBytes(32));
  const challenge = b64u(createHash('sha256').update(verifier).digest());
  const state = `st-${b64u(randomBytes(9))}`;
  const nonce = `no-${b64u(randomBytes(9))}`;
  const q = new URLSearchParams({
    client_id: client, redirect_uri: redirectUri, response_type: 'code', state, nonce,
    scope: 'openid email profile', code_challenge: challenge, code_challenge_method: 'S256',
  });
  let url = `${d.authorization_endpoint}?${q}`;
  let r;
  for (let hops = 0; ; hops++) {
    r = await req('GET', url);
    if (r.status < 300 || r.status > 399) break;
    const next = new URL(r.headers.get('location') ?? '', url);
    must(next.origin === new URL(iss).origin && hops < 5, 'authorize: redirects stay on the issuer',
      next.href);
    url = next.href;
  }
  must(r.status === 200, 'authorize: the dev form (200)', `${r.status} ${short(r.text)}`);
  expect('authorize: text/html', r.headers.get('content-type'), 'text/html; charset=utf-8');
  truthy('authorize: the login cookie set', jar.size > 0, 'no cookie');
  const action = unhtml(r.text.match(/<form method="post" action="([^"]*)"/)?.[1] ?? '');
  const fstate = unhtml(r.text.match(/name="state" value="([^"]*)"/)?.[1] ?? '');
  expect('dev form: action is {issuer}/oauth/dev/callback', action, `${iss}/oauth/dev/callback`);
  must(fstate !== '', 'dev form: a state field');

  // The form, POSTed to the callback with the cookie.
  const email = `user-${b64u(randomBytes(4)).toLowerCase()}@example.test`;
  r = await req('POST', action, { state: fstate, email, name: 'Server Test' });
  must(r.status === 302, 'callback: 302', `${r.status} ${short(r.text)}`);
  const loc = new URL(r.headers.get('location') ?? 'http://invalid.test/');
  expect('callback: back to the redirect_uri', `${loc.origin}${loc.pathname}`, redirectUri);
  expect('callback: state echoed', loc.searchParams.get('state'), state);
  expect('callback: iss (RFC 9207)', loc.searchParams.get('iss'), iss);
  const code = loc.searchParams.get('code');
  must(code, 'callback: a code', loc.href);

  // The code exchange.
  r = await req('POST', d.token_endpoint, {
    grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: verifier,
    client_id: client,
  });
  must(r.status === 200, 'token: code exchange 200', `${r.status} ${short(r.text)}`);
  expect('token: Content-Type JSON', r.headers.get('content-type'), 'application/json');
  expect('token: Cache-Control no-store', r.headers.get('cache-control'), 'no-store');
  const t1 = r.json ?? {};
  expect('token: token_type Bearer', t1.token_type, 'Bearer');
  must(t1.access_token && t1.id_token && t1.refresh_token, 'token: access, ID and refresh tokens',
    Object.keys(t1).join(','));
  const at = await verifyTok('access token', t1.access_token, keyset, iss, client, { email });
  await verifyTok('ID token', t1.id_token, keyset, iss, client, { nonce, email });

  // /userinfo: the Authorization header must reach token.fcgi.
  r = await req('GET', d.userinfo_endpoint, undefined, { authorization: `Bearer ${t1.access_token}` });
  expect('userinfo: 200 with the Bearer token', r.status, 200);
  expect('userinfo: sub', r.json?.sub, at?.sub ?? '(no verified access token)');
  expect('userinfo: the email typed into the dev form', r.json?.email, email);
  r = await req('GET', d.userinfo_endpoint);
  expect('userinfo: 401 without it', r.status, 401);

  // A refresh: a different access token, a rotated refresh token.
  r = await req('POST', d.token_endpoint, {
    grant_type: 'refresh_token', refresh_token: t1.refresh_token, client_id: client,
  });
  must(r.status === 200, 'refresh: 200', `${r.status} ${short(r.text)}`);
  const t2 = r.json ?? {};
  truthy('refresh: a different access token', t2.access_token && t2.access_token !== t1.access_token);
  truthy('refresh: a rotated refresh token', t2.refresh_token && t2.refresh_token !== t1.refresh_token);
  const at2 = await verifyTok('refreshed access token', t2.access_token, keyset, iss, client);
  expect('refresh: same user', at2?.sub, at?.sub ?? '(none)');

  // /revoke, then the refresh token is refused.
  r = await req('POST', d.revocation_endpoint, {
    token: t2.refresh_token, token_type_hint: 'refresh_token', client_id: client,
  });
  expect('revoke: 200', r.status, 200);
  r = await req('POST', d.token_endpoint, {
    grant_type: 'refresh_token', refresh_token: t2.refresh_token, client_id: client,
  });
  expect('revoked refresh token: 400 invalid_grant', `${r.status} ${r.json?.error}`, '400 invalid_grant');
}

async function customJwt(jwksUrl, iss, token, aud) {
  await jwks(jwksUrl);
  await verifyTok('minted token (customJwt: JWKS URL only)', token,
    createRemoteJWKSet(new URL(jwksUrl)), iss, aud);
}

async function oidc(iss, token, aud) {
  const d = await discovery(iss);
  await jwks(d.jwks_uri);
  await verifyTok('minted token (OIDC: discovery, then its jwks_uri)', token,
    createRemoteJWKSet(new URL(d.jwks_uri)), iss, aud);
}

const [cmd, ...args] = process.argv.slice(2);
try {
  switch (cmd) {
    case 'flow': await flow(...args); break;
    case 'jwks': await customJwt(...args); break;
    case 'oidc': await oidc(...args); break;
    default:
      console.error('usage: flow.mjs flow|jwks|oidc ...');
      process.exit(2);
  }
} catch (e) {
  if (!(e instanceof Abort)) fail(`${cmd}: exception`, `${e.stack ?? e}`);
}
process.stdout.write('done\n');
