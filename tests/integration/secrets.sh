#!/usr/bin/env bash
# secrets.sh BUILD_DIR - secrets at rest and in the logs (SECURITY 10, 27).
#
# A whole sign-in on 127.0.0.1: login.fcgi, callback.fcgi and token.fcgi
# under lighttpd (FastCGI, and token.fcgi as plain CGI under /c too), with
# log_level = debug, a real OpenID Provider upstream (oidc-provider,
# tests/upstream/op.mjs) driven through its login and consent pages by
# tests/upstream/drive.mjs, and the provider's token endpoint reached
# through a small recording proxy, so that this script learns what
# travelled upstream (our PKCE verifier, the upstream code, the client
# secret, the upstream's tokens). Then: the code exchange, refreshes
# (FastCGI and CGI), a sibling inside the reuse window, userinfo, a
# refused forged token, a replayed code, a reused refresh token, /revoke
# and /logout.
#
# SECURITY 10 - codes, refresh tokens and login states are stored only as
# hashes: every file of data_dir (the database, the Berkeley DB logs
# log.*, the __db.* regions, the upstream cache) is searched for the
# authorization code, every refresh token and the login (upstream) state,
# as text and as the bytes their base64url decodes to, plus the tokens,
# verifiers, upstream code and client secret; none may be there. And the
# search is shown able to find what is there: the raw SHA-256 of the code,
# of every refresh token and of the state (store.c's record keys) are
# found.
#
# SECURITY 27 - logs never contain tokens, codes, secrets or keys: the
# lighttpd error log (where the programs' stderr goes) and the stderr of
# the CGI runs by hand are searched for all of the above, the ID and
# access tokens (whole, and their signatures), the client's PKCE verifier,
# the provider's client secret (and its Basic credentials), the nonces
# (ours and the upstream one), the sealed login cookie, our private keys
# (each line of their PEM) and the cookie key (raw, hex, base64). Random
# secrets are also searched for by any 16-character piece, so that a
# truncated token in a log is caught too. The search is shown able to
# find things: the session id and user id, which the logs do name, are
# found; debug lines are there.
. "$(dirname "$0")/lib.sh"
oa_setup "$@"
OA_LOGIN="$OA_BUILD/cgi-bin/login.fcgi"
OA_CALLBACK="$OA_BUILD/cgi-bin/callback.fcgi"
OA_TOKEN="$OA_BUILD/cgi-bin/token.fcgi"
oa_need "$OA_CLI" "$OA_LOGIN" "$OA_CALLBACK" "$OA_TOKEN"
oa_need_cmd curl jq node openssl timeout "$LIGHTTPD"
PY=/usr/bin/python3
[ -x "$PY" ] || oa_die "missing $PY"

port=$(oa_pick_port) || oa_die "no free port"
base="http://127.0.0.1:$port"
ISS=$base
CB_WEB="http://127.0.0.1:5173/cb"
ENC_CB=$(jq -rn --arg u "$CB_WEB" '$u|@uri')

# --- helpers ---------------------------------------------------------------

# A recording reverse proxy: every request is forwarded to TARGET (same
# path and query, same headers but Host), and one JSON line per exchange
# (request headers and body, response status and body) is appended to
# the capture file.
cat >"$OA_TMP/proxy.mjs" <<'EOF'
import http from 'node:http';
import { appendFileSync } from 'node:fs';
const [port, target, capture] = process.argv.slice(2);
const srv = http.createServer((req, res) => {
	const chunks = [];
	req.on('data', (c) => chunks.push(c));
	req.on('end', async () => {
		const body = Buffer.concat(chunks);
		const headers = { ...req.headers };
		delete headers.host;
		delete headers['content-length'];
		try {
			const r = await fetch(target + req.url, { method: req.method,
				headers, body: ['GET', 'HEAD'].includes(req.method) ? undefined : body,
				redirect: 'manual' });
			const rb = Buffer.from(await r.arrayBuffer());
			appendFileSync(capture, JSON.stringify({ method: req.method, url: req.url,
				headers: req.headers, body: body.toString('utf8'),
				status: r.status, response: rb.toString('utf8') }) + '\n');
			const out = {};
			r.headers.forEach((v, k) => {
				if (!['content-length', 'content-encoding', 'transfer-encoding',
				    'connection'].includes(k)) out[k] = v;
			});
			res.writeHead(r.status, out);
			res.end(rb);
		} catch (e) {
			res.writeHead(502, { 'content-type': 'text/plain' });
			res.end(String(e));
		}
	});
});
srv.listen(Number(port), '127.0.0.1', () => console.log(`READY ${srv.address().port}`));
EOF

# The scanner: which files hold which needles.
#   scan.py NEEDLES.json FILE|DIR...  ->  {"files": N, "found": {"name": [file...]}}
# NEEDLES.json: [{"name", "hex"} | {"name", "text", "windows"?}], where a
# text needle is also searched for as the bytes its base64url decodes to
# (when it decodes to 16 bytes or more) and, with "windows", as any of its
# 16-character pieces (looked up in a set, against every 16-character
# window of the file's runs of base64url characters: one pass per file).
cat >"$OA_TMP/scan.py" <<'EOF'
import base64, binascii, json, os, re, sys

W = 16
def b64u(s):
	try:
		return base64.urlsafe_b64decode(s + '=' * (-len(s) % 4))
	except (binascii.Error, ValueError):
		return None

whole, pieces = [], {}
for n in json.load(open(sys.argv[1])):
	if 'hex' in n:
		whole.append((n['name'], bytes.fromhex(n['hex'])))
		continue
	t = n['text']
	whole.append((n['name'], t.encode()))
	d = b64u(t) if re.fullmatch(r'[A-Za-z0-9_-]+', t) else None
	if d is not None and len(d) >= W:
		whole.append((n['name'] + ' (decoded)', d))
	if n.get('windows'):
		if not re.fullmatch(r'[A-Za-z0-9_-]{%d,}' % W, t):
			sys.exit('scan.py: %s: pieces need base64url text' % n['name'])
		for i in range(len(t) - W + 1):
			pieces.setdefault(t[i:i + W].encode(), n['name'] + ' (a piece)')
files = []
for p in sys.argv[2:]:
	if os.path.isdir(p):
		for d, _, fs in os.walk(p):
			files += [os.path.join(d, f) for f in fs]
	elif os.path.exists(p):
		files.append(p)
found = {}
run = re.compile(rb'[A-Za-z0-9_-]{%d,}' % W)
for f in sorted(files):
	try:
		data = open(f, 'rb').read()
	except OSError:
		continue
	hit = set(name for name, b in whole if b and b in data)
	for m in run.finditer(data):
		r = m.group()
		for i in range(len(r) - W + 1):
			name = pieces.get(r[i:i + W])
			if name is not None:
				hit.add(name)
	for name in hit:
		found.setdefault(name, []).append(f)
json.dump({'files': len(files), 'found': found}, sys.stdout)
EOF

NEEDLES="$OA_TMP/needles.json"
echo '[]' >"$NEEDLES"
# needle NAME TEXT [windows]: a secret to look for.
needle() {
	[ -n "$2" ] && [ "$2" != null ] || { fail "needle $1 is empty"; return; }
	jq --arg n "$1" --arg t "$2" --argjson w "$([ "${3:-}" = windows ] && echo true || echo false)" \
	    '. + [{name: $n, text: $t, windows: $w}]' "$NEEDLES" >"$NEEDLES.new" && mv "$NEEDLES.new" "$NEEDLES"
}
# needle_hex NAME HEX
needle_hex() {
	jq --arg n "$1" --arg h "$2" '. + [{name: $n, hex: $h}]' "$NEEDLES" >"$NEEDLES.new" &&
	    mv "$NEEDLES.new" "$NEEDLES"
}
# sha256hex TEXT: the SHA-256 of TEXT, hex.
sha256hex() { printf '%s' "$1" | openssl dgst -sha256 -hex | sed 's/^.*= *//'; }
s256() { printf '%s' "$1" | openssl dgst -sha256 -binary | basenc --base64url | tr -d '=\n'; }

# req METHOD URL [curl args...]: one request, no redirect followed; ST,
# LOC; headers in $OA_TMP/rh (CR stripped), body in $OA_TMP/rb.
req() {
	local m=$1 u=$2
	shift 2
	rm -f "$OA_TMP/rh" "$OA_TMP/rb"
	ST=$(curl -s -g --max-time 30 -X "$m" -D "$OA_TMP/rh.raw" -o "$OA_TMP/rb" \
	    -w '%{http_code}' "$@" "$u") || ST=000
	tr -d '\r' <"$OA_TMP/rh.raw" >"$OA_TMP/rh"
	LOC=$(grep -i '^Location:' "$OA_TMP/rh" | tail -n 1 | sed 's/^[^:]*:[ \t]*//')
}
jb() { jq -r "$1" "$OA_TMP/rb" 2>/dev/null; }
# qparam URL NAME: a query parameter of URL, decoded.
qparam() {
	node -e 'const u = new URL(process.argv[1]); process.stdout.write(u.searchParams.get(process.argv[2]) ?? "")' "$1" "$2"
}
# form PATH BODY [curl args]: a form POST to our server.
form() {
	local p=$1 b=$2
	shift 2
	req POST "$base$p" -H 'Content-Type: application/x-www-form-urlencoded' --data-raw "$b" "$@"
}

# --- upstream: oidc-provider behind the recording proxy ------------------------

opp=$(oa_pick_other "$port") && pxp=$(oa_pick_other "$port" "$opp") || oa_die "no free ports"
OP_SECRET=$(openssl rand -hex 24)
oa_node_start op "$OA_SRC/tests/upstream/op.mjs" --port "$opp" --client-id op-client \
    --client-secret "$OP_SECRET" --redirect-uri "$ISS/oauth/op/callback"
OP="http://127.0.0.1:$NODE_PORT"
CAPTURE="$OA_TMP/upstream-token.jsonl"
oa_node_start proxy "$OA_TMP/proxy.mjs" "$pxp" "$OP" "$CAPTURE"
PROXY="http://127.0.0.1:$NODE_PORT"
ok "upstream OP at $OP, its token endpoint through the proxy at $PROXY"

# --- the instance ----------------------------------------------------------------

oa_instance "$OA_TMP/inst" "$ISS"
CONF=$OA_CONF
KEYS=$(oa_keys_dir "$CONF")
DATA=$(sed -n 's/^[ \t]*data_dir[ \t]*=[ \t]*\([^ \t#]*\).*/\1/p' "$CONF" | head -n 1)
oa_conf_set "$CONF" log_level debug
oa_conf_set "$CONF" key_activation_delay 0
oa_conf_set "$CONF" refresh_reuse_window 30
oa_conf_add "$CONF" "[client web]
redirect_uris = $CB_WEB
post_logout_redirect_uris = $CB_WEB

[provider op]
type = oidc
issuer = $OP
token_endpoint = $PROXY/token
client_id = op-client
client_secret = $OP_SECRET"
"$OA_CLI" -c "$CONF" check >"$OA_TMP/check.out" 2>&1 || {
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
	"^/oauth/([^/?]+)/callback/?(\?.*)?\$" => "/ownauth-bin/callback.fcgi/\$1/callback\$2",
	"^/oauth/([^/?]+)/?(\?.*)?\$" => "/ownauth-bin/login.fcgi/\$1\$2",
	"^/(token|revoke|logout|userinfo)/?(\?.*)?\$" => "/ownauth-bin/token.fcgi/\$1\$2",
)
EOF
	oa_lighttpd_fcgi /ownauth-bin/login.fcgi "$OA_LOGIN" "$CONF" "$W/login.sock"
	oa_lighttpd_fcgi /ownauth-bin/callback.fcgi "$OA_CALLBACK" "$CONF" "$W/callback.sock"
	oa_lighttpd_fcgi /ownauth-bin/token.fcgi "$OA_TOKEN" "$CONF" "$W/token.sock"
	oa_lighttpd_cgi /c "$OA_TOKEN" "$CONF"
} >"$W/lighttpd.conf"
oa_lighttpd_start "$W" "$port"
L=$LIGHTTPD_PID

# --- the sign-in -------------------------------------------------------------------

VERIFIER=$(openssl rand -hex 32)
CSTATE=cs-$(openssl rand -hex 12)
CNONCE=cn-$(openssl rand -hex 12)
JAR="$OA_TMP/jar"
AUTHZ="$ISS/oauth/op?client_id=web&redirect_uri=$ENC_CB&response_type=code&state=$CSTATE&nonce=$CNONCE&code_challenge=$(s256 "$VERIFIER")&code_challenge_method=S256&scope=openid%20email%20profile"
# Through login to the OP's authorization request (what we send upstream)...
UPAUTH=$(node "$OA_SRC/tests/upstream/drive.mjs" --url "$AUTHZ" --jar "$JAR" --stop-at "$OP/auth" 2>"$OA_TMP/drive.err") ||
    { cat "$OA_TMP/drive.err"; oa_die "drive to the OP's authorization endpoint failed"; }
UP_NONCE=$(qparam "$UPAUTH" nonce)
UP_CHALLENGE=$(qparam "$UPAUTH" code_challenge)
expect_match "upstream request: a nonce" "$UP_NONCE" '^[A-Za-z0-9_-]{20,}$'
expect_eq "upstream request: PKCE S256" "$(qparam "$UPAUTH" code_challenge_method)" S256
LOGIN_COOKIE=$(awk -F'\t' '$6 == "ownauth_login" { print $7 }' "$JAR" | tail -n 1)
check "login set its sealed cookie" test -n "$LOGIN_COOKIE"
# ...then the OP's login and consent, back to our callback.
UP=$(node "$OA_SRC/tests/upstream/drive.mjs" --url "$UPAUTH" --jar "$JAR" --login alice 2>"$OA_TMP/drive.err") ||
    { cat "$OA_TMP/drive.err"; oa_die "drive through the OP failed"; }
expect_match "the OP redirects to our callback" "$UP" "^$ISS/oauth/op/callback\\?"
UP_CODE=$(qparam "$UP" code)
UP_STATE=$(qparam "$UP" state)
check "upstream code and state" test -n "$UP_CODE" -a -n "$UP_STATE"
req GET "$UP" -b "$JAR" -c "$JAR"
expect_eq "callback: 302 to the client" "$ST:${LOC%%\?*}" "302:$CB_WEB"
CODE=$(qparam "$LOC" code)
expect_eq "callback: state echoed" "$(qparam "$LOC" state)" "$CSTATE"
expect_match "callback: our code" "$CODE" '^[A-Za-z0-9_-]{43}$'

# What travelled to the upstream token endpoint (the proxy's record).
check "the proxy saw the upstream token request" test -s "$CAPTURE"
UPREQ=$(grep -m1 '"url":"/token' "$CAPTURE")
UP_VERIFIER=$(jq -r '.body' <<<"$UPREQ" | tr '&' '\n' | sed -n 's/^code_verifier=//p')
expect_eq "upstream: our PKCE verifier matches the challenge we sent" "$(s256 "$UP_VERIFIER")" "$UP_CHALLENGE"
expect_eq "upstream: the code we got is the one exchanged" \
    "$(jq -r '.body' <<<"$UPREQ" | tr '&' '\n' | sed -n 's/^code=//p')" "$UP_CODE"
UP_BASIC=$(jq -r '.headers.authorization // empty' <<<"$UPREQ" | sed -n 's/^Basic //p')
UP_AT=$(jq -r '.response | fromjson | .access_token' <<<"$UPREQ")
UP_IT=$(jq -r '.response | fromjson | .id_token' <<<"$UPREQ")
expect_eq "upstream token response: 200 with an ID token" "$(jq -r .status <<<"$UPREQ"):$(cut -d. -f1 <<<"$UP_IT" | cut -c1-3)" 200:eyJ

# --- our tokens --------------------------------------------------------------------

form /token "grant_type=authorization_code&code=$CODE&redirect_uri=$ENC_CB&code_verifier=$VERIFIER&client_id=web"
expect_eq "code exchange: 200" "$ST" 200
AT=$(jb .access_token)
IT=$(jb .id_token)
RTS=("$(jb .refresh_token)")
SID=$(node -e 'console.log(JSON.parse(Buffer.from(process.argv[1].split(".")[1], "base64url")).sid)' "$AT")
USER=$(node -e 'console.log(JSON.parse(Buffer.from(process.argv[1].split(".")[1], "base64url")).sub)' "$AT")
expect_match "a session id" "$SID" '^[A-Za-z0-9_-]{8,}$'
ATS=("$AT")
ITS=("$IT")
# Refreshes: FastCGI and plain CGI, one a sibling (the parent again).
for p in /token /c/token /token /c/token /token; do
	form "$p" "grant_type=refresh_token&refresh_token=${RTS[-1]}&client_id=web"
	[ "$ST" = 200 ] || fail "refresh at $p: $ST $(cat "$OA_TMP/rb")"
	RTS+=("$(jb .refresh_token)")
	ATS+=("$(jb .access_token)")
	ITS+=("$(jb .id_token)")
done
form /token "grant_type=refresh_token&refresh_token=${RTS[-2]}&client_id=web"
expect_eq "a sibling inside the reuse window" "$ST" 200
RTS+=("$(jb .refresh_token)")
ATS+=("$(jb .access_token)")
ok "${#RTS[@]} refresh tokens in one family"
req GET "$base/userinfo" -H "Authorization: Bearer ${ATS[-1]}"
expect_eq "userinfo: 200" "$ST" 200
FORGED="${ATS[-1]%.*}.$(openssl rand 256 | basenc --base64url | tr -d '=\n')"
req GET "$base/userinfo" -H "Authorization: Bearer $FORGED"
expect_eq "userinfo with a forged signature: 401" "$ST" 401
form /token "grant_type=authorization_code&code=$CODE&redirect_uri=$ENC_CB&code_verifier=$VERIFIER&client_id=web"
expect_eq "a replayed code: 400 (its session is revoked, logged)" "$ST" 400

# A second family: revoked at /revoke, a reused token in a third,
# logout with a refresh token in the body and an id_token_hint.
second_family() {
	local v c
	v=$(openssl rand -hex 32)
	: >"$OA_TMP/jar2"
	c=$(node "$OA_SRC/tests/upstream/drive.mjs" --url "${AUTHZ/code_challenge=$(s256 "$VERIFIER")/code_challenge=$(s256 "$v")}" \
	    --jar "$OA_TMP/jar2" --login alice 2>"$OA_TMP/drive.err") || { fail "second drive"; return; }
	req GET "$c" -b "$OA_TMP/jar2"
	c=$(qparam "$LOC" code)
	form /token "grant_type=authorization_code&code=$c&redirect_uri=$ENC_CB&code_verifier=$v&client_id=web"
	[ "$ST" = 200 ] || fail "second exchange: $ST"
	needle "code (family $1)" "$c" windows
	needle "verifier (family $1)" "$v" windows
	F_RT=$(jb .refresh_token)
	F_IT=$(jb .id_token)
	RTS+=("$F_RT")
	ATS+=("$(jb .access_token)")
	ITS+=("$F_IT")
}
second_family 2
form /revoke "token=$F_RT&client_id=web"
expect_eq "revoke: 200" "$ST" 200
second_family 3
R0=$F_RT
form /token "grant_type=refresh_token&refresh_token=$R0&client_id=web"
RTS+=("$(jb .refresh_token)")
ATS+=("$(jb .access_token)")
form /c/token "grant_type=refresh_token&refresh_token=${RTS[-1]}&client_id=web"
RTS+=("$(jb .refresh_token)")
ATS+=("$(jb .access_token)")
form /token "grant_type=refresh_token&refresh_token=$R0&client_id=web"
expect_eq "a reused (grandparent) refresh token: 400 (family revoked, logged)" "$ST" 400
second_family 4
form /logout "client_id=web&refresh_token=$F_RT&id_token_hint=$F_IT&post_logout_redirect_uri=$ENC_CB"
expect_eq "logout: 303" "$ST" 303
form /token "grant_type=refresh_token&refresh_token=$F_RT&client_id=web"
expect_eq "logout revoked its family" "$ST" 400

# The same by hand as plain CGI, its stderr kept for the log scan.
cgi_post() {
	local envs=(OWNAUTH_CONF="$CONF" REQUEST_METHOD=POST PATH_INFO="$1"
	    CONTENT_TYPE=application/x-www-form-urlencoded CONTENT_LENGTH=${#2}
	    GATEWAY_INTERFACE=CGI/1.1 REMOTE_ADDR=127.0.0.1 QUERY_STRING=) v
	for v in ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS; do
		[ -n "${!v:-}" ] && envs+=("$v=${!v}")
	done
	printf '%s' "$2" | timeout 20 env -i "${envs[@]}" "$OA_TOKEN" >"$OA_TMP/cgi.out" 2>>"$OA_TMP/cgi-by-hand.err"
	cgi_body >"$OA_TMP/rb"
	ST=$(head -n 1 "$OA_TMP/cgi.out" | tr -d '\r' | sed -n 's/^Status: \([0-9]*\).*/\1/p')
}
cgi_post /token "grant_type=refresh_token&refresh_token=${RTS[1]}&client_id=web"
expect_eq "by hand: a used token of the family the code replay revoked: 400" "$ST" 400
cgi_post /token "grant_type=refresh_token&refresh_token=${RTS[-1]}&client_id=web"
expect_eq "by hand: a token of the family logout revoked: 400" "$ST" 400
cgi_post /token "grant_type=authorization_code&code=$CODE&redirect_uri=$ENC_CB&code_verifier=$VERIFIER&client_id=web"
expect_eq "by hand: the replayed code again: 400" "$ST" 400

# --- the needles ---------------------------------------------------------------------

needle "authorization code" "$CODE" windows
i=0
for t in "${RTS[@]}"; do
	needle "refresh token $i" "$t" windows
	i=$((i + 1))
done
needle "login state (upstream state)" "$UP_STATE" windows
needle "upstream code" "$UP_CODE" windows
needle "client PKCE verifier" "$VERIFIER" windows
needle "upstream PKCE verifier" "$UP_VERIFIER" windows
needle "provider client_secret" "$OP_SECRET" windows
[ -n "$UP_BASIC" ] && needle "provider Basic credentials" "$UP_BASIC"
needle "client nonce" "$CNONCE" windows
needle "upstream nonce" "$UP_NONCE" windows
needle "sealed login cookie" "$LOGIN_COOKIE" windows
needle "upstream access token" "$UP_AT"
needle "upstream ID token" "$UP_IT"
needle "upstream ID token signature" "${UP_IT##*.}" windows
i=0
for t in "${ATS[@]}"; do
	needle "access token $i" "$t"
	needle "access token $i signature" "${t##*.}" windows
	i=$((i + 1))
done
i=0
for t in "${ITS[@]}"; do
	needle "ID token $i" "$t"
	needle "ID token $i signature" "${t##*.}" windows
	i=$((i + 1))
done
CK_HEX=$(od -An -tx1 -v "$KEYS/cookie.key" | tr -d ' \n')
expect_match "the cookie key is 32 bytes" "$CK_HEX" '^[0-9a-f]{64}$'
needle_hex "cookie key (raw)" "$CK_HEX"
needle "cookie key (hex)" "$CK_HEX"
needle "cookie key (base64url)" "$(basenc --base64url -w0 <"$KEYS/cookie.key" | tr -d '=')"
needle "cookie key (base64)" "$(base64 -w0 <"$KEYS/cookie.key")"
n=0
for pem in "$KEYS"/*.pem; do
	while IFS= read -r line; do
		case $line in -----*) continue ;; esac
		[ "${#line}" -ge 32 ] || continue
		needle "private key $(basename "$pem") line" "$line"
		n=$((n + 1))
	done <"$pem"
done
check "private key lines to look for" test "$n" -gt 0

# --- SECURITY 10: data_dir holds hashes only ---------------------------------------

"$PY" "$OA_TMP/scan.py" "$NEEDLES" "$DATA" >"$OA_TMP/data-scan.json" || fail "the data_dir scan failed"
expect_match "data_dir: files scanned (db, logs, regions)" "$(jq .files "$OA_TMP/data-scan.json")" '^[1-9][0-9]*$'
check "data_dir: the database and log files are among them" \
    test -e "$DATA/ownauth.db" -a -n "$(ls "$DATA"/log.* 2>/dev/null)" -a -n "$(ls "$DATA"/__db.* 2>/dev/null)"
# (Nonces are no secrets at rest: the code keeps the client's, to copy it
# into the ID token.)
for what in "authorization code" "refresh token" "login state" "upstream code" "PKCE verifier" \
    "client_secret" "access token" "ID token" "login cookie" "Basic"; do
	hits=$(jq -r --arg w "$what" '.found | to_entries[] | select(.key | contains($w)) |
	    "\(.key) in \(.value | map(split("/")[-1]) | join(","))"' "$OA_TMP/data-scan.json")
	if [ -z "$hits" ]; then
		ok "data_dir: no $what (as text, decoded bytes or 16-character pieces)"
	else
		fail "data_dir: $what found: $(head -n 3 <<<"$hits" | tr '\n' ';')"
	fi
done
# The scan finds what is there: the store's keys are the raw SHA-256 of
# each secret (store.c: C, R and L records).
echo '[]' >"$OA_TMP/hashes.json"
hneedle() {
	jq --arg n "$1" --arg h "$(sha256hex "$2")" '. + [{name: $n, hex: $h}]' "$OA_TMP/hashes.json" >"$OA_TMP/hashes.new" &&
	    mv "$OA_TMP/hashes.new" "$OA_TMP/hashes.json"
}
hneedle "sha256(code)" "$CODE"
hneedle "sha256(login state)" "$UP_STATE"
i=0
for t in "${RTS[@]}"; do
	hneedle "sha256(refresh token $i)" "$t"
	i=$((i + 1))
done
"$PY" "$OA_TMP/scan.py" "$OA_TMP/hashes.json" "$DATA" >"$OA_TMP/hash-scan.json" || fail "the hash scan failed"
expect_eq "data_dir: the raw SHA-256 of the code is found (the scan can find things)" \
    "$(jq '.found["sha256(code)"] | length > 0' "$OA_TMP/hash-scan.json")" true
expect_eq "data_dir: the raw SHA-256 of the login state is found" \
    "$(jq '.found["sha256(login state)"] | length > 0' "$OA_TMP/hash-scan.json")" true
expect_eq "data_dir: the raw SHA-256 of every refresh token is found" \
    "$(jq '[.found | to_entries[] | select(.key | startswith("sha256(refresh"))] | length' "$OA_TMP/hash-scan.json")" "${#RTS[@]}"

# --- SECURITY 27: no secret in the logs ------------------------------------------------

# Stop the server first: the workers' last words are in the logs too.
oa_lighttpd_stop "$L" "$W"
LOGS=("$W/error.log" "$W/stdout.log" "$OA_TMP/cgi-by-hand.err")
# (lighttpd passes its own stderr, stdout.log here, to the programs.)
check "the programs' logs are captured: token.fcgi's debug lines" grep -q '^token: debug: grant: refreshed' "${LOGS[@]}"
check "... login.fcgi's" grep -q '^login: debug: ' "${LOGS[@]}"
check "... callback.fcgi's (debug: its upstream requests)" grep -q '^callback: debug: http: POST' "${LOGS[@]}"
check "... the code replay" grep -q 'authorization code replayed' "${LOGS[@]}"
check "... the refresh token reuse" grep -q 'refresh token reused' "${LOGS[@]}"
check "... userinfo's refusal, revoke and logout" \
    test "$(cat "${LOGS[@]}" | grep -c 'userinfo: token refused\|revoke: session\|logout: session')" -ge 3
check "... the plain CGI runs by hand" test -s "$OA_TMP/cgi-by-hand.err"
"$PY" "$OA_TMP/scan.py" "$NEEDLES" "${LOGS[@]}" >"$OA_TMP/log-scan.json" || fail "the log scan failed"
expect_eq "logs: 3 files scanned" "$(jq .files "$OA_TMP/log-scan.json")" 3
hits=$(jq -r '.found | to_entries[] | "\(.key) in \(.value | map(split("/")[-1]) | join(","))"' "$OA_TMP/log-scan.json")
if [ -z "$hits" ]; then
	ok "logs: no token, code, state, verifier, secret, nonce, cookie or key ($(jq length "$NEEDLES") needles)"
else
	fail "logs: secrets found:"
	sed 's/^/#   /' <<<"$hits" | head -n 20
	grep -n -F -f <(jq -r '.[] | select(.text) | .text' "$NEEDLES") "${LOGS[@]}" | cut -c1-200 | sed 's/^/#   /' | head -n 10
fi
# The scan finds what the logs do name (session and user ids).
jq -n --arg s "$SID" --arg u "$USER" '[{name: "sid", text: $s}, {name: "user", text: $u}]' >"$OA_TMP/ids.json"
"$PY" "$OA_TMP/scan.py" "$OA_TMP/ids.json" "${LOGS[@]}" >"$OA_TMP/id-scan.json"
expect_eq "logs: the session id is found (the scan can find things)" "$(jq '.found.sid | length > 0' "$OA_TMP/id-scan.json")" true
expect_eq "logs: the user id is found" "$(jq '.found.user | length > 0' "$OA_TMP/id-scan.json")" true
if grep -E 'Sanitizer|runtime error' "${LOGS[@]}" >/dev/null 2>&1; then
	fail "sanitizer report in the logs"
	grep -E -A5 'Sanitizer|runtime error' "${LOGS[@]}" | head -n 40
fi

oa_done
