#!/usr/bin/env bash
# signin.sh BUILD_DIR - callback.fcgi, the end of sign-in (SPEC §2.2).
#
# login.fcgi and callback.fcgi under a real lighttpd on 127.0.0.1: as
# FastCGI workers (issuer http://127.0.0.1:PORT) and as plain CGI through
# mod_cgi (a second instance, issuer .../c); a few requests also run the
# program by hand. Upstreams, all on 127.0.0.1:
#   - a real OpenID Provider (oidc-provider, tests/upstream/op.mjs),
#     driven through its login and consent pages by drive.mjs: the whole
#     code + PKCE sign-in, the discovery round trip, the user and
#     identity stored, the code's binding (client, redirect URI, PKCE
#     challenge, nonce, user), the redirect (code, state, iss);
#   - GitHub's fake (github.mjs): /user + /user/emails;
#   - the type dev form, with response_type=code and =token (tokens in
#     the fragment, verified here against the published JWKS; refresh
#     token in a SameSite=Strict cookie);
#   - a misbehaving upstream (fake.mjs) playing an OIDC provider, with ID
#     tokens minted here: one test each for a timeout, a 5xx, malformed
#     JSON, a bad ID token signature, a wrong nonce, a wrong audience,
#     and error=access_denied; and Apple (its preset, with the issuer
#     pointed at the fake): form_post without the Lax cookie gets the
#     re-post page, then the first-sign-in name is kept.
# Attacks: a replayed callback (old cookie copy: the store refuses the
# state), a missing or forged cookie, another login's cookie, a provider
# mix-up, a disabled user. Error pages carry the security headers.
. "$(dirname "$0")/lib.sh"
oa_setup "$@"
OA_LOGIN="$OA_BUILD/cgi-bin/login.fcgi"
OA_CALLBACK="$OA_BUILD/cgi-bin/callback.fcgi"
OA_DUMP="$OA_BUILD/obj/t/storedump"
oa_need "$OA_CLI" "$OA_LOGIN" "$OA_CALLBACK" "$OA_DUMP"
oa_need_cmd curl jq node openssl "$LIGHTTPD"

port=$(oa_pick_port) || oa_die "no free port"
base="http://127.0.0.1:$port"
ISS=$base
ISSC="$base/c"
CB_WEB="http://127.0.0.1:5173/cb"
CB_SPA="http://127.0.0.1:5174/spa"

# --- helpers ---------------------------------------------------------------
cat >"$OA_TMP/t.mjs" <<'EOF'
import { readFileSync, writeFileSync } from 'node:fs';
import { createHash, createPublicKey, generateKeyPairSync, randomBytes,
	sign, verify } from 'node:crypto';
const [cmd, ...a] = process.argv.slice(2);
const b64u = (b) => Buffer.from(b).toString('base64url');
const params = (sp) => {
	const o = {};
	for (const [k, v] of sp) o[k] = k in o ? [].concat(o[k], v) : v;
	return o;
};
if (cmd === 'loc') {
	const u = new URL(a[0]);
	console.log(JSON.stringify({ base: u.origin + u.pathname,
		query: params(u.searchParams),
		fragment: params(new URLSearchParams(u.hash.slice(1))) }));
} else if (cmd === 's256') {
	console.log(createHash('sha256').update(a[0]).digest('base64url'));
} else if (cmd === 'csphash') {
	console.log(createHash('sha256').update(a[0]).digest('base64'));
} else if (cmd === 'keygen') {
	// An upstream's RSA key: priv.json (private JWK) and jwks.json.
	const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
	const jwk = privateKey.export({ format: 'jwk' });
	jwk.kid = a[1] ?? `k-${randomBytes(4).toString('hex')}`;
	jwk.alg = 'RS256';
	jwk.use = 'sig';
	writeFileSync(`${a[0]}.priv.json`, JSON.stringify(jwk));
	const { kty, n, e, kid, alg, use } = jwk;
	writeFileSync(`${a[0]}.jwks.json`, JSON.stringify({ keys: [{ kty, n, e, kid, alg, use }] }));
} else if (cmd === 'mint') {
	// mint PRIV.json CLAIMS.json [KID]: an RS256 JWT (iat/exp added).
	const jwk = JSON.parse(readFileSync(a[0], 'utf8'));
	const claims = JSON.parse(a[1]);
	const now = Math.floor(Date.now() / 1000);
	claims.iat ??= now;
	claims.exp ??= now + 300;
	const h = b64u(JSON.stringify({ alg: 'RS256', kid: a[2] ?? jwk.kid, typ: 'JWT' }));
	const p = b64u(JSON.stringify(claims));
	const s = sign('sha256', Buffer.from(`${h}.${p}`), { key: jwk, format: 'jwk' });
	console.log(`${h}.${p}.${b64u(s)}`);
} else if (cmd === 'verify') {
	// verify JWKS.json TOKEN: prints the payload when a published key
	// with the header's kid verifies the signature (RS256/ES256/EdDSA).
	const jwks = JSON.parse(readFileSync(a[0], 'utf8'));
	const [h, p, s] = a[1].split('.');
	const hdr = JSON.parse(Buffer.from(h, 'base64url'));
	const k = jwks.keys.find((x) => x.kid === hdr.kid);
	if (!k || k.alg !== hdr.alg) process.exit(1);
	const key = createPublicKey({ key: k, format: 'jwk' });
	const data = Buffer.from(`${h}.${p}`);
	const sig = Buffer.from(s, 'base64url');
	const ok = hdr.alg === 'RS256' ? verify('sha256', data, key, sig) :
	    hdr.alg === 'ES256' ? verify('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, sig) :
	    verify(null, data, key, sig);
	if (!ok) process.exit(1);
	console.log(JSON.stringify({ header: hdr, payload: JSON.parse(Buffer.from(p, 'base64url')) }));
}
EOF
tjs() { node "$OA_TMP/t.mjs" "$@"; }

# start_node NAME SCRIPT ARGS...: oa_node_start of tests/upstream/SCRIPT.
start_node() {
	oa_node_start "$1" "$OA_SRC/tests/upstream/$2" "${@:3}"
}

# routes JSON: replaces routes of the fake upstream.
routes() {
	curl -s -f -o /dev/null --max-time 10 -X POST --data-binary "$1" "$FAKE/_routes" ||
	    oa_die "fake.mjs refused routes"
}

# req METHOD URL [curl args...]: one request, no redirect followed. Sets
# ST, LOC; headers in $OA_TMP/rh (CR stripped), body in $OA_TMP/rb.
req() {
	local m=$1 u=$2
	shift 2
	rm -f "$OA_TMP/rh" "$OA_TMP/rb" "$OA_TMP/rh.raw"
	ST=$(curl -s -g --max-time 30 -X "$m" -D "$OA_TMP/rh.raw" -o "$OA_TMP/rb" \
	    -w '%{http_code}' "$@" "$u") || ST=000
	tr -d '\r' <"$OA_TMP/rh.raw" | sed 1d >"$OA_TMP/rh"
	LOC=$(H Location)
}
H() { grep -i "^$1:" "$OA_TMP/rh" | tail -n 1 | sed 's/^[^:]*:[ \t]*//'; }
Hn() { grep -ci "^$1:" "$OA_TMP/rh" || true; }

# check_page WHAT STATUS: the last response is one of our HTML error
# pages with every security header and no Location.
check_page() {
	expect_eq "$1: status" "$ST" "$2"
	expect_eq "$1: Content-Type" "$(H Content-Type)" "text/html; charset=utf-8"
	expect_eq "$1: Cache-Control" "$(H Cache-Control)" "no-store"
	expect_eq "$1: Referrer-Policy" "$(H Referrer-Policy)" "no-referrer"
	expect_match "$1: CSP frame-ancestors 'none'" "$(H Content-Security-Policy)" \
	    "^default-src 'none';.*frame-ancestors 'none'"
	expect_eq "$1: no Location" "$(Hn Location)" 0
}

# authz_url PRE PROVIDER CLIENT REDIRECT RTYPE STATE NONCE VERIFIER [HINT]
authz_url() {
	local ch
	ch=$(tjs s256 "$8")
	printf '%s%s/oauth/%s?client_id=%s&redirect_uri=%s&response_type=%s&state=%s&nonce=%s&code_challenge=%s&code_challenge_method=S256&scope=openid%%20email%%20profile%s' \
	    "$base" "$1" "$2" "$3" "$(jq -rn --arg u "$4" '$u|@uri')" "$5" "$6" "$7" "$ch" "${9:+&login_hint=$9}"
}

# drive URL JAR [drive args...]: the browser through login and the
# upstream; sets UP to the upstream's redirect back to our callback.
drive() {
	local u=$1 jar=$2
	shift 2
	UP=$(node "$OA_SRC/tests/upstream/drive.mjs" --url "$u" --jar "$jar" "$@" 2>"$OA_TMP/drive.err") || {
		sed 's/^/# /' "$OA_TMP/drive.err" | head -n 20
		UP=""
	}
}

# cb JAR URL [curl args]: the callback request (GET) with a cookie jar
# (updated with what the callback sets).
cb() {
	local jar=$1 u=$2
	shift 2
	req GET "$u" -b "$jar" -c "$jar" "$@"
}

# redirect_ok WHAT WANT_BASE: the last response is a 302 to WANT_BASE
# with our redirect headers; sets Q to the parsed Location.
redirect_ok() {
	expect_eq "$1: status 302" "$ST" 302
	expect_eq "$1: Cache-Control" "$(H Cache-Control)" "no-store"
	expect_eq "$1: Referrer-Policy" "$(H Referrer-Policy)" "no-referrer"
	Q=$(tjs loc "${LOC:-http://invalid.test/}" 2>/dev/null || echo '{}')
	expect_eq "$1: back to the client" "$(jq -r .base <<<"$Q")" "$2"
}
qv() { jq -r ".query[\"$1\"] // empty" <<<"$Q"; }
fv() { jq -r ".fragment[\"$1\"] // empty" <<<"$Q"; }

# error_ok WHAT ERROR [STATE]: a 302 to the web client with that error,
# the client's state and our iss, and no code.
error_ok() {
	redirect_ok "$1" "$CB_WEB"
	expect_eq "$1: error" "$(qv error)" "$2"
	expect_eq "$1: state echoed" "$(qv state)" "${3:-cs-$1}"
	expect_eq "$1: iss" "$(qv iss)" "$ISS"
	expect_eq "$1: no code" "$(qv code)" ""
}

dump_users() { "$OA_DUMP" -c "$1" users; }

# --- upstreams --------------------------------------------------------------
# Ports picked here, all different (an upstream on port 0 could be given
# the port lighttpd is about to take).
opp=$(oa_pick_other "$port") && ghp=$(oa_pick_other "$port" "$opp") &&
    fkp=$(oa_pick_other "$port" "$opp" "$ghp") &&
    DEAD=$(oa_pick_other "$port" "$opp" "$ghp" "$fkp") || oa_die "no free ports"
start_node op op.mjs --port "$opp" --client-id op-client --client-secret op-secret \
    --redirect-uri "$ISS/oauth/op/callback" --redirect-uri "$ISSC/oauth/op/callback"
OP="http://127.0.0.1:$NODE_PORT"
start_node gh github.mjs --port "$ghp" --client-id gh-client --client-secret gh-secret \
    --redirect-uri "$ISS/oauth/gh/callback"
GH="http://127.0.0.1:$NODE_PORT"
start_node fake fake.mjs --port "$fkp"
FAKE="http://127.0.0.1:$NODE_PORT"

# The fake's keys: fk (published) and evil (not published).
tjs keygen "$OA_TMP/fk" fk-1
tjs keygen "$OA_TMP/evil" fk-1
routes "{
  \"/bad/.well-known/openid-configuration\": {\"body\": {\"issuer\": \"$FAKE/bad\",
    \"authorization_endpoint\": \"$FAKE/authorize\", \"token_endpoint\": \"$FAKE/bad/token\",
    \"jwks_uri\": \"$FAKE/jwks\"}},
  \"/apple/.well-known/openid-configuration\": {\"body\": {\"issuer\": \"$FAKE/apple\",
    \"authorization_endpoint\": \"$FAKE/authorize\", \"token_endpoint\": \"$FAKE/apple/token\",
    \"jwks_uri\": \"$FAKE/jwks\", \"token_endpoint_auth_methods_supported\": [\"client_secret_post\"]}},
  \"/jwks\": {\"body\": $(cat "$OA_TMP/fk.jwks.json")}
}"

# --- instances ---------------------------------------------------------------
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$OA_TMP/apple.p8" 2>/dev/null ||
    oa_die "openssl genpkey"
chmod 600 "$OA_TMP/apple.p8"

oa_instance "$OA_TMP/inst" "$ISS"
CONF=$OA_CONF
KEYS=$(oa_keys_dir "$CONF")
oa_conf_add "$CONF" "[client web]
redirect_uris = $CB_WEB

[client spa]
redirect_uris = $CB_SPA
response_types = code token

[provider op]
type = oidc
issuer = $OP
client_id = op-client
client_secret = op-secret

[provider gh]
type = github
client_id = gh-client
client_secret = gh-secret
authorization_endpoint = $GH/login/oauth/authorize
token_endpoint = $GH/login/oauth/access_token
userinfo_endpoint = $GH/user
emails_endpoint = $GH/user/emails

[provider bad]
type = oidc
issuer = $FAKE/bad
client_id = bad-client
client_secret = bad-secret

[provider apple]
issuer = $FAKE/apple
authorization_endpoint = $FAKE/authorize
client_id = com.example.web
team_id = TEAM123456
key_id = KEY1234567
private_key_file = $OA_TMP/apple.p8

[provider down]
type = oidc
issuer = http://127.0.0.1:$DEAD
client_id = x
client_secret = y"
DATA=$(sed -n 's/^[ \t]*data_dir[ \t]*=[ \t]*\([^ \t#]*\).*/\1/p' "$CONF" | head -n 1)

oa_instance "$OA_TMP/instc" "$ISSC"
CONFC=$OA_CONF
oa_conf_add "$CONFC" "[client web]
redirect_uris = $CB_WEB

[provider op]
type = oidc
issuer = $OP
client_id = op-client
client_secret = op-secret"

# --- lighttpd: FastCGI at /oauth, mod_cgi at /c/oauth ----------------------------
W="$OA_TMP/www"
mkdir -p "$W"
{
	oa_lighttpd_conf "$W" "$port"
	echo 'server.modules += ( "mod_rewrite" )'
	cat <<EOF
url.rewrite-once += (
	"^/oauth/([^/?]+)/callback/?(\?.*)?\$" => "/ownauth-bin/callback.fcgi/\$1/callback\$2",
	"^/oauth/([^/?]+)/?(\?.*)?\$" => "/ownauth-bin/login.fcgi/\$1\$2",
	"^/c/oauth/([^/?]+)/callback/?(\?.*)?\$" => "/cgi-callback/\$1/callback\$2",
	"^/c/oauth/([^/?]+)/?(\?.*)?\$" => "/cgi-login/\$1\$2",
)
fastcgi.server += (
	"/ownauth-bin/login.fcgi" => ((
		"bin-path" => "$OA_LOGIN",
		"socket" => "$W/login.sock",
		"max-procs" => 1,
		"check-local" => "disable",
		"bin-environment" => ( "OWNAUTH_CONF" => "$CONF" )
	)),
	"/ownauth-bin/callback.fcgi" => ((
		"bin-path" => "$OA_CALLBACK",
		"socket" => "$W/callback.sock",
		"max-procs" => 1,
		"check-local" => "disable",
		"bin-environment" => ( "OWNAUTH_CONF" => "$CONF" )
	)),
)
EOF
	oa_lighttpd_cgi /cgi-login "$OA_LOGIN" "$CONFC"
	oa_lighttpd_cgi /cgi-callback "$OA_CALLBACK" "$CONFC"
} >"$W/lighttpd.conf"
oa_lighttpd_start "$W" "$port"
L=$LIGHTTPD_PID
worker=$(oa_worker "$L" "$OA_CALLBACK") || oa_die "no callback.fcgi worker under lighttpd"
ok "callback.fcgi FastCGI worker $worker started by lighttpd"

# --- 1. the whole sign-in with a real OpenID Provider (FastCGI) --------------
V1=$(openssl rand -hex 32)
J1="$OA_TMP/jar1"
drive "$(authz_url "" op web "$CB_WEB" code cs-1 cn-1 "$V1")" "$J1" --login alice
expect_match "op: the OP redirects back to our callback" "$UP" "^$ISS/oauth/op/callback\\?"
check "op: discovery cached for login" test -s "$DATA/upstream/op.discovery.json"
expect_eq "op: discovery cache mode" "$(stat -c %a "$DATA/upstream/op.discovery.json")" 600
expect_eq "op: cache dir mode" "$(stat -c %a "$DATA/upstream")" 700
UP1=$UP
cp "$J1" "$OA_TMP/jar1.before"
cb "$J1" "$UP1"
redirect_ok "op" "$CB_WEB"
CODE1=$(qv code)
expect_match "op: code has >= 256 bits (43 base64url chars)" "$CODE1" '^[A-Za-z0-9_-]{43}$'
expect_eq "op: state echoed" "$(qv state)" cs-1
expect_eq "op: iss (RFC 9207)" "$(qv iss)" "$ISS"
expect_eq "op: no error" "$(qv error)" ""
check "op: JWKS cached" test -s "$DATA/upstream/op.jwks.json"
expect_match "op: login cookie cleared (the only login)" "$(H Set-Cookie)" '^ownauth_login=;.*Max-Age=0'
U=$(dump_users "$CONF")
UID1=$(jq -r '.[] | select(.identities[] | .provider == "op" and .subject == "alice") | .id' <<<"$U")
expect_match "op: a user for (op, alice)" "$UID1" '^u_[A-Za-z0-9_-]{22}$'
expect_eq "op: email from the ID token" "$(jq -r ".[] | select(.id == \"$UID1\") | .email" <<<"$U")" "alice@example.test"
expect_eq "op: email_verified" "$(jq -r ".[] | select(.id == \"$UID1\") | .email_verified" <<<"$U")" true
expect_eq "op: name" "$(jq -r ".[] | select(.id == \"$UID1\") | .name" <<<"$U")" "Alice"
expect_eq "op: picture" "$(jq -r ".[] | select(.id == \"$UID1\") | .picture" <<<"$U")" \
    "https://pictures.example.test/alice.png"
C=$("$OA_DUMP" -c "$CONF" code "$CODE1")
expect_eq "op code: client" "$(jq -r .client <<<"$C")" web
expect_eq "op code: redirect_uri" "$(jq -r .redirect_uri <<<"$C")" "$CB_WEB"
expect_eq "op code: PKCE challenge" "$(jq -r .code_challenge <<<"$C")" "$(tjs s256 "$V1")"
expect_eq "op code: nonce" "$(jq -r .nonce <<<"$C")" cn-1
expect_eq "op code: user" "$(jq -r .user <<<"$C")" "$UID1"
expect_eq "op code: scope" "$(jq -r .scope <<<"$C")" "openid email profile"
expect_match "op code: lives at most 60 s" "$(jq -r '.expires - .now' <<<"$C")" '^([0-5]?[0-9]|60)$'
if "$OA_DUMP" -c "$CONF" code "$CODE1" >/dev/null 2>&1; then
	fail "op code: single use"
else
	ok "op code: single use"
fi

# A second sign-in of the same upstream user: the same account.
V2=$(openssl rand -hex 32)
drive "$(authz_url "" op web "$CB_WEB" code cs-2 cn-2 "$V2")" "$OA_TMP/jar2" --login alice
cb "$OA_TMP/jar2" "$UP"
redirect_ok "op again" "$CB_WEB"
expect_eq "op again: one user for alice" \
    "$(dump_users "$CONF" | jq '[.[] | select(.identities[] | .subject == "alice")] | length')" 1
expect_eq "op again: the same user" "$("$OA_DUMP" -c "$CONF" code "$(qv code)" | jq -r .user)" "$UID1"

# --- 2. attacks on the callback ------------------------------------------------
# Replayed: the same URL with the cookie as it was before (the login is
# still in that copy): the store has consumed the state.
cb "$OA_TMP/jar1.before" "$UP1"
check_page "replay with the old cookie" 400
grep -q "already used" "$OA_TMP/rb" && ok "replay: says already used" || {
	fail "replay: says already used"
	sed 's/^/# /' "$OA_TMP/rb" | grep -i "<p>" | head -n 3
}
# Replayed with the current cookie: the login is gone from it.
cb "$J1" "$UP1"
check_page "replay with the new cookie" 400

# Bob's login: its callback without the cookie, with a forged cookie,
# with another login's cookie - each refused, none consuming anything.
V3=$(openssl rand -hex 32)
drive "$(authz_url "" op web "$CB_WEB" code cs-3 cn-3 "$V3")" "$OA_TMP/jar3" --login bob
UP3=$UP
req GET "$UP3"
check_page "no cookie" 400
awk -F'\t' 'BEGIN { OFS = "\t" } $6 == "ownauth_login" {
	c = substr($7, 20, 1); $7 = substr($7, 1, 19) (c == "A" ? "B" : "A") substr($7, 21) } { print }' \
    "$OA_TMP/jar3" >"$OA_TMP/jar3.forged"
cmp -s "$OA_TMP/jar3" "$OA_TMP/jar3.forged" && oa_die "the cookie was not altered"
req GET "$UP3" -b "$OA_TMP/jar3.forged"
check_page "forged cookie" 400
# Carol's login, in another browser.
V4=$(openssl rand -hex 32)
drive "$(authz_url "" op web "$CB_WEB" code cs-4 cn-4 "$V4")" "$OA_TMP/jar4" --login carol
UP4=$UP
req GET "$UP4" -b "$OA_TMP/jar3"
check_page "carol's callback with bob's cookie" 400
req GET "$UP3" -b "$OA_TMP/jar4"
check_page "bob's callback with carol's cookie" 400
# Provider mix-up: carol's op state at gh's callback.
MIX=${UP4/\/oauth\/op\/callback/\/oauth\/gh\/callback}
expect_match "mix-up URL" "$MIX" "^$ISS/oauth/gh/callback\\?"
cb "$OA_TMP/jar4" "$MIX"
check_page "mix-up: op's state at gh's callback" 400
grep -q "wrong provider" "$OA_TMP/rb" && ok "mix-up: says wrong provider" || fail "mix-up: says wrong provider"
# ...and carol's login is used up: the genuine callback fails too.
cb "$OA_TMP/jar4" "$UP4"
check_page "mix-up: the login is burnt" 400
# Bob's genuine callback still completes.
cb "$OA_TMP/jar3" "$UP3"
redirect_ok "bob after the attacks" "$CB_WEB"
expect_eq "bob: state" "$(qv state)" cs-3

# The OP's user presses Cancel: access_denied to the client.
V5=$(openssl rand -hex 32)
drive "$(authz_url "" op web "$CB_WEB" code cs-deny cn-5 "$V5")" "$OA_TMP/jar5" --deny
cb "$OA_TMP/jar5" "$UP"
error_ok "deny" access_denied cs-deny

# --- 3. GitHub ------------------------------------------------------------------
V6=$(openssl rand -hex 32)
# (github.mjs signs in the user named by login_hint, GitHub's "login".)
drive "$(authz_url "" gh web "$CB_WEB" code cs-gh cn-6 "$V6" mona)" "$OA_TMP/jar6"
expect_match "gh: back to our callback" "$UP" "^$ISS/oauth/gh/callback\\?"
cb "$OA_TMP/jar6" "$UP"
redirect_ok "gh" "$CB_WEB"
expect_eq "gh: state" "$(qv state)" cs-gh
GHC=$(qv code)
U=$(dump_users "$CONF")
GHU=$(jq -c '.[] | select(.identities[] | .provider == "gh")' <<<"$U")
expect_match "gh: subject is the numeric id" "$(jq -r '.identities[0].subject' <<<"$GHU")" '^[0-9]+$'
expect_eq "gh: primary verified email" "$(jq -r .email <<<"$GHU")" "mona@example.test"
expect_eq "gh: email_verified" "$(jq -r .email_verified <<<"$GHU")" true
expect_eq "gh: name" "$(jq -r .name <<<"$GHU")" "Mona"
expect_eq "gh: code bound to the user" "$("$OA_DUMP" -c "$CONF" code "$GHC" | jq -r .user)" "$(jq -r .id <<<"$GHU")"
# GitHub's unverified primary email stays unverified.
drive "$(authz_url "" gh web "$CB_WEB" code cs-gh2 cn-7 "$V6" unverified-ursula)" "$OA_TMP/jar7"
cb "$OA_TMP/jar7" "$UP"
redirect_ok "gh unverified" "$CB_WEB"
expect_eq "gh unverified: email_verified false" \
    "$(dump_users "$CONF" | jq -r '.[] | select(.email == "unverified-ursula@example.test") | .email_verified')" false
# A user who presses Cancel at GitHub.
drive "$(authz_url "" gh web "$CB_WEB" code cs-ghd cn-8 "$V6" denied)" "$OA_TMP/jar8"
cb "$OA_TMP/jar8" "$UP"
error_ok "gh denied" access_denied cs-ghd

# --- 4. type dev: response_type=code and token -------------------------------------
# dev_start CLIENT REDIRECT RTYPE STATE NONCE JAR: login's form; sets DEVSTATE.
dev_start() {
	req GET "$(authz_url "" dev "$1" "$2" "$3" "$4" "$5" "$(openssl rand -hex 32)")" -c "$6"
	DEVSTATE=$(grep -o 'name="state" value="[^"]*"' "$OA_TMP/rb" | sed 's/.*value="//; s/"$//')
}
dev_start web "$CB_WEB" code cs-dev cn-dev "$OA_TMP/jard"
expect_eq "dev: login shows the form" "$ST" 200
req POST "$ISS/oauth/dev/callback" -b "$OA_TMP/jard" -c "$OA_TMP/jard" \
    --data-urlencode "state=$DEVSTATE" --data-urlencode "email=Dave@Example.TEST" \
    --data-urlencode "name=Dave D"
redirect_ok "dev" "$CB_WEB"
expect_eq "dev: state" "$(qv state)" cs-dev
DEVU=$(dump_users "$CONF" | jq -c '.[] | select(.identities[] | .provider == "dev")')
expect_eq "dev: subject is the lower-cased email" "$(jq -r '.identities[0].subject' <<<"$DEVU")" "dave@example.test"
expect_eq "dev: email never verified" "$(jq -r .email_verified <<<"$DEVU")" false
expect_eq "dev: name" "$(jq -r .name <<<"$DEVU")" "Dave D"
expect_eq "dev: code" "$("$OA_DUMP" -c "$CONF" code "$(qv code)" | jq -r .user)" "$(jq -r .id <<<"$DEVU")"
# GET is refused for the form's provider.
req GET "$ISS/oauth/dev/callback?state=x&email=a@b.c"
check_page "dev: GET" 405
# A bad email: access_denied back to the client.
dev_start web "$CB_WEB" code cs-devbad cn "$OA_TMP/jardb"
req POST "$ISS/oauth/dev/callback" -b "$OA_TMP/jardb" --data-urlencode "state=$DEVSTATE" \
    --data-urlencode "email=not-an-email"
error_ok "dev bad email" access_denied cs-devbad

# response_type=token: tokens in the fragment, refresh token in a cookie.
dev_start spa "$CB_SPA" token cs-tok cn-tok "$OA_TMP/jart"
req POST "$ISS/oauth/dev/callback" -b "$OA_TMP/jart" --data-urlencode "state=$DEVSTATE" \
    --data-urlencode "email=tess@example.test" --data-urlencode "name=Tess"
redirect_ok "token" "$CB_SPA"
expect_eq "token: nothing in the query" "$(jq -c .query <<<"$Q")" "{}"
expect_eq "token: token_type" "$(fv token_type)" Bearer
expect_eq "token: state" "$(fv state)" cs-tok
expect_eq "token: iss" "$(fv iss)" "$ISS"
expect_match "token: expires_in" "$(fv expires_in)" '^[1-9][0-9]*$'
"$OA_CLI" -c "$CONF" keys publish "$OA_TMP/pub" >/dev/null 2>&1 || oa_die "keys publish"
IDT=$(tjs verify "$OA_TMP/pub/jwks.json" "$(fv id_token)" 2>/dev/null || echo '{}')
ACT=$(tjs verify "$OA_TMP/pub/jwks.json" "$(fv access_token)" 2>/dev/null || echo '{}')
TESS=$(dump_users "$CONF" | jq -r '.[] | select(.email == "tess@example.test") | .id')
expect_eq "token: ID token signed by a published key, sub" "$(jq -r .payload.sub <<<"$IDT")" "$TESS"
expect_eq "token: ID token nonce" "$(jq -r .payload.nonce <<<"$IDT")" cn-tok
expect_eq "token: ID token aud" "$(jq -r .payload.aud <<<"$IDT")" spa
expect_eq "token: ID token iss" "$(jq -r .payload.iss <<<"$IDT")" "$ISS"
expect_eq "token: access token verifies, same sub" "$(jq -r .payload.sub <<<"$ACT")" "$TESS"
expect_eq "token: same session" "$(jq -r .payload.sid <<<"$ACT")" "$(jq -r .payload.sid <<<"$IDT")"
RC=$(grep -i '^Set-Cookie: ownauth_refresh=' "$OA_TMP/rh" | tail -n 1)
expect_match "token: refresh cookie" "$RC" '^Set-Cookie: ownauth_refresh=[A-Za-z0-9_-]{43};'
expect_match "token: refresh cookie HttpOnly, SameSite=Strict" "$RC" 'HttpOnly.*SameSite=Strict'
expect_match "token: refresh cookie lives refresh_idle_ttl, Path=/" "$RC" 'Path=/; Max-Age=1209600;'

# --- 5. a disabled user is refused -----------------------------------------------
"$OA_DUMP" -c "$CONF" disable "$(jq -r .id <<<"$DEVU")" || fail "storedump disable"
dev_start web "$CB_WEB" code cs-dis cn "$OA_TMP/jardis"
req POST "$ISS/oauth/dev/callback" -b "$OA_TMP/jardis" --data-urlencode "state=$DEVSTATE" \
    --data-urlencode "email=dave@example.test"
error_ok "disabled" access_denied cs-dis

# --- 6. upstream failures (the fake as an OIDC provider) -------------------------------
# bad_start STATE JAR: login with provider bad up to the fake's authorize
# URL; sets BSTATE and BNONCE (what we sent upstream).
bad_start() {
	drive "$(authz_url "" bad web "$CB_WEB" code "$1" cn "$(openssl rand -hex 32)")" "$2" --stop-at "$FAKE/authorize"
	local j
	j=$(tjs loc "${UP:-http://x/}")
	BSTATE=$(jq -r '.query.state // empty' <<<"$j")
	BNONCE=$(jq -r '.query.nonce // empty' <<<"$j")
}
# bad_token CLAIMS [KEY]: the fake's token endpoint returns an ID token.
bad_token() {
	local t
	t=$(tjs mint "$OA_TMP/${2:-fk}.priv.json" "$1") || oa_die "mint"
	routes "{\"/bad/token\": {\"body\": {\"access_token\": \"at\", \"token_type\": \"Bearer\", \"id_token\": \"$t\"}}}"
}
good_claims() {
	printf '{"iss":"%s/bad","sub":"fake-user","aud":"%s","nonce":"%s","email":"f@example.test"}' \
	    "$FAKE" "${1:-bad-client}" "${2:-$BNONCE}"
}
# bad_cb WHAT: the upstream's redirect to our callback, with the cookie.
bad_cb() {
	cb "$OA_TMP/jarb-$1" "$ISS/oauth/bad/callback?code=upstream-code&state=$BSTATE&iss=$(jq -rn --arg u "$FAKE/bad" '$u|@uri')"
}

bad_start cs-fok "$OA_TMP/jarb-fok"
expect_match "fake: login sends a nonce upstream" "$BNONCE" '^[A-Za-z0-9_-]{20,}$'
bad_token "$(good_claims)"
bad_cb fok
redirect_ok "fake: a good ID token" "$CB_WEB"
expect_match "fake: code" "$(qv code)" '^[A-Za-z0-9_-]{43}$'

bad_start cs-timeout "$OA_TMP/jarb-timeout"
routes '{"/bad/token": {"hang": true}}'
t0=$SECONDS
bad_cb timeout
error_ok "timeout" temporarily_unavailable cs-timeout
expect_match "timeout: answered within the upstream timeout" "$((SECONDS - t0))" '^([0-9]|1[0-9])$'

bad_start cs-5xx "$OA_TMP/jarb-5xx"
routes '{"/bad/token": {"status": 502, "body": "bad gateway", "type": "text/plain"}}'
bad_cb 5xx
error_ok "5xx" temporarily_unavailable cs-5xx

bad_start cs-json "$OA_TMP/jarb-json"
routes '{"/bad/token": {"body": "{\"access_token\": tru"}}'
bad_cb json
error_ok "malformed JSON" server_error cs-json

bad_start cs-sig "$OA_TMP/jarb-sig"
bad_token "$(good_claims)" evil
bad_cb sig
error_ok "bad signature" server_error cs-sig

bad_start cs-nonce "$OA_TMP/jarb-nonce"
bad_token "$(good_claims bad-client not-the-nonce)"
bad_cb nonce
error_ok "wrong nonce" server_error cs-nonce

bad_start cs-aud "$OA_TMP/jarb-aud"
bad_token "$(good_claims other-client)"
bad_cb aud
error_ok "wrong aud" server_error cs-aud

bad_start cs-denied "$OA_TMP/jarb-denied"
cb "$OA_TMP/jarb-denied" "$ISS/oauth/bad/callback?error=access_denied&error_description=no&state=$BSTATE"
error_ok "access_denied" access_denied cs-denied

bad_start cs-iss "$OA_TMP/jarb-iss"
bad_token "$(good_claims)"
cb "$OA_TMP/jarb-iss" "$ISS/oauth/bad/callback?code=c&state=$BSTATE&iss=$(jq -rn --arg u "$FAKE/other" '$u|@uri')"
error_ok "another iss (RFC 9207)" server_error cs-iss

expect_eq "fake: one user only (failures store nothing)" \
    "$(dump_users "$CONF" | jq '[.[] | select(.identities[] | .provider == "bad")] | length')" 1

# --- 7. Apple: form_post, the re-post page, the first-sign-in name ---------------------
drive "$(authz_url "" apple web "$CB_WEB" code cs-apple cn "$(openssl rand -hex 32)")" "$OA_TMP/jara" --stop-at "$FAKE/authorize"
AQ=$(tjs loc "${UP:-http://x/}")
expect_eq "apple: response_mode=form_post" "$(jq -r .query.response_mode <<<"$AQ")" form_post
ASTATE=$(jq -r '.query.state // empty' <<<"$AQ")
ANONCE=$(jq -r '.query.nonce // empty' <<<"$AQ")
T=$(tjs mint "$OA_TMP/fk.priv.json" "{\"iss\":\"$FAKE/apple\",\"sub\":\"001234.abcd.0042\",\"aud\":\"com.example.web\",\"nonce\":\"$ANONCE\",\"email\":\"ada@privaterelay.appleid.com\",\"email_verified\":\"true\"}")
routes "{\"/apple/token\": {\"body\": {\"access_token\": \"at\", \"token_type\": \"Bearer\", \"id_token\": \"$T\"}}}"
AUSER='{"name":{"firstName":"Ada","lastName":"<Lovelace>"},"email":"ada@privaterelay.appleid.com"}'
# Apple's cross-site POST arrives without our SameSite=Lax cookie.
req POST "$ISS/oauth/apple/callback" --data-urlencode "state=$ASTATE" --data-urlencode "code=apple-code" \
    --data-urlencode "user=$AUSER"
expect_eq "apple: re-post page" "$ST" 200
expect_eq "apple: re-post no-store" "$(H Cache-Control)" "no-store"
expect_eq "apple: re-post no-referrer" "$(H Referrer-Policy)" "no-referrer"
CSP=$(H Content-Security-Policy)
SCRIPT=$(sed -n 's/.*<script>\(.*\)<\/script>.*/\1/p' "$OA_TMP/rb")
expect_match "apple: the CSP allows exactly the page's script" "$CSP" \
    "script-src 'sha256-$(tjs csphash "$SCRIPT" | sed 's/[+/]/\\&/g')';"
expect_match "apple: CSP frame-ancestors 'none'" "$CSP" "frame-ancestors 'none'"
grep -q '&lt;Lovelace&gt;' "$OA_TMP/rb" && ok "apple: re-post fields escaped" || fail "apple: re-post fields escaped"
grep -q 'name="oa_repost" value="1"' "$OA_TMP/rb" && ok "apple: re-post marker" || fail "apple: re-post marker"
# The page's form, posted from our origin: with the cookie now.
FORM=$(grep -o '<input type="hidden" name="[a-z_]*" value="[^"]*"' "$OA_TMP/rb" |
    sed 's/.*name="\([^"]*\)" value="\([^"]*\)"/\1\t\2/' |
    sed 's/&quot;/"/g; s/&lt;/</g; s/&gt;/>/g; s/&#39;/'"'"'/g; s/&amp;/\&/g')
args=()
while IFS=$'\t' read -r n v; do args+=(--data-urlencode "$n=$v"); done <<<"$FORM"
req POST "$ISS/oauth/apple/callback" -b "$OA_TMP/jara" "${args[@]}"
redirect_ok "apple" "$CB_WEB"
expect_eq "apple: state" "$(qv state)" cs-apple
AU=$(dump_users "$CONF" | jq -c '.[] | select(.identities[] | .provider == "apple")')
expect_eq "apple: subject" "$(jq -r '.identities[0].subject' <<<"$AU")" "001234.abcd.0042"
expect_eq "apple: the first-sign-in name" "$(jq -r .name <<<"$AU")" "Ada <Lovelace>"
expect_eq "apple: email_verified \"true\"" "$(jq -r .email_verified <<<"$AU")" true
# Without the cookie on the second round too: an error page, no loop.
req POST "$ISS/oauth/apple/callback" "${args[@]}"
check_page "apple: re-post without the cookie" 400

# --- 8. discovery round trip failure, unknown provider, methods ----------------------
req GET "$(authz_url "" down web "$CB_WEB" code cs cn "$(openssl rand -hex 32)")"
expect_match "down: login bounces to discovery" "$LOC" "^$ISS/oauth/down/callback\\?discover=1&"
req GET "$LOC"
check_page "down: discovery fails" 502
req GET "$ISS/oauth/nosuch/callback?code=x&state=y"
check_page "unknown provider" 404
req PUT "$ISS/oauth/op/callback"
check_page "PUT" 405
req GET "$ISS/oauth/op/callback?code=x"
check_page "no state" 400
req GET "$ISS/oauth/op/callback?discover=1&client_id=web&x=%0d%0aSet-Cookie:%20a=b"
expect_eq "discover: CRLF in the query never reaches a header" "$(Hn Set-Cookie)" 0
req GET "$ISS/oauth/op/callback?discover=1&client_id=web&state=a%20b&discovered=1"
redirect_ok "discover: back to login" "$ISS/oauth/op"
expect_eq "discover: discovered=1" "$(qv discovered)" 1
expect_eq "discover: discover dropped" "$(qv discover)" ""
expect_eq "discover: the rest kept" "$(qv state)" "a b"

# --- 9. plain CGI: mod_cgi, and by hand ---------------------------------------------
VC=$(openssl rand -hex 32)
drive "$(authz_url /c op web "$CB_WEB" code cs-cgi cn-cgi "$VC")" "$OA_TMP/jarc" --login erin
expect_match "cgi: the OP redirects to the /c callback" "$UP" "^$ISSC/oauth/op/callback\\?"
cb "$OA_TMP/jarc" "$UP"
redirect_ok "cgi" "$CB_WEB"
expect_eq "cgi: state" "$(qv state)" cs-cgi
expect_eq "cgi: iss" "$(qv iss)" "$ISSC"
CC=$("$OA_DUMP" -c "$CONFC" code "$(qv code)")
expect_eq "cgi: code's challenge" "$(jq -r .code_challenge <<<"$CC")" "$(tjs s256 "$VC")"
expect_eq "cgi: code's user is erin's" "$(jq -r .user <<<"$CC")" \
    "$(dump_users "$CONFC" | jq -r '.[] | select(.identities[] | .subject == "erin") | .id')"
cb "$OA_TMP/jarc" "$UP"
check_page "cgi: replay" 400
# By hand.
cgi_run "$CONF" GET /nosuch/callback "$OA_CALLBACK"
expect_eq "by hand: unknown provider" "$CGI_STATUS" 404
expect_eq "by hand: exit 0" "$CGI_RC" 0
cgi_run "$CONF" GET /op/callback "$OA_CALLBACK" QUERY_STRING="code=a&state=b"
expect_eq "by hand: no cookie" "$CGI_STATUS" 400
printf 'issuer = %s\n' "$ISS" >"$OA_TMP/broken.conf"
chmod 600 "$OA_TMP/broken.conf"
cgi_run "$OA_TMP/broken.conf" GET /op/callback "$OA_CALLBACK"
expect_eq "by hand: broken config" "$CGI_STATUS" 500
grep -q "config" "$OA_TMP/cgi.err" && ok "by hand: broken config logged" || fail "by hand: broken config logged"

# A store that cannot open: a 503 page, not a wrong answer. (The login
# cookie and state come from a dev login of the main instance; the copy
# of its config has a data_dir that is a plain file.)
dev_start web "$CB_WEB" code cs-503 cn "$OA_TMP/jar503"
LV=$(awk -F'\t' '$6 == "ownauth_login" { print $7 }' "$OA_TMP/jar503")
: >"$OA_TMP/notadir"
sed "s|^data_dir = .*|data_dir = $OA_TMP/notadir|" "$CONF" >"$OA_TMP/nodb.conf"
chmod 600 "$OA_TMP/nodb.conf"
body="state=$DEVSTATE&email=x%40example.test"
envs=(OWNAUTH_CONF="$OA_TMP/nodb.conf" REQUEST_METHOD=POST PATH_INFO=/dev/callback
    GATEWAY_INTERFACE=CGI/1.1 SERVER_PROTOCOL=HTTP/1.1 REMOTE_ADDR=127.0.0.1 QUERY_STRING=
    CONTENT_TYPE=application/x-www-form-urlencoded CONTENT_LENGTH=${#body}
    HTTP_COOKIE="ownauth_login=$LV")
for v in ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS; do
	[ -n "${!v:-}" ] && envs+=("$v=${!v}")
done
printf '%s' "$body" | env -i "${envs[@]}" "$OA_CALLBACK" >"$OA_TMP/cgi.out" 2>"$OA_TMP/cgi.err"
expect_eq "by hand: store unavailable: exit 0" "$?" 0
expect_match "by hand: store unavailable: 503 page" "$(head -n 1 "$OA_TMP/cgi.out" | tr -d '\r')" '^Status: 503'
expect_eq "by hand: store unavailable: no Location" "$(cgi_hdr Location)" ""
expect_eq "by hand: store unavailable: page headers" "$(cgi_hdr Cache-Control)" "no-store"

# The worker survived everything.
check "callback.fcgi worker $worker still alive" oa_alive "$worker"

oa_done
