#!/usr/bin/env bash
# etc_servers.sh BUILD_DIR - the web server snippets of etc/ (SPEC §1),
# used as shipped, under the real servers on 127.0.0.1:
#
#   lighttpd  + mod_fastcgi          etc/lighttpd.conf
#   Apache    + mod_fcgid            etc/apache-fcgid.conf
#   Apache    + mod_cgi, .htaccess   etc/htaccess
#   nginx     + spawn-fcgi           etc/nginx.conf
#
# Each snippet is copied with only its paths, host and port replaced (the
# lines a user edits), next to a minimal server config. As root the
# servers run the programs as www-data, as in production (the instance is
# chowned to it). Through each server, the whole code flow with curl: the
# authorization request (query string intact), the dev provider's form,
# the callback's redirect with code, state and iss, the code exchange
# with PKCE, /userinfo with a Bearer token (the Authorization header must
# reach the program), a refresh, revocation, discovery and JWKS, the
# trailing-slash and unknown-path variants; then the server is stopped and
# no program may be left running. The Apache parts are skipped (said so)
# when apache2 or mod_fcgid is not installed.
. "$(dirname "$0")/lib.sh"
oa_setup "$@"
oa_need "$OA_CLI"
for p in login callback token jwks; do
	oa_need "$OA_BUILD/cgi-bin/$p.fcgi"
done
oa_need_cmd curl jq openssl "$LIGHTTPD"
ETC=$OA_SRC/etc

SRV_USER=
if [ "$(id -u)" = 0 ] && id www-data >/dev/null 2>&1; then
	SRV_USER=www-data
fi
# The server user must be able to reach the instances under $OA_TMP.
chmod 711 "$OA_TMP"

SAN_VARS=()
for v in ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS; do
	[ -n "${!v:-}" ] && SAN_VARS+=("$v=${!v}")
done

# setup NAME: a directory and an instance for a server on a fresh port:
# sets D, PORT, BASE, CONF.
setup() {
	D=$OA_TMP/$1
	mkdir -p "$D"
	chmod 711 "$D"
	PORT=$(oa_pick_port) || oa_die "no free port"
	BASE="http://127.0.0.1:$PORT"
	"$OA_CLI" init --issuer "$BASE" --dir "$D/inst" --client demo \
	    --redirect-uri "$BASE/" >"$D/init.out" 2>&1 || {
		cat "$D/init.out"
		oa_die "$1: ownauth init failed"
	}
	CONF=$D/inst/ownauth.conf
	[ -n "$SRV_USER" ] && chown -R "$SRV_USER:" "$D/inst"
	return 0
}

# ready NAME PID: polls discovery through the server (20 s deadline).
# Returns 75 when the server died because its port was taken meanwhile
# (other test suites share the machine): the caller starts over.
ready() {
	local deadline=$((SECONDS + 20))
	until curl -sf -o /dev/null --max-time 2 "$BASE/.well-known/openid-configuration"; do
		if ! oa_alive "$2"; then
			if cat "$D"/*.log 2>/dev/null | grep -q 'Address already in use'; then
				echo "# $1: port $PORT taken meanwhile, starting over on another"
				return 75
			fi
			tail -n 20 "$D"/*.log 2>/dev/null
			oa_die "$1: server exited at start"
		fi
		[ "$SECONDS" -lt "$deadline" ] || { tail -n 20 "$D"/*.log 2>/dev/null; oa_die "$1: not ready after 20 s"; }
		sleep 0.05
	done
}

# up NAME FUNCTION: FUNCTION sets a server up and starts it (setup,
# config, start, ready); run again, up to 3 times, while its port was
# taken.
up() {
	local i rc
	for i in 1 2 3; do
		rc=0
		"$2" || rc=$?
		[ "$rc" -eq 75 ] || return "$rc"
	done
	oa_die "$1: no free port in 3 attempts"
}

b64url() {
	base64 -w0 | tr '+/' '-_' | tr -d '='
}

urlenc() {
	jq -rn --arg v "$1" '$v | @uri'
}

# flow NAME: the code flow and the token endpoints through $BASE.
flow() {
	local n=$1 jar=$D/jar verifier challenge state nonce form action fstate loc code
	local access refresh access2 refresh2 email="$1@example.com"
	rm -f "$jar"
	verifier=$(head -c 32 /dev/urandom | b64url)
	challenge=$(printf '%s' "$verifier" | openssl dgst -sha256 -binary | b64url)
	state=s$RANDOM$RANDOM
	nonce=n$RANDOM$RANDOM
	http GET "$BASE/oauth/authorize?response_type=code&client_id=demo&redirect_uri=$(urlenc "$BASE/")&scope=openid%20email%20profile&state=$state&nonce=$nonce&code_challenge=$challenge&code_challenge_method=S256" \
	    -L -c "$jar" -b "$jar"
	expect_eq "$n: /oauth/authorize -> the dev form" "$HTTP_STATUS" 200
	form=$(tr -d '\n' <"$OA_TMP/b")
	action=$(printf '%s' "$form" | grep -o '<form method="post" action="[^"]*"' | sed 's/.*action="//;s/"$//;s/&amp;/\&/g')
	fstate=$(printf '%s' "$form" | grep -o 'name="state" value="[^"]*"' | sed 's/.*value="//;s/"$//')
	expect_eq "$n: the form posts to the callback URL" "$action" "$BASE/oauth/dev/callback"
	[ -n "$fstate" ] || { fail "$n: no state in the dev form"; return; }

	http POST "$action" -c "$jar" -b "$jar" --data-urlencode "state=$fstate" \
	    --data-urlencode "email=$email" --data-urlencode "name=Etc Test"
	expect_match "$n: the callback redirects" "$HTTP_STATUS" '^30[23]$'
	loc=$(hdr Location)
	expect_match "$n: ... to the redirect URI with code, state and iss" "$loc" \
	    "^$BASE/\\?(.*&)?state=$state(&|\$)"
	expect_match "$n: ... iss = the issuer (RFC 9207)" "$loc" "[?&]iss=$(urlenc "$BASE" | sed 's/[.]/\\./g')(&|\$)"
	code=$(printf '%s' "$loc" | sed -n 's/.*[?&]code=\([^&]*\).*/\1/p')
	[ -n "$code" ] || { fail "$n: no code in '$loc'"; return; }

	http POST "$BASE/token" --data-urlencode grant_type=authorization_code \
	    --data-urlencode "code=$code" --data-urlencode "redirect_uri=$BASE/" \
	    --data-urlencode "code_verifier=$verifier" --data-urlencode client_id=demo
	expect_eq "$n: code exchange at /token" "$HTTP_STATUS" 200
	expect_eq "$n: ... Cache-Control: no-store" "$(hdr Cache-Control)" no-store
	access=$(jq -r '.access_token // empty' "$OA_TMP/b" 2>/dev/null)
	refresh=$(jq -r '.refresh_token // empty' "$OA_TMP/b" 2>/dev/null)
	[ -n "$access" ] && [ -n "$refresh" ] || { fail "$n: no tokens: $(head -c 200 "$OA_TMP/b")"; return; }
	expect_eq "$n: ... the ID token carries the nonce" \
	    "$(jq -r .id_token "$OA_TMP/b" | cut -d. -f2 | tr '_-' '/+' | base64 -d 2>/dev/null | jq -r .nonce 2>/dev/null)" "$nonce"

	http GET "$BASE/userinfo" -H "Authorization: Bearer $access"
	expect_eq "$n: /userinfo with the Authorization header" "$HTTP_STATUS" 200
	expect_eq "$n: ... the user's email" "$(jq -r .email "$OA_TMP/b" 2>/dev/null)" "$email"
	http GET "$BASE/userinfo"
	expect_eq "$n: /userinfo without a token: 401" "$HTTP_STATUS" 401

	http POST "$BASE/token/" --data-urlencode grant_type=refresh_token \
	    --data-urlencode "refresh_token=$refresh" --data-urlencode client_id=demo
	expect_eq "$n: refresh at /token/ (trailing slash)" "$HTTP_STATUS" 200
	access2=$(jq -r '.access_token // empty' "$OA_TMP/b" 2>/dev/null)
	refresh2=$(jq -r '.refresh_token // empty' "$OA_TMP/b" 2>/dev/null)
	check "$n: ... a new access token" test -n "$access2" -a "$access2" != "$access"

	http POST "$BASE/revoke" --data-urlencode "token=$refresh2" \
	    --data-urlencode token_type_hint=refresh_token --data-urlencode client_id=demo
	expect_eq "$n: /revoke" "$HTTP_STATUS" 200
	http POST "$BASE/token" --data-urlencode grant_type=refresh_token \
	    --data-urlencode "refresh_token=$refresh2" --data-urlencode client_id=demo
	expect_eq "$n: the revoked refresh token: invalid_grant" \
	    "$HTTP_STATUS $(jq -r .error "$OA_TMP/b" 2>/dev/null)" "400 invalid_grant"

	http GET "$BASE/.well-known/openid-configuration"
	expect_eq "$n: discovery" "$HTTP_STATUS" 200
	expect_eq "$n: ... issuer" "$(jq -j .issuer "$OA_TMP/b" 2>/dev/null)" "$BASE"
	http GET "$BASE/.well-known/jwks.json"
	expect_eq "$n: JWKS" "$HTTP_STATUS $(jq -r '.keys | length > 0' "$OA_TMP/b" 2>/dev/null)" "200 true"
	http GET "$BASE/logout?client_id=demo"
	expect_match "$n: /logout reaches token.fcgi" "$HTTP_STATUS" '^(200|30[23])$'
	http GET "$BASE/oauth/dev/extra/path"
	expect_eq "$n: an unmapped path: 404" "$HTTP_STATUS" 404
}

# leftovers NAME: no program of this instance is still running (found by
# OWNAUTH_CONF in the environment; stopped by PID when found).
leftovers() {
	local e pid left=
	for e in /proc/[0-9]*/environ; do
		pid=${e#/proc/}
		pid=${pid%/environ}
		if { tr '\0' '\n' <"$e"; } 2>/dev/null | grep -qxF "OWNAUTH_CONF=$CONF"; then
			oa_alive "$pid" && left="$left $pid"
		fi
	done
	expect_eq "$1: no program left running after the server stopped" "$left" ""
	for pid in $left; do
		oa_stop_pid "$pid"
	done
}

# --- lighttpd + mod_fastcgi ---------------------------------------------------

lighttpd_up() {
	setup lighttpd
	mkdir -p "$D/run" "$D/www"
	: >"$D/error.log"
	# lighttpd opens its error log and creates the sockets after it has
	# dropped root (etc/lighttpd.conf's first gotcha).
	[ -n "$SRV_USER" ] && chown "$SRV_USER:" "$D/run" "$D/error.log"
	{
		cat <<EOF
server.port = $PORT
server.bind = "127.0.0.1"
server.document-root = "$D/www"
server.errorlog = "$D/error.log"
server.modules += ( "mod_rewrite", "mod_fastcgi" )
EOF
		[ -n "$SRV_USER" ] && printf 'server.username = "%s"\nserver.groupname = "%s"\n' "$SRV_USER" "$SRV_USER"
		sed -e "s#^var.ownauth_bin .*#var.ownauth_bin = \"$OA_BUILD/cgi-bin\"#" \
		    -e "s#^var.ownauth_conf .*#var.ownauth_conf = \"$CONF\"#" \
		    -e "s#^var.ownauth_run .*#var.ownauth_run = \"$D/run\"#" "$ETC/lighttpd.conf"
	} >"$D/lighttpd.conf"
	check "lighttpd: the snippet's three variables were set" grep -q "ownauth_run = \"$D/run\"" "$D/lighttpd.conf"
	"$LIGHTTPD" -tt -f "$D/lighttpd.conf" >"$D/configtest.out" 2>&1 ||
		{ cat "$D/configtest.out"; oa_die "lighttpd rejects etc/lighttpd.conf"; }
	ok "lighttpd: etc/lighttpd.conf passes lighttpd -tt"
	"$LIGHTTPD" -D -f "$D/lighttpd.conf" </dev/null >"$D/stdout.log" 2>&1 &
	lpid=$!
	oa_on_exit "oa_lighttpd_stop $lpid"
	ready lighttpd "$lpid"
}
up lighttpd lighttpd_up
flow lighttpd
if [ -n "$SRV_USER" ]; then
	w=$(oa_worker "$lpid" "$OA_BUILD/cgi-bin/token.fcgi") &&
		expect_eq "lighttpd: the workers run as $SRV_USER" "$(stat -c %U "/proc/$w")" "$SRV_USER"
fi
oa_lighttpd_stop "$lpid"
leftovers lighttpd

# --- Apache ---------------------------------------------------------------------

APACHE=${APACHE:-/usr/sbin/apache2}
AMOD=/usr/lib/apache2/modules
# apache_conf MPM MODULE...: the minimal server config (to stdout).
apache_conf() {
	local mpm=$1 m
	shift
	cat <<EOF
ServerRoot "$D"
Listen 127.0.0.1:$PORT
PidFile "$D/httpd.pid"
ErrorLog "$D/error.log"
LogLevel warn
ServerName 127.0.0.1
TypesConfig /etc/mime.types
LoadModule mpm_${mpm}_module $AMOD/mod_mpm_$mpm.so
EOF
	for m in authz_core alias rewrite mime env "$@"; do
		echo "LoadModule ${m}_module $AMOD/mod_$m.so"
	done
	[ -n "$SRV_USER" ] && printf 'User %s\nGroup %s\n' "$SRV_USER" "$SRV_USER"
	return 0
}

# apache_start NAME: starts $D/httpd.conf in the foreground; sets APID.
apache_start() {
	"$APACHE" -t -f "$D/httpd.conf" >"$D/configtest.out" 2>&1 ||
		{ cat "$D/configtest.out"; oa_die "$1: apache2 rejects the config"; }
	ok "$1: the config passes apache2 -t"
	# In its own session: at shutdown the prefork MPM kills its whole
	# process group (killpg), which in the foreground (-DFOREGROUND, no
	# detach) would be this script's and the test runner's.
	setsid "$APACHE" -f "$D/httpd.conf" -DFOREGROUND </dev/null >"$D/stdout.log" 2>&1 &
	APID=$!
	oa_on_exit "oa_stop_pid $APID"
	ready "$1" "$APID"
}

apache_fcgid_up() {
	setup apache-fcgid
	mkdir -p "$D/ipc"
	[ -n "$SRV_USER" ] && chown "$SRV_USER:" "$D/ipc"
	{
		apache_conf event fcgid
		for v in "${SAN_VARS[@]}"; do
			echo "FcgidInitialEnv ${v%%=*} ${v#*=}"
		done
		sed -e "s#/var/lib/apache2/fcgid/sock#$D/ipc#" \
		    -e "s#/usr/local/lib/ownauth/cgi-bin#$OA_BUILD/cgi-bin#g" \
		    -e "s#/etc/ownauth/ownauth.conf#$CONF#" \
		    -e "s#<VirtualHost \*:80>#<VirtualHost 127.0.0.1:$PORT>#" \
		    -e "s#ServerName auth.example.com#ServerName 127.0.0.1#" "$ETC/apache-fcgid.conf"
	} >"$D/httpd.conf"
	check "apache-fcgid: the snippet's paths were set" grep -q "FcgidIPCDir $D/ipc" "$D/httpd.conf"
	apache_start apache-fcgid
}

apache_htaccess_up() {
	setup apache-htaccess
	mkdir -p "$D/pub/cgi-bin"
	chmod 755 "$D/pub" "$D/pub/cgi-bin"
	for p in login callback token jwks; do
		install -m 0755 "$OA_BUILD/cgi-bin/$p.fcgi" "$D/pub/cgi-bin/$p.fcgi"
	done
	sed -e "s#^SetEnv OWNAUTH_CONF .*#SetEnv OWNAUTH_CONF $CONF#" "$ETC/htaccess" >"$D/pub/.htaccess"
	check "apache-htaccess: SetEnv set" grep -qx "SetEnv OWNAUTH_CONF $CONF" "$D/pub/.htaccess"
	{
		apache_conf prefork cgi
		for v in "${SAN_VARS[@]}"; do
			echo "SetEnv ${v%%=*} ${v#*=}"
		done
		cat <<EOF
DocumentRoot "$D/pub"
<Directory "$D/pub">
	AllowOverride All
	Require all granted
</Directory>
EOF
	} >"$D/httpd.conf"
	apache_start apache-htaccess
}

if [ ! -x "$APACHE" ]; then
	echo "SKIP: no $APACHE: the Apache snippets (etc/apache-fcgid.conf, etc/htaccess) are NOT tested"
elif [ ! -f "$AMOD/mod_fcgid.so" ]; then
	echo "SKIP: mod_fcgid is not installed (apt-get install libapache2-mod-fcgid): etc/apache-fcgid.conf is NOT tested"
else
	up apache-fcgid apache_fcgid_up
	flow apache-fcgid
	oa_stop_pid "$APID"
	wait "$APID" 2>/dev/null
	leftovers apache-fcgid
fi
if [ -x "$APACHE" ]; then
	up apache-htaccess apache_htaccess_up
	flow apache-htaccess
	oa_stop_pid "$APID"
	wait "$APID" 2>/dev/null
	leftovers apache-htaccess
fi

# --- nginx + spawn-fcgi -------------------------------------------------------

NGINX=${NGINX:-/usr/sbin/nginx}
nginx_up() {
	local p pid args
	setup nginx
	mkdir -p "$D/run" "$D/tmp"
	chmod 0750 "$D/run"
	[ -n "$SRV_USER" ] && chown "root:$SRV_USER" "$D/run"
	# The programs, started as etc/nginx.conf says (one process each: -F 1).
	for p in login callback token jwks; do
		args=(-s "$D/run/$p.sock" -M 0660 -F 1 -P "$D/run/$p.pid")
		[ -n "$SRV_USER" ] && args+=(-u "$SRV_USER" -U "$SRV_USER" -G "$SRV_USER")
		env -i OWNAUTH_CONF="$CONF" "${SAN_VARS[@]}" \
		    spawn-fcgi "${args[@]}" -- "$OA_BUILD/cgi-bin/$p.fcgi" >"$D/spawn-$p.out" 2>&1 ||
			{ cat "$D/spawn-$p.out"; oa_die "nginx: spawn-fcgi $p failed"; }
		for pid in $(cat "$D/run/$p.pid"); do
			oa_on_exit "oa_stop_pid $pid"
		done
	done
	ok "nginx: spawn-fcgi started the four programs"
	{
		echo "worker_processes 2;"
		echo "pid $D/nginx.pid;"
		echo "error_log $D/error.log;"
		[ -n "$SRV_USER" ] && echo "user $SRV_USER;"
		cat <<EOF
events { worker_connections 64; }
http {
	access_log off;
	client_body_temp_path $D/tmp/body;
	fastcgi_temp_path $D/tmp/fastcgi;
	proxy_temp_path $D/tmp/proxy;
	uwsgi_temp_path $D/tmp/uwsgi;
	scgi_temp_path $D/tmp/scgi;
EOF
		sed -n '/^server {/,$p' "$ETC/nginx.conf" |
		    sed -e "s#listen 443 ssl;#listen 127.0.0.1:$PORT;#" \
		        -e "s#server_name auth.example.com;#server_name 127.0.0.1;#" \
		        -e "s#/run/ownauth/#$D/run/#g" \
		        -e "s#include fastcgi_params;#include /etc/nginx/fastcgi_params;#"
		echo "}"
	} >"$D/nginx.conf"
	"$NGINX" -t -c "$D/nginx.conf" >"$D/configtest.out" 2>&1 ||
		{ cat "$D/configtest.out"; oa_die "nginx rejects etc/nginx.conf"; }
	ok "nginx: the config passes nginx -t"
	"$NGINX" -c "$D/nginx.conf" -g 'daemon off;' </dev/null >"$D/stdout.log" 2>&1 &
	npid=$!
	oa_on_exit "oa_stop_pid $npid"
	ready nginx "$npid"
}

if [ ! -x "$NGINX" ] || ! command -v spawn-fcgi >/dev/null 2>&1; then
	echo "SKIP: nginx or spawn-fcgi missing: etc/nginx.conf is NOT tested"
else
	check "nginx: no fastcgi_keep_conn in etc/nginx.conf" \
	    test -z "$(grep -v '^[[:space:]]*#' "$ETC/nginx.conf" | grep fastcgi_keep_conn)"
	up nginx nginx_up
	flow nginx
	oa_stop_pid "$npid"
	wait "$npid" 2>/dev/null
	# spawn-fcgi's programs outlive nginx: stopped by the PIDs it wrote,
	# as etc/nginx.conf says.
	for p in login callback token jwks; do
		for pid in $(cat "$D/run/$p.pid"); do
			oa_stop_pid "$pid"
		done
	done
	leftovers nginx
fi

oa_done
