// mint_jose.mjs - tokens for interop.sh made by an independent library.
//
//   node mint_jose.mjs --pem KEYS/KID.pem --kid KID --alg ALG --iss ISS \
//       --aud AUD --sub SUB [--ours TOKEN]
//
// jose signs with ownauth's own private key (the PKCS#8 PEM from keys_dir)
// so that `ownauth token verify` must accept the valid token; every other
// token is a known attack or mistake that every verifier must refuse
// (RFC 8725 §2, §3.1, §3.10). Prints a JSON object {case: token}.
import { readFileSync } from 'node:fs';
import { createHmac, createPrivateKey, createPublicKey, randomUUID, generateKeyPairSync, sign as nodeSign } from 'node:crypto';
import { importPKCS8, SignJWT, exportJWK, base64url } from 'jose';

const args = {};
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) {
  if (!argv[i].startsWith('--') || argv[i + 1] === undefined) {
    console.error(`usage: mint_jose.mjs --pem F --kid K --alg A --iss I --aud A --sub S [--ours T]`);
    process.exit(2);
  }
  args[argv[i].slice(2)] = argv[i + 1];
}
for (const k of ['pem', 'kid', 'alg', 'iss', 'aud', 'sub']) {
  if (!args[k]) { console.error(`mint_jose.mjs: --${k} is required`); process.exit(2); }
}
const { kid, alg, iss, aud, sub } = args;
const pem = readFileSync(args.pem, 'utf8');
const key = await importPKCS8(pem, alg);
const now = Math.floor(Date.now() / 1000);

const enc = (obj) => base64url.encode(JSON.stringify(obj));
const claims = (over = {}) => ({ iss, sub, aud, iat: now, exp: now + 300, jti: randomUUID(), ...over });
const sign = (header, payload) => new SignJWT(payload).setProtectedHeader(header).sign(key);
// A signed token whose payload is swapped afterwards (signature kept).
const tamper = (token) => {
  const [h, p, s] = token.split('.');
  const payload = JSON.parse(Buffer.from(p, 'base64url').toString('utf8'));
  payload.sub = 'admin';
  return `${h}.${enc(payload)}.${s}`;
};

const out = {};
out.jose_valid = await sign({ alg, kid, typ: 'JWT' }, claims());
if (args.ours) {
  out.ours = args.ours;
  out.tampered_ours = tamper(args.ours);
}
out.tampered_jose = tamper(out.jose_valid);
// alg "none": no signature at all (RFC 8725 §3.1).
out.alg_none = `${enc({ alg: 'none', kid, typ: 'JWT' })}.${enc(claims())}.`;
// HS256 keyed with our public key as published (the SPKI PEM): the
// classic algorithm confusion attack (RFC 8725 §2.1).
{
  const pub = createPublicKey(pem).export({ type: 'spki', format: 'pem' });
  const input = `${enc({ alg: 'HS256', kid, typ: 'JWT' })}.${enc(claims())}`;
  out.hs256_pubkey = `${input}.${createHmac('sha256', pub).update(input).digest('base64url')}`;
}
// Properly signed by our key, but naming a kid that is not published.
out.wrong_kid = await sign({ alg, kid: base64url.encode(Buffer.alloc(32, 7)), typ: 'JWT' }, claims());
out.expired = await sign({ alg, kid, typ: 'JWT' }, claims({ iat: now - 7200, exp: now - 3600 }));
out.wrong_iss = await sign({ alg, kid, typ: 'JWT' }, claims({ iss: `${iss}/evil` }));
out.wrong_aud = await sign({ alg, kid, typ: 'JWT' }, claims({ aud: 'someone-else' }));
out.no_exp = await sign({ alg, kid, typ: 'JWT' }, (({ exp, ...c }) => c)(claims()));
// Unknown critical header parameter (RFC 7515 §4.1.11). jose refuses to
// sign one, so node:crypto signs it (JOSE raw r||s for ES256).
{
  const input = `${enc({ alg, kid, typ: 'JWT', crit: ['x-unknown'], 'x-unknown': true })}.${enc(claims())}`;
  const k = createPrivateKey(pem);
  const sig = alg === 'RS256' ? nodeSign('sha256', Buffer.from(input), k)
    : alg === 'ES256' ? nodeSign('sha256', Buffer.from(input), { key: k, dsaEncoding: 'ieee-p1363' })
    : nodeSign(null, Buffer.from(input), k);
  out.crit_unknown = `${input}.${sig.toString('base64url')}`;
}
// Header-supplied keys are never trusted (RFC 8725 §3.10): a token signed
// by an attacker's key that embeds that key (jwk) or points to it (jku).
{
  const opts = alg === 'RS256' ? ['rsa', { modulusLength: 2048 }] : alg === 'ES256' ? ['ec', { namedCurve: 'P-256' }] : ['ed25519', {}];
  const { privateKey, publicKey } = generateKeyPairSync(...opts);
  const jwk = await exportJWK(publicKey);
  out.embedded_jwk = await new SignJWT(claims()).setProtectedHeader({ alg, typ: 'JWT', jwk }).sign(privateKey);
  out.jku_attacker = await new SignJWT(claims()).setProtectedHeader({ alg, kid, typ: 'JWT', jku: 'http://127.0.0.1:9/jwks.json' }).sign(privateKey);
}
process.stdout.write(JSON.stringify(out) + '\n');
