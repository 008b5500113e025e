// token_jose.mjs - jose-side helpers for token.sh (an independent
// verifier and the attacker's tools).
//
//   node token_jose.mjs verify JWKS_URL ISSUER CASES.json
//       CASES.json: [{name, token, aud, nonce?}]. jose fetches the JWKS
//       and verifies each token (signature with the key its kid names,
//       alg from that key, iss, aud, exp, typ JWT, required claims).
//       Prints one JSON line per case:
//       {name, result: "valid"|"invalid", error?, header?, payload?}.
//   node token_jose.mjs forge KEY.pem ISSUER AUD SUB
//       Prints {name: token} for the attacks userinfo must refuse: alg
//       none, HS256 keyed with our PEM public key, expired (our key),
//       wrong iss (our key), wrong aud (our key), bad signature, and
//       "good" (our key, valid) as the control. KEY.pem is a private key
//       of keys_dir (PKCS#8); its kid is the file name.
//   node token_jose.mjs expired KEY.pem ISSUER AUD SUB SID
//       Prints one expired ID token (our key) with sid, for logout's
//       id_token_hint.
//   node token_jose.mjs header|payload TOKEN
//       Prints the decoded header or payload (not verified).
//   node token_jose.mjs race URL N BODY [COOKIE] [ORIGIN]
//       N concurrent form POSTs of BODY to URL; prints a JSON array of
//       {status, body, setCookie}.
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { createPublicKey, createHmac } from 'node:crypto';
import {
  createRemoteJWKSet, jwtVerify, importPKCS8, SignJWT, decodeProtectedHeader, decodeJwt,
} from 'jose';

const [cmd, ...args] = process.argv.slice(2);

const b64u = (x) => Buffer.from(x).toString('base64url');

function algOf(pem) {
  const k = createPublicKey(pem);
  switch (k.asymmetricKeyType) {
    case 'rsa': return 'RS256';
    case 'ec': return 'ES256';
    case 'ed25519': return 'EdDSA';
    default: throw new Error(`unknown key type ${k.asymmetricKeyType}`);
  }
}

async function sign(pemFile, header, claims) {
  const pem = readFileSync(pemFile, 'utf8');
  const alg = algOf(pem);
  const key = await importPKCS8(pem, alg);
  const kid = basename(pemFile, '.pem');
  return new SignJWT(claims).setProtectedHeader({ alg, kid, typ: 'JWT', ...header }).sign(key);
}

async function verify(jwksUrl, issuer, file) {
  const JWKS = createRemoteJWKSet(new URL(jwksUrl), { cooldownDuration: 0, cacheMaxAge: 0 });
  const cases = JSON.parse(readFileSync(file, 'utf8'));
  for (const c of cases) {
    const line = { name: c.name };
    try {
      const { payload, protectedHeader } = await jwtVerify(c.token, JWKS, {
        issuer, audience: c.aud, typ: 'JWT',
        requiredClaims: ['iss', 'sub', 'aud', 'exp', 'iat', 'jti', 'sid'],
      });
      if (typeof payload.aud !== 'string') throw new Error('aud is not one string');
      if (c.nonce !== undefined && payload.nonce !== c.nonce) throw new Error('nonce mismatch');
      if (!protectedHeader.kid) throw new Error('no kid');
      Object.assign(line, { result: 'valid', header: protectedHeader, payload });
    } catch (e) {
      Object.assign(line, { result: 'invalid', error: `${e.code || e.name}: ${e.message}` });
    }
    process.stdout.write(JSON.stringify(line) + '\n');
  }
}

async function forge(pemFile, iss, aud, sub) {
  const now = Math.floor(Date.now() / 1000);
  const base = { iss, sub, aud, iat: now, exp: now + 600, jti: `forged-${now}`, sid: 's_forged' };
  const pem = readFileSync(pemFile, 'utf8');
  const pub = createPublicKey(pem).export({ type: 'spki', format: 'pem' });
  const kid = basename(pemFile, '.pem');
  const out = {};
  out.good = await sign(pemFile, {}, base);
  // alg none, unsigned (RFC 8725 §2.1).
  out.none = `${b64u(JSON.stringify({ alg: 'none', kid, typ: 'JWT' }))}.${b64u(JSON.stringify(base))}.`;
  // HS256 keyed with the public key (RFC 8725 §2.1 key confusion).
  const hin = `${b64u(JSON.stringify({ alg: 'HS256', kid, typ: 'JWT' }))}.${b64u(JSON.stringify(base))}`;
  out.hs256 = `${hin}.${createHmac('sha256', pub).update(hin).digest('base64url')}`;
  out.expired = await sign(pemFile, {}, { ...base, iat: now - 7200, exp: now - 3600 });
  out.wrong_iss = await sign(pemFile, {}, { ...base, iss: `${iss}/other` });
  out.wrong_aud = await sign(pemFile, {}, { ...base, aud: 'someone-else' });
  out.two_aud = await sign(pemFile, {}, { ...base, aud: [aud, 'someone-else'] });
  // A header that selects another algorithm than the key's.
  const other = algOf(pem) === 'RS256' ? 'PS256' : 'RS256';
  out.alg_swap = `${b64u(JSON.stringify({ alg: other, kid, typ: 'JWT' }))}.${out.good.split('.').slice(1).join('.')}`;
  const parts = out.good.split('.');
  const sig = Buffer.from(parts[2], 'base64url');
  sig[0] ^= 1;
  out.bad_sig = `${parts[0]}.${parts[1]}.${sig.toString('base64url')}`;
  // jku pointing elsewhere (RFC 8725 §3.10): never followed.
  out.jku = await sign(pemFile, { jku: 'http://127.0.0.1:1/jwks.json' }, base);
  process.stdout.write(JSON.stringify(out) + '\n');
}

async function expired(pemFile, iss, aud, sub, sid) {
  const now = Math.floor(Date.now() / 1000);
  const t = await sign(pemFile, {}, {
    iss, sub, aud, iat: now - 7200, exp: now - 3600, jti: `old-${now}`, sid,
  });
  process.stdout.write(t + '\n');
}

async function race(url, n, body, cookie, origin) {
  const headers = { 'content-type': 'application/x-www-form-urlencoded' };
  if (cookie) headers.cookie = cookie;
  if (origin) headers.origin = origin;
  const reqs = [];
  for (let i = 0; i < Number(n); i++) {
    reqs.push(fetch(url, { method: 'POST', headers, body }).then(async (r) => ({
      status: r.status, body: await r.text(), setCookie: r.headers.get('set-cookie'),
    })).catch((e) => ({ status: 0, body: String(e), setCookie: null })));
  }
  process.stdout.write(JSON.stringify(await Promise.all(reqs)) + '\n');
}

try {
  switch (cmd) {
    case 'verify': await verify(...args); break;
    case 'forge': await forge(...args); break;
    case 'expired': await expired(...args); break;
    case 'race': await race(...args); break;
    case 'header': process.stdout.write(JSON.stringify(decodeProtectedHeader(args[0])) + '\n'); break;
    case 'payload': process.stdout.write(JSON.stringify(decodeJwt(args[0])) + '\n'); break;
    default:
      console.error('usage: token_jose.mjs verify|forge|expired|race ...');
      process.exit(2);
  }
} catch (e) {
  console.error(`token_jose.mjs ${cmd}: ${e.stack || e}`);
  process.exit(1);
}
