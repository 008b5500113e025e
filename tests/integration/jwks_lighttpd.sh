#!/usr/bin/env bash
# jwks_lighttpd.sh BUILD_DIR - jwks.fcgi under a real lighttpd (SPEC §2.4).
#
# One lighttpd on 127.0.0.1 serves the program twice: as a FastCGI worker
# (mod_fastcgi, max-procs 1) under /.well-known and as plain CGI (mod_cgi,
# one process per request) under /c. Through both: status, Content-Type,
# Cache-Control = the configured jwks_max_age, ETag + 304, no private
# member in the JWKS, the discovery issuer byte for byte, 404 for unknown
# paths, 405 for POST. Then the program by hand as CGI, a new key picked up
# by the running worker, and bad configs answered with 500, not a crash.
. "$(dirname "$0")/lib.sh"
oa_setup "$@"
oa_need "$OA_CLI" "$OA_JWKS"
oa_need_cmd curl jq "$LIGHTTPD"

MAX_AGE=123
port=$(oa_pick_port) || oa_die "no free port"
base="http://127.0.0.1:$port"
ISS=$base

oa_instance "$OA_TMP/inst" "$ISS"
CONF=$OA_CONF
oa_conf_set "$CONF" jwks_max_age "$MAX_AGE"
KEYS=$(oa_keys_dir "$CONF")
[ -d "$KEYS" ] || oa_die "keys_dir '$KEYS' of $CONF is not a directory"

W="$OA_TMP/www1"
mkdir -p "$W"
{
	oa_lighttpd_conf "$W" "$port"
	oa_lighttpd_fcgi /.well-known "$OA_JWKS" "$CONF" "$W/jwks.sock"
	oa_lighttpd_cgi /c "$OA_JWKS" "$CONF"
} >"$W/lighttpd.conf"
oa_lighttpd_start "$W" "$port"
L1=$LIGHTTPD_PID

worker=$(oa_worker "$L1" "$OA_JWKS") || oa_die "no jwks.fcgi worker under lighttpd"
ok "FastCGI worker $worker started by lighttpd"

# The private key files, the kids the JWKS must publish.
want_kids=$(oa_kids "$KEYS")
[ -n "$want_kids" ] || oa_die "no key in $KEYS after init"

# check_jwks MODE: the last response is a good JWKS with the wanted kids.
check_jwks() {
	local m=$1 kids priv bad
	expect_eq "$m jwks: status" "$HTTP_STATUS" 200
	expect_match "$m jwks: Content-Type" "$(hdr Content-Type)" '^application/json(;|$)'
	expect_eq "$m jwks: Cache-Control" "$(hdr Cache-Control)" "public, max-age=$MAX_AGE"
	expect_match "$m jwks: strong ETag" "$(hdr ETag)" '^"[^"]+"$'
	check "$m jwks: Last-Modified present" test -n "$(hdr Last-Modified)"
	if ! jq -e '.keys | type == "array" and length > 0' "$OA_TMP/b" >/dev/null 2>&1; then
		fail "$m jwks: body is not {\"keys\":[...]}: $(head -c 300 "$OA_TMP/b")"
		return
	fi
	ok "$m jwks: body is a JWKS"
	priv=$(jq -r '[.. | objects | keys[] | select(IN("d","p","q","dp","dq","qi","k","oth"))] | join(",")' "$OA_TMP/b")
	expect_eq "$m jwks: no private member" "$priv" ""
	bad=$(jq -r '.keys[] | select((.use != "sig") or (.kid | type) != "string" or (.alg | IN("RS256","ES256","EdDSA") | not) or (.kty | IN("RSA","EC","OKP") | not)) | .kid' "$OA_TMP/b")
	expect_eq "$m jwks: every key has kty, kid, alg, use=sig" "$bad" ""
	kids=$(jq -r '.keys[].kid' "$OA_TMP/b" | sort)
	expect_eq "$m jwks: kids = the keys in keys_dir" "$(echo $kids)" "$(echo $want_kids)"
}

# check_disco MODE
check_disco() {
	local m=$1
	expect_eq "$m discovery: status" "$HTTP_STATUS" 200
	expect_match "$m discovery: Content-Type" "$(hdr Content-Type)" '^application/json(;|$)'
	expect_eq "$m discovery: Cache-Control" "$(hdr Cache-Control)" "public, max-age=$MAX_AGE"
	expect_match "$m discovery: strong ETag" "$(hdr ETag)" '^"[^"]+"$'
	# Byte for byte: the JSON string, decoded, equals the configured issuer.
	expect_eq "$m discovery: issuer" "$(jq -j '.issuer' "$OA_TMP/b" 2>/dev/null)" "$ISS"
	expect_eq "$m discovery: jwks_uri" "$(jq -j '.jwks_uri' "$OA_TMP/b" 2>/dev/null)" "$ISS/.well-known/jwks.json"
	expect_eq "$m discovery: code_challenge_methods_supported" \
	    "$(jq -c '.code_challenge_methods_supported' "$OA_TMP/b" 2>/dev/null)" '["S256"]'
	expect_eq "$m discovery: subject_types_supported" \
	    "$(jq -c '.subject_types_supported' "$OA_TMP/b" 2>/dev/null)" '["public"]'
	check "$m discovery: refresh_token grant listed" \
	    jq -e '.grant_types_supported | index("refresh_token")' "$OA_TMP/b"
	check "$m discovery: RS256 signing alg listed" \
	    jq -e '.id_token_signing_alg_values_supported | index("RS256")' "$OA_TMP/b"
	local k missing=""
	for k in authorization_endpoint token_endpoint userinfo_endpoint \
	    revocation_endpoint end_session_endpoint response_types_supported \
	    token_endpoint_auth_methods_supported scopes_supported claims_supported; do
		jq -e --arg k "$k" 'has($k)' "$OA_TMP/b" >/dev/null 2>&1 || missing="$missing $k"
	done
	expect_eq "$m discovery: all members present" "$missing" ""
	local notours
	notours=$(jq -r --arg i "$ISS/" '[.authorization_endpoint, .token_endpoint, .userinfo_endpoint, .revocation_endpoint, .end_session_endpoint, .jwks_uri] | map(select(type != "string" or (startswith($i) | not))) | length' "$OA_TMP/b" 2>/dev/null)
	expect_eq "$m discovery: every endpoint is under the issuer" "$notours" 0
}

# check_etag MODE URL: If-None-Match with the current ETag gives an empty
# 304; another ETag gives the full 200.
check_etag() {
	local m=$1 u=$2 etag
	http GET "$u"
	etag=$(hdr ETag)
	http GET "$u" -H "If-None-Match: $etag"
	expect_eq "$m If-None-Match current: status" "$HTTP_STATUS" 304
	expect_eq "$m If-None-Match current: empty body" "$(wc -c <"$OA_TMP/b")" 0
	http GET "$u" -H 'If-None-Match: "not-the-etag"'
	expect_eq "$m If-None-Match other: status" "$HTTP_STATUS" 200
	http GET "$u" -H "If-None-Match: \"x\", $etag"
	expect_eq "$m If-None-Match list containing it: status" "$HTTP_STATUS" 304
}

# --- through lighttpd: FastCGI (/.well-known) and CGI (/c/.well-known) ------
declare -A JWKS_BODY DISCO_BODY
for mode in fcgi cgi; do
	case $mode in
	fcgi) p="$base/.well-known" ;;
	cgi) p="$base/c/.well-known" ;;
	esac
	http GET "$p/jwks.json"
	check_jwks "$mode"
	JWKS_BODY[$mode]=$HTTP_BODY
	http GET "$p/openid-configuration"
	check_disco "$mode"
	DISCO_BODY[$mode]=$HTTP_BODY
	check_etag "$mode jwks" "$p/jwks.json"
	check_etag "$mode discovery" "$p/openid-configuration"

	for u in "$p/nope" "$p/jwks.json.bak" "$p/jwks.jsonx" "$p/"; do
		http GET "$u"
		expect_eq "$mode GET ${u#$base}: 404" "$HTTP_STATUS" 404
	done
	for u in "$p/jwks.json" "$p/openid-configuration"; do
		http POST "$u" --data 'a=b'
		expect_eq "$mode POST ${u#$base}: 405" "$HTTP_STATUS" 405
		expect_match "$mode POST ${u#$base}: Allow lists GET" "$(hdr Allow)" 'GET'
	done
done
expect_eq "FastCGI and CGI serve the same JWKS" "${JWKS_BODY[fcgi]}" "${JWKS_BODY[cgi]}"
expect_eq "FastCGI and CGI serve the same discovery" "${DISCO_BODY[fcgi]}" "${DISCO_BODY[cgi]}"

# The discovery document's jwks_uri is served (here by the FastCGI worker).
http GET "$(printf '%s' "${DISCO_BODY[fcgi]}" | jq -j .jwks_uri)"
expect_eq "jwks_uri from discovery answers 200" "$HTTP_STATUS" 200

# --- by hand as plain CGI --------------------------------------------------
cgi_run "$CONF" GET /jwks.json "$OA_JWKS"
expect_eq "by hand GET /jwks.json: exit 0" "$CGI_RC" 0
expect_eq "by hand GET /jwks.json: Status 200" "$CGI_STATUS" 200
expect_match "by hand: Content-Type" "$(cgi_hdr Content-Type)" '^application/json(;|$)'
expect_eq "by hand: Cache-Control" "$(cgi_hdr Cache-Control)" "public, max-age=$MAX_AGE"
expect_eq "by hand: body = the served JWKS" "$(cgi_body)" "${JWKS_BODY[fcgi]}"
etag=$(cgi_hdr ETag)
cgi_run "$CONF" GET /jwks.json "$OA_JWKS" HTTP_IF_NONE_MATCH="$etag"
expect_eq "by hand If-None-Match: Status 304" "$CGI_STATUS" 304
cgi_run "$CONF" GET /.well-known/openid-configuration "$OA_JWKS"
expect_eq "by hand GET /.well-known/openid-configuration: Status 200" "$CGI_STATUS" 200
expect_eq "by hand: discovery issuer" "$(cgi_body | jq -j .issuer 2>/dev/null)" "$ISS"
cgi_run "$CONF" GET /unknown "$OA_JWKS"
expect_eq "by hand GET /unknown: Status 404" "$CGI_STATUS" 404
expect_eq "by hand GET /unknown: exit 0" "$CGI_RC" 0
cgi_run "$CONF" POST /jwks.json "$OA_JWKS" CONTENT_LENGTH=0
expect_eq "by hand POST: Status 405" "$CGI_STATUS" 405
cgi_run "$OA_TMP/no-such.conf" GET /jwks.json "$OA_JWKS"
expect_eq "by hand, missing config: Status 500" "$CGI_STATUS" 500
check "by hand, missing config: exits, no crash (rc $CGI_RC)" test "$CGI_RC" -lt 128
check "by hand, missing config: a log line on stderr" test -s "$OA_TMP/cgi.err"

# --- a new key: the running FastCGI worker serves it ------------------------
http GET "$base/.well-known/jwks.json"
old_etag=$(hdr ETag)
if "$OA_CLI" -c "$CONF" keys new --alg ES256 >"$OA_TMP/keysnew.out" 2>&1; then
	ok "ownauth keys new --alg ES256"
else
	fail "ownauth keys new --alg ES256: $(cat "$OA_TMP/keysnew.out")"
fi
want_kids=$(oa_kids "$KEYS")
expect_eq "keys_dir holds two keys" "$(echo "$want_kids" | wc -l)" 2
http GET "$base/.well-known/jwks.json"
check_jwks "fcgi after keys new"
check "fcgi after keys new: an EC P-256 key is published" \
    jq -e '[.keys[] | select(.kty == "EC" and .crv == "P-256" and .alg == "ES256")] | length == 1' "$OA_TMP/b"
check "fcgi after keys new: ETag changed" test "$(hdr ETag)" != "$old_etag"
http GET "$base/.well-known/jwks.json" -H "If-None-Match: $old_etag"
expect_eq "fcgi after keys new: old ETag gets 200" "$HTTP_STATUS" 200
http GET "$base/c/.well-known/jwks.json"
check_jwks "cgi after keys new"

# Retiring the new (published, not yet signing) key takes it out again.
new_kid=$(jq -r '.keys[] | select(.kty == "EC") | .kid' "$OA_TMP/b")
if [ -n "$new_kid" ] && "$OA_CLI" -c "$CONF" keys retire "$new_kid" >"$OA_TMP/retire.out" 2>&1; then
	ok "ownauth keys retire $new_kid"
else
	fail "ownauth keys retire '$new_kid': $(cat "$OA_TMP/retire.out" 2>/dev/null)"
fi
http GET "$base/.well-known/jwks.json"
expect_eq "fcgi after keys retire: status" "$HTTP_STATUS" 200
expect_eq "fcgi after keys retire: only the first key is left" \
    "$(jq -r '[.keys[].kid] | join(" ")' "$OA_TMP/b" 2>/dev/null)" \
    "$(oa_kids "$KEYS" | grep -vxF -e "$new_kid" | tr '\n' ' ' | sed 's/ $//')"
check "fcgi after keys retire: the retired kid is gone" \
    test -z "$(jq -r --arg k "$new_kid" '.keys[] | select(.kid == $k) | .kid' "$OA_TMP/b")"

now_worker=$(oa_worker "$L1" "$OA_JWKS")
expect_eq "the same FastCGI worker answered everything (no crash, no respawn)" "$now_worker" "$worker"

# --- bad configs: 500, never a crash ---------------------------------------
# A second instance whose config is readable by others (0644), and one with
# an unknown key, each served by FastCGI from the start (the worker must
# come up and answer 500) and as CGI.
port2=$(oa_pick_port) || oa_die "no free port"
oa_instance "$OA_TMP/bad644" "http://127.0.0.1:$port2"
BAD644=$OA_CONF
chmod 644 "$BAD644"
oa_instance "$OA_TMP/badkey" "http://127.0.0.1:$port2"
BADKEY=$OA_CONF
oa_conf_set "$BADKEY" no_such_key yes
W2="$OA_TMP/www2"
mkdir -p "$W2"
{
	oa_lighttpd_conf "$W2" "$port2"
	oa_lighttpd_fcgi /b644 "$OA_JWKS" "$BAD644" "$W2/b644.sock"
	oa_lighttpd_fcgi /bkey "$OA_JWKS" "$BADKEY" "$W2/bkey.sock"
	oa_lighttpd_cgi /c644 "$OA_JWKS" "$BAD644"
	oa_lighttpd_cgi /ckey "$OA_JWKS" "$BADKEY"
} >"$W2/lighttpd.conf"
oa_lighttpd_start "$W2" "$port2"
L2=$LIGHTTPD_PID
for pfx in b644 bkey c644 ckey; do
	for i in 1 2; do
		http GET "http://127.0.0.1:$port2/$pfx/.well-known/jwks.json"
		expect_eq "bad config /$pfx, request $i: 500" "$HTTP_STATUS" 500
	done
	check "bad config /$pfx: no private key material in the answer" \
	    bash -c "! grep -q 'PRIVATE' '$OA_TMP/b'"
done
check "bad config: lighttpd still running" oa_alive "$L2"
check "bad config: the FastCGI workers are still running" \
    test "$(for c in $(oa_children "$L2"); do readlink "/proc/$c/exe"; done | grep -c "^$OA_JWKS\$")" -eq 2
check "bad config: the server's log names the config file" \
    grep -q "$BAD644" "$W2/error.log" "$W2/stdout.log"
cgi_run "$BAD644" GET /jwks.json "$OA_JWKS"
expect_eq "by hand, 0644 config: Status 500" "$CGI_STATUS" 500
check "by hand, 0644 config: no crash (rc $CGI_RC)" test "$CGI_RC" -lt 128
cgi_run "$BADKEY" GET /jwks.json "$OA_JWKS"
expect_eq "by hand, unknown key in config: Status 500" "$CGI_STATUS" 500
check "by hand, unknown key: the message names file, line and key" \
    grep -q "ownauth.conf:[0-9]*.*no_such_key" "$OA_TMP/cgi.err"

# The main server, whose config goes bad under the running worker: CGI
# re-reads it and answers 500.
chmod 644 "$CONF"
http GET "$base/c/.well-known/jwks.json"
expect_eq "config made 0644 while serving: CGI answers 500" "$HTTP_STATUS" 500
chmod 600 "$CONF"
http GET "$base/c/.well-known/jwks.json"
expect_eq "config private again: CGI answers 200" "$HTTP_STATUS" 200

check "lighttpd still running" oa_alive "$L1"
oa_done
