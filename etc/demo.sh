#!/usr/bin/env bash
# etc/demo.sh - what `make demo` runs once the tree is built (SPEC §10):
# a demo instance under demo/ served by lighttpd + FastCGI on
# http://127.0.0.1:8080, with the demo page (www/) at / and the ownauth
# programs at the URLs of SPEC §2. Ctrl-C stops everything it started.
#
#   etc/demo.sh [--port N] [--dir DIR] [--build DIR] [--www DIR]
#
#   --port   listen on 127.0.0.1:N (default 8080); the issuer is
#            http://127.0.0.1:N
#   --dir    the instance (default: demo/ in the source tree): config,
#            keys, database. Made by `ownauth init` when it has no
#            ownauth.conf yet, reused as it is otherwise (idempotent).
#   --build  where cgi-bin/*.fcgi and bin/ownauth are (default: the source
#            tree, where `make` puts them; also $OA_BUILD)
#   --www    the document root (default: www/ of the source tree)
#
# Runs as root or not: lighttpd and its FastCGI workers run as the user
# who runs this script (it sets no server.username), so the 0600 config
# and keys made by init are readable by them, and the socket directory
# demo/run is theirs (lighttpd must be able to create sockets in it).
#
# The generated lighttpd config is demo/run/lighttpd.conf; lighttpd writes
# its PID to demo/run/lighttpd.pid and its errors (and the programs'
# log lines) to demo/run/error.log. On INT or TERM the script stops
# lighttpd by PID, then every FastCGI worker lighttpd had started (by
# PID: a worker may outlive its parent), and exits.
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
port=8080
dir=$src/demo
build=${OA_BUILD:-$src}
www=$src/www
LIGHTTPD=${LIGHTTPD:-/usr/sbin/lighttpd}

die() {
	printf 'demo: %s\n' "$*" >&2
	exit 1
}

while [ $# -gt 0 ]; do
	case $1 in
	--port) port=${2:?}; shift ;;
	--dir) dir=${2:?}; shift ;;
	--build) build=${2:?}; shift ;;
	--www) www=${2:?}; shift ;;
	-h | --help) sed -n '2,/^set -e/p' "$0" | sed 's/^# \{0,1\}//;/^set -e/d'; exit 0 ;;
	*) die "unknown argument: $1 (see --help)" ;;
	esac
	shift
done
case $port in
'' | *[!0-9]*) die "--port wants a number, not '$port'" ;;
esac
build=$(cd "$build" && pwd) || die "no build directory $build"
www=$(cd "$www" && pwd) || die "no document root $www"
issuer="http://127.0.0.1:$port"

cli=$build/bin/ownauth
missing=()
for f in "$cli" "$build"/cgi-bin/{login,callback,token,jwks}.fcgi; do
	[ -x "$f" ] || missing+=("$f")
done
[ ${#missing[@]} -eq 0 ] || die "not built: ${missing[*]} (run make first)"
[ -x "$LIGHTTPD" ] || die "no lighttpd at $LIGHTTPD (apt-get install lighttpd)"

# --- the instance ----------------------------------------------------------

conf=$dir/ownauth.conf
if [ -f "$conf" ]; then
	have=$(sed -n 's/^[ \t]*issuer[ \t]*=[ \t]*\([^ \t#]*\).*/\1/p' "$conf" | head -n 1)
	[ "$have" = "$issuer" ] ||
		die "$dir was made for issuer '$have', not $issuer: use --port ${have##*:} or remove $dir"
	echo "demo: reusing $dir"
else
	# For a loopback issuer, init adds the dev provider (a sign-in form
	# that takes any email and name) to the config.
	"$cli" init --issuer "$issuer" --dir "$dir" --client demo \
	    --redirect-uri "$issuer/" >/dev/null ||
		die "ownauth init --issuer $issuer --dir $dir failed"
	echo "demo: created $dir (config, keys, database; client 'demo', provider 'dev')"
fi
dir=$(cd "$dir" && pwd)
conf=$dir/ownauth.conf
OWNAUTH_CONF=$conf "$cli" check >/dev/null || {
	OWNAUTH_CONF=$conf "$cli" check || true
	die "ownauth check failed for $conf"
}

# --- lighttpd --------------------------------------------------------------

run=$dir/run
mkdir -p "$run"
chmod 0700 "$run"
rm -f "$run"/*.sock "$run"/*.sock-* "$run/lighttpd.pid"

if command -v ss >/dev/null 2>&1 &&
    ss -Htln 2>/dev/null | awk '{print $4}' | grep -Eq "^(127\.0\.0\.1|0\.0\.0\.0|\*|\[::\]):$port\$"; then
	die "something already listens on port $port (stop it, or use --port N)"
fi

# fcgi NAME PROCS: one FastCGI backend, spawned by lighttpd. The URL
# prefix /cgi-bin/NAME.fcgi has no trailing slash, so lighttpd passes the
# rest of the path as PATH_INFO (the programs dispatch on its end).
fcgi() {
	cat <<EOF
	"/cgi-bin/$1.fcgi" => ((
		"bin-path" => "$build/cgi-bin/$1.fcgi",
		"socket" => "$run/$1.sock",
		"max-procs" => $2,
		"check-local" => "disable",
		"bin-environment" => ( "OWNAUTH_CONF" => "$conf" ),
	)),
EOF
}

cat >"$run/lighttpd.conf" <<EOF
# Written by etc/demo.sh for $issuer - regenerated at every start.
server.port = $port
server.bind = "127.0.0.1"
server.document-root = "$www"
server.errorlog = "$run/error.log"
server.pid-file = "$run/lighttpd.pid"
server.upload-dirs = ( "$run" )
server.modules += ( "mod_rewrite", "mod_fastcgi", "mod_setenv" )
index-file.names = ( "index.html" )
# Module scripts need a JavaScript MIME type.
mimetype.assign = ( ".html" => "text/html; charset=utf-8",
                    ".js" => "text/javascript; charset=utf-8",
                    ".mjs" => "text/javascript; charset=utf-8",
                    ".css" => "text/css; charset=utf-8",
                    ".json" => "application/json",
                    ".png" => "image/png", ".svg" => "image/svg+xml",
                    ".txt" => "text/plain; charset=utf-8" )
setenv.set-response-header = ( "X-Content-Type-Options" => "nosniff" )

# SPEC §2 URLs -> programs. lighttpd matches the raw request URI, query
# string included, hence the (\?.*)? carried along as \$N.
url.rewrite-once = (
	"^/oauth/([^/?]+)/callback/?(\?.*)?\$" => "/cgi-bin/callback.fcgi/\$1/callback\$2",
	"^/oauth/([^/?]+)/?(\?.*)?\$" => "/cgi-bin/login.fcgi/\$1\$2",
	"^/(token|revoke|logout|userinfo)/?(\?.*)?\$" => "/cgi-bin/token.fcgi/\$1\$2",
	"^/\.well-known/(jwks\.json|openid-configuration)(\?.*)?\$" => "/cgi-bin/jwks.fcgi/\$1\$2",
)
fastcgi.server = (
$(fcgi login 1)
$(fcgi callback 2)
$(fcgi token 2)
$(fcgi jwks 1)
)
EOF

"$LIGHTTPD" -tt -f "$run/lighttpd.conf" >"$run/configtest.out" 2>&1 || {
	cat "$run/configtest.out" >&2
	die "lighttpd rejects $run/lighttpd.conf"
}

# Process bookkeeping. Everything below reads /proc with bash builtins
# only, and none of it can fail under set -e: a process may vanish at any
# moment while /proc is scanned (a reading that fails is "gone"), and an
# error here must never end stop() half-way with lighttpd still running.
lpid=
lid=
stopped=0
# pstat PID: sets REPLY to the fields of /proc/PID/stat after "(comm) "
# (comm may hold spaces), state first; fails when PID is gone.
pstat() {
	local line
	{ read -r line <"/proc/$1/stat"; } 2>/dev/null || return 1
	REPLY=${line##*) }
}
alive() {
	pstat "$1" || return 1
	case ${REPLY%% *} in Z | X) return 1 ;; esac
}
# children PID: the PIDs of PID's children (the FastCGI workers).
children() {
	local s f
	for s in /proc/[0-9]*; do
		pstat "${s#/proc/}" || continue
		f=${REPLY#* }
		[ "${f%% *}" != "$1" ] || echo "${s#/proc/}"
	done
	return 0
}
# ident PID: PID:STARTTIME (field 22 of /proc/PID/stat, to tell a PID from
# its reuse); nothing when PID is gone.
ident() {
	local f
	pstat "$1" || return 0
	read -r -a f <<<"$REPLY"
	echo "$1:${f[19]}"
}
# running PID:STARTTIME: that very process is still alive.
running() {
	alive "${1%%:*}" && [ "$(ident "${1%%:*}")" = "$1" ]
}
# stop_all PID:STARTTIME...: TERM to each, then up to 5 s for all of them
# together, then KILL to any left (and up to 1 s more for those).
stop_all() {
	local id i n
	for id in "$@"; do
		running "$id" && kill -TERM "${id%%:*}" 2>/dev/null
	done
	for i in $(seq 1 120); do
		n=0
		for id in "$@"; do
			running "$id" && n=$((n + 1))
		done
		[ "$n" -gt 0 ] || return 0
		if [ "$i" = 100 ]; then
			for id in "$@"; do
				running "$id" && kill -KILL "${id%%:*}" 2>/dev/null
			done
		fi
		sleep 0.05
	done
	return 0
}
# The workers, as PID:STARTTIME, noted once lighttpd is up: a worker whose
# lighttpd has died is no longer its child but must be stopped too.
workers=()
note_workers() {
	local c id
	for c in $(children "$lpid"); do
		id=$(ident "$c")
		[ -z "$id" ] || workers+=("$id")
	done
	return 0
}
# stop: lighttpd first (it TERMs its workers; stopped first, it respawns
# none), then every worker it had - its children just before, and those
# noted at start (reparented once lighttpd is gone) - all at once, each
# by PID:STARTTIME. INT and TERM are ignored meanwhile (a second Ctrl-C
# must not end the script half-way) and errexit is off.
stop() {
	local c id procs=()
	[ "$stopped" = 1 ] && return 0
	trap '' INT TERM
	set +e
	# (a signal right after lighttpd's start may come before lid is set)
	[ -n "$lid" ] || [ -z "$lpid" ] || lid=$(ident "$lpid")
	if [ -n "$lid" ]; then
		if running "$lid"; then
			for c in $(children "$lpid"); do
				id=$(ident "$c")
				[ -z "$id" ] || procs+=("$id")
			done
		fi
		procs+=("${workers[@]}")
		stop_all "$lid"
		wait "$lpid" 2>/dev/null
		[ ${#procs[@]} -eq 0 ] || stop_all "${procs[@]}"
	fi
	stopped=1
	echo "demo: stopped"
}
trap 'stop; exit 130' INT
trap 'stop; exit 143' TERM
trap 'stop' EXIT

# -D: stays in the foreground (as our child); the workers are lighttpd's.
"$LIGHTTPD" -D -f "$run/lighttpd.conf" </dev/null >>"$run/error.log" 2>&1 &
lpid=$!
# Our child, but bash reaps it as soon as it exits: its PID could then be
# reused, hence PID:STARTTIME.
lid=$(ident "$lpid")

# Ready when discovery answers through lighttpd and jwks.fcgi (a poll with
# a deadline).
deadline=$((SECONDS + 20))
until curl -sf -o /dev/null --max-time 2 --noproxy '*' \
    "$issuer/.well-known/openid-configuration"; do
	if ! running "$lid"; then
		tail -n 20 "$run/error.log" >&2
		die "lighttpd exited at start (see $run/error.log)"
	fi
	[ "$SECONDS" -lt "$deadline" ] || {
		tail -n 20 "$run/error.log" >&2
		die "no answer from $issuer after 20 s (see $run/error.log)"
	}
	sleep 0.1
done

note_workers

cat <<EOF

ownauth demo: $issuer/
  config   $conf
  log      $run/error.log
  sign in with the 'dev' provider: any email and name.

Convex: put this in convex/auth.config.ts of an app whose client is 'demo'
(the demo page's client; add a [client NAME] for your app):

EOF
OWNAUTH_CONF=$conf "$cli" convex || true
printf '\nServing on %s/ (lighttpd PID %s) - Ctrl-C stops it.\n' "$issuer" "$lpid"

# A TERM to this script runs its trap. A Ctrl-C in the terminal reaches
# lighttpd too (same process group): it stops gracefully (status 0) and
# bash may then skip our INT trap, so the EXIT trap stops the workers.
rc=0
wait "$lpid" || rc=$?
lpid_rc=$rc
if [ "$lpid_rc" -ne 0 ] && [ "$stopped" = 0 ]; then
	echo "demo: lighttpd exited with status $lpid_rc (see $run/error.log)" >&2
	exit 1
fi
exit 0
