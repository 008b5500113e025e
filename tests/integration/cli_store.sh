#!/bin/bash
# tests/integration/cli_store.sh BUILD_DIR - the store commands of
# bin/ownauth (SPEC §7): users list/show/add/disable/enable/delete/claims,
# sessions list/revoke, db check/backup/purge, token mint against the
# store, the database line of `ownauth check`, and the store's failures
# (damaged file; read-only and full file systems on a tmpfs, as root).
#
# Sessions are real ones: codes from tests/helpers/mkcode, exchanged by
# token.fcgi run by hand as plain CGI; what `sessions revoke` and
# `users delete` did is then seen by token.fcgi refusing the refresh
# tokens. Identities come from tests/helpers/signin_as (the store's
# sign-in call). Tokens are checked by python3-jwt against the published
# JWKS. Needs BUILD_DIR/bin/ownauth, BUILD_DIR/cgi-bin/token.fcgi and
# BUILD_DIR/obj/t/{mkcode,signin_as}. Exits non-zero when a check fails.
set -u

B=${1:-}
if [ -z "$B" ] || [ ! -x "$B/bin/ownauth" ]; then
	echo "usage: $0 BUILD_DIR   (BUILD_DIR/bin/ownauth must exist)" >&2
	exit 2
fi
B=$(cd "$B" && pwd -P)
OA=$B/bin/ownauth
TOKEN=$B/cgi-bin/token.fcgi
MKCODE=$B/obj/t/mkcode
SIGNIN=$B/obj/t/signin_as
for f in "$TOKEN" "$MKCODE" "$SIGNIN"; do
	if [ ! -x "$f" ]; then
		echo "cli_store: $f is missing (make B=$B all helpers)" >&2
		exit 2
	fi
done
PY=/usr/bin/python3
T=$(mktemp -d /tmp/ownauth-clistore.XXXXXX) || exit 1
T=$(cd "$T" && pwd -P)
MNT=$T/mnt
mounted=0
cleanup() {
	if [ "$mounted" = 1 ]; then
		umount "$MNT" 2>/dev/null || umount -l "$MNT" 2>/dev/null
	fi
	rm -rf "$T"
}
trap cleanup EXIT
unset OWNAUTH_CONF
# Under LeakSanitizer: Berkeley DB does not free a panicked environment's
# memory (the damaged-file steps panic it); only libdb's own allocations
# are excused (as in store.sh).
printf 'leak:libdb-5.3.so\n' >"$T/lsan.supp"
export LSAN_OPTIONS="${LSAN_OPTIONS:+$LSAN_OPTIONS:}suppressions=$T/lsan.supp"

# The quiet checks (fail, pass, show, want, has, hasnt, py) are lib.sh's
# oa_tally_checks. lib.sh turns pipefail on; this script's pipelines are
# written without it.
. "$(dirname "$0")/lib.sh"
set +o pipefail
oa_tally_checks
eq() {
	if [ "$2" = "$3" ]; then pass; else fail "$1: got '$2', want '$3'"; fi
}
# jget FILE EXPR: a value of the JSON in FILE (EXPR on d), printed.
jget() {
	"$PY" -c 'import json, sys
d = json.load(open(sys.argv[1]))
print(eval(sys.argv[2]))' "$1" "$2"
}

cd "$T" || exit 1
ISS=http://127.0.0.1:8080
RURI=http://127.0.0.1:5173/cb
ENC_RURI=http%3A%2F%2F127.0.0.1%3A5173%2Fcb
VERIFIER=dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk
"$OA" init --issuer "$ISS" --dir "$T/a" --client demo --redirect-uri "$RURI" \
    >/dev/null 2>"$T/err" || { cat "$T/err"; echo "cli_store: init failed"; exit 1; }
CONF=$T/a/ownauth.conf
DATA=$T/a/data
export OWNAUTH_CONF=$CONF
"$OA" keys publish "$T/pub" >/dev/null || fail "keys publish"

# session USER: a real session of USER (client demo): a code from mkcode
# (valid an hour, so that the used code outlives this script: the codes
# counts below stay put), exchanged by token.fcgi run as plain CGI. Sets
# SID, RT (the refresh token) and AT (the access token).
SID= RT= AT=
cgi_token() {
	local body=$1
	printf '%s' "$body" >"$T/cgi.in"
	env -i OWNAUTH_CONF="$CONF" REQUEST_METHOD=POST PATH_INFO=/token \
	    CONTENT_TYPE=application/x-www-form-urlencoded \
	    CONTENT_LENGTH=${#body} GATEWAY_INTERFACE=CGI/1.1 \
	    REMOTE_ADDR=127.0.0.1 QUERY_STRING= \
	    ${ASAN_OPTIONS:+ASAN_OPTIONS=$ASAN_OPTIONS} \
	    ${UBSAN_OPTIONS:+UBSAN_OPTIONS=$UBSAN_OPTIONS} \
	    ${LSAN_OPTIONS:+LSAN_OPTIONS=$LSAN_OPTIONS} \
	    "$TOKEN" <"$T/cgi.in" >"$T/cgi.out" 2>"$T/cgi.err"
	CGI_STATUS=$(head -n 1 "$T/cgi.out" | tr -d '\r' |
	    sed -n 's/^Status: \([0-9]*\).*/\1/p')
	awk 'b { print; next } /^\r?$/ { b = 1 }' "$T/cgi.out" >"$T/cgi.body"
}
session() {
	local code
	SID= RT= AT=
	code=$("$MKCODE" --code --user "$1" --client demo --redirect-uri "$RURI" \
	    --verifier "$VERIFIER" --ttl 3600) || { fail "mkcode --code $1"; return 1; }
	cgi_token "grant_type=authorization_code&code=$code&redirect_uri=$ENC_RURI&code_verifier=$VERIFIER&client_id=demo"
	if [ "$CGI_STATUS" != 200 ]; then
		fail "code exchange for $1: status $CGI_STATUS"
		cat "$T/cgi.out" "$T/cgi.err" >&2
		return 1
	fi
	RT=$(jget "$T/cgi.body" 'd["refresh_token"]')
	AT=$(jget "$T/cgi.body" 'd["access_token"]')
	SID=$("$PY" -c 'import sys, jwt
print(jwt.decode(sys.argv[1], options={"verify_signature": False})["sid"])' "$AT")
	pass
}
# refresh RT: a refresh grant; sets CGI_STATUS and NEW_RT.
refresh() {
	NEW_RT=
	cgi_token "grant_type=refresh_token&refresh_token=$1&client_id=demo"
	if [ "$CGI_STATUS" = 200 ]; then
		NEW_RT=$(jget "$T/cgi.body" 'd["refresh_token"]')
	fi
}
# claims TOKEN: the verified claims (python3-jwt, published JWKS) as JSON
# into $T/claims.json.
claims() {
	"$PY" - "$T/pub/jwks.json" "$1" >"$T/claims.json" 2>"$T/py.out" <<'EOF' ||
import json, sys, jwt
jwks = jwt.PyJWKSet.from_json(open(sys.argv[1]).read())
tok = sys.argv[2]
h = jwt.get_unverified_header(tok)
key = [k for k in jwks.keys if k.key_id == h["kid"]][0]
print(json.dumps(jwt.decode(tok, key.key, algorithms=["RS256"],
    audience="demo", issuer="http://127.0.0.1:8080")))
EOF
	{
		fail "python3-jwt does not verify the token"
		sed 's/^/  py| /' "$T/py.out" >&2
	}
}

# ---------------------------------------------------------------- usage
want "users without sub-command" 2 "$OA" users
has "$T/err" "users list" "lists the users commands"
want "sessions without sub-command" 2 "$OA" sessions
want "db without sub-command" 2 "$OA" db
want "help lists the store commands" 0 "$OA" help
for w in "users list" "users show" "users add" "users disable" "users enable" \
    "users delete" "users claims" "sessions list" "sessions revoke" \
    "db check" "db backup" "db purge"; do
	has "$T/out" "ownauth $w" "help: $w"
done
want "users show without ID" 2 "$OA" users show
want "users show with a bad id" 2 "$OA" users show "a b"
want "users show with two ids" 2 "$OA" users show a b
want "users list with an argument" 2 "$OA" users list x
want "users list --bogus" 2 "$OA" users list --bogus
want "users add --id with a space" 2 "$OA" users add --id "a b"
want "users add --id too long" 2 "$OA" users add --id "$(printf 'u%.0s' $(seq 65))"
want "users add --email not an address" 2 "$OA" users add --email nobody
want "users add --unverified without --email" 2 "$OA" users add --unverified
want "users add --picture not https" 2 "$OA" users add --picture ftp://x/y.png
want "users add --name with a control byte" 2 "$OA" users add --name "$(printf 'a\tb')"
want "users claims without args" 2 "$OA" users claims
want "users claims, three args" 2 "$OA" users claims a '{}' x
want "sessions list without USER" 2 "$OA" sessions list
want "sessions revoke without USER" 2 "$OA" sessions revoke
want "sessions revoke with a bad sid" 2 "$OA" sessions revoke alice "x y"
want "db backup without DIR" 2 "$OA" db backup
want "db purge with an argument" 2 "$OA" db purge x
want "db check with a missing config" 2 "$OA" -c "$T/nonexistent.conf" db check
[ -z "$(ls -A "$DATA")" ] || fail "refused commands touched the data dir"

# ---------------------------------------------------------------- empty store
want "users list (empty)" 0 "$OA" users list
has "$T/out" "no users yet" "says there are none"
want "users list --json (empty)" 0 "$OA" users list --json
py "empty JSON list" 'import json, sys; assert json.load(open(sys.argv[1])) == []' "$T/out"
want "check opens the database" 0 "$OA" check
has "$T/out" "^ok +database in $DATA opens: 0 user\(s\)" "check: database line"

# ---------------------------------------------------------------- users add
want "users add --id alice" 0 "$OA" users add --id alice \
    --email Alice@Example.com --name "Alice Liddell" \
    --picture https://example.com/alice.png
eq "add prints the id" "$(cat "$T/out")" alice
want "users add (generated id)" 0 "$OA" users add
GEN=$(cat "$T/out")
[[ $GEN =~ ^u_[A-Za-z0-9_-]{22}$ ]] && pass || fail "generated id '$GEN'"
want "users add --unverified" 0 "$OA" users add --email bob@example.com \
    --unverified --name "Bob"
BOB=$(cat "$T/out")
want "users add: taken id" 1 "$OA" users add --id alice
has "$T/err" "taken" "says the id is taken"
want "users add carol" 0 "$OA" users add --id carol --email carol@example.com

# ---------------------------------------------------------------- users list / show
want "users list" 0 "$OA" users list
has "$T/out" "^alice +enabled .*Alice@Example.com / Alice Liddell$" "text line of alice"
has "$T/out" "^$GEN +enabled .*never +-$" "text line of the generated user"
want "users list --json" 0 "$OA" users list --json
py "users list --json" '
import json, sys
v = json.load(open(sys.argv[1]))
ids = [u["id"] for u in v]
assert ids == sorted(ids) and set(ids) == {"alice", "carol", sys.argv[2], sys.argv[3]}, ids
a = [u for u in v if u["id"] == "alice"][0]
assert a["email"] == "Alice@Example.com" and a["email_verified"] is True, a
assert a["name"] == "Alice Liddell" and a["picture"] == "https://example.com/alice.png", a
assert a["disabled"] is False and a["claims"] == {} and a["last_login"] == 0, a
assert abs(a["created"] - __import__("time").time()) < 300, a
b = [u for u in v if u["id"] == sys.argv[3]][0]
assert b["email_verified"] is False and b["name"] == "Bob", b
g = [u for u in v if u["id"] == sys.argv[2]][0]
assert g["email"] is None and g["name"] is None and g["picture"] is None, g
' "$T/out" "$GEN" "$BOB"
want "users show alice" 0 "$OA" users show alice
has "$T/out" "^email +Alice@Example.com \(verified\)$" "show: email"
has "$T/out" "^state +enabled$" "show: state"
has "$T/out" "^identities +0" "show: no identities"
has "$T/out" "^sessions +0 live, 0 in all" "show: no sessions"
has "$T/out" "^claims +none$" "show: no claims"
want "users show unknown" 1 "$OA" users show nobody
has "$T/err" "unknown user nobody" "names the unknown user"

# ---------------------------------------------------------------- identities
want "signin_as (a sign-in through google)" 0 "$SIGNIN" google g-123 dan@example.com Dan
DAN=$(cat "$T/out")
"$SIGNIN" github 4242 >/dev/null || fail "signin_as github"
want "users show (identities)" 0 "$OA" users show "$DAN" --json
py "show --json: identities, last login" '
import json, sys, time
u = json.load(open(sys.argv[1]))
assert u["id"] == sys.argv[2] and u["email"] == "dan@example.com", u
assert [(i["provider"], i["subject"]) for i in u["identities"]] == [("google", "g-123")], u
assert abs(u["identities"][0]["created"] - time.time()) < 300, u
assert u["last_login"] > 0 and u["sessions"] == {"live": 0, "total": 0}, u
' "$T/out" "$DAN"
want "users show (identities, text)" 0 "$OA" users show "$DAN"
has "$T/out" "^identities +1$" "text: one identity"
has "$T/out" "^  google +g-123  \(since " "text: the identity"
has "$T/out" "^last login +[0-9]{4}-" "text: last login"

# ---------------------------------------------------------------- claims
for r in iss sub aud exp iat nbf jti sid auth_time nonce azp at_hash c_hash typ; do
	want "reserved claim $r refused" 2 "$OA" users claims alice "{\"role\":\"x\",\"$r\":\"v\"}"
	has "$T/err" "'$r' is a reserved claim" "names $r"
done
for j in '[1]' '"role"' 42 null true 'not json' '{"a":1,"a":2}' '{"a":1} x' '{' ''; do
	want "claims '$j' refused" 2 "$OA" users claims alice "$j"
done
has "$T/err" "not valid JSON" "says why"
want "claims: an array is not an object" 2 "$OA" users claims alice '[{"a":1}]'
has "$T/err" "must be a JSON object" "says it must be an object"
want "claims: too long" 2 "$OA" users claims alice \
    "{\"x\":\"$(head -c 9000 /dev/zero | tr '\0' a)\"}"
want "claims of an unknown user" 1 "$OA" users claims nobody '{"role":"x"}'
has "$T/err" "unknown user nobody" "names the user"
want "nothing was stored by the refusals" 0 "$OA" users claims alice
py "alice has no claims yet" 'import json, sys; assert json.load(open(sys.argv[1])) == {}' "$T/out"
CL='{"role":"admin","org":{"id":7,"name":"Wonderland"},"tags":["a","b"],"n":1.5,"ok":false}'
want "set claims" 0 "$OA" users claims alice "$CL"
has "$T/out" '^custom claims of alice: \{"role":"admin"' "prints them"
want "print claims" 0 "$OA" users claims alice
py "claims read back" '
import json, sys
assert json.load(open(sys.argv[1])) == json.loads(sys.argv[2])' "$T/out" "$CL"
want "users show --json (claims)" 0 "$OA" users show alice --json
py "show --json: claims" '
import json, sys
assert json.load(open(sys.argv[1]))["claims"] == json.loads(sys.argv[2])' "$T/out" "$CL"
want "profile claim name: warned, stored" 0 "$OA" users claims carol '{"name":"Nope","team":"red"}'
has "$T/err" "warning: .*'name' is a profile claim" "warns about a profile claim"

# ---------------------------------------------------------------- token mint
want "mint: unknown user" 1 "$OA" token mint nobody
has "$T/err" "unknown user nobody" "names the user"
want "mint: bad user id" 2 "$OA" token mint "a b"
want "mint alice" 0 "$OA" token mint alice
ATOK=$(cat "$T/out")
eq "mint prints one line" "$(wc -l <"$T/out")" 1
claims "$ATOK"
py "minted token: profile and custom claims" '
import json, sys, time
c = json.load(open(sys.argv[1]))
cl = json.loads(sys.argv[2])
assert c["sub"] == "alice" and c["iss"] == "http://127.0.0.1:8080" and c["aud"] == "demo", c
assert c["email"] == "Alice@Example.com" and c["email_verified"] is True, c
assert c["name"] == "Alice Liddell" and c["picture"] == "https://example.com/alice.png", c
for k, v in cl.items():
    assert c[k] == v, (k, c)
assert c["sid"].startswith("cli-") and c["jti"] and c["exp"] - c["iat"] == 3600, c
assert abs(c["auth_time"] - time.time()) < 300, c
' "$T/claims.json" "$CL"
want "mint bob" 0 "$OA" token mint "$BOB" --ttl 60
claims "$(cat "$T/out")"
py "unverified email, --ttl" '
import json, sys
c = json.load(open(sys.argv[1]))
assert c["email"] == "bob@example.com" and c["email_verified"] is False, c
assert c["exp"] - c["iat"] == 60 and "role" not in c, c' "$T/claims.json"
want "mint carol" 0 "$OA" token mint carol
claims "$(cat "$T/out")"
py "a profile-named custom claim never replaces the profile" '
import json, sys
c = json.load(open(sys.argv[1]))
assert c["team"] == "red" and c["email"] == "carol@example.com", c
assert c["name"] == "Nope", "no profile name: the custom one goes in"' "$T/claims.json"
want "mint: the generated user" 0 "$OA" token mint "$GEN"
claims "$(cat "$T/out")"
py "no profile claims when unknown" '
import json, sys
c = json.load(open(sys.argv[1]))
assert not {"email", "email_verified", "name", "picture"} & set(c), c' "$T/claims.json"
# mint records nothing: no session appears.
want "sessions list after mint" 0 "$OA" sessions list alice --json
py "mint made no session" 'import json, sys; assert json.load(open(sys.argv[1])) == []' "$T/out"

# ---------------------------------------------------------------- disable / enable
want "users disable alice" 0 "$OA" users disable alice
has "$T/out" "^disabled alice" "says so"
want "users disable alice again" 0 "$OA" users disable alice
has "$T/out" "already disabled" "says already"
want "users show (disabled)" 0 "$OA" users show alice
has "$T/out" "^state +disabled$" "show: disabled"
want "mint for a disabled user" 1 "$OA" token mint alice
has "$T/err" "disabled" "says disabled"
want "check counts the disabled user" 0 "$OA" check
has "$T/out" "^ok +database in $DATA opens: 6 user\(s\), 1 disabled" "check: 6 users (one per sign-in identity), 1 disabled"
want "users enable alice" 0 "$OA" users enable alice
has "$T/out" "^enabled alice$" "says enabled"
want "mint after enable" 0 "$OA" token mint alice
want "users disable unknown" 1 "$OA" users disable nobody
want "users enable unknown" 1 "$OA" users enable nobody

# ---------------------------------------------------------------- sessions
session alice && S1=$SID R1=$RT A1=$AT
session alice && S2=$SID R2=$RT
session "$BOB" && SB=$SID RB=$RT
claims "$A1"
py "the token endpoint merges the custom claims too" '
import json, sys
c = json.load(open(sys.argv[1]))
assert c["role"] == "admin" and c["org"]["id"] == 7 and c["sid"] == sys.argv[2], c' \
    "$T/claims.json" "$S1"
want "sessions list alice" 0 "$OA" sessions list alice
has "$T/out" "^$S1 +demo +live " "text: session 1"
has "$T/out" "^$S2 +demo +live " "text: session 2"
hasnt "$T/out" "$SB" "not bob's session"
want "sessions list alice --json" 0 "$OA" sessions list alice --json
py "sessions list --json" '
import json, sys, time
v = json.load(open(sys.argv[1]))
assert sorted(s["sid"] for s in v) == sorted(sys.argv[2:4]), v
for s in v:
    assert s["user"] == "alice" and s["client"] == "demo" and s["state"] == "live", s
    assert s["revoked"] is False and s["expires"] - s["created"] == 2592000, s
    assert abs(s["auth_time"] - time.time()) < 300 and s["last_refresh"] == 0, s
' "$T/out" "$S1" "$S2"
want "users show alice (sessions)" 0 "$OA" users show alice --json
py "show: 2 live sessions" '
import json, sys
assert json.load(open(sys.argv[1]))["sessions"] == {"live": 2, "total": 2}' "$T/out"
want "sessions list unknown" 1 "$OA" sessions list nobody
has "$T/err" "unknown user nobody" "names the user"
want "sessions list carol (none)" 0 "$OA" sessions list carol
has "$T/out" "no sessions" "says none"

want "revoke another user's session" 1 "$OA" sessions revoke alice "$SB"
has "$T/err" "alice has no session $SB" "refuses a sid of another user"
want "revoke an unknown session" 1 "$OA" sessions revoke alice s_nonexistent
want "revoke for an unknown user" 1 "$OA" sessions revoke nobody
want "revoke for an unknown user with a sid" 1 "$OA" sessions revoke nobody "$SB"
refresh "$RB"
eq "bob's session survived the refused revokes" "$CGI_STATUS" 200
RB=$NEW_RT

want "revoke one session" 0 "$OA" sessions revoke alice "$S1"
has "$T/out" "^revoked session $S1 of alice" "says so"
want "sessions list after one revoke" 0 "$OA" sessions list alice --json
py "S1 revoked, S2 live" '
import json, sys
v = {s["sid"]: s for s in json.load(open(sys.argv[1]))}
assert v[sys.argv[2]]["state"] == "revoked" and v[sys.argv[2]]["revoked"] is True, v
assert v[sys.argv[3]]["state"] == "live", v' "$T/out" "$S1" "$S2"
refresh "$R1"
eq "a revoked session's refresh token is refused" "$CGI_STATUS" 400
has "$T/cgi.body" invalid_grant "invalid_grant"
refresh "$R2"
eq "the other session still refreshes" "$CGI_STATUS" 200
R2=$NEW_RT
want "sessions list shows the refresh" 0 "$OA" sessions list alice --json
py "last_refresh set" '
import json, sys
v = {s["sid"]: s for s in json.load(open(sys.argv[1]))}
assert v[sys.argv[2]]["last_refresh"] > 0, v' "$T/out" "$S2"
want "revoke the same session again" 0 "$OA" sessions revoke alice "$S1"
has "$T/out" "already revoked" "says already"
want "revoke all of alice's" 0 "$OA" sessions revoke alice
has "$T/out" "^revoked 1 live session\(s\) of alice$" "counts the live ones"
refresh "$R2"
eq "refresh after revoke all" "$CGI_STATUS" 400
refresh "$RB"
eq "bob's session untouched by alice's revoke" "$CGI_STATUS" 200
RB=$NEW_RT
want "revoke all again: none live" 0 "$OA" sessions revoke alice
has "$T/out" "^revoked 0 live session" "zero"

want "disable bob" 0 "$OA" users disable "$BOB"
refresh "$RB"
eq "a disabled user's refresh token is refused" "$CGI_STATUS" 400
want "enable bob" 0 "$OA" users enable "$BOB"

# ---------------------------------------------------------------- delete (cascade)
session "$DAN" && SD1=$SID RD1=$RT
session "$DAN" && SD2=$SID
want "db check before delete" 0 "$OA" db check
SESS_BEFORE=$(sed -n 's/^sessions *\([0-9]*\)$/\1/p' "$T/out")
IDS_BEFORE=$(sed -n 's/^identities *\([0-9]*\)$/\1/p' "$T/out")
want "users delete dan" 0 "$OA" users delete "$DAN"
has "$T/out" "^deleted $DAN with 1 identity and 2 session\(s\)" "counts what went"
want "show after delete" 1 "$OA" users show "$DAN"
want "sessions list after delete" 1 "$OA" sessions list "$DAN"
want "sessions revoke after delete" 1 "$OA" sessions revoke "$DAN" "$SD2"
refresh "$RD1"
eq "refresh token of a deleted user" "$CGI_STATUS" 400
want "db check after delete" 0 "$OA" db check
eq "sessions gone from the store" \
    "$(sed -n 's/^sessions *\([0-9]*\)$/\1/p' "$T/out")" $((SESS_BEFORE - 2))
eq "identity gone from the store" \
    "$(sed -n 's/^identities *\([0-9]*\)$/\1/p' "$T/out")" $((IDS_BEFORE - 1))
has "$T/out" "^users +[0-9]+ \(1 deleted ids kept\)" "the id is kept"
want "the deleted id is never reused" 1 "$OA" users add --id "$DAN"
want "mint for a deleted user" 1 "$OA" token mint "$DAN"
want "delete unknown" 1 "$OA" users delete nobody
want "delete again" 1 "$OA" users delete "$DAN"
# A new sign-in with the deleted identity makes a new user.
want "sign-in after delete" 0 "$SIGNIN" google g-123 dan@example.com
[ "$(cat "$T/out")" != "$DAN" ] && pass || fail "a deleted id came back"

# ---------------------------------------------------------------- clearing claims
want "clear claims" 0 "$OA" users claims alice '{}'
has "$T/out" "^cleared the custom claims of alice$" "says cleared"
want "mint after clearing" 0 "$OA" token mint alice
claims "$(cat "$T/out")"
py "no custom claims left" '
import json, sys
c = json.load(open(sys.argv[1]))
assert not {"role", "org", "tags", "n", "ok"} & set(c), c' "$T/claims.json"
want "show after clearing" 0 "$OA" users show alice
has "$T/out" "^claims +none$" "show: none"

# ---------------------------------------------------------------- db check / purge
want "db check" 0 "$OA" db check
has "$T/out" "^database +$DATA$" "names the data dir"
has "$T/out" "^ok: " "ok line"
CODES0=$(sed -n 's/^codes *\([0-9]*\)$/\1/p' "$T/out")
for i in 1 2 3; do
	"$MKCODE" --code --user alice --client demo --redirect-uri "$RURI" \
	    --verifier "$VERIFIER" --ttl -10 >/dev/null || fail "mkcode expired code"
done
want "db check with expired codes" 0 "$OA" db check
eq "3 more codes stored" "$(sed -n 's/^codes *\([0-9]*\)$/\1/p' "$T/out")" $((CODES0 + 3))
want "db purge" 0 "$OA" db purge
has "$T/out" "^purged [0-9]+ expired record\(s\)$" "prints the count"
N=$(sed -n 's/^purged \([0-9]*\) .*/\1/p' "$T/out")
[ "${N:-0}" -ge 3 ] && pass || fail "purge removed $N records, want >= 3"
want "db check after purge" 0 "$OA" db check
eq "the expired codes are gone, the others stay" \
    "$(sed -n 's/^codes *\([0-9]*\)$/\1/p' "$T/out")" "$CODES0"
want "db purge again" 0 "$OA" db purge
has "$T/out" "^purged 0 expired" "nothing left to purge"

# ---------------------------------------------------------------- db backup / restore
"$OA" users list --json >"$T/users.before" || fail "users list before backup"
want "db backup" 0 "$OA" db backup "$T/bk"
has "$T/out" "verified" "says verified"
[ "$(stat -c %a "$T/bk")" = 700 ] && pass || fail "backup dir mode $(stat -c %a "$T/bk")"
bad=$(find "$T/bk" -type f ! -perm 600)
[ -z "$bad" ] && pass || fail "backup files not 0600: $bad"
[ -f "$T/bk/ownauth.db" ] && pass || fail "no ownauth.db in the backup"
want "db backup into a non-empty dir" 1 "$OA" db backup "$T/bk"
has "$T/err" "not an empty directory" "says why"
mkdir -m 700 "$T/bk2"
want "db backup into an empty dir" 0 "$OA" db backup "$T/bk2"
# Changes after the backup are not in it.
want "users add after backup" 0 "$OA" users add --id late
# Restore: a new data dir with the backup's files, and a config for it.
mkdir -m 700 "$T/restored"
cp -p "$T/bk"/* "$T/restored/"
sed "s|^data_dir = .*|data_dir = $T/restored|" "$CONF" >"$T/restored.conf"
chmod 600 "$T/restored.conf"
want "users list from the restored backup" 0 "$OA" -c "$T/restored.conf" users list --json
py "the restored store has the users of the backup" '
import json, sys
a = json.load(open(sys.argv[1]))
b = json.load(open(sys.argv[2]))
assert a == b, (a, b)
assert "late" not in [u["id"] for u in b]' "$T/users.before" "$T/out"
want "db check of the restored store" 0 "$OA" -c "$T/restored.conf" db check
want "mint from the restored store" 0 "$OA" -c "$T/restored.conf" token mint carol
want "the restored store works" 0 "$OA" -c "$T/restored.conf" users add --id after-restore

# ---------------------------------------------------------------- store failures
# A data dir that cannot be created.
touch "$T/plainfile"
sed "s|^data_dir = .*|data_dir = $T/plainfile/data|" "$CONF" >"$T/nodir.conf"
chmod 600 "$T/nodir.conf"
want "users list: data dir cannot be created" 1 "$OA" -c "$T/nodir.conf" users list
has "$T/err" "cannot open the database in $T/plainfile/data" "names the data dir"
want "check: data dir cannot be created" 1 "$OA" -c "$T/nodir.conf" check
has "$T/out" "^FAIL +database in $T/plainfile/data does not open" "check: FAIL line"

# A data dir that does not exist: check says so and creates nothing.
sed "s|^data_dir = .*|data_dir = $T/nowhere|" "$CONF" >"$T/nowhere.conf"
chmod 600 "$T/nowhere.conf"
want "check: missing data dir" 1 "$OA" -c "$T/nowhere.conf" check
has "$T/out" "^FAIL +database not opened: $T/nowhere is missing" "check: FAIL line"
[ -e "$T/nowhere" ] && fail "check created the data dir" || pass

# A damaged database file (the regions gone, as after a reboot).
"$OA" init --issuer "$ISS" --dir "$T/c" --client demo --redirect-uri "$RURI" \
    >/dev/null 2>&1 || fail "init c"
CC=$T/c/ownauth.conf
want "users add in c" 0 "$OA" -c "$CC" users add --id zed
rm -f "$T"/c/data/__db.0*
echo "not a database" >"$T/c/data/ownauth.db"
want "users list: damaged file" 1 "$OA" -c "$CC" users list
has "$T/err" "$T/c/data: database file is damaged or not an ownauth database" \
    "the store's sentence, naming the data dir"
want "token mint: damaged file" 1 "$OA" -c "$CC" token mint zed
has "$T/err" "damaged" "mint says damaged"
want "db check: damaged file" 1 "$OA" -c "$CC" db check
has "$T/err" "damaged" "db check says damaged"
want "check: damaged file" 1 "$OA" -c "$CC" check
has "$T/out" "^FAIL +database in $T/c/data.*damaged" "check: FAIL line"

# Garbage pages in a real database: db check finds them.
"$OA" init --issuer "$ISS" --dir "$T/g" --client demo --redirect-uri "$RURI" \
    >/dev/null 2>&1 || fail "init g"
CG=$T/g/ownauth.conf
for i in $(seq 1 150); do
	echo "--id g$i --email g$i@example.com --name $(printf 'n%.0s' $(seq 40))"
done | while read -r args; do
	# shellcheck disable=SC2086
	"$OA" -c "$CG" users add $args >/dev/null || echo fail
done | grep -q fail && fail "populating g"
want "db check of g (sound)" 0 "$OA" -c "$CG" db check
rm -f "$T"/g/data/__db.0*
dd if=/dev/urandom of="$T/g/data/ownauth.db" bs=4096 seek=3 count=2 \
    conv=notrunc 2>/dev/null
want "db check: garbage pages" 1 "$OA" -c "$CG" db check
hasnt "$T/out" "^ok:" "no ok line"

# Read-only and full file systems: a tmpfs of our own (root only).
if [ "$(id -u)" = 0 ] && mkdir -p "$MNT" &&
    mount -t tmpfs -o size=16m,mode=0700 tmpfs "$MNT" 2>/dev/null; then
	mounted=1
	sed "s|^data_dir = .*|data_dir = $MNT/data|" "$CONF" >"$T/tmpfs.conf"
	chmod 600 "$T/tmpfs.conf"
	CT=$T/tmpfs.conf
	want "users add on the tmpfs" 0 "$OA" -c "$CT" users add --id t1
	# Full: fill the file system, then add users until the store says so.
	dd if=/dev/zero of="$MNT/filler" bs=64k 2>/dev/null
	got=0
	for i in $(seq 1 300); do
		if ! "$OA" -c "$CT" users add --id "full$i" \
		    --name "$(printf 'x%.0s' $(seq 400))" >"$T/out" 2>"$T/err"; then
			got=$i
			break
		fi
	done
	echo "cli_store: the disk was full after $got users add"
	[ "$got" -gt 0 ] && pass || fail "users add never failed on a full disk"
	has "$T/err" "the database in $MNT/data: no space left on the database device" \
	    "full disk: the store's sentence, naming the data dir"
	rm -f "$MNT/filler"
	want "users add once there is space" 0 "$OA" -c "$CT" users add --id t2
	want "db check after the full disk" 0 "$OA" -c "$CT" db check
	want "users show t1 after the full disk" 0 "$OA" -c "$CT" users show t1
	# Read-only.
	mount -o remount,ro "$MNT" || fail "remount ro"
	want "users add on a read-only fs" 1 "$OA" -c "$CT" users add --id t3
	has "$T/err" "$MNT/data.*read-only or not accessible" \
	    "read-only: the store's sentence, naming the data dir"
	mount -o remount,rw "$MNT" 2>/dev/null
	umount "$MNT" && mounted=0
else
	echo "cli_store: not root or no tmpfs: full-disk and read-only steps skipped"
fi

echo "cli_store.sh: $nok checks passed, $nfail failed"
[ "$nfail" -eq 0 ]
