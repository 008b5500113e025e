# lib.sh - shared helpers for the integration scripts (bash; sourced).
#
#   . "$(dirname "$0")/lib.sh"
#   oa_setup "$@"            # OA_BUILD, OA_TMP, cleanup trap, tool checks
#   ...checks with ok / fail / expect_eq ...
#   oa_done                  # "N passed, N failed"; exit 1 on any failure
#
# Every process a script starts is stopped by PID at exit (oa_cleanup),
# every temporary file lives under $OA_TMP (removed at exit unless
# OA_KEEP=1). Servers listen on 127.0.0.1 only and are polled for
# readiness with a deadline, never waited for with a fixed sleep.

set -u -o pipefail

OA_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
OA_IT="$OA_SRC/tests/integration"
OA_PASS=0
OA_FAIL=0
OA_CLEANUP=()      # commands run in reverse order at exit
OA_NAME=$(basename "$0" .sh)

# Tests talk to 127.0.0.1 only: never through a proxy from the environment.
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
export no_proxy=127.0.0.1,localhost NO_PROXY=127.0.0.1,localhost

# --- results ---------------------------------------------------------------

ok() {
	OA_PASS=$((OA_PASS + 1))
	printf 'ok %d - %s\n' "$((OA_PASS + OA_FAIL))" "$*"
}

fail() {
	OA_FAIL=$((OA_FAIL + 1))
	printf 'not ok %d - %s\n' "$((OA_PASS + OA_FAIL))" "$*"
}

# check DESCRIPTION COMMAND...: ok when the command succeeds.
check() {
	local d=$1
	shift
	if "$@" >/dev/null; then ok "$d"; else fail "$d"; fi
}

# expect_eq DESCRIPTION GOT WANT
expect_eq() {
	if [ "$2" = "$3" ]; then
		ok "$1"
	else
		fail "$1: got '$2', want '$3'"
	fi
}

# expect_match DESCRIPTION GOT EXTENDED-REGEX
expect_match() {
	if printf '%s' "$2" | grep -Eq -- "$3"; then
		ok "$1"
	else
		fail "$1: '$2' does not match /$3/"
	fi
}

# oa_tally_checks: the quiet checks of the scripts that print only their
# failures and a count at the end (cli.sh, cli_store.sh), in place of ok
# and fail above. Sets nok=0 nfail=0 and defines:
#   fail MSG          "FAIL: MSG" on stderr, counted in nfail
#   pass              counted in nok
#   show              $T/out and $T/err, indented, on stderr
#   want DESC RC CMD...   runs CMD (output in $T/out and $T/err): passes
#                     when it exits RC (its exit code is left in $rc)
#   has FILE REGEX DESC / hasnt FILE REGEX DESC   grep -E in FILE
#   py DESC CODE ARGS...  a Python assertion ($PY -c CODE ARGS, exit 0 =
#                     pass; its output in $T/py.out)
# $T (the script's temp dir) and $PY are the caller's. The script ends
# with: echo "NAME: $nok checks passed, $nfail failed"; [ "$nfail" -eq 0 ]
oa_tally_checks() {
	nfail=0
	nok=0
	fail() {
		echo "FAIL: $*" >&2
		nfail=$((nfail + 1))
	}
	pass() {
		nok=$((nok + 1))
	}
	show() {
		sed 's/^/  | /' "$T/out" >&2
		sed 's/^/  ! /' "$T/err" >&2
	}
	want() {
		local desc=$1 rc_want=$2
		shift 2
		"$@" >"$T/out" 2>"$T/err"
		rc=$?
		if [ "$rc" -ne "$rc_want" ]; then
			fail "$desc: exit $rc, want $rc_want"
			show
		else
			pass
		fi
	}
	has() {
		if grep -Eq -- "$2" "$1"; then pass; else
			fail "$3: no /$2/ in $(basename "$1")"
			show
		fi
	}
	hasnt() {
		if grep -Eq -- "$2" "$1"; then
			fail "$3: /$2/ in $(basename "$1")"
			show
		else pass; fi
	}
	py() {
		local desc=$1
		shift
		if "$PY" -c "$@" >"$T/py.out" 2>&1; then pass; else
			fail "$desc"
			sed 's/^/  py| /' "$T/py.out" >&2
		fi
	}
}

# Stops everything, prints the count and exits (1 when anything failed).
oa_done() {
	echo "$OA_NAME: $OA_PASS passed, $OA_FAIL failed"
	[ "$OA_FAIL" -eq 0 ] && [ "$OA_PASS" -gt 0 ]
	exit $?
}

# Aborts the script: the failure counts, cleanup runs.
oa_die() {
	fail "$*"
	oa_done
}

# --- setup and cleanup -----------------------------------------------------

oa_on_exit() {
	OA_CLEANUP+=("$*")
}

oa_cleanup() {
	local i
	for ((i = ${#OA_CLEANUP[@]} - 1; i >= 0; i--)); do
		eval "${OA_CLEANUP[$i]}" || true
	done
	OA_CLEANUP=()
}

# oa_setup [BUILD_DIR]: the build dir comes from $1, else $OA_BUILD, else
# the source tree. Checks that the programs this suite needs exist.
oa_setup() {
	OA_BUILD=${1:-${OA_BUILD:-$OA_SRC}}
	OA_BUILD=$(cd "$OA_BUILD" && pwd) || {
		echo "$OA_NAME: no build dir '$OA_BUILD'" >&2
		exit 2
	}
	export OA_BUILD
	OA_CLI="$OA_BUILD/bin/ownauth"
	OA_JWKS="$OA_BUILD/cgi-bin/jwks.fcgi"
	OA_HELLO="$OA_BUILD/obj/t/hello"
	OA_TMP=$(mktemp -d "/tmp/oa-$OA_NAME.XXXXXX")
	chmod 700 "$OA_TMP"
	if [ "${OA_KEEP:-0}" = 1 ]; then
		oa_on_exit "echo '$OA_NAME: kept $OA_TMP'"
	else
		oa_on_exit "rm -rf '$OA_TMP'"
	fi
	trap 'oa_cleanup' EXIT
	trap 'echo "$OA_NAME: interrupted" >&2; exit 130' INT TERM
	echo "# $OA_NAME: build $OA_BUILD, temp $OA_TMP"
}

# oa_need FILE...: abort (as a failure) when a built program is missing.
oa_need() {
	local f
	for f in "$@"; do
		[ -x "$f" ] || oa_die "missing program $f (build it first: make all helpers)"
	done
}

# oa_need_cmd CMD...: abort when a tool is missing (install.sh --deps --test).
oa_need_cmd() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 ||
			oa_die "missing tool '$c' (run ./install.sh --deps --test)"
	done
}

# --- instances -------------------------------------------------------------

# oa_instance DIR ISSUER [ALG]: a fresh ownauth instance made by the real
# CLI (`ownauth init`); sets OA_CONF to its config file.
oa_instance() {
	local dir=$1 issuer=$2 alg=${3:-}
	local args=(init --issuer "$issuer" --dir "$dir")
	[ -n "$alg" ] && args+=(--alg "$alg")
	if ! "$OA_CLI" "${args[@]}" >"$OA_TMP/init.out" 2>&1; then
		cat "$OA_TMP/init.out"
		oa_die "ownauth ${args[*]} failed"
	fi
	OA_CONF="$dir/ownauth.conf"
	[ -f "$OA_CONF" ] || oa_die "ownauth init made no $OA_CONF"
}

# oa_conf_set CONF KEY VALUE: sets a top-level key (before any section),
# replacing an existing top-level line for it. Keeps the file's mode.
oa_conf_set() {
	local conf=$1 key=$2 value=$3
	awk -v k="$key" -v v="$value" '
		BEGIN { done = 0; insec = 0 }
		/^[ \t]*\[/ { if (!done) { print k " = " v; done = 1 } insec = 1 }
		!insec && $0 ~ "^[ \t]*" k "[ \t]*=" { next }
		{ print }
		END { if (!done) print k " = " v }
	' "$conf" >"$conf.new" && cat "$conf.new" >"$conf" && rm -f "$conf.new"
}

# oa_conf_add CONF TEXT: appends text (e.g. a [client NAME] section).
oa_conf_add() {
	printf '\n%s\n' "$2" >>"$1"
}

# oa_keys_dir CONF: the keys_dir of a config.
oa_keys_dir() {
	sed -n 's/^[ \t]*keys_dir[ \t]*=[ \t]*\([^ \t#]*\).*/\1/p' "$1" | head -n 1
}

# oa_kids DIR: the kids of the private keys in a keys dir, sorted, one a line.
oa_kids() {
	local f
	for f in "$1"/*.pem; do
		[ -e "$f" ] && basename "$f" .pem
	done | sort
}

# --- ports and HTTP --------------------------------------------------------

# oa_pick_port: a random TCP port on 127.0.0.1 no socket uses now, below
# the kernel's ephemeral range when it leaves room (clients' local ports,
# Chromium's and curl's included, come from that range: a server could
# not bind a port held by a connection).
oa_pick_port() {
	local p i lo=32768 hi=60999 base=20000 span=40000
	read -r lo hi </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null
	if [ "$lo" -ge 22000 ]; then
		span=$((lo - base))
	elif [ "$hi" -le 63000 ]; then
		base=$((hi + 1)) span=$((65535 - hi))
	fi
	for i in $(seq 1 50); do
		p=$((base + RANDOM % span))
		if ! ss -Htan 2>/dev/null | awk '{print $4}' | grep -Eq "[:.]$p\$"; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

# oa_pick_other PORT...: a free port (oa_pick_port) none of PORT... is:
# a server started on port 0 could be given a port picked for another
# server that has not bound it yet.
oa_pick_other() {
	local p i
	for i in $(seq 1 20); do
		p=$(oa_pick_port) || return 1
		case " $* " in *" $p "*) continue ;; esac
		echo "$p"
		return 0
	done
	return 1
}

# http METHOD URL [curl args...]: one request; writes the status code to
# $HTTP_STATUS, headers to $OA_TMP/h, body to $OA_TMP/b.
http() {
	local m=$1 u=$2
	shift 2
	rm -f "$OA_TMP/h" "$OA_TMP/b"
	: >"$OA_TMP/b"
	HTTP_STATUS=$(curl -s -g -X "$m" -D "$OA_TMP/h" -o "$OA_TMP/b" \
	    --max-time 20 -w '%{http_code}' "$@" "$u") || HTTP_STATUS=000
	HTTP_BODY=$(cat "$OA_TMP/b")
}

# hdr NAME: the value of a response header of the last http call
# (case-insensitive name; CR stripped; the last one when repeated).
hdr() {
	tr -d '\r' <"$OA_TMP/h" | grep -i "^$1:" | tail -n 1 |
	    sed 's/^[^:]*:[ \t]*//'
}

# hdr_count NAME: how many times the header occurs.
hdr_count() {
	tr -d '\r' <"$OA_TMP/h" | grep -ci "^$1:" || true
}

# --- lighttpd --------------------------------------------------------------

LIGHTTPD=${LIGHTTPD:-/usr/sbin/lighttpd}
# Words put before the lighttpd command (bench: "taskset -c 0"); the
# command execs lighttpd, so $! is still lighttpd's PID.
OA_LIGHTTPD_PREFIX=${OA_LIGHTTPD_PREFIX:-}

# oa_lighttpd_conf DIR PORT: writes the base config to stdout: 127.0.0.1,
# document root DIR/www (with ready.txt for the readiness poll), error
# log DIR/error.log. Append the lines of oa_lighttpd_fcgi / _cgi.
oa_lighttpd_conf() {
	local d=$1 port=$2
	mkdir -p "$d/www" "$d/tmp"
	echo ready >"$d/www/ready.txt"
	cat <<EOF
server.port = $port
server.bind = "127.0.0.1"
server.document-root = "$d/www"
server.errorlog = "$d/error.log"
server.upload-dirs = ( "$d/tmp" )
server.max-request-size = 64
server.modules += ( "mod_fastcgi", "mod_cgi", "mod_alias", "mod_setenv" )
mimetype.assign = ( ".txt" => "text/plain", ".json" => "application/json",
                    ".html" => "text/html" )
EOF
}

# oa_lighttpd_fcgi PREFIX PROG CONF SOCKET: PROG as a FastCGI worker
# (max-procs 1) for every URL under PREFIX (no trailing slash: lighttpd
# then sets PATH_INFO to the rest of the path), with OWNAUTH_CONF=CONF.
# The worker inherits lighttpd's environment (ASAN_OPTIONS...).
oa_lighttpd_fcgi() {
	cat <<EOF
fastcgi.server += ( "$1" => ((
	"bin-path" => "$2",
	"socket" => "$4",
	"max-procs" => 1,
	"check-local" => "disable",
	"bin-environment" => ( "OWNAUTH_CONF" => "$3" )
)) )
EOF
}

# oa_lighttpd_cgi PREFIX PROG CONF: PROG run as plain CGI (mod_cgi, one
# process per request) for every URL under PREFIX; PATH_INFO is the rest.
oa_lighttpd_cgi() {
	local env="\"OWNAUTH_CONF\" => \"$3\"" v
	for v in ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS; do
		[ -n "${!v:-}" ] && env="$env, \"$v\" => \"${!v}\""
	done
	cat <<EOF
alias.url += ( "$1" => "$2" )
\$HTTP["url"] =~ "^$1(/|\$)" {
	cgi.assign = ( "" => "" )
	setenv.set-environment = ( $env )
}
EOF
}

# By lighttpd PID: its PID:STARTTIME (bash reaps it when it exits, and
# its PID may then be reused) and its workers', noted once it answered.
declare -A OA_LIGHTTPD_ID=() OA_LIGHTTPD_WORKERS=()

# oa_lighttpd_start DIR PORT: starts lighttpd -D -f DIR/lighttpd.conf and
# polls http://127.0.0.1:PORT/ready.txt until it answers (10 s deadline).
# Sets LIGHTTPD_PID; registers the stop at exit.
oa_lighttpd_start() {
	local d=$1 port=$2 deadline c
	"$LIGHTTPD" -tt -f "$d/lighttpd.conf" >"$d/configtest.out" 2>&1 || {
		cat "$d/configtest.out"
		oa_die "lighttpd rejects $d/lighttpd.conf"
	}
	$OA_LIGHTTPD_PREFIX "$LIGHTTPD" -D -f "$d/lighttpd.conf" </dev/null >>"$d/stdout.log" 2>&1 &
	LIGHTTPD_PID=$!
	OA_LIGHTTPD_ID[$LIGHTTPD_PID]=$(oa_ident "$LIGHTTPD_PID")
	oa_on_exit "oa_lighttpd_stop $LIGHTTPD_PID '$d'"
	deadline=$((SECONDS + 10))
	while :; do
		if curl -s -o /dev/null --max-time 2 -f "http://127.0.0.1:$port/ready.txt"; then
			for c in $(oa_children "$LIGHTTPD_PID"); do
				OA_LIGHTTPD_WORKERS[$LIGHTTPD_PID]+=" $(oa_ident "$c")"
			done
			return 0
		fi
		if ! oa_alive "$LIGHTTPD_PID"; then
			oa_lighttpd_log "$d"
			oa_die "lighttpd exited at start (port $port)"
		fi
		[ "$SECONDS" -lt "$deadline" ] || {
			oa_lighttpd_log "$d"
			oa_die "lighttpd not ready on port $port after 10 s"
		}
		sleep 0.05
	done
}

oa_lighttpd_log() {
	echo "# --- $1/error.log"
	sed 's/^/# /' "$1/error.log" "$1/stdout.log" 2>/dev/null | tail -n 40
}

# oa_children PID: the PIDs of PID's child processes (the comm field of
# /proc/N/stat may hold spaces: fields are counted after its ')').
oa_children() {
	cat /proc/[0-9]*/stat 2>/dev/null |
	    awk -v p="$1" '{ pid = $1; sub(/^.*\) /, ""); if ($2 == p) print pid }'
	# (cat fails when a process vanished during the scan: no matter)
	return 0
}

# oa_worker LIGHTTPD_PID PROG: the PID of lighttpd's child running PROG.
oa_worker() {
	local c
	for c in $(oa_children "$1"); do
		if [ "$(readlink "/proc/$c/exe" 2>/dev/null)" = "$2" ]; then
			echo "$c"
			return 0
		fi
	done
	return 1
}

# oa_alive PID: the process exists and is not a zombie (an orphan's zombie
# may linger where PID 1 does not reap).
oa_alive() {
	local st
	st=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$st" ] && [ "$st" != Z ]
}

# oa_stop_pid PID: SIGTERM, wait up to 5 s, then SIGKILL (and up to 1 s
# more for it to be gone).
oa_stop_pid() {
	local i
	oa_alive "$1" || return 0
	kill -TERM "$1" 2>/dev/null || return 0
	for i in $(seq 1 120); do
		oa_alive "$1" || return 0
		[ "$i" = 100 ] && kill -KILL "$1" 2>/dev/null
		sleep 0.05
	done
	return 0
}

# oa_node_start NAME SCRIPT ARGS...: starts `node SCRIPT ARGS...` (a server
# that prints "READY PORT" on stdout once listening, like tests/upstream/*)
# with its stdout in $OA_TMP/NAME.out and stderr in $OA_TMP/NAME.log,
# stopped at exit; waits for the READY line (20 s deadline). Sets
# NODE_PORT and NODE_PID. Dies (its log shown) when it exits first or is
# not ready in time.
oa_node_start() {
	local name=$1 script=$2 deadline
	shift 2
	node "$script" "$@" >"$OA_TMP/$name.out" 2>"$OA_TMP/$name.log" &
	NODE_PID=$!
	oa_on_exit "oa_stop_pid $NODE_PID"
	deadline=$((SECONDS + 20))
	while ! grep -q '^READY [0-9]' "$OA_TMP/$name.out" 2>/dev/null; do
		oa_alive "$NODE_PID" || { cat "$OA_TMP/$name.log"; oa_die "$script exited at start"; }
		[ "$SECONDS" -lt "$deadline" ] || oa_die "$script not ready after 20 s"
		sleep 0.05
	done
	NODE_PORT=$(sed -n 's/^READY \([0-9]*\)$/\1/p' "$OA_TMP/$name.out" | head -n 1)
}

# oa_ident PID: PID:STARTTIME (field 22 of /proc/PID/stat), which tells a
# process from a later one given the same PID (a process that is not our
# child, e.g. a FastCGI worker, may be reaped by anyone once it exits);
# prints nothing when PID is gone.
oa_ident() {
	local line f
	{ read -r line <"/proc/$1/stat"; } 2>/dev/null || return 0
	read -r -a f <<<"${line##*) }"
	echo "$1:${f[19]}"
}

# oa_running PID:STARTTIME: that very process is alive (not a zombie).
oa_running() {
	oa_alive "${1%%:*}" && [ "$(oa_ident "${1%%:*}")" = "$1" ]
}

# oa_stop_ids PID:STARTTIME...: stops each process that is still the one
# noted: SIGTERM to all, up to 5 s for all of them together, then SIGKILL
# (and up to 1 s more).
oa_stop_ids() {
	local id i n
	for id in "$@"; do
		oa_running "$id" && kill -TERM "${id%%:*}" 2>/dev/null
	done
	for i in $(seq 1 120); do
		n=0
		for id in "$@"; do
			oa_running "$id" && n=$((n + 1))
		done
		[ "$n" -gt 0 ] || return 0
		if [ "$i" = 100 ]; then
			for id in "$@"; do
				oa_running "$id" && kill -KILL "${id%%:*}" 2>/dev/null
			done
		fi
		sleep 0.05
	done
	return 0
}

# oa_lighttpd_stop PID [DIR]: stops lighttpd, then any FastCGI worker it
# left behind - its children just before, and those noted when it became
# ready (oa_lighttpd_start: reparented if lighttpd died earlier) - each by
# PID:STARTTIME.
oa_lighttpd_stop() {
	local pid=$1 id ids c
	id=${OA_LIGHTTPD_ID[$pid]:-$(oa_ident "$pid")}
	ids=${OA_LIGHTTPD_WORKERS[$pid]:-}
	if [ -n "$id" ] && oa_running "$id"; then
		for c in $(oa_children "$pid"); do
			ids="$ids $(oa_ident "$c")"
		done
		oa_stop_ids "$id"
	fi
	wait "$pid" 2>/dev/null
	# shellcheck disable=SC2086
	oa_stop_ids $ids
	return 0
}

# cgi_run CONF METHOD PATH_INFO PROG [VAR=VALUE...]: runs PROG by hand as
# plain CGI in a clean environment (plus sanitizer options). Writes the
# whole response to $OA_TMP/cgi.out, stderr to $OA_TMP/cgi.err, the exit
# code to $CGI_RC, the Status line's code to $CGI_STATUS.
cgi_run() {
	local conf=$1 method=$2 pi=$3 prog=$4 v
	shift 4
	local envs=(OWNAUTH_CONF="$conf" REQUEST_METHOD="$method" PATH_INFO="$pi"
	    GATEWAY_INTERFACE=CGI/1.1 SERVER_PROTOCOL=HTTP/1.1
	    SCRIPT_NAME=/jwks SERVER_NAME=127.0.0.1 SERVER_PORT=80
	    REMOTE_ADDR=127.0.0.1 QUERY_STRING=)
	for v in ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS; do
		[ -n "${!v:-}" ] && envs+=("$v=${!v}")
	done
	env -i "${envs[@]}" "$@" "$prog" </dev/null >"$OA_TMP/cgi.out" 2>"$OA_TMP/cgi.err"
	CGI_RC=$?
	CGI_STATUS=$(head -n 1 "$OA_TMP/cgi.out" | tr -d '\r' |
	    sed -n 's/^Status: \([0-9][0-9][0-9]\)\( .*\)\{0,1\}$/\1/p')
}

# cgi_body: the body of the last cgi_run (after the first empty line).
cgi_body() {
	awk 'body { print; next } /^\r?$/ { body = 1 }' "$OA_TMP/cgi.out"
}

# cgi_hdr NAME: a header of the last cgi_run.
cgi_hdr() {
	awk '/^\r?$/ { exit } { print }' "$OA_TMP/cgi.out" | tr -d '\r' |
	    grep -i "^$1:" | tail -n 1 | sed 's/^[^:]*:[ \t]*//'
}
