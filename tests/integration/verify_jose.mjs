// verify_jose.mjs - verifies tokens with jose against a JWKS URL.
//
//   node verify_jose.mjs JWKS_URL ISSUER AUDIENCE CASES.json
//
// CASES.json is {case: token}. For each case prints one JSON line:
// {"case", "result": "valid"|"invalid", "error", "header", "payload"}.
// jose fetches the JWKS itself (createRemoteJWKSet) and checks the
// signature with the key the kid names, iss, aud, exp, typ and the
// presence of the claims ownauth promises (SPEC §3).
import { readFileSync } from 'node:fs';
import { createRemoteJWKSet, jwtVerify } from 'jose';

const [jwksUrl, issuer, audience, file] = process.argv.slice(2);
if (!file) {
  console.error('usage: verify_jose.mjs JWKS_URL ISSUER AUDIENCE CASES.json');
  process.exit(2);
}
const JWKS = createRemoteJWKSet(new URL(jwksUrl), { cooldownDuration: 0 });
const cases = JSON.parse(readFileSync(file, 'utf8'));
for (const [name, token] of Object.entries(cases)) {
  const line = { case: name };
  try {
    const { payload, protectedHeader } = await jwtVerify(token, JWKS, {
      issuer, audience, typ: 'JWT',
      requiredClaims: ['iss', 'sub', 'aud', 'exp', 'iat', 'jti'],
    });
    Object.assign(line, { result: 'valid', header: protectedHeader, payload });
  } catch (e) {
    Object.assign(line, { result: 'invalid', error: `${e.code || e.name}: ${e.message}` });
  }
  process.stdout.write(JSON.stringify(line) + '\n');
}
