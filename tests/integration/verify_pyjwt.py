#!/usr/bin/python3
"""verify_pyjwt.py - verifies tokens with Debian's python3-jwt (PyJWT).

    /usr/bin/python3 verify_pyjwt.py JWKS_URL ISSUER AUDIENCE CASES.json

CASES.json is {case: token}. For each case prints one JSON line:
{"case", "result": "valid"|"invalid", "error", "payload"}. PyJWKClient
fetches the JWKS and picks the key by the token's kid; the algorithm comes
from that JWK (never from the token header); iss, aud and exp are checked
and iss, sub, aud, exp, iat required.
"""
import json
import sys

import jwt


def main():
    if len(sys.argv) != 5:
        print(__doc__, file=sys.stderr)
        return 2
    url, issuer, audience, path = sys.argv[1:]
    with open(path, encoding="utf-8") as f:
        cases = json.load(f)
    client = jwt.PyJWKClient(url, cache_jwk_set=False)
    for name, token in cases.items():
        line = {"case": name}
        try:
            signing = client.get_signing_key_from_jwt(token)
            alg = signing._jwk_data.get("alg")
            if alg not in ("RS256", "ES256", "EdDSA"):
                raise ValueError(f"JWK has no usable alg: {alg!r}")
            payload = jwt.decode(
                token,
                signing.key,
                algorithms=[alg],
                audience=audience,
                issuer=issuer,
                options={"require": ["iss", "sub", "aud", "exp", "iat"]},
            )
            line.update(result="valid", payload=payload)
        except Exception as e:  # every failure is a rejection
            line.update(result="invalid", error=f"{type(e).__name__}: {e}")
        print(json.dumps(line), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
