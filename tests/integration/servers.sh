#!/usr/bin/env bash
# servers.sh BUILD_DIR - the four programs under every supported web
# server, configured with the shipped snippets of etc/ (SPEC §1, §2):
#
#   lighttpd + mod_fastcgi           etc/lighttpd.conf (included as is,
#                                    its three variables set)
#   Apache 2.4 + mod_fcgid           etc/apache-fcgid.conf
#   Apache 2.4 + mod_cgi, .htaccess  etc/htaccess as the document root's
#                                    .htaccess (AllowOverride FileInfo
#                                    Options=ExecCGI,Indexes only)
#   nginx + spawn-fcgi               etc/nginx.conf, and the spawn-fcgi
#                                    commands of its header, run as written
#   Apache, no rewrites              /cgi-bin/jwks.fcgi/jwks.json (the
#                                    "Without URL rewriting" part of
#                                    etc/htaccess)
#
# Each snippet is made concrete by replacing only what a user edits
# (paths, host, port, users); a check fails when an example path is left,
# so a changed snippet cannot go untested. The base server configs around
# them are templates in tests/integration/servers/*.in. Each server is a
# private instance on 127.0.0.1 with its own directory, port, PID file
# and logs (the system's services are never touched), and a fresh
# ownauth instance (`ownauth init --client web`, loopback issuer: the dev
# provider).
#
# As root the servers run as in production: lighttpd, Apache and nginx
# drop to www-data, which owns the instances (the programs refuse files
# readable by group or others), the lighttpd socket directory and
# FcgidIPCDir; under nginx the programs run as a user of their own
# (nobody here, "ownauth" in the snippet) with sockets nginx reaches
# through its group. Not as root, everything runs as the caller.
#
# Through each server, tests/integration/servers/flow.mjs (Node fetch +
# jose): discovery and JWKS, the sign-in with the dev provider (authorize
# -> dev form -> POST to the callback with the login cookie -> 302 to the
# redirect URI with code, state and iss), the code exchange, both tokens
# verified by jose against the served JWKS, /userinfo (the Authorization
# header must reach the program), a refresh (a different access token),
# /revoke. Without rewrites: a token minted by the CLI verifies with
# createRemoteJWKSet on the cgi-bin JWKS URL (Convex customJwt), and
# through discovery at {issuer}/.well-known/openid-configuration with the
# issuer .../cgi-bin/jwks.fcgi (Convex OIDC). Each server is then stopped
# by PID, with every process it started (fcgid processes, spawn-fcgi's
# programs by their PID files), and no program may be left running.
. "$(dirname "$0")/lib.sh"
oa_setup "$@"
SRV=$OA_IT/servers
ETC=${OA_ETC:-$OA_SRC/etc}   # OA_ETC: other snippets (to test the tests)
APACHE=${APACHE:-/usr/sbin/apache2}
NGINX=${NGINX:-/usr/sbin/nginx}
AMOD=/usr/lib/apache2/modules
PROGS=(login callback token jwks)
oa_need "$OA_CLI"
for p in "${PROGS[@]}"; do
	oa_need "$OA_BUILD/cgi-bin/$p.fcgi"
done
oa_need_cmd curl jq node runuser "$LIGHTTPD" "$APACHE" "$NGINX" spawn-fcgi
[ -f "$AMOD/mod_fcgid.so" ] || oa_die "no $AMOD/mod_fcgid.so (./install.sh --deps --test)"
[ -d "$OA_SRC/tests/node_modules/jose" ] || oa_die "no jose in tests/node_modules (./install.sh --deps --test)"

WEB=     # the servers' user
PROG=    # the programs' own user under spawn-fcgi
if [ "$(id -u)" = 0 ]; then
	WEB=www-data
	PROG=nobody
	id "$WEB" >/dev/null 2>&1 && id "$PROG" >/dev/null 2>&1 ||
		oa_die "no users $WEB and $PROG"
fi
# The servers' user must reach the directories below.
chmod 711 "$OA_TMP"
# The CLI where the servers' user can run it.
CLI=$OA_TMP/cli/ownauth
mkdir -p "$OA_TMP/cli"
chmod 755 "$OA_TMP/cli"
install -m 0755 "$OA_CLI" "$CLI"

SAN=()
for v in ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS; do
	[ -n "${!v:-}" ] && SAN+=("$v=${!v}")
done

# --- helpers -----------------------------------------------------------------

# tmpl FILE [NAME=VALUE...]: FILE with each @NAME@ replaced by VALUE.
tmpl() {
	local t kv
	t=$(cat "$1") || oa_die "no template $1" >&2
	shift
	for kv in "$@"; do
		t=${t//"@${kv%%=*}@"/"${kv#*=}"}
	done
	if grep -q '@[A-Z0-9_]*@' <<<"$t"; then
		oa_die "$1: placeholder left: $(grep -o '@[A-Z0-9_]*@' <<<"$t" | head -n 1)" >&2
	fi
	printf '%s\n' "$t"
}

# concrete NAME FILE: the snippet made concrete keeps none of the example
# paths, hosts or users a user edits (comments aside).
concrete() {
	local left
	left=$(grep -v '^[[:space:]]*#' "$2" | grep -nE \
	    '/usr/local/lib/ownauth|/etc/ownauth|/run/ownauth|/run/lighttpd|/var/lib/apache2|/home/me|example\.com|[-][ouU] ownauth')
	if [ -n "$left" ]; then
		fail "$1: example values left in $2: $left"
	else
		ok "$1: $(basename "$2") made concrete"
	fi
}

# newdir NAME: D (0711), a free PORT, BASE.
newdir() {
	D=$OA_TMP/$1
	mkdir -p "$D"
	chmod 711 "$D"
	PORT=$(oa_pick_port) || oa_die "no free port"
	BASE=http://127.0.0.1:$PORT
}

# copy_progs DIR: the four programs, 0755 (where the server's user can
# run them whatever the build directory's modes).
copy_progs() {
	local p
	mkdir -p "$1"
	chmod 755 "$1"
	for p in "${PROGS[@]}"; do
		install -m 0755 "$OA_BUILD/cgi-bin/$p.fcgi" "$1/$p.fcgi"
	done
}

# instance DIR ISSUER REDIRECT: `ownauth init` with the client web; sets CONF.
instance() {
	"$OA_CLI" init --issuer "$2" --dir "$1" --client web --redirect-uri "$3" \
	    >"$1.init.out" 2>&1 || { cat "$1.init.out"; oa_die "ownauth init --issuer $2 failed"; }
	CONF=$1/ownauth.conf
	[ -f "$CONF" ] || oa_die "ownauth init made no $CONF"
}

# as_user USER COMMAND...: runs COMMAND as USER (as root), else as the caller.
as_user() {
	local u=$1
	shift
	if [ -n "$u" ]; then
		runuser -u "$u" -- "$@"
	else
		"$@"
	fi
}

# own USER PATH...: chown -R when running as root.
own() {
	local u=$1
	shift
	[ -z "$u" ] || chown -R "$u:" "$@"
}

# descendants PID: every process below PID (children first-level, then theirs).
descendants() {
	local c
	for c in $(oa_children "$1"); do
		echo "$c"
		descendants "$c"
	done
}

# ours DIR: the PIDs of live processes whose executable is under DIR.
ours() {
	local p e
	for p in /proc/[0-9]*; do
		e=$(readlink "$p/exe" 2>/dev/null) || continue
		case $e in "$1"/*) oa_alive "${p#/proc/}" && echo "${p#/proc/}" ;; esac
	done
	return 0
}

# user_of PID: the user name the process runs as.
user_of() {
	stat -c %U "/proc/$1" 2>/dev/null
}

# show_log LOG: the end of a server's error log and of its stdout.log.
show_log() {
	local f
	for f in "$1" "$(dirname "$1")/stdout.log"; do
		[ -s "$f" ] || continue
		echo "# --- $f"
		tail -n 30 "$f" | sed 's/^/# /'
	done
}

# wait_ready NAME URL PID LOG: polls URL (20 s deadline) while PID lives.
wait_ready() {
	local deadline=$((SECONDS + 20))
	until curl -s -f -o /dev/null --max-time 5 "$2"; do
		if ! oa_alive "$3"; then
			show_log "$4"
			fail "$1: the server exited at start"
			return 1
		fi
		if [ "$SECONDS" -ge "$deadline" ]; then
			show_log "$4"
			fail "$1: $2 not answering after 20 s"
			return 1
		fi
		sleep 0.05
	done
	ok "$1: up, $2 answers"
}

# run_flow NAME LOG flow.mjs-ARGS...: counts flow.mjs's lines as checks.
run_flow() {
	local name=$1 log=$2 r d finished=0 before=$OA_FAIL
	shift 2
	node "$SRV/flow.mjs" "$@" >"$OA_TMP/flow.out" 2>"$OA_TMP/flow.err"
	while IFS=$'\t' read -r r d; do
		case $r in
		ok) ok "$name: $d" ;;
		fail) fail "$name: $d" ;;
		done) finished=1 ;;
		esac
	done <"$OA_TMP/flow.out"
	if [ "$finished" != 1 ]; then
		sed 's/^/# /' "$OA_TMP/flow.err" | tail -n 20
		fail "$name: flow.mjs did not finish"
	fi
	[ "$OA_FAIL" -eq "$before" ] || show_log "$log"
}

# not_a_file NAME URL: the program's URL runs it, never serves its bytes.
not_a_file() {
	http GET "$2"
	if [ "$(head -c 4 "$OA_TMP/b" | tail -c 3)" = ELF ]; then
		fail "$1: $2 serves the program file"
	else
		ok "$1: $2 does not serve the program file ($HTTP_STATUS)"
	fi
}

# routes NAME: the snippet's rules beyond the flow: a trailing slash, a
# query string on the JWKS URL, /logout, an unmapped path.
routes() {
	http POST "$BASE/token/" --data-urlencode grant_type=bogus
	expect_eq "$1: POST /token/ reaches token.fcgi" \
	    "$HTTP_STATUS $(jq -r .error "$OA_TMP/b" 2>/dev/null)" "400 unsupported_grant_type"
	http GET "$BASE/.well-known/jwks.json?x=1"
	expect_eq "$1: the JWKS URL with a query string" \
	    "$HTTP_STATUS $(jq -r '.keys | length > 0' "$OA_TMP/b" 2>/dev/null)" "200 true"
	http GET "$BASE/logout"
	expect_eq "$1: GET /logout reaches token.fcgi (its page)" \
	    "$HTTP_STATUS $(hdr Content-Type)" "200 text/html; charset=utf-8"
	http GET "$BASE/oauth/dev/extra/path"
	expect_eq "$1: an unmapped path under /oauth: 404" "$HTTP_STATUS" 404
}

# runs_as NAME PROGRAM USER: a running PROGRAM process runs as USER.
runs_as() {
	local p
	[ -n "$3" ] || return 0
	p=$(ours "$(dirname "$2")" | while read -r x; do
		[ "$(readlink "/proc/$x/exe")" = "$2" ] && echo "$x"
	done | head -n 1)
	if [ -z "$p" ]; then
		fail "$1: no $(basename "$2") process running"
	else
		expect_eq "$1: $(basename "$2") runs as $3" "$(user_of "$p")" "$3"
	fi
}

# stop_server NAME PID DIR: stops the server by PID, then whatever it had
# started that is still there (by PID: the server's own processes, and
# any program under DIR); no program may be left running.
stop_server() {
	local name=$1 pid=$2 dir=$3 kids c e left
	kids=$(descendants "$pid")
	oa_stop_pid "$pid"
	wait "$pid" 2>/dev/null
	for c in $kids; do
		e=$(readlink "/proc/$c/exe" 2>/dev/null) || continue
		case $e in "$dir"/* | "$LIGHTTPD" | "$APACHE" | "$NGINX") oa_stop_pid "$c" ;; esac
	done
	left=$(ours "$dir" | tr '\n' ' ')
	expect_eq "$name: stopped, no program left running" "$left" ""
	for c in $left; do
		oa_stop_pid "$c"
	done
}

# san_clean NAME DIR: no sanitizer report among the programs' log lines
# (their stderr: Apache's error log, lighttpd's own stderr; not under
# spawn-fcgi, which points it at /dev/null).
san_clean() {
	local hits
	hits=$(cat "$2/error.log" "$2/stdout.log" 2>/dev/null |
	    grep -E 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' | head -n 5)
	if [ -n "$hits" ]; then
		printf '%s\n' "$hits" | sed 's/^/# /'
		fail "$1: sanitizer reports in the programs' log lines"
	else
		ok "$1: no sanitizer report in the programs' log lines"
	fi
}

# At exit (after the servers' own stops): any program of ours still running.
stop_all_ours() {
	local c
	for c in $(ours "$OA_TMP"); do
		oa_stop_pid "$c"
	done
}
oa_on_exit stop_all_ours

# --- lighttpd + mod_fastcgi ----------------------------------------------------

newdir lighttpd
copy_progs "$D/bin"
instance "$D/inst" "$BASE" "$BASE/app/cb"
mkdir -p "$D/www" "$D/run"
chmod 700 "$D/run"
# lighttpd opens its error log after it dropped root (a system's
# /var/log/lighttpd belongs to www-data).
: >"$D/error.log"
own "$WEB" "$D/inst" "$D/run" "$D/error.log"
sed -e "s|^var\.ownauth_bin .*|var.ownauth_bin = \"$D/bin\"|" \
    -e "s|^var\.ownauth_conf .*|var.ownauth_conf = \"$CONF\"|" \
    -e "s|^var\.ownauth_run .*|var.ownauth_run = \"$D/run\"|" \
    "$ETC/lighttpd.conf" >"$D/site.conf"
concrete lighttpd "$D/site.conf"
users=
[ -n "$WEB" ] && users="server.username = \"$WEB\"
server.groupname = \"$WEB\""
tmpl "$SRV/lighttpd.conf.in" D="$D" PORT="$PORT" USERLINES="$users" >"$D/lighttpd.conf"
if ! "$LIGHTTPD" -tt -f "$D/lighttpd.conf" >"$D/configtest.log" 2>&1; then
	sed 's/^/# /' "$D/configtest.log"
	fail "lighttpd: lighttpd -tt rejects the config"
else
	ok "lighttpd: lighttpd -tt accepts etc/lighttpd.conf"
	"$LIGHTTPD" -D -f "$D/lighttpd.conf" </dev/null >"$D/stdout.log" 2>&1 &
	pid=$!
	oa_on_exit "oa_lighttpd_stop $pid"
	if wait_ready lighttpd "$BASE/.well-known/jwks.json" "$pid" "$D/error.log"; then
		runs_as lighttpd "$D/bin/token.fcgi" "$WEB"
		run_flow lighttpd "$D/error.log" flow "$BASE" web "$BASE/app/cb"
		not_a_file lighttpd "$BASE/ownauth-bin/jwks.fcgi"
		routes lighttpd
		# A key made as the snippets say (the CLI run as the workers'
		# user) is published by the running workers, no restart.
		if as_user "$WEB" "$CLI" -c "$CONF" keys new >"$D/keys-new.out" 2>&1; then
			deadline=$((SECONDS + 10))
			while :; do
				http GET "$BASE/.well-known/jwks.json"
				n=$(jq '.keys | length' "$OA_TMP/b" 2>/dev/null)
				[ "$n" = 2 ] || [ "$SECONDS" -ge "$deadline" ] && break
				sleep 0.1
			done
			expect_eq "lighttpd: a new key (ownauth keys new as ${WEB:-the caller}) in the running workers' JWKS" "$n" 2
		else
			sed 's/^/# /' "$D/keys-new.out"
			fail "lighttpd: ownauth keys new as the workers' user"
		fi
	fi
	stop_server lighttpd "$pid" "$D/bin"
	san_clean lighttpd "$D"
fi

# --- Apache ----------------------------------------------------------------------

# apache_run NAME URL: checks and starts $D/httpd.conf in the foreground,
# waits for URL; sets APID (empty when it did not start).
apache_run() {
	APID=
	if ! "$APACHE" -t -f "$D/httpd.conf" >"$D/configtest.log" 2>&1; then
		sed 's/^/# /' "$D/configtest.log"
		fail "$1: apache2 -t rejects the config"
		return 1
	fi
	ok "$1: apache2 -t accepts the config"
	# NO_DETACH, not FOREGROUND: the same single process, but in a session
	# of its own. With FOREGROUND it stays in this script's process group,
	# and prefork's stop sends SIGTERM to that whole group - this script too.
	"$APACHE" -f "$D/httpd.conf" -D NO_DETACH </dev/null >"$D/stdout.log" 2>&1 &
	APID=$!
	oa_on_exit "oa_stop_pid $APID"
	wait_ready "$1" "$2" "$APID" "$D/error.log"
}

apache_users=
[ -n "$WEB" ] && apache_users="User $WEB
Group $WEB"

# --- Apache + mod_fcgid
newdir apache-fcgid
copy_progs "$D/bin"
instance "$D/inst" "$BASE" "$BASE/app/cb"
mkdir -p "$D/www" "$D/fcgid" "$D/httpd-run"
own "$WEB" "$D/inst" "$D/fcgid"
sed -e "s|/var/lib/apache2/fcgid/sock|$D/fcgid|" \
    -e "s|/etc/ownauth/ownauth.conf|$CONF|" \
    -e "s|/usr/local/lib/ownauth/cgi-bin|$D/bin|g" \
    -e "s|<VirtualHost \*:80>|<VirtualHost *:$PORT>|" \
    -e "s|ServerName auth\.example\.com|ServerName 127.0.0.1|" \
    "$ETC/apache-fcgid.conf" >"$D/site.conf"
concrete apache-fcgid "$D/site.conf"
{
	tmpl "$SRV/apache.conf.in" D="$D" PORT="$PORT" MPM=event HANDLER=fcgid \
	    USERLINES="$apache_users"
	for v in "${SAN[@]}"; do
		echo "FcgidInitialEnv ${v%%=*} ${v#*=}"
	done
	cat "$D/site.conf"
} >"$D/httpd.conf"
if apache_run apache-fcgid "$BASE/.well-known/jwks.json"; then
	runs_as apache-fcgid "$D/bin/jwks.fcgi" "$WEB"
	run_flow apache-fcgid "$D/error.log" flow "$BASE" web "$BASE/app/cb"
	not_a_file apache-fcgid "$BASE/ownauth-bin/jwks.fcgi"
	routes apache-fcgid
fi
if [ -n "$APID" ]; then
	stop_server apache-fcgid "$APID" "$D/bin"
	san_clean apache-fcgid "$D"
fi

# --- Apache + mod_cgi + .htaccess, and a host without rewrites
newdir apache-cgi
PORT2=$PORT
while [ "$PORT2" = "$PORT" ]; do
	PORT2=$(oa_pick_port) || oa_die "no free port"
done
BASE2=http://127.0.0.1:$PORT2
mkdir -p "$D/www" "$D/nr/www" "$D/httpd-run"
chmod 755 "$D/www" "$D/nr" "$D/nr/www"
copy_progs "$D/www/cgi-bin"
copy_progs "$D/nr/cgi-bin"
instance "$D/inst" "$BASE" "$BASE/app/cb"
sed -e "s|^SetEnv OWNAUTH_CONF .*|SetEnv OWNAUTH_CONF $CONF|" "$ETC/htaccess" >"$D/www/.htaccess"
concrete apache-cgi "$D/www/.htaccess"
check "apache-cgi: etc/htaccess has no root-only directive" \
    test -z "$(grep -v '^[[:space:]]*#' "$D/www/.htaccess" |
    grep -Ei '^[[:space:]]*<?(ScriptAlias|Alias|AllowOverride|<Directory|<VirtualHost|Listen|User|Group|LoadModule|Fcgid|CGIPassAuth)')"
own "$WEB" "$D/inst"

# The host without rewrites: issuer .../cgi-bin/jwks.fcgi, so that
# {issuer}/.well-known/openid-configuration is jwks.fcgi with that
# PATH_INFO. A user and a token minted by the CLI (before the chown: the
# CLI, as root, must not leave root-owned database files behind).
ISS2=$BASE2/cgi-bin/jwks.fcgi
instance "$D/nr/inst" "$ISS2" "$BASE2/app/cb"
CONF2=$CONF
CONF=$D/inst/ownauth.conf
uid=$("$OA_CLI" -c "$CONF2" users add --email nr@example.test --name 'No Rewrite' 2>"$D/users.err") ||
	{ cat "$D/users.err"; oa_die "ownauth users add failed"; }
TOK=$("$OA_CLI" -c "$CONF2" token mint "$uid" --client web 2>"$D/mint.err") ||
	{ cat "$D/mint.err"; oa_die "ownauth token mint failed"; }
printf '# Where the programs find their config.\nSetEnv OWNAUTH_CONF %s\n' "$CONF2" >"$D/nr/cgi-bin/.htaccess"
own "$WEB" "$D/nr/inst"
{
	tmpl "$SRV/apache.conf.in" D="$D" PORT="$PORT" MPM=prefork HANDLER=cgi \
	    USERLINES="$apache_users"
	for v in "${SAN[@]}"; do
		echo "SetEnv ${v%%=*} ${v#*=}"
	done
	tmpl "$SRV/apache-htaccess.conf.in" D="$D" PORT2="$PORT2"
} >"$D/httpd.conf"
if apache_run apache-cgi "$BASE/.well-known/jwks.json"; then
	run_flow apache-cgi "$D/error.log" flow "$BASE" web "$BASE/app/cb"
	not_a_file apache-cgi "$BASE/cgi-bin/jwks.fcgi"
	routes apache-cgi
	run_flow "no rewrites, customJwt" "$D/error.log" jwks "$BASE2/cgi-bin/jwks.fcgi/jwks.json" \
	    "$ISS2" "$TOK" web
	run_flow "no rewrites, OIDC" "$D/error.log" oidc "$ISS2" "$TOK" web
fi
if [ -n "$APID" ]; then
	stop_server apache-cgi "$APID" "$D"
	san_clean apache-cgi "$D"
fi

# --- nginx + spawn-fcgi ------------------------------------------------------------

newdir nginx
copy_progs "$D/bin"
instance "$D/inst" "$BASE" "$BASE/app/cb"
mkdir -p "$D/tmp"
own "$PROG" "$D/inst"
sed -e "s|listen 443 ssl;|listen 127.0.0.1:$PORT;|" \
    -e "s|server_name auth\.example\.com;|server_name 127.0.0.1;|" \
    -e "s|/run/ownauth/|$D/run/|g" \
    "$ETC/nginx.conf" >"$D/site.conf"
concrete nginx "$D/site.conf"
check "nginx: no fastcgi_keep_conn in etc/nginx.conf" \
    test -z "$(grep -v '^[[:space:]]*#' "$ETC/nginx.conf" | grep fastcgi_keep_conn)"
cp /etc/nginx/fastcgi_params "$D/fastcgi_params"

# The commands of etc/nginx.conf's header, as written there: the socket
# directory and one spawn-fcgi per program.
sed -n '/^#   install -d/,/^#   done/s/^#   //p' "$ETC/nginx.conf" |
    sed -e "s|/run/ownauth|$D/run|g" \
        -e "s|/etc/ownauth/ownauth.conf|$CONF|g" \
        -e "s|/usr/local/lib/ownauth/cgi-bin|$D/bin|g" >"$D/spawn.sh"
if [ -n "$PROG" ]; then
	sed -i -e "s|-o ownauth |-o $PROG |" -e "s|-u ownauth -U ownauth |-u $PROG -U $PROG |" "$D/spawn.sh"
else
	sed -i -e 's| -o ownauth -g www-data||' -e 's| -u ownauth -U ownauth -G www-data||' "$D/spawn.sh"
fi
[ ${#SAN[@]} -eq 0 ] || sed -i "s|env -i OWNAUTH_CONF=|env -i ${SAN[*]} OWNAUTH_CONF=|" "$D/spawn.sh"
concrete nginx "$D/spawn.sh"
check "nginx: the snippet's commands start spawn-fcgi per program" \
    grep -qF -- "-P $D/run/\$p.pid -- $D/bin/\$p.fcgi" "$D/spawn.sh"
if ! bash -e "$D/spawn.sh" >"$D/spawn.log" 2>&1; then
	sed 's/^/# /' "$D/spawn.log"
	fail "nginx: the spawn-fcgi commands failed"
fi
SPAWNED=()
for p in "${PROGS[@]}"; do
	pids=$(cat "$D/run/$p.pid" 2>/dev/null)
	for x in $pids; do
		SPAWNED+=("$x")
		oa_on_exit "oa_stop_pid $x"
	done
	# -F 2 in the snippet: two processes a program, their PIDs in -P's file.
	expect_eq "nginx: spawn-fcgi started two $p.fcgi (PID file)" "$(wc -w <<<"$pids")" 2
done
runs_as nginx "$D/bin/login.fcgi" "$PROG"
[ -z "$PROG" ] || expect_eq "nginx: socket owner, group and mode" \
    "$(stat -c '%U %G %a' "$D/run/token.sock" 2>/dev/null)" "$PROG www-data 660"
tmpl "$SRV/nginx.conf.in" D="$D" USERLINES="${WEB:+user $WEB;}" >"$D/nginx.conf"
if ! "$NGINX" -t -p "$D/" -e "$D/error.log" -c "$D/nginx.conf" >"$D/configtest.log" 2>&1; then
	sed 's/^/# /' "$D/configtest.log"
	fail "nginx: nginx -t rejects the config"
else
	ok "nginx: nginx -t accepts etc/nginx.conf"
	"$NGINX" -p "$D/" -e "$D/error.log" -c "$D/nginx.conf" -g 'daemon off;' \
	    </dev/null >"$D/stdout.log" 2>&1 &
	pid=$!
	oa_on_exit "oa_stop_pid $pid"
	if wait_ready nginx "$BASE/.well-known/jwks.json" "$pid" "$D/error.log"; then
		run_flow nginx "$D/error.log" flow "$BASE" web "$BASE/app/cb"
		routes nginx
	fi
	kids=$(descendants "$pid")
	oa_stop_pid "$pid"
	wait "$pid" 2>/dev/null
	for x in $kids; do
		[ "$(readlink "/proc/$x/exe" 2>/dev/null)" = "$NGINX" ] && oa_stop_pid "$x"
	done
fi
# spawn-fcgi's programs outlive nginx: stopped by the PIDs it wrote, as
# etc/nginx.conf says.
for x in "${SPAWNED[@]}"; do
	oa_stop_pid "$x"
done
left=$(ours "$D/bin" | tr '\n' ' ')
expect_eq "nginx: stopped, no program left running" "$left" ""
for x in $left; do
	oa_stop_pid "$x"
done

oa_done
