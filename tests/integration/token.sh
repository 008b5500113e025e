#!/usr/bin/env bash
# token.sh BUILD_DIR - token.fcgi (SPEC §2.3, §3) under a real lighttpd.
#
# One lighttpd on 127.0.0.1 serves token.fcgi as FastCGI (4 workers, at
# /token /revoke /logout /userinfo through mod_rewrite, as etc/ does) and
# as plain CGI (under /c), and jwks.fcgi at /.well-known. Authorization
# codes come from tests/helpers/mkcode (the store API), so this suite
# does not depend on login and callback. Every token is checked by jose
# against the JWKS the same server publishes.
#
# Covered: code exchange (claims, aud of each token, typ, kid, nonce,
# one string when identical); wrong verifier / redirect_uri / client,
# PKCE plain, no code without a PKCE challenge (the store refuses to keep
# one: a downgrade, SECURITY 5; unit-tested in test_db.c), expired code,
# replay (which kills the session it created); a 50-step refresh chain; reuse inside the window (sibling)
# and of an older generation; reuse outside the window (plain CGI,
# window 1 s); 16 concurrent refreshes with one token (FastCGI and CGI);
# revocation; logout (registered / unregistered redirect, id_token_hint
# valid, expired and forged); cookie mode; CORS; userinfo and its
# refusals (none, HS256 with the public key, expired, wrong iss/aud, a
# retired key, disabled or deleted user); key rotation; store failure.
. "$(dirname "$0")/lib.sh"
oa_setup "$@"
OA_TOKEN="$OA_BUILD/cgi-bin/token.fcgi"
MKCODE="$OA_BUILD/obj/t/mkcode"
JOSE="$OA_IT/token_jose.mjs"
oa_need "$OA_CLI" "$OA_JWKS" "$OA_TOKEN" "$MKCODE"
oa_need_cmd curl jq node "$LIGHTTPD"

port=$(oa_pick_port) || oa_die "no free port"
base="http://127.0.0.1:$port"
ISS=$base
APP=http://127.0.0.1:5173
APP_ORIGIN=http://localhost:5173
SPA_ORIGIN=http://127.0.0.1:8000
TTL=900

oa_instance "$OA_TMP/inst" "$ISS"
CONF=$OA_CONF
KEYS=$(oa_keys_dir "$CONF")
oa_conf_set "$CONF" key_activation_delay 0
oa_conf_set "$CONF" access_token_ttl "$TTL"
oa_conf_set "$CONF" refresh_reuse_window 30
oa_conf_add "$CONF" "[client web]
redirect_uris = $APP/cb $APP/other
allowed_origins = $APP_ORIGIN
audience = convex
post_logout_redirect_uris = $APP/bye

[client spa]
redirect_uris = $APP/spa
allowed_origins = $SPA_ORIGIN
refresh_token_delivery = cookie
post_logout_redirect_uris = $APP/spa-bye

[client other]
redirect_uris = $APP/other-app"
export OWNAUTH_CONF=$CONF
"$OA_CLI" check >"$OA_TMP/check.out" 2>&1 || {
	cat "$OA_TMP/check.out"
	oa_die "ownauth check refuses the test config"
}

W="$OA_TMP/www"
mkdir -p "$W"
{
	oa_lighttpd_conf "$W" "$port"
	echo 'server.modules += ( "mod_rewrite" )'
	cat <<EOF
url.rewrite-once += (
	"^/(token|revoke|logout|userinfo)/?(\?.*)?\$" => "/ownauth-bin/token.fcgi/\$1\$2",
)
fastcgi.server += ( "/ownauth-bin/token.fcgi" => ((
	"bin-path" => "$OA_TOKEN",
	"socket" => "$W/token.sock",
	"max-procs" => 4,
	"check-local" => "disable",
	"bin-environment" => ( "OWNAUTH_CONF" => "$CONF" )
)) )
EOF
	oa_lighttpd_fcgi /.well-known "$OA_JWKS" "$CONF" "$W/jwks.sock"
	oa_lighttpd_cgi /c "$OA_TOKEN" "$CONF"
} >"$W/lighttpd.conf"
oa_lighttpd_start "$W" "$port"
L=$LIGHTTPD_PID
JWKS_URL="$base/.well-known/jwks.json"

# --- helpers ---------------------------------------------------------------

VERIFIER=dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk
ENC_APP_CB=$(jq -rn --arg v "$APP/cb" '$v|@uri')
ENC_APP_SPA=$(jq -rn --arg v "$APP/spa" '$v|@uri')

# post PATH BODY [curl args]: a form POST.
post() {
	local p=$1 b=$2
	shift 2
	http POST "$base$p" -H 'Content-Type: application/x-www-form-urlencoded' \
	    --data-raw "$b" "$@"
}

# code USER CLIENT REDIRECT [mkcode args]: a fresh code (verifier VERIFIER).
code() {
	local u=$1 cl=$2 r=$3
	shift 3
	"$MKCODE" --code --user "$u" --client "$cl" --redirect-uri "$r" "$@"
}

# exchange CODE CLIENT ENC_REDIRECT [VERIFIER [PATH [curl args]]]
# (VERIFIER and PATH may be "": the defaults).
exchange() {
	local c=$1 cl=$2 r=$3 v=${4:-$VERIFIER} p=${5:-/token}
	shift $(($# < 5 ? $# : 5))
	post "$p" "grant_type=authorization_code&code=$c&redirect_uri=$r&code_verifier=$v&client_id=$cl" "$@"
}

# refresh RT CLIENT [PATH [curl args]]
refresh() {
	local rt=$1 cl=$2 p=${3:-/token}
	shift $(($# < 3 ? $# : 3))
	post "$p" "grant_type=refresh_token&refresh_token=$rt&client_id=$cl" "$@"
}

j() { jq -r "$1" "$OA_TMP/b" 2>/dev/null; }

# tamper JWT: the token with one signature character changed (the 10th,
# which carries 6 full bits: never a no-op).
tamper() {
	local t=$1 sig=${1##*.} c
	c=${sig:9:1}
	[ "$c" = A ] && c=B || c=A
	printf '%s' "${t%.*}.${sig:0:9}$c${sig:10}"
}

# Verification cases for jose, checked in batches.
CASES="$OA_TMP/cases.json"
echo '[]' >"$CASES"
# add_case NAME TOKEN AUD [NONCE]
add_case() {
	local n=$1 t=$2 a=$3
	if [ $# -ge 4 ]; then
		jq --arg n "$n" --arg t "$t" --arg a "$a" --arg o "$4" \
		    '. + [{name: $n, token: $t, aud: $a, nonce: $o}]' "$CASES" >"$CASES.new"
	else
		jq --arg n "$n" --arg t "$t" --arg a "$a" \
		    '. + [{name: $n, token: $t, aud: $a}]' "$CASES" >"$CASES.new"
	fi
	mv "$CASES.new" "$CASES"
}
# run_cases: runs jose on the cases (results in $OA_TMP/verify.out), resets.
run_cases() {
	node "$JOSE" verify "$JWKS_URL" "$ISS" "$CASES" >"$OA_TMP/verify.out" 2>"$OA_TMP/verify.err" ||
	    { cat "$OA_TMP/verify.err"; fail "jose verify helper failed"; }
	echo '[]' >"$CASES"
}
# vres NAME: the result line of a case.
vres() { jq -c --arg n "$1" 'select(.name == $n)' "$OA_TMP/verify.out"; }
vfield() { vres "$1" | jq -r "$2"; }

worker=$(oa_worker "$L" "$OA_TOKEN") || oa_die "no token.fcgi worker under lighttpd"
ok "token.fcgi FastCGI worker $worker started by lighttpd"

# Users (the store API: users add).
U1=$("$MKCODE" --new-user --email ann@example.com --name 'Ann Lee' \
    --picture https://img.example/ann.png \
    --claims '{"role":"admin","sub":"evil","aud":"x","org":{"id":7}}') ||
    oa_die "mkcode --new-user failed"
U2=$("$MKCODE" --new-user --email bob@example.com) || oa_die "mkcode --new-user failed"
ok "users $U1 and $U2 created through the store"

# --- discovery points at these endpoints ----------------------------------

http GET "$base/.well-known/openid-configuration"
expect_eq "discovery token_endpoint" "$(j .token_endpoint)" "$ISS/token"
expect_eq "discovery userinfo_endpoint" "$(j .userinfo_endpoint)" "$ISS/userinfo"

# --- code exchange ----------------------------------------------------------

C=$(code "$U1" web "$APP/cb" --verifier "$VERIFIER" --nonce n-0S6_WzA2Mj)
exchange "$C" web "$ENC_APP_CB"
expect_eq "code exchange: 200" "$HTTP_STATUS" 200
expect_match "code exchange: Content-Type JSON" "$(hdr Content-Type)" '^application/json'
expect_eq "code exchange: Cache-Control no-store" "$(hdr Cache-Control)" no-store
expect_eq "code exchange: Pragma no-cache" "$(hdr Pragma)" no-cache
expect_eq "code exchange: token_type Bearer" "$(j .token_type)" Bearer
expect_eq "code exchange: expires_in = access_token_ttl" "$(j .expires_in)" "$TTL"
AT1=$(j .access_token)
IT1=$(j .id_token)
RT1=$(j .refresh_token)
check "code exchange: refresh_token in the body (body mode)" test -n "$RT1" -a "$RT1" != null
check "code exchange: no Set-Cookie in body mode" test "$(hdr_count Set-Cookie)" = 0
check "web: audience != client id: two different tokens" test "$AT1" != "$IT1"
add_case at1 "$AT1" convex
add_case it1 "$IT1" web n-0S6_WzA2Mj
add_case at1_as_web "$AT1" web
add_case it1_as_convex "$IT1" convex

# spa: audience = client id, no nonce: one string.
C=$(code "$U2" spa "$APP/spa" --verifier "$VERIFIER")
exchange "$C" spa "$ENC_APP_SPA" "" "" -H "Origin: $SPA_ORIGIN"
expect_eq "spa exchange: 200" "$HTTP_STATUS" 200
AT2=$(j .access_token)
expect_eq "spa: access_token and id_token are the same string" "$(j .id_token)" "$AT2"
expect_eq "spa (cookie mode): no refresh_token in the body" "$(j '.refresh_token // "none"')" none
SC=$(hdr Set-Cookie)
expect_match "spa: refresh cookie set" "$SC" '^ownauth_refresh=[A-Za-z0-9_-]{43};'
expect_match "spa: cookie HttpOnly" "$SC" '; HttpOnly(;|$)'
expect_match "spa: cookie SameSite=Strict" "$SC" '; SameSite=Strict(;|$)'
expect_match "spa: cookie Path=/ (the issuer's path)" "$SC" '; Path=/(;|$)'
expect_match "spa: cookie Max-Age > 0" "$SC" '; Max-Age=[1-9][0-9]*(;|$)'
check "spa: no Secure on an http loopback issuer" test -z "$(printf '%s' "$SC" | grep -i 'secure')"
SPA_RT=$(printf '%s' "$SC" | sed 's/^ownauth_refresh=\([^;]*\);.*/\1/')
expect_eq "spa: ACAO = the allowed origin" "$(hdr Access-Control-Allow-Origin)" "$SPA_ORIGIN"
expect_eq "spa: credentials allowed (cookie mode)" "$(hdr Access-Control-Allow-Credentials)" true
add_case at2 "$AT2" spa

run_cases
expect_eq "jose: access token valid (aud = audience)" "$(vfield at1 .result)" valid
expect_eq "jose: ID token valid (aud = client id, nonce)" "$(vfield it1 .result)" valid
expect_eq "jose: access token refused for aud = client id" "$(vfield at1_as_web .result)" invalid
expect_eq "jose: ID token refused for aud = audience" "$(vfield it1_as_convex .result)" invalid
expect_eq "jose: spa token valid" "$(vfield at2 .result)" valid
expect_eq "token header typ JWT" "$(vfield at1 .header.typ)" JWT
KID1=$(vfield at1 .header.kid)
expect_eq "token header kid = the signing key" "$KID1" "$(oa_kids "$KEYS")"
expect_eq "access: sub" "$(vfield at1 .payload.sub)" "$U1"
expect_eq "access: iss" "$(vfield at1 .payload.iss)" "$ISS"
expect_eq "access: aud is one string" "$(vfield at1 '.payload.aud|type')" string
expect_eq "access: no nonce" "$(vfield at1 '.payload.nonce // "none"')" none
expect_eq "id: nonce" "$(vfield it1 .payload.nonce)" n-0S6_WzA2Mj
expect_eq "access: exp = iat + ttl" "$(vfield at1 '.payload.exp - .payload.iat')" "$TTL"
expect_eq "access: email" "$(vfield at1 .payload.email)" ann@example.com
expect_eq "access: email_verified" "$(vfield at1 .payload.email_verified)" true
expect_eq "access: name" "$(vfield at1 .payload.name)" "Ann Lee"
expect_eq "access: picture" "$(vfield at1 .payload.picture)" https://img.example/ann.png
expect_eq "access: custom claim role" "$(vfield at1 .payload.role)" admin
expect_eq "access: custom object claim" "$(vfield at1 .payload.org.id)" 7
check "access: sid and auth_time present" test "$(vfield at1 '(.payload.sid|type) + (.payload.auth_time|type)')" = stringnumber
expect_eq "id and access share jti and sid" "$(vfield it1 '.payload.jti + .payload.sid')" "$(vfield at1 '.payload.jti + .payload.sid')"
SID1=$(vfield at1 .payload.sid)

# --- refused exchanges -------------------------------------------------------

# bad_exchange DESC WANT_STATUS WANT_ERROR: checks the last response.
bad() {
	expect_eq "$1: status" "$HTTP_STATUS" "$2"
	expect_eq "$1: error" "$(j .error)" "$3"
	expect_eq "$1: Cache-Control no-store" "$(hdr Cache-Control)" no-store
}
C=$(code "$U1" web "$APP/cb" --verifier "$VERIFIER")
exchange "$C" web "$ENC_APP_CB" "${VERIFIER%?}A"
bad "wrong code_verifier" 400 invalid_grant
exchange "$C" web "$ENC_APP_CB"
bad "a code whose exchange failed is used up" 400 invalid_grant
C=$(code "$U1" web "$APP/cb" --verifier "$VERIFIER")
exchange "$C" web "$(jq -rn --arg v "$APP/other" '$v|@uri')"
bad "another registered redirect_uri" 400 invalid_grant
C=$(code "$U1" web "$APP/cb" --verifier "$VERIFIER")
exchange "$C" web "$(jq -rn --arg v "$APP/cb/" '$v|@uri')"
bad "redirect_uri with a trailing slash" 400 invalid_grant
C=$(code "$U1" web "$APP/cb" --verifier "$VERIFIER")
exchange "$C" spa "$ENC_APP_CB"
bad "code presented by another client" 400 invalid_grant
C=$(code "$U1" web "$APP/cb" --verifier "$VERIFIER")
exchange "$C" nosuch "$ENC_APP_CB"
bad "unknown client_id" 401 invalid_client
# The "plain" method: a challenge equal to the verifier is refused.
C=$(code "$U1" web "$APP/cb" --challenge "$VERIFIER")
exchange "$C" web "$ENC_APP_CB"
bad "PKCE plain (challenge = verifier) refused" 400 invalid_grant
# SECURITY 5 downgrade: a code without a challenge cannot even be stored,
# so no code_verifier is ever checked against nothing.
# nochal WHAT [mkcode args]: mkcode must fail with the store's BADARG.
nochal() {
	local w=$1
	shift
	if code "$U1" web "$APP/cb" "$@" >/dev/null 2>"$OA_TMP/mkcode.err"; then
		fail "$w: stored"
	else
		check "$w: refused by the store" grep -q 'code put: .*(7)' "$OA_TMP/mkcode.err"
	fi
}
nochal "a code without a PKCE challenge" --no-challenge
nochal "a code with an empty PKCE challenge" --challenge ""
C=$(code "$U1" web "$APP/cb" --verifier "$VERIFIER" --ttl -1)
exchange "$C" web "$ENC_APP_CB"
bad "expired code" 400 invalid_grant
C=$(code "$U1" web "$APP/cb" --verifier "$VERIFIER")
post /token "grant_type=authorization_code&code=$C&redirect_uri=$ENC_APP_CB&client_id=web"
bad "missing code_verifier" 400 invalid_request
post /token "grant_type=authorization_code&code=$C&redirect_uri=$ENC_APP_CB&code_verifier=short&client_id=web"
bad "code_verifier shorter than 43" 400 invalid_request
post /token "grant_type=authorization_code&code=$C&code=$C&redirect_uri=$ENC_APP_CB&code_verifier=$VERIFIER&client_id=web"
bad "duplicate parameter" 400 invalid_request
exchange "$C" web "$ENC_APP_CB"
expect_eq "the code survived the refused requests above" "$HTTP_STATUS" 200
post /token "grant_type=password&username=a&password=b&client_id=web"
bad "grant_type password" 400 unsupported_grant_type
post /token "client_id=web"
bad "no grant_type" 400 invalid_request
http POST "$base/token" -H 'Content-Type: application/json' --data-raw '{"grant_type":"refresh_token"}'
bad "JSON body" 400 invalid_request
head -c 20000 /dev/zero | tr '\0' a >"$OA_TMP/big"
http POST "$base/token" -H 'Content-Type: application/x-www-form-urlencoded' --data-binary @"$OA_TMP/big"
expect_eq "body over 16 KB: 413" "$HTTP_STATUS" 413
# A body refused before a byte of it is read is left to libfcgi's
# lingering close (lib/cgi.c close_at_once): a 60 KB body still gets its
# whole answer, and the worker the next request.
head -c 61440 /dev/zero | tr '\0' a >"$OA_TMP/big"
http POST "$base/token" -H 'Content-Type: application/x-www-form-urlencoded' --data-binary @"$OA_TMP/big"
expect_eq "body of 60 KB: 413" "$HTTP_STATUS" 413
expect_match "body of 60 KB: the whole JSON error" "$(jq -r .error "$OA_TMP/b" 2>/dev/null)" '^invalid_request$'
http GET "$base/token"
expect_eq "GET /token: 405" "$HTTP_STATUS" 405
expect_match "GET /token: Allow" "$(hdr Allow)" POST

# --- replay -------------------------------------------------------------------

C=$(code "$U1" web "$APP/cb" --verifier "$VERIFIER")
exchange "$C" web "$ENC_APP_CB"
expect_eq "replay: first exchange" "$HTTP_STATUS" 200
RTR=$(j .refresh_token)
exchange "$C" web "$ENC_APP_CB"
bad "replayed code" 400 invalid_grant
refresh "$RTR" web
bad "replay revoked the session the code created" 400 invalid_grant

# --- refresh chain ------------------------------------------------------------

declare -A seen_rt seen_at
rt=$RT1
chain_ok=1
for i in $(seq 1 50); do
	refresh "$rt" web
	if [ "$HTTP_STATUS" != 200 ]; then
		chain_ok=0
		fail "refresh $i: status $HTTP_STATUS: $HTTP_BODY"
		break
	fi
	nrt=$(j .refresh_token)
	at=$(j .access_token)
	if [ -n "${seen_rt[$nrt]:-}" ] || [ "$nrt" = "$rt" ] || [ -n "${seen_at[$at]:-}" ]; then
		chain_ok=0
		fail "refresh $i: a refresh or access token repeats"
	fi
	seen_rt[$nrt]=1
	seen_at[$at]=1
	add_case "chain$i" "$at" convex
	[ "$i" = 1 ] && { add_case chain1_id "$(j .id_token)" web; RIT=$(j .id_token); }
	rt=$nrt
done
[ "$chain_ok" = 1 ] && ok "50 rotations: every refresh and access token different"
run_cases
expect_eq "jose: all 50 refreshed access tokens valid" \
    "$(jq -r 'select(.name | test("^chain[0-9]+$")) | .result' "$OA_TMP/verify.out" | sort | uniq -c | awk '{print $1 " " $2}')" "50 valid"
expect_eq "jose: 50 distinct jti" \
    "$(jq -r 'select(.name | test("^chain[0-9]+$")) | .payload.jti' "$OA_TMP/verify.out" | sort -u | wc -l | tr -d ' ')" 50
expect_eq "refreshed tokens keep the session (sid)" \
    "$(jq -r 'select(.name | test("^chain[0-9]+$")) | .payload.sid' "$OA_TMP/verify.out" | sort -u)" "$SID1"
expect_eq "refreshed ID token: aud = client id, valid" "$(vfield chain1_id .result)" valid
expect_eq "refreshed ID token: no nonce (OIDC Core §12.2)" "$(vfield chain1_id '.payload.nonce // "none"')" none
check "refreshed ID token differs from the access token (web)" test "$RIT" != "$at"
refresh "$RT1" web
bad "the first token of the chain, 50 generations later" 400 invalid_grant
refresh "$rt" web
bad "reusing an old generation revoked the family, newest included" 400 invalid_grant

# --- reuse inside the window ----------------------------------------------------

C=$(code "$U1" web "$APP/cb" --verifier "$VERIFIER")
exchange "$C" web "$ENC_APP_CB"
R0=$(j .refresh_token)
refresh "$R0" web
R1=$(j .refresh_token)
expect_eq "window: first rotation" "$HTTP_STATUS" 200
refresh "$R0" web
expect_eq "window: the parent again, inside the window: a sibling" "$HTTP_STATUS" 200
R1b=$(j .refresh_token)
check "window: the sibling is a new token" test -n "$R1b" -a "$R1b" != "$R1" -a "$R1b" != null
refresh "$R1b" web
expect_eq "window: the sibling works" "$HTTP_STATUS" 200
R2=$(j .refresh_token)
refresh "$R2" web
expect_eq "window: the family lives on" "$HTTP_STATUS" 200
R3=$(j .refresh_token)
refresh "$R0" web
bad "window: an older generation (grandparent) inside the window" 400 invalid_grant
refresh "$R3" web
bad "window: ... revoked the family, newest included" 400 invalid_grant

# --- 16 concurrent refreshes with one token --------------------------------------

# race_check NAME PATH: 16 POSTs at once with one fresh refresh token.
race_check() {
	local n=$1 p=$2 out="$OA_TMP/race.$1" st
	C=$(code "$U1" web "$APP/cb" --verifier "$VERIFIER")
	exchange "$C" web "$ENC_APP_CB"
	local r=$(j .refresh_token)
	node "$JOSE" race "$base$p" 16 "grant_type=refresh_token&refresh_token=$r&client_id=web" >"$out" ||
	    { fail "$n: race helper failed"; return; }
	st=$(jq -r '[.[].status] | group_by(.) | map("\(length)x\(.[0])") | join(",")' "$out")
	# Rules (SPEC §2.3): the first use rotates, every other one comes
	# within the window from the parent of the newest token: siblings.
	expect_eq "$n: 16 concurrent refreshes all succeed (siblings)" "$st" 16x200
	expect_eq "$n: 16 different refresh tokens" \
	    "$(jq -r '.[].body | fromjson? | .refresh_token' "$out" | sort -u | wc -l | tr -d ' ')" 16
	expect_eq "$n: 16 different access tokens" \
	    "$(jq -r '.[].body | fromjson? | .access_token' "$out" | sort -u | wc -l | tr -d ' ')" 16
	local k=0 t
	for t in $(jq -r '.[].body | fromjson? | .access_token' "$out"); do
		k=$((k + 1))
		add_case "$n$k" "$t" convex
	done
	refresh "$(jq -r '.[3].body | fromjson | .refresh_token' "$out")" web
	expect_eq "$n: the family lives (a sibling refreshes)" "$HTTP_STATUS" 200
}
race_check race_fcgi /token
race_check race_cgi /c/token
run_cases
expect_eq "jose: the 32 raced access tokens are valid" \
    "$(jq -r 'select(.name | test("^race_")) | .result' "$OA_TMP/verify.out" | sort | uniq -c | awk '{print $1 " " $2}')" "32 valid"

# --- revoke (RFC 7009) --------------------------------------------------------------

C=$(code "$U1" web "$APP/cb" --verifier "$VERIFIER")
exchange "$C" web "$ENC_APP_CB"
V0=$(j .refresh_token)
refresh "$V0" web
V1=$(j .refresh_token)
post /revoke "token=$V0&token_type_hint=refresh_token&client_id=web"
expect_eq "revoke: 200" "$HTTP_STATUS" 200
expect_eq "revoke: no-store" "$(hdr Cache-Control)" no-store
refresh "$V1" web
bad "revoke of a used token killed the family (newest)" 400 invalid_grant
post /revoke "token=$V0&client_id=web"
expect_eq "revoke again: 200" "$HTTP_STATUS" 200
post /revoke "token=not-a-token-we-know&client_id=web"
expect_eq "revoke of an unknown token: 200 (RFC 7009 §2.2)" "$HTTP_STATUS" 200
post /revoke "token=$AT1&client_id=web"
expect_eq "revoke of an access token: 200" "$HTTP_STATUS" 200
post /revoke "client_id=web"
bad "revoke without a token" 400 invalid_request
post /revoke "token=x&client_id=nosuch"
bad "revoke by an unknown client" 401 invalid_client
# RFC 7009 §2.1: only the client the token was issued to may revoke it.
C=$(code "$U1" web "$APP/cb" --verifier "$VERIFIER")
exchange "$C" web "$ENC_APP_CB"
X0=$(j .refresh_token)
post /revoke "token=$X0&token_type_hint=refresh_token&client_id=other"
bad "revoke of web's token by client other" 400 invalid_request
expect_eq "revoke by another client: said so" "$(j .error_description)" "the token was not issued to this client"
refresh "$X0" web
expect_eq "revoke by another client: web's token still refreshes" "$HTTP_STATUS" 200
X1=$(j .refresh_token)
post /revoke "client_id=spa" -H "Cookie: ownauth_refresh=$X1"
bad "revoke of web's token by client spa (from the cookie)" 400 invalid_request
check "revoke by another client: the cookie is not cleared" test -z "$(hdr Set-Cookie)"
post /revoke "token=$X1&client_id=web"
expect_eq "revoke by the token's own client: 200" "$HTTP_STATUS" 200
refresh "$X1" web
bad "revoke by the token's own client: the family is dead" 400 invalid_grant
post /revoke "token=$X1&client_id=other"
bad "revoke of a revoked token of another client: still refused" 400 invalid_request
post /revoke "token=not-a-token-we-know&client_id=other"
expect_eq "revoke of an unknown token by any client: 200" "$HTTP_STATUS" 200

# --- cookie mode -------------------------------------------------------------------------

CK=ownauth_refresh
post /token "grant_type=refresh_token&client_id=spa" -H "Cookie: $CK=$SPA_RT" -H "Origin: $SPA_ORIGIN"
expect_eq "cookie refresh: 200" "$HTTP_STATUS" 200
expect_eq "cookie refresh: no refresh_token in the body" "$(j '.refresh_token // "none"')" none
SC=$(hdr Set-Cookie)
SPA_RT2=$(printf '%s' "$SC" | sed -n 's/^ownauth_refresh=\([^;]*\);.*/\1/p')
check "cookie refresh: a new cookie value" test -n "$SPA_RT2" -a "$SPA_RT2" != "$SPA_RT"
expect_match "cookie refresh: cookie attributes" "$SC" '; Path=/; Max-Age=[0-9]+; HttpOnly; SameSite=Strict$'
expect_eq "cookie refresh: ACAO" "$(hdr Access-Control-Allow-Origin)" "$SPA_ORIGIN"
expect_eq "cookie refresh: ACAC true" "$(hdr Access-Control-Allow-Credentials)" true
expect_match "cookie refresh: Vary Origin" "$(hdr Vary)" Origin
post /token "grant_type=refresh_token&client_id=spa" -H "Cookie: $CK=$SPA_RT2" -H "Origin: http://evil.test"
bad "cookie refresh from a foreign origin" 400 invalid_request
check "foreign origin: no ACAO" test -z "$(hdr Access-Control-Allow-Origin)"
post /token "grant_type=refresh_token&client_id=spa" -H "Cookie: $CK=$SPA_RT2; $CK=$SPA_RT2"
bad "duplicate refresh cookie" 400 invalid_request
expect_match "duplicate refresh cookie: said so" "$(j .error_description)" 'more than once'
post /token "grant_type=refresh_token&client_id=spa" -H "Cookie: $CK=$SPA_RT2"
expect_eq "the cookie survived the refused requests (no Origin: navigation/native)" "$HTTP_STATUS" 200
SPA_RT3=$(hdr Set-Cookie | sed -n 's/^ownauth_refresh=\([^;]*\);.*/\1/p')
post /token "grant_type=refresh_token&client_id=spa"
bad "cookie mode without the cookie" 400 invalid_request
post /revoke "client_id=spa" -H "Cookie: $CK=$SPA_RT3" -H "Origin: $SPA_ORIGIN"
expect_eq "cookie revoke: 200" "$HTTP_STATUS" 200
expect_match "cookie revoke: cookie cleared" "$(hdr Set-Cookie)" '^ownauth_refresh=; .*Max-Age=0'
post /token "grant_type=refresh_token&client_id=spa" -H "Cookie: $CK=$SPA_RT3"
bad "cookie refresh after revoke" 400 invalid_grant
expect_match "a dead refresh cookie is cleared" "$(hdr Set-Cookie)" '^ownauth_refresh=; .*Max-Age=0'

# --- CORS ----------------------------------------------------------------------------------

refresh "$rt" web /token -H "Origin: $APP_ORIGIN"
expect_eq "CORS: error answers are readable by the allowed origin" "$(hdr Access-Control-Allow-Origin)" "$APP_ORIGIN"
C=$(code "$U1" web "$APP/cb" --verifier "$VERIFIER")
exchange "$C" web "$ENC_APP_CB" "" "" -H "Origin: $APP_ORIGIN"
expect_eq "CORS allowed origin: 200" "$HTTP_STATUS" 200
expect_eq "CORS allowed origin: ACAO is the origin" "$(hdr Access-Control-Allow-Origin)" "$APP_ORIGIN"
expect_eq "CORS: one ACAO header" "$(hdr_count Access-Control-Allow-Origin)" 1
check "CORS body-mode client: no credentials" test -z "$(hdr Access-Control-Allow-Credentials)"
expect_match "CORS: Vary Origin" "$(hdr Vary)" Origin
RTW=$(j .refresh_token)
refresh "$RTW" web /token -H "Origin: $SPA_ORIGIN"
expect_eq "CORS origin of another client: request served" "$HTTP_STATUS" 200
check "CORS origin of another client: no ACAO" test -z "$(hdr Access-Control-Allow-Origin)"
http OPTIONS "$base/token" -H "Origin: $APP_ORIGIN" -H 'Access-Control-Request-Method: POST' \
    -H 'Access-Control-Request-Headers: content-type'
expect_eq "preflight: 204" "$HTTP_STATUS" 204
expect_eq "preflight: ACAO" "$(hdr Access-Control-Allow-Origin)" "$APP_ORIGIN"
expect_match "preflight: methods" "$(hdr Access-Control-Allow-Methods)" POST
expect_match "preflight: headers" "$(hdr Access-Control-Allow-Headers)" '[Cc]ontent-[Tt]ype'
expect_match "preflight: Max-Age" "$(hdr Access-Control-Max-Age)" '^[0-9]+$'
http OPTIONS "$base/token" -H "Origin: http://evil.test" -H 'Access-Control-Request-Method: POST'
expect_eq "preflight from another origin: 403" "$HTTP_STATUS" 403
check "preflight from another origin: no ACAO" test -z "$(hdr Access-Control-Allow-Origin)"
http OPTIONS "$base/token" -H "Origin: null" -H 'Access-Control-Request-Method: POST'
expect_eq "preflight from an opaque origin: 403" "$HTTP_STATUS" 403
http OPTIONS "$base/token" -H "Origin: $SPA_ORIGIN" -H 'Access-Control-Request-Method: POST'
expect_eq "preflight for a cookie-mode client: credentials" "$(hdr Access-Control-Allow-Credentials)" true
if grep -qi '^access-control-allow-origin: \*' "$OA_TMP/h"; then fail "CORS: ACAO *"; else ok "CORS: never *"; fi

# --- logout ------------------------------------------------------------------------------

C=$(code "$U1" web "$APP/cb" --verifier "$VERIFIER")
exchange "$C" web "$ENC_APP_CB"
LR=$(j .refresh_token)
# SPEC §2: a refresh token never travels in a URL. In a GET's query it is
# ignored: the sign-out goes on (redirect, cookie cleared), but nothing
# is revoked by it.
http GET "$base/logout?client_id=web&post_logout_redirect_uri=$(jq -rn --arg v "$APP/bye" '$v|@uri')&state=st%20ate&refresh_token=$LR"
expect_eq "logout, registered URI: redirect" "$HTTP_STATUS" 302
expect_eq "logout: Location with state echoed" "$(hdr Location)" "$APP/bye?state=st%20ate"
expect_match "logout: clears the refresh cookie" "$(hdr Set-Cookie)" '^ownauth_refresh=; .*Max-Age=0'
expect_eq "logout redirect: no-store" "$(hdr Cache-Control)" no-store
refresh "$LR" web
expect_eq "logout by GET: a refresh_token in the query revokes nothing" "$HTTP_STATUS" 200
LR=$(j .refresh_token)
http GET "$base/logout?refresh_token=$LR"
expect_eq "logout by GET with only a refresh_token: signed-out page" "$HTTP_STATUS" 200
refresh "$LR" web
expect_eq "logout by GET with only a refresh_token: nothing revoked" "$HTTP_STATUS" 200
LR=$(j .refresh_token)
post /logout "client_id=web&post_logout_redirect_uri=$(jq -rn --arg v "$APP/bye" '$v|@uri')&state=st%20ate&refresh_token=$LR"
expect_eq "logout by POST, registered URI: 303" "$HTTP_STATUS" 303
expect_eq "logout by POST: Location with state echoed" "$(hdr Location)" "$APP/bye?state=st%20ate"
expect_match "logout by POST: clears the refresh cookie" "$(hdr Set-Cookie)" '^ownauth_refresh=; .*Max-Age=0'
refresh "$LR" web
bad "logout by POST: the body's refresh_token revoked the family" 400 invalid_grant

C=$(code "$U1" web "$APP/cb" --verifier "$VERIFIER")
exchange "$C" web "$ENC_APP_CB"
LR=$(j .refresh_token)
post /logout "client_id=web&post_logout_redirect_uri=$(jq -rn --arg v "https://evil.example/" '$v|@uri')&refresh_token=$LR"
expect_eq "logout, unregistered URI: 200 page, no redirect" "$HTTP_STATUS" 200
check "logout, unregistered URI: no Location" test -z "$(hdr Location)"
expect_match "logout page: text/html" "$(hdr Content-Type)" '^text/html'
expect_eq "logout page: no-store" "$(hdr Cache-Control)" no-store
expect_eq "logout page: Referrer-Policy" "$(hdr Referrer-Policy)" no-referrer
expect_match "logout page: CSP default-src none" "$(hdr Content-Security-Policy)" "default-src 'none'"
expect_match "logout page: CSP frame-ancestors none" "$(hdr Content-Security-Policy)" "frame-ancestors 'none'"
refresh "$LR" web
bad "logout without redirect still revoked the family" 400 invalid_grant
for evil in "$APP/bye/" "$APP/bye.evil" "$APP/bye?x=1" "$APP/BYE" "$APP/spa-bye"; do
	http GET "$base/logout?client_id=web&post_logout_redirect_uri=$(jq -rn --arg v "$evil" '$v|@uri')"
	expect_eq "logout to '$evil' (not registered for web): no redirect" "$HTTP_STATUS:$(hdr Location)" "200:"
done
http GET "$base/logout?client_id=nosuch&post_logout_redirect_uri=$(jq -rn --arg v "$APP/bye" '$v|@uri')"
check "logout with an unknown client: no redirect" test -z "$(hdr Location)"

# id_token_hint: the client comes from its aud; its session ends.
C=$(code "$U1" web "$APP/cb" --verifier "$VERIFIER")
exchange "$C" web "$ENC_APP_CB"
LR=$(j .refresh_token)
HINT=$(j .id_token)
http GET "$base/logout?id_token_hint=$HINT&post_logout_redirect_uri=$(jq -rn --arg v "$APP/bye" '$v|@uri')"
expect_eq "logout with id_token_hint: redirect" "$HTTP_STATUS" 302
refresh "$LR" web
bad "logout with id_token_hint ended its session" 400 invalid_grant
http GET "$base/logout?id_token_hint=$(tamper "$HINT")&post_logout_redirect_uri=$(jq -rn --arg v "$APP/bye" '$v|@uri')"
expect_eq "logout with a forged id_token_hint: no redirect" "$HTTP_STATUS:$(hdr Location)" "200:"
http GET "$base/logout?client_id=spa&id_token_hint=$HINT&post_logout_redirect_uri=$(jq -rn --arg v "$APP/spa-bye" '$v|@uri')"
expect_eq "logout: hint of another client than client_id: no redirect" "$HTTP_STATUS:$(hdr Location)" "200:"
# An expired ID token (signed by our key) is still a good hint.
C=$(code "$U1" web "$APP/cb" --verifier "$VERIFIER")
exchange "$C" web "$ENC_APP_CB"
LR=$(j .refresh_token)
HSID=$(node "$JOSE" payload "$(j .access_token)" | jq -r .sid)
OLD=$(node "$JOSE" expired "$KEYS/$KID1.pem" "$ISS" web "$U1" "$HSID")
http GET "$base/logout?id_token_hint=$OLD&post_logout_redirect_uri=$(jq -rn --arg v "$APP/bye" '$v|@uri')&state=s1"
expect_eq "logout with an expired id_token_hint: redirect" "$HTTP_STATUS:$(hdr Location)" "302:$APP/bye?state=s1"
refresh "$LR" web
bad "expired hint: its session ended" 400 invalid_grant
# Cookie mode: POST /logout with the cookie.
C=$(code "$U2" spa "$APP/spa" --verifier "$VERIFIER")
exchange "$C" spa "$ENC_APP_SPA"
LC=$(hdr Set-Cookie | sed -n 's/^ownauth_refresh=\([^;]*\);.*/\1/p')
post /logout "client_id=spa&post_logout_redirect_uri=$(jq -rn --arg v "$APP/spa-bye" '$v|@uri')" -H "Cookie: $CK=$LC"
expect_eq "cookie logout: 303 to the registered URI" "$HTTP_STATUS:$(hdr Location)" "303:$APP/spa-bye"
expect_match "cookie logout: cookie cleared" "$(hdr Set-Cookie)" '^ownauth_refresh=; .*Max-Age=0'
post /token "grant_type=refresh_token&client_id=spa" -H "Cookie: $CK=$LC"
bad "cookie logout revoked the family" 400 invalid_grant
# A GET /logout that would end the browser's session on nobody's word (no
# id_token_hint, or a forged one) asks first (OIDC RP-Initiated Logout §2):
# a same-site link or <img> must not sign the user out.
C=$(code "$U2" spa "$APP/spa" --verifier "$VERIFIER")
exchange "$C" spa "$ENC_APP_SPA"
LC=$(hdr Set-Cookie | sed -n 's/^ownauth_refresh=\([^;]*\);.*/\1/p')
SPA_IT=$(j .id_token)
ENC_SPA_BYE=$(jq -rn --arg v "$APP/spa-bye" '$v|@uri')
http GET "$base/logout?client_id=spa&post_logout_redirect_uri=$ENC_SPA_BYE&state=a%22b%3Cc" -H "Cookie: $CK=$LC"
expect_eq "GET logout, cookie, no hint: 200 question, no redirect" "$HTTP_STATUS:$(hdr Location)" "200:"
check "GET logout, no hint: the cookie is not cleared" test -z "$(hdr Set-Cookie)"
expect_match "GET logout, no hint: a form that posts here" "$(cat "$OA_TMP/b")" '<form method="post">'
expect_match "GET logout, no hint: the form keeps client_id" "$(cat "$OA_TMP/b")" '<input type="hidden" name="client_id" value="spa">'
expect_match "GET logout, no hint: the form keeps the return URI" "$(cat "$OA_TMP/b")" "name=\"post_logout_redirect_uri\" value=\"$APP/spa-bye\""
expect_match "GET logout, no hint: state HTML-escaped" "$(cat "$OA_TMP/b")" 'name="state" value="a&quot;b&lt;c"'
expect_match "GET logout, no hint: CSP form-action us and the registered return" \
    "$(hdr Content-Security-Policy)" "form-action $base $APP;"
expect_match "GET logout, no hint: CSP frame-ancestors none" "$(hdr Content-Security-Policy)" "frame-ancestors 'none'"
expect_eq "GET logout, no hint: no-store" "$(hdr Cache-Control)" no-store
http GET "$base/logout?client_id=spa&post_logout_redirect_uri=$(jq -rn --arg v "https://evil.example/" '$v|@uri')" -H "Cookie: $CK=$LC"
expect_match "GET logout, unregistered return: CSP form-action only us" \
    "$(hdr Content-Security-Policy)" "form-action $base;"
http GET "$base/logout?client_id=spa&id_token_hint=$(tamper "$SPA_IT")" -H "Cookie: $CK=$LC"
expect_eq "GET logout, cookie, forged hint: asks too" "$HTTP_STATUS:$(hdr Location)" "200:"
expect_match "GET logout, forged hint: the question" "$(cat "$OA_TMP/b")" '<form method="post">'
post /token "grant_type=refresh_token&client_id=spa" -H "Cookie: $CK=$LC"
expect_eq "after the questions, the session lives on" "$HTTP_STATUS" 200
LC=$(hdr Set-Cookie | sed -n 's/^ownauth_refresh=\([^;]*\);.*/\1/p')
# The answer: the form posted back, as the browser does (Origin: us).
post /logout "client_id=spa&post_logout_redirect_uri=$ENC_SPA_BYE&state=s2" -H "Cookie: $CK=$LC" -H "Origin: $base"
expect_eq "confirmed logout: 303 to the registered URI" "$HTTP_STATUS:$(hdr Location)" "303:$APP/spa-bye?state=s2"
expect_match "confirmed logout: cookie cleared" "$(hdr Set-Cookie)" '^ownauth_refresh=; .*Max-Age=0'
post /token "grant_type=refresh_token&client_id=spa" -H "Cookie: $CK=$LC"
bad "confirmed logout revoked the family" 400 invalid_grant
# A valid id_token_hint is the RP's word: GET ends the session at once.
C=$(code "$U2" spa "$APP/spa" --verifier "$VERIFIER")
exchange "$C" spa "$ENC_APP_SPA"
LC=$(hdr Set-Cookie | sed -n 's/^ownauth_refresh=\([^;]*\);.*/\1/p')
SPA_IT=$(j .id_token)
http GET "$base/logout?id_token_hint=$SPA_IT&post_logout_redirect_uri=$ENC_SPA_BYE" -H "Cookie: $CK=$LC"
expect_eq "GET logout, cookie and a valid hint: redirect at once" "$HTTP_STATUS:$(hdr Location)" "302:$APP/spa-bye"
expect_match "GET logout with a valid hint: cookie cleared" "$(hdr Set-Cookie)" '^ownauth_refresh=; .*Max-Age=0'
post /token "grant_type=refresh_token&client_id=spa" -H "Cookie: $CK=$LC"
bad "GET logout with a valid hint revoked the cookie's family" 400 invalid_grant
http PUT "$base/logout"
expect_eq "PUT /logout: 405" "$HTTP_STATUS" 405

# --- userinfo ----------------------------------------------------------------------------

C=$(code "$U1" web "$APP/cb" --verifier "$VERIFIER")
exchange "$C" web "$ENC_APP_CB"
UAT=$(j .access_token)
UIT=$(j .id_token)
http GET "$base/userinfo" -H "Authorization: Bearer $UAT"
expect_eq "userinfo: 200" "$HTTP_STATUS" 200
expect_eq "userinfo: no-store" "$(hdr Cache-Control)" no-store
expect_eq "userinfo: claims" "$(j '[.sub, .email, .email_verified, .name, .picture, .role, .org.id] | map(tostring) | join(" ")')" \
    "$U1 ann@example.com true Ann Lee https://img.example/ann.png admin 7"
expect_eq "userinfo: reserved custom claims left out" "$(j '[.aud, .iss] | map(tostring) | join(",")')" "null,null"
http POST "$base/userinfo" -H "Authorization: Bearer $UAT" --data ''

expect_eq "userinfo by POST: 200" "$HTTP_STATUS" 200
http GET "$base/c/userinfo" -H "Authorization: Bearer $UAT"
expect_eq "userinfo as plain CGI: 200" "$HTTP_STATUS:$(j .sub)" "200:$U1"
http GET "$base/userinfo" -H "Authorization: Bearer $UIT"
expect_eq "userinfo refuses the ID token (aud = client id, not an audience)" "$HTTP_STATUS" 401
http GET "$base/userinfo"
expect_eq "userinfo without a token: 401" "$HTTP_STATUS" 401
expect_match "userinfo without a token: WWW-Authenticate Bearer" "$(hdr WWW-Authenticate)" '^Bearer'
http GET "$base/userinfo" -H "Authorization: Basic dXNlcjpwYXNz"
expect_eq "userinfo with Basic: 400" "$HTTP_STATUS" 400

node "$JOSE" forge "$KEYS/$KID1.pem" "$ISS" convex "$U1" >"$OA_TMP/forged.json" || oa_die "forge helper failed"
for attack in none hs256 expired wrong_iss wrong_aud two_aud alg_swap bad_sig jku; do
	http GET "$base/userinfo" -H "Authorization: Bearer $(jq -r ".$attack" "$OA_TMP/forged.json")"
	expect_eq "userinfo refuses $attack: 401" "$HTTP_STATUS" 401
	expect_match "userinfo refuses $attack: invalid_token" "$(hdr WWW-Authenticate)" 'error="invalid_token"'
done
http GET "$base/userinfo" -H "Authorization: Bearer $(jq -r .good "$OA_TMP/forged.json")"
expect_eq "userinfo: the control token signed by our key is accepted" "$HTTP_STATUS" 200

"$MKCODE" --disable "$U1" || fail "mkcode --disable"
http GET "$base/userinfo" -H "Authorization: Bearer $UAT"
expect_eq "userinfo: disabled user: 401" "$HTTP_STATUS" 401
refresh "$(jq -r '.[5].body | fromjson | .refresh_token' "$OA_TMP/race.race_cgi")" web
bad "refresh of a disabled user" 400 invalid_grant
"$MKCODE" --enable "$U1" || fail "mkcode --enable"
http GET "$base/userinfo" -H "Authorization: Bearer $UAT"
expect_eq "userinfo: enabled again: 200" "$HTTP_STATUS" 200
U3=$("$MKCODE" --new-user --name Gone)
C=$(code "$U3" web "$APP/cb" --verifier "$VERIFIER")
exchange "$C" web "$ENC_APP_CB"
GAT=$(j .access_token)
"$MKCODE" --delete "$U3" || fail "mkcode --delete"
http GET "$base/userinfo" -H "Authorization: Bearer $GAT"
expect_eq "userinfo: deleted user: 401" "$HTTP_STATUS" 401
C=$(code "$U1" web "$APP/cb" --verifier "$VERIFIER")
"$MKCODE" --disable "$U1"
exchange "$C" web "$ENC_APP_CB"
bad "code exchange for a disabled user" 400 invalid_grant
"$MKCODE" --enable "$U1"

# --- key rotation ------------------------------------------------------------------------

"$OA_CLI" keys new >"$OA_TMP/keysnew.out" 2>&1 || { cat "$OA_TMP/keysnew.out"; fail "ownauth keys new"; }
KID2=$(oa_kids "$KEYS" | grep -vxF -e "$KID1")
check "a second key" test -n "$KID2"
C=$(code "$U1" web "$APP/cb" --verifier "$VERIFIER")
exchange "$C" web "$ENC_APP_CB"
NAT=$(j .access_token)
add_case new_key "$NAT" convex
add_case old_key "$UAT" convex
run_cases
expect_eq "rotation: new tokens use the new kid" "$(vfield new_key .header.kid)" "$KID2"
expect_eq "rotation: jose accepts the new token" "$(vfield new_key .result)" valid
expect_eq "rotation: jose still accepts a token of the old key" "$(vfield old_key .result)" valid
http GET "$base/userinfo" -H "Authorization: Bearer $UAT"
expect_eq "rotation: userinfo accepts a token of the old, published key" "$HTTP_STATUS" 200
http GET "$base/userinfo" -H "Authorization: Bearer $NAT"
expect_eq "rotation: userinfo accepts a token of the new key" "$HTTP_STATUS" 200
"$OA_CLI" keys retire "$KID1" --force >"$OA_TMP/retire.out" 2>&1 || { cat "$OA_TMP/retire.out"; fail "ownauth keys retire"; }
http GET "$base/userinfo" -H "Authorization: Bearer $UAT"
expect_eq "retired key: userinfo refuses its token" "$HTTP_STATUS" 401
http GET "$base/c/userinfo" -H "Authorization: Bearer $UAT"
expect_eq "retired key: userinfo (CGI) refuses its token" "$HTTP_STATUS" 401
add_case retired "$UAT" convex
run_cases
expect_eq "retired key: jose (fresh JWKS) refuses its token" "$(vfield retired .result)" invalid
http GET "$base/userinfo" -H "Authorization: Bearer $NAT"
expect_eq "after retirement the new key's token still works" "$HTTP_STATUS" 200

# --- plain CGI by hand; reuse outside the window ---------------------------------------------

# A second instance with a 1 s reuse window, run as plain CGI by hand.
port2=$(oa_pick_port)
oa_instance "$OA_TMP/inst2" "http://127.0.0.1:$port2"
CONF2=$OA_CONF
oa_conf_set "$CONF2" refresh_reuse_window 1
oa_conf_add "$CONF2" "[client web]
redirect_uris = $APP/cb"
# cgi POST_BODY PATH [VAR=VALUE...]
cgi() {
	local b=$1 p=$2
	shift 2
	printf '%s' "$b" >"$OA_TMP/cgi.in"
	local envs=(OWNAUTH_CONF="$CONF2" REQUEST_METHOD=POST PATH_INFO="$p"
	    CONTENT_TYPE=application/x-www-form-urlencoded CONTENT_LENGTH=${#b}
	    GATEWAY_INTERFACE=CGI/1.1 REMOTE_ADDR=127.0.0.1 QUERY_STRING=)
	local v
	for v in ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS; do
		[ -n "${!v:-}" ] && envs+=("$v=${!v}")
	done
	env -i "${envs[@]}" "$@" "$OA_TOKEN" <"$OA_TMP/cgi.in" >"$OA_TMP/cgi.out" 2>"$OA_TMP/cgi.err"
	CGI_RC=$?
	CGI_STATUS=$(head -n 1 "$OA_TMP/cgi.out" | tr -d '\r' | sed -n 's/^Status: \([0-9]*\).*/\1/p')
	cgi_body >"$OA_TMP/b"
}
U9=$(OWNAUTH_CONF=$CONF2 "$MKCODE" --new-user --email w@example.com)
C=$(OWNAUTH_CONF=$CONF2 "$MKCODE" --code --user "$U9" --client web --redirect-uri "$APP/cb" --verifier "$VERIFIER")
cgi "grant_type=authorization_code&code=$C&redirect_uri=$ENC_APP_CB&code_verifier=$VERIFIER" /token
expect_eq "CGI by hand: code exchange (the only client: client_id optional)" "$CGI_RC:$CGI_STATUS" 0:200
W0=$(j .refresh_token)
cgi "grant_type=refresh_token&refresh_token=$W0" /token
expect_eq "CGI by hand: refresh" "$CGI_STATUS" 200
t_first=$(date +%s)
W1=$(j .refresh_token)
cgi "grant_type=refresh_token&refresh_token=$W1" /token
expect_eq "CGI by hand: refresh again" "$CGI_STATUS" 200
W2=$(j .refresh_token)
# Outside the 1 s window: poll the clock until 2 s after the first use.
deadline=$((t_first + 2))
while [ "$(date +%s)" -le "$deadline" ]; do sleep 0.1; done
cgi "grant_type=refresh_token&refresh_token=$W1" /token
expect_eq "reuse outside the window: invalid_grant" "$CGI_STATUS:$(j .error)" 400:invalid_grant
check "reuse logged as such" grep -q 'reused' "$OA_TMP/cgi.err"
check "no token in the logs" test -z "$(grep -F -e "$W1" -e "$W2" "$OA_TMP/cgi.err")"
cgi "grant_type=refresh_token&refresh_token=$W2" /token
expect_eq "reuse outside the window: the newest token is dead too" "$CGI_STATUS:$(j .error)" 400:invalid_grant

# A store that cannot open: 503 temporarily_unavailable and a log line.
cp -p "$CONF2" "$OA_TMP/broken.conf"
: >"$OA_TMP/not-a-dir"
sed -i "s|^data_dir = .*|data_dir = $OA_TMP/not-a-dir/data|" "$OA_TMP/broken.conf"
cgi_run "$OA_TMP/broken.conf" POST /token "$OA_TOKEN" CONTENT_TYPE=application/x-www-form-urlencoded CONTENT_LENGTH=0
if [ "$CGI_STATUS" = 500 ] && grep -q "data_dir" "$OA_TMP/cgi.err"; then
	# The config loader itself refused the data_dir.
	ok "broken data_dir refused by the config loader (500)"
else
	printf '%s' "grant_type=refresh_token&refresh_token=$W2" >"$OA_TMP/cgi.in"
	env -i OWNAUTH_CONF="$OA_TMP/broken.conf" REQUEST_METHOD=POST PATH_INFO=/token \
	    CONTENT_TYPE=application/x-www-form-urlencoded CONTENT_LENGTH=$(wc -c <"$OA_TMP/cgi.in") \
	    "$OA_TOKEN" <"$OA_TMP/cgi.in" >"$OA_TMP/cgi.out" 2>"$OA_TMP/cgi.err"
	expect_match "store failure: 503" "$(head -n 1 "$OA_TMP/cgi.out")" '^Status: 503'
	expect_eq "store failure: temporarily_unavailable" "$(cgi_body | jq -r .error)" temporarily_unavailable
	check "store failure: a log line" test -s "$OA_TMP/cgi.err"
fi
cgi_run "$CONF2" GET /nothing-here "$OA_TOKEN"
expect_eq "unknown path: 404" "$CGI_STATUS" 404

# SECURITY 26: CONTENT_LENGTH is capped before reading. A declared length
# of 10^12 with an empty stdin: 413 at once (a program that read, or
# tried to allocate, first would see a short body: 400, or hang). The
# same with a stdin that never ends (a FIFO we hold open for writing):
# a program that read a byte would block until the timeout.
# clen PATH LENGTH STDIN: runs token.fcgi by hand, bounded by timeout 10.
clen() {
	local envs=(OWNAUTH_CONF="$CONF2" REQUEST_METHOD=POST PATH_INFO="$1"
	    CONTENT_TYPE=application/x-www-form-urlencoded CONTENT_LENGTH="$2"
	    GATEWAY_INTERFACE=CGI/1.1 REMOTE_ADDR=127.0.0.1 QUERY_STRING=) v
	for v in ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS; do
		[ -n "${!v:-}" ] && envs+=("$v=${!v}")
	done
	timeout 10 env -i "${envs[@]}" "$OA_TOKEN" <"$3" >"$OA_TMP/cgi.out" 2>"$OA_TMP/cgi.err"
	CGI_RC=$?
	CGI_STATUS=$(head -n 1 "$OA_TMP/cgi.out" | tr -d '\r' | sed -n 's/^Status: \([0-9]*\).*/\1/p')
}
mkfifo "$OA_TMP/never"
exec 7<>"$OA_TMP/never"
for pth in /token /revoke; do
	clen "$pth" 999999999999 /dev/null
	expect_eq "$pth CONTENT_LENGTH=999999999999, empty stdin: 413 (exit 0)" "$CGI_STATUS:$CGI_RC" 413:0
	expect_eq "$pth CONTENT_LENGTH=999999999999: invalid_request" "$(cgi_body | jq -r .error)" invalid_request
	clen "$pth" 999999999999 /dev/fd/7
	expect_eq "$pth CONTENT_LENGTH=999999999999, endless stdin: 413, nothing read" "$CGI_STATUS:$CGI_RC" 413:0
	clen "$pth" 16385 /dev/fd/7
	expect_eq "$pth CONTENT_LENGTH just over the cap, endless stdin: 413" "$CGI_STATUS:$CGI_RC" 413:0
	for bad_len in -5 12abc ' 12' 1e3 99999999999999999999999; do
		clen "$pth" "$bad_len" /dev/null
		expect_eq "$pth CONTENT_LENGTH='$bad_len': 400 (exit 0)" "$CGI_STATUS:$CGI_RC" 400:0
	done
done
clen /logout 999999999999 /dev/fd/7
expect_eq "/logout CONTENT_LENGTH=999999999999, endless stdin: 413 page" "$CGI_STATUS:$CGI_RC" 413:0
clen /logout -5 /dev/null
expect_eq "/logout CONTENT_LENGTH=-5: 400 page" "$CGI_STATUS:$CGI_RC" 400:0
exec 7>&-

# The FastCGI workers are still the ones lighttpd started (no crash).
check "token.fcgi worker $worker survived" oa_alive "$worker"
# Stop the server now, so that the workers' exit (and a sanitizer build's
# leak report) is in the logs checked below.
oa_lighttpd_stop "$L" "$W"
check "token.fcgi worker $worker stopped" test ! -d "/proc/$worker" -o "$(oa_alive "$worker" && echo up)" != up
if grep -E 'Sanitizer|runtime error' "$W/error.log" "$W/stdout.log" >/dev/null 2>&1; then
	fail "sanitizer report in the lighttpd logs"
	grep -E -A5 'Sanitizer|runtime error' "$W/error.log" "$W/stdout.log" | head -n 40
fi

oa_done
