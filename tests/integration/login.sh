#!/usr/bin/env bash
# login.sh BUILD_DIR - login.fcgi, the authorization endpoint (SPEC §2.1).
#
# Every check runs against the program run by hand as plain CGI ("cgi")
# and as a FastCGI worker under a real lighttpd on 127.0.0.1 ("fcgi");
# a few also through lighttpd's mod_cgi ("lcgi"). Checked: redirect URI
# near-misses and unknown clients get a 400 page and never a Location;
# PKCE downgrades, response types, duplicates, oversized values and
# NUL/CR/LF get the right OAuth error redirect (state echoed, iss); a
# good request redirects to the upstream with every parameter and sets
# the sealed login cookie (attributes, size, contents decrypted here by
# Node's own AES-GCM, eviction of the oldest of 4); the chooser page,
# the single-provider shortcut, the dev form, Apple's form_post, the
# discovery round trip, the security headers of every page, bad configs,
# a key directory change picked up by the running worker, and that the
# program links neither Berkeley DB nor libcurl.
. "$(dirname "$0")/lib.sh"
oa_setup "$@"
OA_LOGIN="$OA_BUILD/cgi-bin/login.fcgi"
oa_need "$OA_CLI" "$OA_LOGIN"
oa_need_cmd curl jq node "$LIGHTTPD"

port=$(oa_pick_port) || oa_die "no free port"
base="http://127.0.0.1:$port"
ISS=$base
ISS1="$base/one"

# --- instances --------------------------------------------------------------
# The main one: three clients, several providers (chooser).
oa_instance "$OA_TMP/inst" "$ISS"
CONF=$OA_CONF
KEYS=$(oa_keys_dir "$CONF")
DATA=$(sed -n 's/^[ \t]*data_dir[ \t]*=[ \t]*\([^ \t#]*\).*/\1/p' "$CONF" | head -n 1)
install -m 600 /dev/null "$OA_TMP/apple.p8"
oa_conf_add "$CONF" "[client web]
redirect_uris = http://127.0.0.1:5173/cb https://app.example.com/auth/callback?x=1

[client spa]
redirect_uris = https://spa.example.com/
response_types = code token

[client other]
redirect_uris = https://other.example.com/cb

[provider google]
client_id = gid
client_secret = gsec

[provider github]
client_id = hid
client_secret = hsec

[provider apple]
client_id = com.example.web
team_id = TEAM
key_id = KEYID
private_key_file = $OA_TMP/apple.p8

[provider corp]
type = oidc
issuer = https://sso.corp.example
client_id = cid
client_secret = csec
display_name = <b>Corp & \"Co\"</b>"

# The second: one client with one redirect URI, one provider.
oa_instance "$OA_TMP/inst1" "$ISS1"
CONF1=$OA_CONF
KEYS1=$(oa_keys_dir "$CONF1")
DATA1=$(sed -n 's/^[ \t]*data_dir[ \t]*=[ \t]*\([^ \t#]*\).*/\1/p' "$CONF1" | head -n 1)
printf 'issuer = %s\ndata_dir = %s\nkeys_dir = %s\n\n[client only]\nredirect_uris = https://only.example.com/cb\n\n[provider google]\nclient_id = gid1\nclient_secret = gsec1\n' \
    "$ISS1" "$DATA1" "$KEYS1" >"$CONF1"

# --- lighttpd: FastCGI at /oauth and /one/oauth, mod_cgi at /c/oauth ----------
W="$OA_TMP/www"
mkdir -p "$W"
{
	oa_lighttpd_conf "$W" "$port"
	# The oversized-request checks need requests longer than 8 KB to
	# reach the program, and the %00/%0d/%0a checks need lighttpd not to
	# refuse them itself (as Apache and nginx do not): the program is
	# what is under test.
	echo 'server.max-request-field-size = 65535'
	echo 'server.http-parseopts = ( "url-ctrls-reject" => "disable" )'
	oa_lighttpd_fcgi /oauth "$OA_LOGIN" "$CONF" "$W/login.sock"
	oa_lighttpd_fcgi /one/oauth "$OA_LOGIN" "$CONF1" "$W/login1.sock"
	oa_lighttpd_cgi /c/oauth "$OA_LOGIN" "$CONF"
} >"$W/lighttpd.conf"
oa_lighttpd_start "$W" "$port"
L=$LIGHTTPD_PID
# workers: the PIDs of lighttpd's login.fcgi FastCGI workers (two).
workers() {
	local c
	for c in $(oa_children "$L"); do
		[ "$(readlink "/proc/$c/exe" 2>/dev/null)" = "$OA_LOGIN" ] && echo "$c"
	done | sort -n | tr '\n' ' '
}
# lighttpd answers before the /proc scan may see both: poll with a deadline.
deadline=$((SECONDS + 10))
worker=$(workers)
while ! [[ $worker =~ ^[0-9]+\ [0-9]+\ $ ]] && [ "$SECONDS" -lt "$deadline" ]; do
	sleep 0.05
	worker=$(workers)
done
expect_match "two FastCGI workers started by lighttpd ($worker)" "$worker" '^[0-9]+ [0-9]+ $'

# --- helpers ----------------------------------------------------------------
# Node reads URLs and opens the sealed cookie on its own (AES-256-GCM,
# AAD = version || cookie name; plaintext = 8-byte issue time || JSON).
cat >"$OA_TMP/t.mjs" <<'EOF'
import { readFileSync } from 'node:fs';
import { createDecipheriv, createHash } from 'node:crypto';
const [cmd, ...a] = process.argv.slice(2);
const params = (sp) => {
	const o = {};
	for (const [k, v] of sp) o[k] = k in o ? [].concat(o[k], v) : v;
	return o;
};
if (cmd === 'loc') {
	const u = new URL(a[0]);
	console.log(JSON.stringify({
		base: u.origin + u.pathname,
		query: params(u.searchParams),
		fragment: params(new URLSearchParams(u.hash.slice(1))),
	}));
} else if (cmd === 'open') {
	const key = readFileSync(a[0]);
	const raw = Buffer.from(a[2], 'base64url');
	const ver = raw.subarray(0, 1), iv = raw.subarray(1, 13);
	const tag = raw.subarray(raw.length - 16);
	const ct = raw.subarray(13, raw.length - 16);
	const d = createDecipheriv('aes-256-gcm', key, iv);
	d.setAAD(Buffer.concat([ver, Buffer.from(a[1])]));
	d.setAuthTag(tag);
	const pt = Buffer.concat([d.update(ct), d.final()]);
	console.log(JSON.stringify({
		issued: Number(pt.readBigInt64BE(0)),
		logins: JSON.parse(pt.subarray(8).toString()),
	}));
} else if (cmd === 's256') {
	console.log(createHash('sha256').update(a[0]).digest('base64url'));
}
EOF
tjs() { node "$OA_TMP/t.mjs" "$@"; }

# req MODE PATH QUERY [COOKIE] [WHICH]: one GET to login.fcgi. MODE cgi
# runs it by hand, fcgi through lighttpd FastCGI, lcgi through mod_cgi.
# WHICH 1 uses the single-provider instance. Sets ST (status), headers
# in $OA_TMP/rh (CR stripped), body in $OA_TMP/rb.
req() {
	local mode=$1 path=$2 q=$3 ck=${4:-} which=${5:-} conf=$CONF pre=/oauth
	local extra=()
	[ "$which" = 1 ] && { conf=$CONF1; pre=/one/oauth; }
	rm -f "$OA_TMP/rh" "$OA_TMP/rb" "$OA_TMP/rh.raw"
	case $mode in
	cgi)
		extra=(QUERY_STRING="$q")
		[ -n "$ck" ] && extra+=(HTTP_COOKIE="$ck")
		cgi_run "$conf" GET "$path" "$OA_LOGIN" "${extra[@]}"
		awk '/^\r?$/ { exit } { print }' "$OA_TMP/cgi.out" | tr -d '\r' >"$OA_TMP/rh"
		cgi_body >"$OA_TMP/rb"
		ST=${CGI_STATUS:-000}
		# A crash or a sanitizer report (exit status) is a failure.
		if [ "$CGI_RC" != 0 ]; then
			fail "cgi $path?${q:0:80}: exit status $CGI_RC"
			sed 's/^/# /' "$OA_TMP/cgi.err" | head -n 20
		fi
		;;
	fcgi | lcgi)
		[ "$mode" = lcgi ] && pre=/c/oauth
		[ -n "$ck" ] && extra=(-H "Cookie: $ck")
		ST=$(curl -s -g --max-time 20 -D "$OA_TMP/rh.raw" -o "$OA_TMP/rb" \
		    -w '%{http_code}' "${extra[@]}" "$base$pre$path${q:+?$q}") || ST=000
		tr -d '\r' <"$OA_TMP/rh.raw" | sed 1d >"$OA_TMP/rh"
		;;
	esac
}

# H NAME: the last value of a response header; Hn NAME: how many.
H() { grep -i "^$1:" "$OA_TMP/rh" | tail -n 1 | sed 's/^[^:]*:[ \t]*//'; }
Hn() { grep -ci "^$1:" "$OA_TMP/rh" || true; }
# body_has TEXT: the body contains TEXT (fixed string).
body_has() { grep -qF -- "$1" "$OA_TMP/rb"; }

# The cookie pair "name=value" of the last response's Set-Cookie.
set_cookie_pair() { H Set-Cookie | sed 's/;.*//'; }

# open_cookie PAIR [KEYS_DIR]: the decrypted login cookie as JSON.
open_cookie() {
	local pair=$1 keys=${2:-$KEYS}
	tjs open "$keys/cookie.key" "${pair%%=*}" "${pair#*=}"
}

# check_page M WHAT STATUS: the last response is an HTML page with every
# security header and no Location.
check_page() {
	local m=$1 w=$2 want=$3
	expect_eq "$m $w: status" "$ST" "$want"
	expect_eq "$m $w: Content-Type" "$(H Content-Type)" "text/html; charset=utf-8"
	expect_eq "$m $w: Cache-Control" "$(H Cache-Control)" "no-store"
	expect_eq "$m $w: Referrer-Policy" "$(H Referrer-Policy)" "no-referrer"
	expect_eq "$m $w: X-Content-Type-Options" "$(H X-Content-Type-Options)" "nosniff"
	expect_eq "$m $w: X-Frame-Options" "$(H X-Frame-Options)" "DENY"
	expect_match "$m $w: CSP" "$(H Content-Security-Policy)" \
	    "^default-src 'none'; style-src 'unsafe-inline'; form-action [^;]+; frame-ancestors 'none'; base-uri 'none'\$"
	expect_eq "$m $w: no Location" "$(Hn Location)" 0
	check "$m $w: no script in the page" bash -c "! grep -qi '<script' '$OA_TMP/rb'"
}

# check_error_page M WHAT [STATUS] [CODE]: a page, not a redirect, with
# the OAuth error code shown.
check_error_page() {
	local m=$1 w=$2 want=${3:-400} code=${4:-invalid_request}
	check_page "$m" "$w" "$want"
	check "$m $w: shows $code" body_has "<code>$code</code>"
}

# check_error_redirect M WHAT ERROR STATE [fragment]: a 302 to the client
# redirect URI with error, state (empty: absent) and iss.
check_error_redirect() {
	local m=$1 w=$2 err=$3 state=$4 part=${5:-query} loc j
	expect_eq "$m $w: 302" "$ST" 302
	loc=$(H Location)
	j=$(tjs loc "$loc" 2>/dev/null) || { fail "$m $w: Location '$loc' is not a URL"; return; }
	expect_eq "$m $w: to the redirect_uri" "$(jq -r .base <<<"$j")" "$RURI"
	expect_eq "$m $w: error" "$(jq -r ".$part.error // empty" <<<"$j")" "$err"
	expect_eq "$m $w: state" "$(jq -r ".$part.state // empty" <<<"$j")" "$state"
	expect_eq "$m $w: iss" "$(jq -r ".$part.iss // empty" <<<"$j")" "$ISS"
	check "$m $w: error_description" test -n "$(jq -r ".$part.error_description // empty" <<<"$j")"
	expect_eq "$m $w: no cookie" "$(Hn Set-Cookie)" 0
	if [ "$part" = fragment ]; then
		expect_eq "$m $w: nothing in the query" "$(jq -c .query <<<"$j")" '{}'
	else
		expect_eq "$m $w: no fragment" "$(jq -c .fragment <<<"$j")" '{}'
	fi
}

RURI="http://127.0.0.1:5173/cb"
RURI_E="http%3A%2F%2F127.0.0.1%3A5173%2Fcb"
# RFC 7636 Appendix B.
CH="E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
PKCE="code_challenge=$CH&code_challenge_method=S256"
GOOD="client_id=web&redirect_uri=$RURI_E&state=st%20ate&$PKCE"
GOOGLE="https://accounts.google.com/o/oauth2/v2/auth"

# --- the program links neither Berkeley DB nor libcurl ------------------------
libs=$(ldd "$OA_LOGIN")
check "login.fcgi does not link libdb" bash -c "! grep -q 'libdb' <<<'$libs'"
check "login.fcgi does not link libcurl" bash -c "! grep -q 'libcurl' <<<'$libs'"

for m in cgi fcgi; do
	# --- redirect_uri near-misses: 400 page, never a Location (SECURITY 1, 2)
	for r in "http%3A%2F%2F127.0.0.1%3A5173%2Fc" \
	    "http%3A%2F%2F127.0.0.1%3A5173%2F" \
	    "http%3A%2F%2F127.0.0.1%3A5173%2Fcb%2Fevil" \
	    "http%3A%2F%2F127.0.0.1%3A5173%2Fcb%3Fevil%3D1" \
	    "http%3A%2F%2Fevil%40127.0.0.1%3A5173%2Fcb" \
	    "http%3A%2F%2F127.0.0.1%3A5173%40evil.example%2Fcb" \
	    "HTTP%3A%2F%2F127.0.0.1%3A5173%2Fcb" \
	    "http%3A%2F%2F127.0.0.1%3A5173%2FCB" \
	    "http%3A%2F%2F127.0.0.1%3A5173%2F%2563b" \
	    "http%3A%2F%2F127.0.0.1%3A5173%2Fc%62" \
	    "javascript%3Aalert(1)" \
	    "%2F%2Fevil.example%2Fcb" \
	    "%2F%2F127.0.0.1%3A5173%2Fcb" \
	    "https%3A%2F%2Fapp.example.com%2Fauth%2Fcallback" \
	    "https%3A%2F%2Fother.example.com%2Fcb"; do
		# %62 is 'b': "c%62" decodes to the registered URI exactly.
		if [ "$r" = "http%3A%2F%2F127.0.0.1%3A5173%2Fc%62" ]; then
			req $m /google "client_id=web&redirect_uri=$r&state=s&$PKCE"
			expect_eq "$m percent-encoded exact URI: accepted" "$ST" 302
			continue
		fi
		req $m /google "client_id=web&redirect_uri=$r&state=s&$PKCE"
		check_error_page $m "redirect_uri $r"
		check "$m redirect_uri $r: not reflected" bash -c "! grep -qi evil '$OA_TMP/rb'"
	done
	for p in /authorize /google /dev; do
		req $m $p "client_id=web&redirect_uri=http%3A%2F%2Fevil.example%2F&$PKCE"
		check_error_page $m "$p foreign redirect_uri"
	done

	# --- clients -------------------------------------------------------------
	req $m /google "client_id=nope&redirect_uri=$RURI_E&state=s&$PKCE"
	check_error_page $m "unknown client" 400 invalid_client
	req $m /google "client_id=%3Cb%3Eevil&redirect_uri=$RURI_E&$PKCE"
	check_error_page $m "malformed client_id"
	check "$m malformed client_id: not reflected" bash -c "! grep -q evil '$OA_TMP/rb'"
	req $m /google "redirect_uri=$RURI_E&state=s&$PKCE"
	check_error_page $m "client_id omitted with several clients"
	req $m /google "client_id=web&state=s&$PKCE"
	check_error_page $m "redirect_uri omitted, client has several"
	req $m /google "client_id=web&client_id=web&redirect_uri=$RURI_E&$PKCE"
	check_error_page $m "duplicate client_id"
	req $m /google "$GOOD&redirect_uri=$RURI_E"
	check_error_page $m "duplicate redirect_uri"
	req $m /google "client_id=web&redirect_uri=$RURI_E%00&$PKCE"
	check_error_page $m "NUL in redirect_uri"
	req $m /google "client_id=web&redirect_uri=$RURI_E%0d%0aX-Evil:%201&$PKCE"
	check_error_page $m "CRLF in redirect_uri"
	check "$m CRLF in redirect_uri: no injected header" bash -c "! grep -qi '^X-Evil' '$OA_TMP/rh'"
	big=$(head -c 17000 /dev/zero | tr '\0' a)
	req $m /google "$GOOD&pad=$big"
	check_error_page $m "oversized request"

	# --- PKCE downgrade (SECURITY 5): error redirect, state echoed, iss ---
	req $m /google "client_id=web&redirect_uri=$RURI_E&state=st%20ate&code_challenge=$CH&code_challenge_method=plain"
	check_error_redirect $m "PKCE plain" invalid_request "st ate"
	req $m /google "client_id=web&redirect_uri=$RURI_E&state=st%20ate"
	check_error_redirect $m "PKCE missing" invalid_request "st ate"
	req $m /google "client_id=web&redirect_uri=$RURI_E&state=st%20ate&code_challenge_method=S256"
	check_error_redirect $m "PKCE challenge missing" invalid_request "st ate"
	req $m /google "client_id=web&redirect_uri=$RURI_E&state=st%20ate&code_challenge=$CH"
	check_error_redirect $m "PKCE method missing" invalid_request "st ate"
	req $m /google "client_id=web&redirect_uri=$RURI_E&state=st%20ate&code_challenge=short&code_challenge_method=S256"
	check_error_redirect $m "PKCE bad challenge" invalid_request "st ate"
	req $m /google "client_id=web&redirect_uri=$RURI_E&state=st%20ate&code_challenge=dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk1&code_challenge_method=S256"
	check_error_redirect $m "PKCE verifier as challenge" invalid_request "st ate"

	# --- response types (SECURITY 7) ---------------------------------------
	req $m /google "$GOOD&response_type=token"
	check_error_redirect $m "token not allowed" unsupported_response_type "st ate" fragment
	req $m /google "$GOOD&response_type=id_token"
	check_error_redirect $m "response_type id_token" unsupported_response_type "st ate"

	# --- duplicates, oversized values, NUL/CR/LF (SECURITY 26) ----------------
	req $m /google "$GOOD&state=again"
	check_error_redirect $m "duplicate state" invalid_request ""
	req $m /google "$GOOD&nonce=a&nonce=b"
	check_error_redirect $m "duplicate nonce" invalid_request "st ate"
	req $m /google "$GOOD&code_challenge=$CH"
	check_error_redirect $m "duplicate code_challenge" invalid_request "st ate"
	req $m /google "$GOOD&state=$(head -c 600 /dev/zero | tr '\0' s)"
	check_error_redirect $m "duplicate and oversized state" invalid_request ""
	req $m /google "client_id=web&redirect_uri=$RURI_E&$PKCE&state=$(head -c 513 /dev/zero | tr '\0' s)"
	check_error_redirect $m "oversized state" invalid_request ""
	req $m /google "$GOOD&login_hint=$(head -c 300 /dev/zero | tr '\0' h)"
	check_error_redirect $m "oversized login_hint" invalid_request "st ate"
	for bad in %00 %0d %0a %0D%0A; do
		req $m /google "$GOOD&nonce=a${bad}b"
		check_error_redirect $m "nonce with $bad" invalid_request "st ate"
		req $m /google "client_id=web&redirect_uri=$RURI_E&$PKCE&state=a${bad}b"
		check_error_redirect $m "state with $bad" invalid_request ""
	done
	req $m /google "$GOOD&prompt=none%20login"
	check_error_redirect $m "prompt none with login" invalid_request "st ate"
	req $m /google "$GOOD&request=eyJhbGciOiJub25lIn0.e30."
	check_error_redirect $m "request object" request_not_supported "st ate"
	# prompt=none where user interaction is unavoidable (OIDC Core §3.1.2.1).
	req $m /authorize "$GOOD&prompt=none"
	check_error_redirect $m "prompt=none on the chooser" login_required "st ate"
	req $m /dev "$GOOD&prompt=none"
	check_error_redirect $m "prompt=none on dev" login_required "st ate"
	# The registered URI with its own query keeps it.
	req $m /google "client_id=web&redirect_uri=https%3A%2F%2Fapp.example.com%2Fauth%2Fcallback%3Fx%3D1&state=s"
	expect_eq "$m error to a URI with a query: keeps it" \
	    "$(H Location | sed 's/&error=.*//')" "https://app.example.com/auth/callback?x=1"

	# --- success: to the upstream with everything (SPEC §2.1) ----------------
	req $m /google "$GOOD&nonce=cn&scope=openid%20email&prompt=consent&login_hint=a%40b.example"
	expect_eq "$m google: 302" "$ST" 302
	loc=$(H Location)
	j=$(tjs loc "$loc" 2>/dev/null) || j='{}'
	expect_eq "$m google: to Google" "$(jq -r .base <<<"$j")" "$GOOGLE"
	expect_eq "$m google: response_type" "$(jq -r .query.response_type <<<"$j")" code
	expect_eq "$m google: client_id" "$(jq -r .query.client_id <<<"$j")" gid
	expect_eq "$m google: redirect_uri" "$(jq -r .query.redirect_uri <<<"$j")" "$ISS/oauth/google/callback"
	expect_eq "$m google: scope" "$(jq -r .query.scope <<<"$j")" "openid email profile"
	expect_match "$m google: state (256 bits)" "$(jq -r .query.state <<<"$j")" '^[A-Za-z0-9_-]{43}$'
	expect_match "$m google: nonce" "$(jq -r .query.nonce <<<"$j")" '^[A-Za-z0-9_-]{43}$'
	expect_match "$m google: code_challenge" "$(jq -r .query.code_challenge <<<"$j")" '^[A-Za-z0-9_-]{43}$'
	expect_eq "$m google: code_challenge_method" "$(jq -r .query.code_challenge_method <<<"$j")" S256
	expect_eq "$m google: prompt" "$(jq -r .query.prompt <<<"$j")" consent
	expect_eq "$m google: login_hint" "$(jq -r .query.login_hint <<<"$j")" a@b.example
	expect_eq "$m google: not our client's challenge" "$(jq -r '.query.code_challenge == "'$CH'"' <<<"$j")" false
	expect_eq "$m google: no duplicate parameter" "$(jq -r '[.query[] | arrays] | length' <<<"$j")" 0
	expect_eq "$m google: Cache-Control" "$(H Cache-Control)" no-store
	sc=$(H Set-Cookie)
	expect_eq "$m google: one Set-Cookie" "$(Hn Set-Cookie)" 1
	expect_match "$m google: cookie name (no prefix on http loopback)" "$sc" '^ownauth_login=[A-Za-z0-9_-]+;'
	expect_match "$m google: HttpOnly" "$sc" '; HttpOnly(;|$)'
	expect_match "$m google: SameSite=Lax" "$sc" '; SameSite=Lax(;|$)'
	expect_match "$m google: Path=/" "$sc" '; Path=/(;|$)'
	expect_match "$m google: Max-Age=600" "$sc" '; Max-Age=600(;|$)'
	check "$m google: no Secure on an http loopback issuer" bash -c "! grep -qi 'secure' <<<'$sc'"
	check "$m google: no Domain" bash -c "! grep -qi 'domain=' <<<'$sc'"
	check "$m google: Set-Cookie under 4096 bytes (${#sc})" test "${#sc}" -lt 4096
	# What the cookie holds, read by Node with the cookie key.
	c=$(open_cookie "$(set_cookie_pair)" 2>/dev/null) || c='{}'
	expect_eq "$m google: cookie holds one login" "$(jq -r '.logins | length' <<<"$c")" 1
	expect_eq "$m google: cookie state = upstream state" "$(jq -r '.logins[0].s' <<<"$c")" "$(jq -r .query.state <<<"$j")"
	expect_eq "$m google: cookie provider" "$(jq -r '.logins[0].p' <<<"$c")" google
	expect_eq "$m google: cookie client" "$(jq -r '.logins[0].c' <<<"$c")" web
	expect_eq "$m google: cookie redirect_uri" "$(jq -r '.logins[0].r' <<<"$c")" "$RURI"
	expect_eq "$m google: cookie client state" "$(jq -r '.logins[0].cs' <<<"$c")" "st ate"
	expect_eq "$m google: cookie client nonce" "$(jq -r '.logins[0].cn' <<<"$c")" cn
	expect_eq "$m google: cookie client challenge" "$(jq -r '.logins[0].cc' <<<"$c")" "$CH"
	expect_eq "$m google: cookie upstream nonce" "$(jq -r '.logins[0].n' <<<"$c")" "$(jq -r .query.nonce <<<"$j")"
	expect_eq "$m google: S256(cookie verifier) = upstream challenge" \
	    "$(tjs s256 "$(jq -r '.logins[0].v' <<<"$c")")" "$(jq -r .query.code_challenge <<<"$j")"
	expect_match "$m google: verifier is RFC 7636 §4.1" "$(jq -r '.logins[0].v' <<<"$c")" '^[A-Za-z0-9._~-]{43,128}$'
	issued=$(jq -r .issued <<<"$c")
	check "$m google: cookie issued now" test $(( $(date +%s) - ${issued:-0} )) -lt 60

	# --- 5 logins in a row: the cookie keeps the newest 3 --------------------
	ck= lens=() states=()
	for i in 1 2 3 4 5; do
		req $m /google "$GOOD" "$ck"
		[ "$ST" = 302 ] || fail "$m login $i: status $ST"
		ck=$(set_cookie_pair)
		lens+=(${#ck})
		states+=("$(tjs loc "$(H Location)" | jq -r .query.state)")
	done
	check "$m cookie grows for 3 logins (${lens[*]})" test "${lens[0]}" -lt "${lens[1]}" -a "${lens[1]}" -lt "${lens[2]}"
	check "$m cookie stops growing after 3 (${lens[*]})" test "${lens[3]}" -eq "${lens[2]}" -a "${lens[4]}" -eq "${lens[2]}"
	c=$(open_cookie "$ck" 2>/dev/null) || c='{}'
	expect_eq "$m 5 logins: cookie holds 3" "$(jq -r '.logins | length' <<<"$c")" 3
	expect_eq "$m 5 logins: the newest 3, oldest first" "$(jq -r '[.logins[].s] | join(" ")' <<<"$c")" \
	    "${states[2]} ${states[3]} ${states[4]}"
	# Other cookies of the site are no problem.
	req $m /google "$GOOD" "a=1; $ck; b=2"
	c=$(open_cookie "$(set_cookie_pair)" 2>/dev/null) || c='{}'
	expect_eq "$m with other cookies: still 3, the newest added" "$(jq -r '.logins | length' <<<"$c")" 3
	# A tampered cookie: start afresh.
	v=${ck#*=}
	if [ "${v:40:1}" = A ]; then r=B; else r=A; fi
	req $m /google "$GOOD" "${ck%%=*}=${v:0:40}$r${v:41}"
	expect_eq "$m tampered cookie: still 302" "$ST" 302
	c=$(open_cookie "$(set_cookie_pair)" 2>/dev/null) || c='{}'
	expect_eq "$m tampered cookie: afresh with one login" "$(jq -r '.logins | length' <<<"$c")" 1
	req $m /google "$GOOD" "${ck%%=*}=garbage!"
	expect_eq "$m garbage cookie: still 302" "$ST" 302

	# --- other providers ----------------------------------------------------
	req $m /apple "$GOOD&prompt=login&login_hint=x"
	expect_eq "$m apple: 302" "$ST" 302
	j=$(tjs loc "$(H Location)" 2>/dev/null) || j='{}'
	expect_eq "$m apple: endpoint" "$(jq -r .base <<<"$j")" "https://appleid.apple.com/auth/authorize"
	expect_eq "$m apple: response_mode=form_post" "$(jq -r .query.response_mode <<<"$j")" form_post
	expect_eq "$m apple: no prompt, no hint" "$(jq -r '[.query.prompt, .query.login_hint] | map(select(. != null)) | length' <<<"$j")" 0
	req $m /github "$GOOD&login_hint=octocat"
	j=$(tjs loc "$(H Location)" 2>/dev/null) || j='{}'
	expect_eq "$m github: endpoint" "$(jq -r .base <<<"$j")" "https://github.com/login/oauth/authorize"
	expect_eq "$m github: no nonce (not OIDC)" "$(jq -r '.query.nonce // "none"' <<<"$j")" none
	expect_eq "$m github: login hint as 'login'" "$(jq -r '.query.login' <<<"$j")" octocat
	expect_eq "$m github: PKCE too" "$(jq -r '.query.code_challenge_method' <<<"$j")" S256
	# response_type=token for a client that lists it.
	req $m /google "client_id=spa&response_type=token&state=t"
	expect_eq "$m token for spa: to the upstream" "$(tjs loc "$(H Location)" | jq -r .base)" "$GOOGLE"
	c=$(open_cookie "$(set_cookie_pair)" 2>/dev/null) || c='{}'
	expect_eq "$m token for spa: remembered" "$(jq -r '.logins[0].rt + " " + .logins[0].r' <<<"$c")" "token https://spa.example.com/"

	# --- chooser -----------------------------------------------------------
	for p in /authorize "" /x/authorize; do
		req $m "$p" "$GOOD&nonce=n"
		check_page $m "chooser at '$p'" 200
		expect_eq "$m chooser '$p': no cookie yet" "$(Hn Set-Cookie)" 0
	done
	check "$m chooser: lang" body_has '<html lang="en">'
	check "$m chooser: title" body_has '<title>Sign in</title>'
	expect_eq "$m chooser: one link per provider" "$(grep -c '<li><a ' "$OA_TMP/rb")" 5
	q="client_id=web&amp;redirect_uri=$RURI_E&amp;response_type=code&amp;state=st%20ate&amp;nonce=n&amp;$(sed 's/&/\&amp;/g' <<<"$PKCE")"
	for p in dev google github apple corp; do
		check "$m chooser: link to $p" body_has "href=\"$ISS/oauth/$p?$q\""
	done
	check "$m chooser: display name escaped" body_has 'Continue with &lt;b&gt;Corp &amp; &quot;Co&quot;&lt;/b&gt;</a>'
	check "$m chooser: no raw markup from the config" bash -c "! grep -q '<b>' '$OA_TMP/rb'"
	expect_eq "$m chooser: every link is ours, nothing loads" \
	    "$(grep -Eio '(src|href|action)=\"[^\"]*' "$OA_TMP/rb" | grep -v "^href=\"$ISS/oauth/")" ""
	expect_eq "$m chooser: form-action 'self'" "$(H Content-Security-Policy | grep -o "form-action [^;]*")" "form-action 'self'"
	# The chooser's links work.
	href=$(grep -o 'href="[^"]*/oauth/google?[^"]*"' "$OA_TMP/rb" | head -n 1 | sed 's/^href="//; s/"$//; s/&amp;/\&/g')
	req $m /google "${href#*\?}"
	expect_eq "$m chooser link followed: 302 to Google" "$(tjs loc "$(H Location)" | jq -r .base)" "$GOOGLE"

	# --- single provider, single client, single redirect URI -----------------
	req $m /authorize "$PKCE&state=one" "" 1
	expect_eq "$m single provider: straight on (302)" "$ST" 302
	j=$(tjs loc "$(H Location)" 2>/dev/null) || j='{}'
	expect_eq "$m single provider: to Google" "$(jq -r .base <<<"$j")" "$GOOGLE"
	expect_eq "$m single provider: its client_id" "$(jq -r .query.client_id <<<"$j")" gid1
	expect_eq "$m single provider: its callback" "$(jq -r .query.redirect_uri <<<"$j")" "$ISS1/oauth/google/callback"
	c=$(open_cookie "$(set_cookie_pair)" "$KEYS1" 2>/dev/null) || c='{}'
	expect_eq "$m single provider: client and URI resolved" "$(jq -r '.logins[0].c + " " + .logins[0].r' <<<"$c")" "only https://only.example.com/cb"
	expect_match "$m single provider: cookie Path=/one (the issuer's path)" "$(H Set-Cookie)" '; Path=/one(;|$)'
	req $m "" "$PKCE" "" 1
	expect_eq "$m single provider, empty path: 302" "$ST" 302

	# --- dev form ------------------------------------------------------------
	req $m /dev "$GOOD&login_hint=dev%40example.com"
	check_page $m "dev form" 200
	# The callback answers the post with a redirect to the client: its
	# origin is allowed beside ours (browsers apply form-action to it).
	expect_eq "$m dev form: form-action is the issuer and client origins" "$(H Content-Security-Policy | grep -o "form-action [^;]*")" "form-action $ISS http://127.0.0.1:5173"
	check "$m dev form: posts to the callback" body_has "<form method=\"post\" action=\"$ISS/oauth/dev/callback\">"
	check "$m dev form: email field, prefilled" body_has 'name="email" type="email" required autocomplete="email" maxlength="254" value="dev@example.com"'
	check "$m dev form: name field" body_has 'name="name"'
	c=$(open_cookie "$(set_cookie_pair)" 2>/dev/null) || c='{}'
	st=$(jq -r '.logins[0].s' <<<"$c")
	expect_match "$m dev form: login in the cookie" "$st" '^[A-Za-z0-9_-]{43}$'
	check "$m dev form: hidden state = cookie state" body_has "<input type=\"hidden\" name=\"state\" value=\"$st\">"
	expect_eq "$m dev form: provider dev" "$(jq -r '.logins[0].p' <<<"$c")" dev

	# --- discovery round trip (upstream_ep.c) --------------------------------
	rm -f "$DATA/upstream/corp.discovery.json"
	req $m /corp "$GOOD"
	expect_eq "$m corp, no cache: 302" "$ST" 302
	loc=$(H Location)
	expect_eq "$m corp, no cache: to the discovery round trip" "${loc%%\?*}" "$ISS/oauth/corp/callback"
	j=$(tjs loc "$loc" 2>/dev/null) || j='{}'
	expect_eq "$m corp, no cache: discover=1" "$(jq -r .query.discover <<<"$j")" 1
	expect_eq "$m corp, no cache: request kept" "$(jq -r '[.query.client_id, .query.redirect_uri, .query.state, .query.code_challenge] | join(" ")' <<<"$j")" "web $RURI st ate $CH"
	expect_eq "$m corp, no cache: no cookie yet" "$(Hn Set-Cookie)" 0
	req $m /corp "$GOOD&discovered=1"
	check_error_page $m "corp, still no cache after discovery" 502 temporarily_unavailable
	check "$m corp 502: says why" body_has "configuration could not be loaded"
	mkdir -p "$DATA/upstream"
	printf '{"issuer":"https://sso.corp.example","authorization_endpoint":"https://sso.corp.example/authorize"}' \
	    >"$DATA/upstream/corp.discovery.json"
	req $m /corp "$GOOD&discovered=1"
	j=$(tjs loc "$(H Location)" 2>/dev/null) || j='{}'
	expect_eq "$m corp, cached: to its endpoint" "$(jq -r .base <<<"$j")" "https://sso.corp.example/authorize"
	expect_match "$m corp, cached: OIDC nonce" "$(jq -r .query.nonce <<<"$j")" '^[A-Za-z0-9_-]{43}$'
	printf '{"issuer":"https://evil.example","authorization_endpoint":"https://evil.example/authorize"}' \
	    >"$DATA/upstream/corp.discovery.json"
	req $m /corp "$GOOD"
	expect_eq "$m corp, cache of another issuer: discovered again" "$(H Location | sed 's/?.*//')" "$ISS/oauth/corp/callback"
	printf '{"issuer":"https://sso.corp.example","authorization_endpoint":"http://sso.corp.example/authorize"}' \
	    >"$DATA/upstream/corp.discovery.json"
	req $m /corp "$GOOD&discovered=1"
	check_error_page $m "corp, cached endpoint not https" 502 temporarily_unavailable
	rm -f "$DATA/upstream/corp.discovery.json"

	# --- unknown provider and path ---------------------------------------------
	req $m /nope "$GOOD"
	check_error_page $m "unknown provider" 404
	req $m /google/ "$GOOD"
	check_error_page $m "trailing slash" 404
done

# --- through lighttpd mod_cgi too --------------------------------------------
req lcgi /google "$GOOD"
expect_eq "lcgi google: 302 to Google" "$(tjs loc "$(H Location)" | jq -r .base)" "$GOOGLE"
expect_match "lcgi google: cookie" "$(H Set-Cookie)" '^ownauth_login=[A-Za-z0-9_-]+; Path=/; Max-Age=600; HttpOnly; SameSite=Lax$'
req lcgi /google "client_id=web&redirect_uri=http%3A%2F%2F127.0.0.1%3A5173%2Fcb%2Fx&$PKCE"
check_error_page lcgi "near-miss redirect_uri"
req lcgi /authorize "$GOOD"
check_page lcgi "chooser" 200

# --- methods -------------------------------------------------------------
http POST "$base/oauth/google" --data "$GOOD"
expect_eq "fcgi POST form: 302" "$HTTP_STATUS" 302
expect_eq "fcgi POST form: to Google" "$(tjs loc "$(hdr Location)" | jq -r .base)" "$GOOGLE"
http POST "$base/oauth/google" -H 'Content-Type: application/json' --data '{}'
expect_eq "fcgi POST JSON: 415" "$HTTP_STATUS" 415
http PUT "$base/oauth/google?$GOOD"
expect_eq "fcgi PUT: 405" "$HTTP_STATUS" 405
expect_match "fcgi PUT: Allow" "$(hdr Allow)" 'GET'
http HEAD "$base/oauth/google?$GOOD" -I
expect_eq "fcgi HEAD: 302" "$HTTP_STATUS" 302

# --- the worker picks up a new cookie key (key directory changed) -------------
req fcgi /google "$GOOD"
ck=$(set_cookie_pair)
head -c 32 /dev/urandom >"$KEYS/.cookie.key.new"
chmod 600 "$KEYS/.cookie.key.new"
mv "$KEYS/.cookie.key.new" "$KEYS/cookie.key"
req fcgi /google "$GOOD" "$ck"
c=$(open_cookie "$(set_cookie_pair)" 2>/dev/null) || c='{}'
expect_eq "new cookie key: the worker seals with it (old cookie dropped)" "$(jq -r '.logins | length' <<<"$c")" 1
expect_eq "same workers" "$(workers)" "$worker"

# --- bad configs: 500 page and one log line ---------------------------------------
cp "$CONF" "$OA_TMP/bad.conf"
chmod 644 "$OA_TMP/bad.conf"
cgi_run "$OA_TMP/bad.conf" GET /google "$OA_LOGIN" QUERY_STRING="$GOOD"
expect_eq "config readable by others: 500" "$CGI_STATUS" 500
expect_eq "config readable by others: one log line" "$(wc -l <"$OA_TMP/cgi.err")" 1
check "config readable by others: page" grep -q '<code>server_error</code>' "$OA_TMP/cgi.out"
printf 'issuer = %s\nbogus = 1\n' "$ISS" >"$OA_TMP/bad2.conf"
chmod 600 "$OA_TMP/bad2.conf"
cgi_run "$OA_TMP/bad2.conf" GET /google "$OA_LOGIN" QUERY_STRING="$GOOD"
expect_eq "unknown config key: 500" "$CGI_STATUS" 500
expect_eq "unknown config key: one log line" "$(wc -l <"$OA_TMP/cgi.err")" 1
check "unknown config key: the line names the key" grep -q bogus "$OA_TMP/cgi.err"
cgi_run "$OA_TMP/nonexistent.conf" GET /google "$OA_LOGIN" QUERY_STRING="$GOOD"
expect_eq "missing config: 500" "$CGI_STATUS" 500
sed "s#^keys_dir = .*#keys_dir = $OA_TMP/nokeys#" "$CONF" >"$OA_TMP/bad3.conf"
chmod 600 "$OA_TMP/bad3.conf"
cgi_run "$OA_TMP/bad3.conf" GET /google "$OA_LOGIN" QUERY_STRING="$GOOD"
expect_eq "missing keys_dir: 500" "$CGI_STATUS" 500
expect_eq "missing keys_dir: one log line" "$(wc -l <"$OA_TMP/cgi.err")" 1
check "missing keys_dir: no Set-Cookie" bash -c "! grep -qi '^Set-Cookie' '$OA_TMP/cgi.out'"

# --- the worker is still the same process (no crash on any of the above) -------
expect_eq "the FastCGI workers survived every request" "$(workers)" "$worker"
if grep -Eqi 'AddressSanitizer|runtime error' "$W/error.log" 2>/dev/null; then
	fail "sanitizer report in lighttpd's error log"
	oa_lighttpd_log "$W"
else
	ok "no sanitizer report in lighttpd's error log"
fi

oa_done
