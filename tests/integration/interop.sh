#!/usr/bin/env bash
# interop.sh BUILD_DIR - ownauth's tokens against independent verifiers, and
# independent tokens against ownauth (SPEC §3, §9; SECURITY 12-15).
#
# For each of RS256, ES256 and EdDSA: an instance whose signing key has that
# algorithm, its JWKS served by jwks.fcgi under lighttpd (FastCGI). Tokens
# from `ownauth token mint` must be accepted by jose (createRemoteJWKSet +
# jwtVerify, issuer and audience checked) and by Debian's python3-jwt
# (PyJWKClient); a token jose signs with ownauth's own private key must be
# accepted by `ownauth token verify`; and each known-bad token (alg none,
# HS256 keyed with the public key, tampered payload, unknown kid, expired,
# wrong iss/aud, no exp, unknown crit, embedded jwk, jku) must make
# `ownauth token verify` exit 1 and be refused by jose and PyJWT too (the
# jwk/jku tokens are signed by an attacker's key, which neither library
# takes from the header either).
. "$(dirname "$0")/lib.sh"
oa_setup "$@"
oa_need "$OA_CLI" "$OA_JWKS"
oa_need_cmd curl jq node /usr/bin/python3 "$LIGHTTPD"
[ -d "$OA_SRC/tests/node_modules/jose" ] ||
	oa_die "jose is not installed in tests/node_modules (run ./install.sh --deps --test)"
/usr/bin/python3 -c 'import jwt, cryptography' 2>/dev/null ||
	oa_die "python3-jwt / python3-cryptography missing (run ./install.sh --deps --test)"

ALGS=(RS256 ES256 EdDSA)
CLIENT=interop
TTL=600
port=$(oa_pick_port) || oa_die "no free port"
base="http://127.0.0.1:$port"

W="$OA_TMP/www"
mkdir -p "$W"
oa_lighttpd_conf "$W" "$port" >"$W/lighttpd.conf"
declare -A CONF
for alg in "${ALGS[@]}"; do
	oa_instance "$OA_TMP/$alg" "$base/$alg" "$alg"
	CONF[$alg]=$OA_CONF
	oa_conf_set "$OA_CONF" access_token_ttl "$TTL"
	oa_conf_add "$OA_CONF" "[client $CLIENT]
redirect_uris = http://127.0.0.1:$port/cb"
	oa_lighttpd_fcgi "/$alg/.well-known" "$OA_JWKS" "$OA_CONF" "$W/$alg.sock" >>"$W/lighttpd.conf"
done
oa_lighttpd_start "$W" "$port"

# Which verifier must say what, per case: v = valid, i = invalid, - = not
# checked for that verifier. Columns: ownauth jose pyjwt.
declare -A WANT=(
	[ours]="v v v"
	[jose_valid]="v v v"
	[tampered_ours]="i i i"
	[tampered_jose]="i i i"
	[alg_none]="i i i"
	[hs256_pubkey]="i i i"
	[wrong_kid]="i i i"
	[expired]="i i i"
	[wrong_iss]="i i i"
	[wrong_aud]="i i i"
	[no_exp]="i i i"
	[crit_unknown]="i i i"
	[embedded_jwk]="i i i"
	[jku_attacker]="i i i"
)

# result FILE CASE: "v" / "i" from a verifier's JSON lines, "?" if absent.
result() {
	jq -r --arg c "$2" 'select(.case == $c) | if .result == "valid" then "v" else "i" end' "$1" 2>/dev/null |
	    head -n 1 | grep . || echo "?"
}

for alg in "${ALGS[@]}"; do
	conf=${CONF[$alg]}
	iss="$base/$alg"
	jwks_url="$iss/.well-known/jwks.json"
	keys=$(oa_keys_dir "$conf")
	kid=$(oa_kids "$keys")
	[ "$(echo "$kid" | wc -l)" -eq 1 ] && [ -n "$kid" ] ||
		oa_die "$alg: expected exactly one key in $keys, found: $kid"

	http GET "$jwks_url"
	expect_eq "$alg: JWKS served" "$HTTP_STATUS" 200
	expect_eq "$alg: JWKS has the one $alg key" \
	    "$(jq -r '[.keys[] | .alg + " " + .kid] | join(",")' "$OA_TMP/b" 2>/dev/null)" "$alg $kid"
	http GET "$iss/.well-known/openid-configuration"
	expect_eq "$alg: discovery issuer" "$(jq -j .issuer "$OA_TMP/b" 2>/dev/null)" "$iss"

	# The subject: a user made by `ownauth users add` when the CLI has the
	# users command (cli.sh tests it); a fixed id otherwise.
	if "$OA_CLI" help 2>&1 | grep -q 'ownauth users add'; then
		user=$("$OA_CLI" -c "$conf" users add --email "$alg@example.com" --name "Interop $alg" 2>"$OA_TMP/err")
		rc=$?
		user=$(printf '%s' "$user" | tr -d '\n')
		if [ "$rc" -ne 0 ] || [ -z "$user" ]; then
			fail "$alg: ownauth users add (rc $rc): $(cat "$OA_TMP/err")"
			continue
		fi
		ok "$alg: ownauth users add -> $user"
	else
		user="interop-$alg"
		echo "# $alg: this ownauth has no 'users add': minting for '$user'"
	fi
	tok=$("$OA_CLI" -c "$conf" token mint "$user" --client "$CLIENT" 2>"$OA_TMP/err")
	rc=$?
	tok=$(printf '%s' "$tok" | tr -d '\n')
	if [ "$rc" -ne 0 ] || ! printf '%s' "$tok" | grep -Eq '^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$'; then
		fail "$alg: ownauth token mint (rc $rc) printed no compact JWT: $(cat "$OA_TMP/err")"
		continue
	fi
	ok "$alg: ownauth token mint"
	tok2=$("$OA_CLI" -c "$conf" token mint "$user" --client "$CLIENT" 2>/dev/null | tr -d '\n')
	check "$alg: two mints give two different tokens" test -n "$tok2" -a "$tok" != "$tok2"

	cases="$OA_TMP/$alg.cases.json"
	if ! node "$OA_IT/mint_jose.mjs" --pem "$keys/$kid.pem" --kid "$kid" --alg "$alg" \
	    --iss "$iss" --aud "$CLIENT" --sub "$user" --ours "$tok" >"$cases" 2>"$OA_TMP/err"; then
		fail "$alg: mint_jose.mjs: $(cat "$OA_TMP/err")"
		continue
	fi
	ok "$alg: jose signed the test tokens with our PKCS#8 key"

	node "$OA_IT/verify_jose.mjs" "$jwks_url" "$iss" "$CLIENT" "$cases" \
	    >"$OA_TMP/$alg.jose" 2>"$OA_TMP/err" ||
		fail "$alg: verify_jose.mjs failed: $(cat "$OA_TMP/err")"
	/usr/bin/python3 "$OA_IT/verify_pyjwt.py" "$jwks_url" "$iss" "$CLIENT" "$cases" \
	    >"$OA_TMP/$alg.pyjwt" 2>"$OA_TMP/err" ||
		fail "$alg: verify_pyjwt.py failed: $(cat "$OA_TMP/err")"

	# What jose saw in our token: the header and claims SPEC §3 promises.
	line=$(jq -c 'select(.case == "ours")' "$OA_TMP/$alg.jose")
	expect_eq "$alg ours: header" "$(printf '%s' "$line" | jq -c '.header | {alg, kid, typ}')" \
	    "{\"alg\":\"$alg\",\"kid\":\"$kid\",\"typ\":\"JWT\"}"
	expect_eq "$alg ours: header has only alg, kid, typ" \
	    "$(printf '%s' "$line" | jq -c '.header | keys')" '["alg","kid","typ"]'
	expect_eq "$alg ours: iss sub aud" \
	    "$(printf '%s' "$line" | jq -r '.payload | [.iss, .sub, .aud] | join(" ")')" "$iss $user $CLIENT"
	expect_eq "$alg ours: exp - iat = access_token_ttl" \
	    "$(printf '%s' "$line" | jq -r '.payload | .exp - .iat')" "$TTL"
	now=$(date +%s)
	check "$alg ours: iat is now" test "$(printf '%s' "$line" | jq -r '.payload.iat | floor')" -ge $((now - 60)) -a \
	    "$(printf '%s' "$line" | jq -r '.payload.iat | floor')" -le $((now + 5))

	for c in $(jq -r 'keys[]' "$cases"); do
		want=${WANT[$c]:-}
		if [ -z "$want" ]; then
			fail "$alg $c: no expectation for this case"
			continue
		fi
		read -r w_oa w_jose w_py <<<"$want"
		t=$(jq -r --arg c "$c" '.[$c]' "$cases")
		"$OA_CLI" -c "$conf" token verify "$t" >"$OA_TMP/verify.out" 2>&1
		rc=$?
		case "$w_oa:$rc" in
		v:0 | i:1) ok "$alg $c: ownauth token verify exit $rc" ;;
		*) fail "$alg $c: ownauth token verify exit $rc, want $([ "$w_oa" = v ] && echo 0 || echo 1): $(head -c 300 "$OA_TMP/verify.out")" ;;
		esac
		if [ "$w_jose" != - ]; then
			got=$(result "$OA_TMP/$alg.jose" "$c")
			if [ "$got" = "$w_jose" ]; then
				ok "$alg $c: jose says $got"
			else
				fail "$alg $c: jose says $got, want $w_jose: $(jq -r --arg c "$c" 'select(.case == $c) | .error' "$OA_TMP/$alg.jose")"
			fi
		fi
		if [ "$w_py" != - ]; then
			got=$(result "$OA_TMP/$alg.pyjwt" "$c")
			if [ "$got" = "$w_py" ]; then
				ok "$alg $c: pyjwt says $got"
			else
				fail "$alg $c: pyjwt says $got, want $w_py: $(jq -r --arg c "$c" 'select(.case == $c) | .error' "$OA_TMP/$alg.pyjwt")"
			fi
		fi
	done
done
oa_done
