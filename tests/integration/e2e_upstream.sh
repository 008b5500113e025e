#!/usr/bin/env bash
# e2e_upstream.sh BUILD_DIR - the browser test through a real upstream:
# tests/e2e/upstream.mjs drives headless Chromium from the demo page
# (www/) through ownauth to a real OpenID Provider (oidc-provider,
# tests/upstream/op.mjs), typing into the OP's login form and answering
# its consent screen, and back (SPEC §2.2, §8, §9).
#
# Everything on 127.0.0.1:
#   - op.mjs: one client, redirect URIs {A,B}/oauth/corp/callback;
#   - instance A (issuer http://127.0.0.1:PA): made by `ownauth init
#     --client demo`, the dev provider removed, [provider corp] = the OP:
#     one provider, so /oauth/authorize redirects straight on;
#   - instance B (issuer http://127.0.0.1:PB): dev kept + corp: the
#     chooser page is shown and clicked;
#   - one lighttpd per instance (etc/demo.sh's layout): www/ at /, the
#     four programs of BUILD_DIR as FastCGI workers at the SPEC §2 URLs.
# After the browser part, lighttpd is stopped and its log checked for
# sanitizer reports (an ASan build's FastCGI workers report leaks at exit).
# Every process is stopped by PID at exit (lib.sh).
. "$(dirname "$0")/lib.sh"
oa_setup "$@"
for p in login callback token jwks; do
	oa_need "$OA_BUILD/cgi-bin/$p.fcgi"
done
oa_need "$OA_CLI"
oa_need_cmd node curl "$LIGHTTPD"
CHROMIUM=/usr/bin/chromium
[ -x "$CHROMIUM" ] ||
	oa_die "no Chromium at $CHROMIUM (as root: apt-get install -y chromium, or ./install.sh --deps --test)"
for m in playwright-core jose oidc-provider; do
	[ -f "$OA_SRC/tests/node_modules/$m/package.json" ] ||
		oa_die "tests/node_modules/$m is missing (cd tests && npm ci, or ./install.sh --deps --test)"
done
OUT=$OA_SRC/tests/out
mkdir -p "$OUT"
rm -f "$OUT/signed-in-upstream.png"

# --- ports: three different ones (the OP's is chosen here, not by the
# kernel, so that it cannot take a port picked for lighttpd) -------------
pa=$(oa_pick_other) && pb=$(oa_pick_other "$pa") && pop=$(oa_pick_other "$pa" "$pb") ||
	oa_die "no free ports"
A="http://127.0.0.1:$pa"
B="http://127.0.0.1:$pb"

# --- the OpenID Provider ------------------------------------------------------
node "$OA_SRC/tests/upstream/op.mjs" --port "$pop" \
    --client-id corp-client --client-secret corp-secret-0123456789 \
    --redirect-uri "$A/oauth/corp/callback" --redirect-uri "$B/oauth/corp/callback" \
    >"$OA_TMP/op.out" 2>"$OA_TMP/op.log" </dev/null &
op=$!
oa_on_exit "oa_stop_pid $op"
deadline=$((SECONDS + 20))
until grep -q '^READY [0-9]' "$OA_TMP/op.out" 2>/dev/null; do
	oa_alive "$op" || { sed 's/^/# op: /' "$OA_TMP/op.log"; oa_die "op.mjs exited at start"; }
	[ "$SECONDS" -lt "$deadline" ] || oa_die "op.mjs not ready after 20 s"
	sleep 0.05
done
OP="http://127.0.0.1:$(sed -n 's/^READY \([0-9]*\)$/\1/p' "$OA_TMP/op.out" | head -n 1)"
expect_eq "op.mjs listens on the port given" "$OP" "http://127.0.0.1:$pop"
http GET "$OP/.well-known/openid-configuration"
expect_eq "the OP's discovery names its issuer" "$(printf '%s' "$HTTP_BODY" | node -e \
    'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).issuer))')" "$OP"

# --- the two ownauth instances ------------------------------------------------
corp="[provider corp]
type = oidc
issuer = $OP
client_id = corp-client
client_secret = corp-secret-0123456789"

# instance DIR ISSUER: `ownauth init` with the demo client; sets OA_CONF.
instance() {
	if ! "$OA_CLI" init --issuer "$2" --dir "$1" --client demo --redirect-uri "$2/" \
	    >"$OA_TMP/init.out" 2>&1; then
		sed 's/^/# /' "$OA_TMP/init.out"
		oa_die "ownauth init --issuer $2 failed"
	fi
	OA_CONF="$1/ownauth.conf"
}
instance "$OA_TMP/inst-a" "$A"
CONF_A=$OA_CONF
# Drop the dev provider that init adds for a loopback issuer: the section
# header and its lines up to the next blank line.
awk '/^\[provider dev\]/ { skip = 1; next } skip && /^[ \t]*$/ { skip = 0 } !skip' \
    "$CONF_A" >"$CONF_A.new" && cat "$CONF_A.new" >"$CONF_A" && rm -f "$CONF_A.new"
oa_conf_add "$CONF_A" "$corp"
check "instance A: no dev provider left" test -z "$(grep -E '^[ \t]*(\[provider dev\]|type[ \t]*=[ \t]*dev)' "$CONF_A")"
instance "$OA_TMP/inst-b" "$B"
CONF_B=$OA_CONF
check "instance B: init's dev provider kept" grep -q '^\[provider dev\]' "$CONF_B"
oa_conf_add "$CONF_B" "$corp"
for c in "$CONF_A" "$CONF_B"; do
	if "$OA_CLI" -c "$c" check >"$OA_TMP/check.out" 2>&1; then
		ok "ownauth check: ${c#"$OA_TMP"/}"
	else
		sed 's/^/# /' "$OA_TMP/check.out"
		oa_die "ownauth check: ${c#"$OA_TMP"/}"
	fi
done

# --- lighttpd: www/ at /, the programs at the SPEC §2 URLs ------------------
# serve DIR PORT CONF: writes DIR/lighttpd.conf (the layout of etc/demo.sh:
# rewrites to /cgi-bin/NAME.fcgi, FastCGI workers spawned by lighttpd,
# which inherit its environment - ASAN_OPTIONS...) and starts it.
serve() {
	local d=$1 port=$2 conf=$3 p
	mkdir -p "$d/tmp"
	echo ready >"$d/ready.txt"
	{
		cat <<EOF
server.port = $port
server.bind = "127.0.0.1"
server.document-root = "$OA_SRC/www"
server.errorlog = "$d/error.log"
server.upload-dirs = ( "$d/tmp" )
server.modules += ( "mod_rewrite", "mod_alias", "mod_fastcgi", "mod_setenv" )
index-file.names = ( "index.html" )
mimetype.assign = ( ".html" => "text/html; charset=utf-8",
                    ".js" => "text/javascript; charset=utf-8",
                    ".css" => "text/css; charset=utf-8",
                    ".json" => "application/json",
                    ".png" => "image/png", ".svg" => "image/svg+xml",
                    ".txt" => "text/plain; charset=utf-8" )
setenv.set-response-header = ( "X-Content-Type-Options" => "nosniff" )
alias.url = ( "/ready.txt" => "$d/ready.txt" )
url.rewrite-once = (
	"^/oauth/([^/?]+)/callback/?(\?.*)?\$" => "/cgi-bin/callback.fcgi/\$1/callback\$2",
	"^/oauth/([^/?]+)/?(\?.*)?\$" => "/cgi-bin/login.fcgi/\$1\$2",
	"^/(token|revoke|logout|userinfo)/?(\?.*)?\$" => "/cgi-bin/token.fcgi/\$1\$2",
	"^/\.well-known/(jwks\.json|openid-configuration)(\?.*)?\$" => "/cgi-bin/jwks.fcgi/\$1\$2",
)
EOF
		for p in login callback token jwks; do
			oa_lighttpd_fcgi "/cgi-bin/$p.fcgi" "$OA_BUILD/cgi-bin/$p.fcgi" "$conf" "$d/$p.sock"
		done
	} >"$d/lighttpd.conf"
	oa_lighttpd_start "$d" "$port"
}
# workers LIGHTTPD_PID: its FastCGI workers, as PID=PROGRAM.
workers() {
	local c
	for c in $(oa_children "$1"); do
		echo "$c=$(readlink "/proc/$c/exe" 2>/dev/null)"
	done
}
serve "$OA_TMP/wa" "$pa" "$CONF_A"
LA=$LIGHTTPD_PID
serve "$OA_TMP/wb" "$pb" "$CONF_B"
LB=$LIGHTTPD_PID
WA=$(workers "$LA")
WB=$(workers "$LB")
expect_eq "lighttpd A runs one worker per program" "$(echo "$WA" | grep -c '\.fcgi$')" 4
expect_eq "lighttpd B runs one worker per program" "$(echo "$WB" | grep -c '\.fcgi$')" 4
for u in "$A" "$B"; do
	http GET "$u/.well-known/openid-configuration"
	expect_eq "discovery through lighttpd at $u" "$HTTP_STATUS" 200
	http GET "$u/"
	expect_eq "the demo page at $u/" "$HTTP_STATUS" 200
done
http GET "$A/ownauth.js"
expect_match "ownauth.js served as JavaScript" "$(hdr Content-Type)" '^(text|application)/javascript'

# --- the browser ------------------------------------------------------------
if node "$OA_SRC/tests/e2e/upstream.mjs" --base "$A" --conf "$CONF_A" --cli "$OA_CLI" \
    --op "$OP" --chooser "$B" --chooser-conf "$CONF_B" --out "$OUT" </dev/null; then
	ok "sign-in through the OP's own login and consent pages in Chromium (upstream.mjs)"
else
	fail "sign-in through the OP's own login and consent pages in Chromium (see above)"
	for d in wa wb; do
		sed "s/^/# $d: /" "$OA_TMP/$d/error.log" 2>/dev/null | tail -n 30
	done
	sed 's/^/# op: /' "$OA_TMP/op.log" | tail -n 20
fi
check "screenshot tests/out/signed-in-upstream.png" test -s "$OUT/signed-in-upstream.png"

# The same workers served the whole run (none crashed and was respawned
# by lighttpd), then they stop with lighttpd: an ASan build's leak report
# lands in the log checked below.
expect_eq "A: the same FastCGI workers as at start (none crashed)" "$(workers "$LA")" "$WA"
expect_eq "B: the same FastCGI workers as at start (none crashed)" "$(workers "$LB")" "$WB"
for l in "$LA:wa" "$LB:wb"; do
	d=$OA_TMP/${l#*:}
	check "lighttpd ${l#*:} still running" oa_alive "${l%%:*}"
	oa_lighttpd_stop "${l%%:*}" "$d"
	if grep -E 'Sanitizer|runtime error' "$d/error.log" "$d/stdout.log" >/dev/null 2>&1; then
		fail "sanitizer report in the lighttpd log of ${l#*:}"
		grep -E -A8 'Sanitizer|runtime error' "$d/error.log" "$d/stdout.log" | head -n 60
	else
		ok "no sanitizer report in the lighttpd log of ${l#*:}"
	fi
done
oa_done
