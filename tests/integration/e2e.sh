#!/usr/bin/env bash
# e2e.sh BUILD_DIR - the browser tests: www/ownauth.js and the demo page
# driven in headless Chromium by tests/e2e/browser.mjs (playwright-core).
#
# 1. ownauth.js against tests/e2e/mock_issuer.mjs (a Node stand-in for the
#    server): the helper's own rules, including the exact cross-tab ones
#    (with Web Locks no rotated refresh token is ever presented), which
#    the real server, tolerant within refresh_reuse_window, cannot show.
# 2. The real thing: etc/demo.sh (what `make demo` runs) serving the
#    demo page and the four programs of BUILD_DIR under lighttpd +
#    FastCGI on a random 127.0.0.1 port (issuer http://127.0.0.1:PORT):
#    sign-in through the dev provider, claims, forced refresh, two tabs
#    refreshing at once, sign-out, refused redirects, screenshot
#    tests/out/signed-in.png. Then demo.sh is stopped with TERM and must
#    have stopped lighttpd and every FastCGI worker.
# Part 2 is skipped - loudly, exit 77 - only when the programs are not
# built yet (login.fcgi, callback.fcgi, token.fcgi).
. "$(dirname "$0")/lib.sh"
oa_setup "$@"
oa_need_cmd node curl "$LIGHTTPD"
CHROMIUM=/usr/bin/chromium
[ -x "$CHROMIUM" ] ||
	oa_die "no Chromium at $CHROMIUM (as root: apt-get install -y chromium, or ./install.sh --deps --test)"
[ -f "$OA_SRC/tests/node_modules/playwright-core/package.json" ] ||
	oa_die "tests/node_modules/playwright-core is missing (cd tests && npm ci, or ./install.sh --deps --test)"
E2E=$OA_SRC/tests/e2e
OUT=$OA_SRC/tests/out
mkdir -p "$OUT"

# --- 1. ownauth.js against the mock server ---------------------------------

node "$E2E/mock_issuer.mjs" --www "$OA_SRC/www" >"$OA_TMP/mock.out" 2>"$OA_TMP/mock.err" </dev/null &
mock=$!
oa_on_exit "oa_stop_pid $mock"
deadline=$((SECONDS + 15))
mport=
while [ -z "$mport" ]; do
	mport=$(awk '/^listening [0-9]+$/ { print $2 }' "$OA_TMP/mock.out" 2>/dev/null)
	[ -n "$mport" ] && break
	oa_alive "$mock" || { cat "$OA_TMP/mock.err"; oa_die "mock_issuer.mjs exited at start"; }
	[ "$SECONDS" -lt "$deadline" ] || oa_die "mock_issuer.mjs not listening after 15 s"
	sleep 0.05
done
if node "$E2E/browser.mjs" --base "http://127.0.0.1:$mport" --mock --out "$OUT" </dev/null; then
	ok "ownauth.js + demo page in Chromium against the mock server"
else
	fail "ownauth.js + demo page in Chromium against the mock server (see the lines above)"
	sed 's/^/# mock: /' "$OA_TMP/mock.err" | tail -n 20
fi
oa_stop_pid "$mock"

# --- 2. the real programs under lighttpd, through etc/demo.sh --------------

missing=()
for p in login callback token jwks; do
	[ -x "$OA_BUILD/cgi-bin/$p.fcgi" ] || missing+=("$p.fcgi")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "########################################################################"
	for p in "${missing[@]}"; do
		echo "SKIP: $p not built (in $OA_BUILD/cgi-bin)"
	done
	echo "SKIP: the browser test against the real programs did NOT run"
	echo "########################################################################"
	[ "$OA_FAIL" -eq 0 ] || oa_done
	echo "$OA_NAME: $OA_PASS passed, $OA_FAIL failed, real-server part skipped"
	exit 77
fi
oa_need "$OA_CLI"

port=$(oa_pick_port) || oa_die "no free port"
base="http://127.0.0.1:$port"
"$OA_SRC/etc/demo.sh" --build "$OA_BUILD" --dir "$OA_TMP/demo" --port "$port" \
    >"$OA_TMP/demo.out" 2>&1 </dev/null &
demo=$!
oa_on_exit "oa_stop_pid $demo"
deadline=$((SECONDS + 30))
until grep -q 'Ctrl-C stops it' "$OA_TMP/demo.out"; do
	if ! oa_alive "$demo"; then
		sed 's/^/# demo: /' "$OA_TMP/demo.out" "$OA_TMP/demo/run/error.log" 2>/dev/null | tail -n 40
		oa_die "etc/demo.sh exited at start"
	fi
	[ "$SECONDS" -lt "$deadline" ] || {
		sed 's/^/# demo: /' "$OA_TMP/demo.out" | tail -n 40
		oa_die "etc/demo.sh not serving after 30 s"
	}
	sleep 0.05
done
ok "etc/demo.sh serves $base"
lpid=$(cat "$OA_TMP/demo/run/lighttpd.pid" 2>/dev/null)
[ -n "$lpid" ] || oa_die "demo.sh wrote no lighttpd.pid"
# What demo.sh started: lighttpd and its FastCGI workers, as PID:STARTTIME
# (a worker that exits may be reaped by anyone, and its PID reused).
# Noted again just before the TERM below (a worker respawned meanwhile
# counts too). Whatever is left at exit is stopped, after the check.
procs=
note_procs() {
	local c
	procs="$procs $(oa_ident "$lpid")"
	for c in $(oa_children "$lpid"); do
		procs="$procs $(oa_ident "$c")"
	done
}
note_procs
# lighttpd and at least one worker per program.
[ "$(wc -w <<<"$procs")" -ge 5 ] || oa_die "lighttpd $lpid runs too few FastCGI workers: $procs"
# demo_programs: the PIDs:STARTTIMEs of every live process running one of
# the programs of OA_BUILD with the demo's config (wherever it was
# reparented to).
demo_programs() {
	local s p e
	for s in /proc/[0-9]*; do
		p=${s#/proc/}
		for e in login callback token jwks; do
			[ "$s/exe" -ef "$OA_BUILD/cgi-bin/$e.fcgi" ] || continue
			grep -qzxF "OWNAUTH_CONF=$OA_TMP/demo/ownauth.conf" \
			    "$s/environ" 2>/dev/null && oa_alive "$p" && oa_ident "$p"
			break
		done
	done
	return 0
}
# (expanded at exit)
# shellcheck disable=SC2016
oa_on_exit 'oa_stop_ids $procs $(demo_programs)'
check "demo.sh printed the Convex auth.config.ts" grep -q 'applicationID: "demo"' "$OA_TMP/demo.out"

http GET "$base/"
expect_eq "the demo page at /" "$HTTP_STATUS" 200
http GET "$base/ownauth.js"
expect_match "ownauth.js served as JavaScript" "$(hdr Content-Type)" '^(text|application)/javascript'

if node "$E2E/browser.mjs" --base "$base" --out "$OUT" </dev/null; then
	ok "sign-in, refresh, two tabs, sign-out in Chromium against the real programs"
else
	fail "sign-in, refresh, two tabs, sign-out in Chromium against the real programs (see above)"
	sed 's/^/# lighttpd: /' "$OA_TMP/demo/run/error.log" | tail -n 30
fi
check "screenshot tests/out/signed-in.png" test -s "$OUT/signed-in.png"

# TERM to demo.sh (what Ctrl-C amounts to) stops lighttpd and the workers.
note_procs
kill -TERM "$demo"
deadline=$((SECONDS + 15))
while oa_alive "$demo" && [ "$SECONDS" -lt "$deadline" ]; do
	sleep 0.05
done
check "demo.sh exits on TERM" test "$(oa_alive "$demo" && echo alive)" = ""
left=
for id in $procs $(demo_programs); do
	oa_running "$id" || continue
	case " $left " in *" ${id%%:*}("*) continue ;; esac
	left="$left ${id%%:*}($(cat "/proc/${id%%:*}/comm" 2>/dev/null))"
done
expect_eq "demo.sh stopped lighttpd and its FastCGI workers" "$left" ""
[ -z "$left" ] || sed 's/^/# demo: /' "$OA_TMP/demo.out" | tail -n 5
oa_done
