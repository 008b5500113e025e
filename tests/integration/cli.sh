#!/bin/bash
# tests/integration/cli.sh BUILD_DIR - exercises bin/ownauth (SPEC §7) in a
# temporary directory: init, check, keys, publish, token mint/verify (with
# python3-jwt as an independent verifier), convex, exit statuses. The store
# commands (users, sessions, db) are tests/integration/cli_store.sh.
# Exits non-zero when any check fails.
set -u

if [ $# -ne 1 ] || [ ! -x "$1/bin/ownauth" ]; then
	echo "usage: $0 BUILD_DIR   (BUILD_DIR/bin/ownauth must exist)" >&2
	exit 2
fi
OA="$(cd "$1" && pwd -P)/bin/ownauth"
HERE=$(cd "$(dirname "$0")" && pwd -P)
PY=/usr/bin/python3
T=$(mktemp -d /tmp/ownauth-cli.XXXXXX) || exit 1
T=$(cd "$T" && pwd -P)
trap 'rm -rf "$T"' EXIT
unset OWNAUTH_CONF

# The quiet checks (fail, pass, show, want, has, hasnt, py) are lib.sh's
# oa_tally_checks. lib.sh turns pipefail on; this script's pipelines are
# written without it.
. "$HERE/lib.sh"
set +o pipefail
oa_tally_checks
nconvex=0
mode_is() {
	local m
	m=$(stat -c %a "$1" 2>/dev/null)
	if [ "$m" = "$2" ]; then pass; else fail "mode of $1 is $m, want $2"; fi
}
# Sets a key's created/activates (KID.json in keys_dir) to now - AGE:
# a key made AGE seconds ago, without waiting.
age_key() {
	"$PY" - "$1" "$2" <<'EOF'
import json, sys, time
p, age = sys.argv[1], int(sys.argv[2])
d = json.load(open(p))
d["created"] = d["activates"] = int(time.time()) - age
open(p, "w").write(json.dumps(d))
EOF
}
# Turns `ownauth convex` output into JSON through node (strips the
# TypeScript-only parts), into $T/convex.json.
convex_json() {
	nconvex=$((nconvex + 1))
	mkdir -p "$T/ts"
	cp "$T/out" "$T/ts/auth$nconvex.ts"
	# The commented-out alternative, uncommented, must type-check too.
	sed -e 's|^    // {$|    {|' -e 's|^    //   \(.*\)|      \1|' \
	    -e 's|^    // },$|    },|' "$T/out" >"$T/ts/alt$nconvex.ts"
	sed -e '/^import /d' -e 's/^export default /module.exports = /' \
	    -e 's/} satisfies AuthConfig;/};/' "$T/out" >"$T/cfg.cjs"
	node -e 'console.log(JSON.stringify(require(process.argv[1])))' \
	    "$T/cfg.cjs" >"$T/convex.json" 2>"$T/node.err" ||
	    { fail "convex output does not evaluate"; cat "$T/node.err" >&2; }
}

cd "$T" || exit 1

# ---------------------------------------------------------------- usage
want "no arguments is a usage error" 2 "$OA"
has "$T/err" "usage: ownauth" "usage on stderr"
want "help" 0 "$OA" help
has "$T/out" "keys list" "help lists keys list"
has "$T/out" "token verify" "help lists token verify"
want "unknown command" 2 "$OA" frobnicate
want "keys without sub-command" 2 "$OA" keys
want "unknown option" 2 "$OA" -c /nonexistent keys list --bogus
want "unknown single-dash option" 2 "$OA" keys list -x

# ---------------------------------------------------------------- init
want "init without --issuer" 2 "$OA" init --dir x
want "init with http non-loopback issuer" 2 "$OA" init \
    --issuer http://auth.example.com --dir x
want "init with trailing slash" 2 "$OA" init \
    --issuer https://auth.example.com/ --dir x
want "init --client without --redirect-uri" 2 "$OA" init \
    --issuer https://auth.example.com --dir x --client web
want "init with a bad --alg" 2 "$OA" init \
    --issuer https://auth.example.com --dir x --alg HS256
[ -e x ] && fail "a refused init created files"

want "init (relative --dir, client, loopback)" 0 "$OA" init \
    --issuer http://127.0.0.1:8080 --dir ./a --client demo \
    --redirect-uri http://127.0.0.1:8080/ \
    --redirect-uri http://localhost:5173/cb
has "$T/out" "OWNAUTH_CONF=$T/a/ownauth.conf" "next steps name the config"
has "$T/out" "ownauth convex" "next steps mention convex"
mode_is a 700
mode_is a/ownauth.conf 600
mode_is a/data 700
mode_is a/keys 700
for f in a/keys/*.pem; do mode_is "$f" 600; done
[ "$(ls a/keys/*.pem | wc -l)" = 1 ] || fail "init made not exactly one key"
C=a/ownauth.conf
has $C "^issuer = http://127.0.0.1:8080$" "issuer line"
has $C "^data_dir = $T/a/data$" "absolute data_dir"
has $C "^keys_dir = $T/a/keys$" "absolute keys_dir"
has $C "^\[provider dev\]$" "loopback issuer gets the dev provider"
has $C "^\[client demo\]$" "client section"
has $C "^redirect_uris = http://127.0.0.1:8080/ http://localhost:5173/cb$" \
    "redirect_uris"
has $C "^allowed_origins = http://127.0.0.1:8080 http://localhost:5173$" \
    "allowed_origins from the redirect URIs"
for k in access_token_ttl session_ttl refresh_idle_ttl refresh_reuse_window \
    jwks_max_age key_activation_delay publish_dir link_by_verified_email \
    db_sync log_level; do
	has $C "^# $k = " "commented default for $k"
done
has $C "^# \[client web\]" "commented client example"

want "init refuses to overwrite" 1 "$OA" init \
    --issuer http://127.0.0.1:8080 --dir a
has "$T/err" "refusing to overwrite" "overwrite message"

want "init without client, non-loopback" 0 "$OA" init \
    --issuer https://auth.example.com --dir "$T/b"
hasnt "$T/b/ownauth.conf" "^\[provider dev\]" "no dev provider off loopback"
hasnt "$T/b/ownauth.conf" "^\[client" "no client unless asked"
want "check of a client-less instance" 0 "$OA" -c "$T/b/ownauth.conf" check
has "$T/out" "^warn .*no \[client\]" "warns about no client"
has "$T/out" "^warn .*no \[provider\]" "warns about no provider"
# A key dir that survived its config keeps its keys (no second key
# that would sign before anyone saw it).
rm "$T/b/ownauth.conf"
want "init over a surviving key dir" 0 "$OA" init \
    --issuer https://auth.example.com --dir "$T/b"
has "$T/out" "^using +$T/b/keys" "reuses the keys"
[ "$(ls "$T"/b/keys/*.pem | wc -l)" = 1 ] || fail "init added a key"
# A failure after the config was written removes it, so a retry works.
mkdir -m 700 "$T/f" && touch "$T/f/data"
want "init with data_dir in the way" 1 "$OA" init \
    --issuer https://auth.example.com --dir "$T/f"
[ -e "$T/f/ownauth.conf" ] && fail "failed init left its config behind"
rm "$T/f/data"
want "init retry" 0 "$OA" init --issuer https://auth.example.com --dir "$T/f"
want "mint without a client" 2 "$OA" -c "$T/b/ownauth.conf" token mint u1
want "convex without a client" 1 "$OA" -c "$T/b/ownauth.conf" convex

export OWNAUTH_CONF=$T/a/ownauth.conf

# ---------------------------------------------------------------- check
want "check" 0 "$OA" check
has "$T/out" "^ok +signing key [A-Za-z0-9_-]{43} \(RS256\)" "check names the signer"
has "$T/out" "^ok +data_dir" "check data_dir"
has "$T/out" "^ok +database in $T/a/data opens: 0 user" "check opens the database"
hasnt "$T/out" "^FAIL" "no FAIL lines"
chmod 755 a/data
want "check with an open data_dir" 1 "$OA" check
has "$T/out" "^FAIL +data_dir" "FAIL line for data_dir"
chmod 700 a/data

# ---------------------------------------------------------------- config errors
{ head -n 1 $C; echo "bogus_key = 1"; tail -n +2 $C; } >"$T/bad.conf"
chmod 600 "$T/bad.conf"
want "unknown key is a config error" 2 "$OA" -c "$T/bad.conf" check
has "$T/err" "bad.conf:2" "message names file and line"
has "$T/err" "bogus_key" "message names the key"
want "-c after the command" 2 "$OA" keys list -c "$T/bad.conf"
OWNAUTH_CONF=$T/bad.conf want "\$OWNAUTH_CONF is used" 2 "$OA" keys list
has "$T/err" "bad.conf:2" "env config error message"
cp $C "$T/open.conf"
chmod 644 "$T/open.conf"
want "group-readable config" 2 "$OA" -c "$T/open.conf" check
want "missing config" 2 "$OA" -c "$T/nonexistent.conf" check

# ---------------------------------------------------------------- keys list
want "keys list" 0 "$OA" keys list
has "$T/out" " active " "text list shows active"
want "keys list --json" 0 "$OA" keys list --json
cp "$T/out" "$T/keys1.json"
py "one active RS256 key in keys list --json" '
import json, sys
k = json.load(open(sys.argv[1]))
assert len(k) == 1, k
assert k[0]["alg"] == "RS256" and k[0]["state"] == "active", k
assert k[0]["signing"] is True and len(k[0]["kid"]) == 43, k
' "$T/keys1.json"
RSKID=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))[0]["kid"])' "$T/keys1.json")

# ---------------------------------------------------------------- publish
want "keys publish DIR" 0 "$OA" keys publish "$T/pub"
mode_is "$T/pub/jwks.json" 644
mode_is "$T/pub/openid-configuration" 644
py "published JWKS and discovery" '
import json, sys
j = json.load(open(sys.argv[1] + "/jwks.json"))
d = json.load(open(sys.argv[1] + "/openid-configuration"))
assert [k["kid"] for k in j["keys"]] == [sys.argv[2]], j
assert all("d" not in k for k in j["keys"]), "private member"
assert d["issuer"] == "http://127.0.0.1:8080", d
assert d["jwks_uri"].startswith("http://127.0.0.1:8080/"), d
' "$T/pub" "$RSKID"
want "keys publish without DIR or publish_dir" 2 "$OA" keys publish

# ---------------------------------------------------------------- token mint/verify
# mint signs for users of the store only (tests/integration/cli_store.sh
# covers that in depth).
want "users add --id alice" 0 "$OA" users add --id alice
want "mint: unknown user" 1 "$OA" token mint mallory
has "$T/err" "unknown user mallory" "names the unknown user"
want "mint: bad user id" 2 "$OA" token mint "a b"
want "mint: too long user id" 2 "$OA" token mint \
    "$(printf 'u%.0s' $(seq 65))"
want "mint: unknown client" 1 "$OA" token mint alice --client nope
has "$T/err" "demo" "lists the clients"
want "mint" 0 "$OA" token mint alice
TOK=$(cat "$T/out")
[ "$(wc -l <"$T/out")" = 1 ] || fail "mint prints more than the token"
want "mint again" 0 "$OA" token mint alice --client demo --ttl 120
TOK2=$(cat "$T/out")
[ "$TOK" != "$TOK2" ] || fail "two mints gave the same token"

py "python3-jwt verifies the minted token against the published JWKS" '
import json, sys, time, jwt
jwks = jwt.PyJWKSet.from_json(open(sys.argv[1]).read())
tok = sys.argv[2]
h = jwt.get_unverified_header(tok)
assert h["typ"] == "JWT" and h["alg"] == "RS256" and h["kid"], h
key = [k for k in jwks.keys if k.key_id == h["kid"]][0]
c = jwt.decode(tok, key.key, algorithms=["RS256"], audience="demo",
    issuer="http://127.0.0.1:8080")
assert c["sub"] == "alice" and c["sid"].startswith("cli-"), c
assert c["exp"] - c["iat"] == 3600 and abs(c["iat"] - time.time()) < 60, c
assert c["jti"], c
' "$T/pub/jwks.json" "$TOK"
py "--ttl sets exp" '
import sys, jwt
c = jwt.decode(sys.argv[1], options={"verify_signature": False})
assert c["exp"] - c["iat"] == 120, c
' "$TOK2"

want "verify" 0 "$OA" token verify "$TOK"
has "$T/out" "^valid" "says valid"
has "$T/out" "client demo" "names the client"
has "$T/out" '"sub":[[:space:]]*"alice"' "prints the claims"
echo "$TOK" | want "verify from stdin" 0 "$OA" token verify -
want "verify --as convex-oidc" 0 "$OA" token verify "$TOK" --as convex-oidc
want "verify --as convex-custom" 0 "$OA" token verify "$TOK" --as convex-custom
want "verify --as nonsense" 2 "$OA" token verify "$TOK" --as nonsense

TAMPERED=$("$PY" -c '
import base64, json, sys
h, p, s = sys.argv[1].split(".")
c = json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))
c["sub"] = "mallory"
p = base64.urlsafe_b64encode(json.dumps(c).encode()).rstrip(b"=").decode()
print(".".join([h, p, s]))' "$TOK")
want "tampered token" 1 "$OA" token verify "$TAMPERED"
has "$T/out" "^invalid" "says invalid"
has "$T/out" "FAIL" "names the failing check"
want "garbage token" 1 "$OA" token verify not-a-jwt
want "token for an unknown audience" 1 "$OA" -c "$T/b/ownauth.conf" \
    token verify "$TOK"

# ---------------------------------------------------------------- convex (RS256)
want "convex (RS256)" 0 "$OA" convex
has "$T/out" '^import \{ AuthConfig \} from "convex/server";$' "imports AuthConfig"
has "$T/out" '^\} satisfies AuthConfig;$' "satisfies AuthConfig"
has "$T/out" '^ +domain: "http://127.0.0.1:8080",$' "OIDC entry active"
has "$T/out" '^ +// +type: "customJwt",$' "customJwt entry commented out"
has "$T/out" 'does not refetch' "explains the JWKS cache"
convex_json
py "convex config: one OIDC provider for demo" '
import json, sys
c = json.load(open(sys.argv[1]))
assert c == {"providers": [{"domain": "http://127.0.0.1:8080",
    "applicationID": "demo"}]}, c
' "$T/convex.json"

# ---------------------------------------------------------------- keys retire rules
want "retire the only signing key" 1 "$OA" keys retire "$RSKID"
has "$T/err" "signing key" "explains why"
want "retire the only signing key, --force" 1 "$OA" keys retire "$RSKID" --force
want "retire an unknown kid" 1 "$OA" keys retire nosuchkid
# A kid is base64url: one in 64 starts with '-', and is still a kid.
want "retire an unknown kid starting with -" 1 "$OA" keys retire -NoSuchKid
has "$T/err" "no key -NoSuchKid" "a leading - is part of the kid"
has "$T/err" "$RSKID" "lists the kids"
want "retire without a kid" 2 "$OA" keys retire

# ---------------------------------------------------------------- EdDSA key
want "keys new --alg EdDSA" 0 "$OA" keys new --alg EdDSA
has "$T/err" "Convex customJwt cannot parse Ed25519 JWKS" "EdDSA warning"
has "$T/out" "signs from" "tells when it signs"
want "keys list --json (2 keys)" 0 "$OA" keys list --json
cp "$T/out" "$T/keys2.json"
py "EdDSA key is pending, RS256 key still signs" '
import json, sys
k = {x["alg"]: x for x in json.load(open(sys.argv[1]))}
assert k["EdDSA"]["state"] == "pending", k
assert k["EdDSA"]["activates"] - k["EdDSA"]["created"] == 600, k
assert k["RS256"]["state"] == "active", k
' "$T/keys2.json"
EDKID=$("$PY" -c 'import json,sys; print([x for x in json.load(open(sys.argv[1])) if x["alg"]=="EdDSA"][0]["kid"])' "$T/keys2.json")
want "check with a pending key" 0 "$OA" check
has "$T/out" "next key $EDKID \(EdDSA\) signs from" "check shows the next key"
has "$T/out" "^warn .*customJwt" "check warns about customJwt"

want "convex with an Ed25519 key published" 0 "$OA" convex
hasnt "$T/out" 'type: "customJwt"' "no customJwt entry"
has "$T/out" '^ +domain: ' "OIDC entry"
has "$T/out" "customJwt is not offered: .*Ed25519" "explains why"
want "verify --as convex-custom with Ed25519 in JWKS" 1 "$OA" token verify \
    "$TOK" --as convex-custom
has "$T/out" "Ed25519 key $EDKID" "names the Ed25519 key"
has "$T/out" "fix: " "says how to fix it"
want "verify --as convex-oidc still ok" 0 "$OA" token verify "$TOK" \
    --as convex-oidc

want "retire the pending EdDSA key (never signed)" 0 "$OA" keys retire "$EDKID"
want "keys list after retire" 0 "$OA" keys list --json
py "EdDSA key is retired" '
import json, sys
k = {x["alg"]: x for x in json.load(open(sys.argv[1]))}
assert k["EdDSA"]["state"] == "retired" and k["EdDSA"]["retired"] > 0, k
' "$T/out"
want "retire it again" 1 "$OA" keys retire "$EDKID"
has "$T/err" "already retired" "says already retired"
want "convex after retiring the Ed25519 key" 0 "$OA" convex
has "$T/out" '// +type: "customJwt",' "customJwt offered again"

# ---------------------------------------------------------------- publish_dir + ES256
sed -i "s|^keys_dir = .*|&\npublish_dir = $T/pubdir|" $C
want "keys new --alg ES256 with publish_dir" 0 "$OA" keys new --alg ES256
has "$T/err" "Convex OIDC mode rejects ES256" "ES256 warning"
has "$T/out" "published $T/pubdir/jwks.json" "republished"
mode_is "$T/pubdir/jwks.json" 644
ESKID=$("$PY" -c '
import json, sys
ks = json.load(open(sys.argv[1]))["keys"]
print([k["kid"] for k in ks if k["alg"] == "ES256"][0])' "$T/pubdir/jwks.json")
[ -n "$ESKID" ] || fail "ES256 key not in published jwks.json"
want "check with publish_dir" 0 "$OA" check
has "$T/out" "^ok +publish_dir .* up to date" "publish_dir up to date"
echo '{}' >"$T/pubdir/jwks.json"
want "check with a stale publish_dir" 1 "$OA" check
has "$T/out" "^FAIL +publish_dir" "stale publish_dir"
want "keys publish (publish_dir)" 0 "$OA" keys publish
want "check after republish" 0 "$OA" check
want "convex with an ES256 key published" 0 "$OA" convex
hasnt "$T/out" 'domain:' "no OIDC entry"
has "$T/out" '^ +type: "customJwt",$' "customJwt active"
has "$T/out" '^ +algorithm: "RS256",$' "algorithm of the signer"
has "$T/out" "OIDC is not offered: .*ES256" "explains why"
convex_json
py "convex config: one customJwt provider" '
import json, sys
c = json.load(open(sys.argv[1]))
assert c == {"providers": [{"type": "customJwt",
    "issuer": "http://127.0.0.1:8080",
    "jwks": "http://127.0.0.1:8080/.well-known/jwks.json",
    "algorithm": "RS256", "applicationID": "demo"}]}, c
' "$T/convex.json"
want "verify --as convex-oidc warns about the ES256 key" 0 "$OA" token \
    verify "$TOK" --as convex-oidc
has "$T/out" "warn .*ES256 key $ESKID" "warns"

# ---------------------------------------------------------------- ES256 instance
want "init --alg ES256" 0 "$OA" init --issuer http://localhost:9000 \
    --dir "$T/e" --alg ES256 --client web --audience convex \
    --redirect-uri https://app.example.com/cb
has "$T/err" "Convex OIDC mode rejects ES256" "init warns about ES256"
export OWNAUTH_CONF=$T/e/ownauth.conf
want "users add --id bob" 0 "$OA" users add --id bob
want "mint (ES256)" 0 "$OA" token mint bob
ETOK=$(cat "$T/out")
want "verify (ES256)" 0 "$OA" token verify "$ETOK"
has "$T/out" "audience +convex \(client web\)" "audience reported"
want "verify --as convex-oidc (ES256)" 1 "$OA" token verify "$ETOK" \
    --as convex-oidc
has "$T/out" "alg ES256: Convex's OIDC provider accepts RS256 and EdDSA only" \
    "explains the ES256 refusal"
has "$T/out" "fix: .*customJwt" "suggests customJwt"
want "verify --as convex-custom (ES256)" 0 "$OA" token verify "$ETOK" \
    --as convex-custom
want "keys publish (ES256)" 0 "$OA" keys publish "$T/epub"
py "python3-jwt verifies the ES256 token" '
import sys, jwt
jwks = jwt.PyJWKSet.from_json(open(sys.argv[1]).read())
c = jwt.decode(sys.argv[2], jwks.keys[0].key, algorithms=["ES256"],
    audience="convex", issuer="http://localhost:9000")
assert c["sub"] == "bob", c
' "$T/epub/jwks.json" "$ETOK"
want "convex (ES256)" 0 "$OA" convex
convex_json
py "convex config (ES256): customJwt only" '
import json, sys
c = json.load(open(sys.argv[1]))
assert c == {"providers": [{"type": "customJwt",
    "issuer": "http://localhost:9000",
    "jwks": "http://localhost:9000/.well-known/jwks.json",
    "algorithm": "ES256", "applicationID": "convex"}]}, c
' "$T/convex.json"

# ---------------------------------------------------------------- EdDSA instance
want "init --alg EdDSA" 0 "$OA" init --issuer http://127.0.0.1:9001 \
    --dir "$T/d" --alg EdDSA --client web --redirect-uri http://127.0.0.1:9001/
export OWNAUTH_CONF=$T/d/ownauth.conf
want "users add --id carol" 0 "$OA" users add --id carol
want "mint (EdDSA)" 0 "$OA" token mint carol
DTOK=$(cat "$T/out")
want "verify --as convex-oidc (EdDSA)" 0 "$OA" token verify "$DTOK" \
    --as convex-oidc
want "verify --as convex-custom (EdDSA)" 1 "$OA" token verify "$DTOK" \
    --as convex-custom
has "$T/out" "alg EdDSA: Convex customJwt accepts RS256 and ES256 only" \
    "explains the EdDSA refusal"
want "keys publish (EdDSA)" 0 "$OA" keys publish "$T/dpub"
py "python3-jwt verifies the EdDSA token" '
import sys, jwt
jwks = jwt.PyJWKSet.from_json(open(sys.argv[1]).read())
c = jwt.decode(sys.argv[2], jwks.keys[0].key, algorithms=["EdDSA"],
    audience="web", issuer="http://127.0.0.1:9001")
assert c["sub"] == "carol", c
' "$T/dpub/jwks.json" "$DTOK"
want "convex (EdDSA)" 0 "$OA" convex
convex_json
py "convex config (EdDSA): OIDC only" '
import json, sys
c = json.load(open(sys.argv[1]))
assert c == {"providers": [{"domain": "http://127.0.0.1:9001",
    "applicationID": "web"}]}, c
' "$T/convex.json"

# ---------------------------------------------------------------- retire after rotation
# Instance r: key K1 made 3 h ago; key_activation_delay = 0, so K2 signs
# at once. K1 signed until now: its tokens are still valid, retiring it
# is refused. Once K2 has signed for longer than access_token_ttl, K1
# may go.
want "init r" 0 "$OA" init --issuer http://127.0.0.1:9002 --dir "$T/r" \
    --client web --redirect-uri http://127.0.0.1:9002/
export OWNAUTH_CONF=$T/r/ownauth.conf
sed -i "s|^keys_dir = .*|&\nkey_activation_delay = 0|" "$T/r/ownauth.conf"
K1=$(basename "$(ls "$T"/r/keys/*.pem)" .pem)
age_key "$T/r/keys/$K1.json" 10800
want "keys new with key_activation_delay = 0" 0 "$OA" keys new
has "$T/out" "signing now" "signs at once"
has "$T/err" "key_activation_delay \(0 s\) is shorter than jwks_max_age" \
    "warns about the short delay"
K2=$(cd "$T/r/keys" && ls -- *.pem | sed 's/\.pem$//' | grep -v "^$K1$")
want "K2 signs" 0 "$OA" keys list --json
py "K2 active, K1 published" '
import json, sys
k = {x["kid"]: x for x in json.load(open(sys.argv[1]))}
assert k[sys.argv[2]]["state"] == "published", k
assert k[sys.argv[3]]["state"] == "active", k
' "$T/out" "$K1" "$K2"
want "retire K1 (signed until now)" 1 "$OA" keys retire "$K1"
has "$T/err" "stay valid until" "explains the token lifetime"
has "$T/err" "--force" "mentions --force"
age_key "$T/r/keys/$K2.json" 5000
want "retire K1 (superseded 5000 s ago > ttl)" 0 "$OA" keys retire "$K1"
want "users add --id dave" 0 "$OA" users add --id dave
want "mint after rotation" 0 "$OA" token mint dave
RTOK=$(cat "$T/out")
want "verify after rotation" 0 "$OA" token verify "$RTOK"
has "$T/out" "key +$K2" "signed by K2"
want "keys new again" 0 "$OA" keys new
K3=$(cd "$T/r/keys" && ls -- *.pem | sed 's/\.pem$//' | grep -v "^$K1$" | grep -v "^$K2$")
want "retire K2 (signed until now), --force" 0 "$OA" keys retire "$K2" --force
want "verify a token of a retired key" 1 "$OA" token verify "$RTOK"
has "$T/out" "retired" "says the key was retired"

# ---------------------------------------------------------------- tsc
# Type-check every generated auth.config.ts against Convex's own AuthConfig
# (typescript and convex from tests/node_modules, or OA_TSC_DIR).
TSD=${OA_TSC_DIR:-$HERE/..}
if [ -x "$TSD/node_modules/.bin/tsc" ] &&
    [ -f "$TSD/node_modules/convex/package.json" ]; then
	W=$(mktemp -d "$TSD/.tscheck.XXXXXX")
	mkdir "$W/convex"
	cp "$T"/ts/*.ts "$W/convex/"
	sed 's/algorithm: "RS256"/algorithm: "EdDSA"/' "$T/ts/alt1.ts" \
	    >"$W/bad.ts"
	printf '%s\n' '{ "compilerOptions": { "strict": true, "noEmit": true,' \
	    '  "module": "esnext", "moduleResolution": "bundler",' \
	    '  "target": "es2022", "skipLibCheck": true },' \
	    '  "include": ["convex/*.ts"] }' >"$W/tsconfig.json"
	if (cd "$W" && "$TSD/node_modules/.bin/tsc" -p .) >"$T/tsc.out" 2>&1
	then pass; else
		fail "generated auth.config.ts does not type-check"
		cat "$T/tsc.out" >&2
	fi
	# Negative control: the check must be able to fail.
	mv "$W/bad.ts" "$W/convex/bad.ts"
	if (cd "$W" && "$TSD/node_modules/.bin/tsc" -p .) >/dev/null 2>&1
	then fail "tsc accepted algorithm EdDSA in customJwt"; else pass; fi
	rm -rf "$W"
else
	# tests/package.json pins both: `npm ci` in tests/ (install.sh
	# --deps --test) installs them. Never skip silently.
	fail "typescript and convex are missing from $TSD/node_modules"
fi

echo "cli.sh: $nok checks passed, $nfail failed"
[ "$nfail" -eq 0 ]
