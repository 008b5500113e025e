#!/usr/bin/env bash
# install_prefix.sh BUILD_DIR - `install.sh --prefix` (SPEC §10): a user-level
# install puts the CLI in PREFIX/bin, the programs in the cgi-bin, creates
# PREFIX/etc with `ownauth init` only when there is no config, never
# overwrites a config or a key, keeps modes 0700/0600, and is idempotent.
# Uses --build BUILD_DIR (no rebuild; the programs get OWNAUTH_CONF).
. "$(dirname "$0")/lib.sh"
oa_setup "$@"
oa_need "$OA_CLI" "$OA_JWKS"
oa_need_cmd jq sha256sum

INSTALL="$OA_SRC/install.sh"
P="$OA_TMP/home/ownauth"
C="$OA_TMP/home/public_html/cgi-bin"
ISS="http://127.0.0.1:8089"

# inst ARGS...: runs install.sh, output in $OA_TMP/inst.out, code in $RC.
inst() {
	"$INSTALL" --prefix "$P" --cgi-bin "$C" --build "$OA_BUILD" "$@" >"$OA_TMP/inst.out" 2>&1
	RC=$?
}
mode() { stat -c %a "$1" 2>/dev/null; }
# The state of the config and the keys: every path, mode and content hash
# (the data dir is the database's to change).
etc_state() {
	(cd "$P/etc" && find . -path ./data -prune -o -exec stat -c '%n %a' {} + | sort &&
	    find . -path ./data -prune -o -type f -exec sha256sum {} + | sort) | sha256sum
}

# No config yet and no --issuer: refused, nothing created in etc.
inst
check "no config and no --issuer: refused" test "$RC" -ne 0
check "no config and no --issuer: says to pass --issuer" grep -q -- '--issuer' "$OA_TMP/inst.out"
check "no config and no --issuer: no config written" test ! -e "$P/etc/ownauth.conf"

# First install.
inst --issuer "$ISS"
if [ "$RC" -eq 0 ]; then ok "first install"; else fail "first install (rc $RC): $(tail -n 20 "$OA_TMP/inst.out")"; fi
check "CLI installed, executable" test -x "$P/bin/ownauth"
check "CLI is the built one" cmp -s "$P/bin/ownauth" "$OA_CLI"
for p in "$OA_BUILD"/cgi-bin/*.fcgi; do
	n=$(basename "$p")
	check "cgi-bin/$n installed, the built one" cmp -s "$C/$n" "$p"
	expect_eq "cgi-bin/$n mode" "$(mode "$C/$n")" 755
done
expect_eq "etc mode" "$(mode "$P/etc")" 700
expect_eq "config mode" "$(mode "$P/etc/ownauth.conf")" 600
expect_eq "config issuer" \
    "$(sed -n 's/^issuer[ \t]*=[ \t]*\([^ \t#]*\).*/\1/p' "$P/etc/ownauth.conf")" "$ISS"
KEYS=$(oa_keys_dir "$P/etc/ownauth.conf")
expect_eq "keys_dir mode" "$(mode "$KEYS")" 700
kid=$(oa_kids "$KEYS")
check "one private key" test -n "$kid" -a "$(echo "$kid" | wc -l)" -eq 1
expect_eq "private key mode" "$(mode "$KEYS/$kid.pem")" 600
check "installed CLI: ownauth check passes" "$P/bin/ownauth" -c "$P/etc/ownauth.conf" check

# The installed program serves the instance.
cgi_run "$P/etc/ownauth.conf" GET /.well-known/jwks.json "$C/jwks.fcgi"
expect_eq "installed jwks.fcgi: Status 200" "$CGI_STATUS" 200
expect_eq "installed jwks.fcgi: publishes the key" "$(cgi_body | jq -r '.keys[].kid' 2>/dev/null)" "$kid"

# Again: nothing changes; programs reported unchanged; config kept.
before=$(etc_state)
inst --issuer "$ISS"
expect_eq "second install: exit 0" "$RC" 0
check "second install: programs unchanged" grep -q "unchanged $C/jwks.fcgi" "$OA_TMP/inst.out"
check "second install: keeps the config" grep -q "keeping the existing" "$OA_TMP/inst.out"
expect_eq "second install: config and keys untouched (files, modes, contents)" "$(etc_state)" "$before"

# Another --issuer never rewrites an existing config or key.
inst --issuer "http://127.0.0.1:9/other"
expect_eq "install with another --issuer: exit 0" "$RC" 0
expect_eq "install with another --issuer: config and keys untouched" "$(etc_state)" "$before"

# Modes drifted by hand are put back; contents stay.
chmod 755 "$P/etc"
chmod 640 "$P/etc/ownauth.conf"
inst
expect_eq "modes drifted: exit 0" "$RC" 0
expect_eq "modes drifted: etc back to 0700" "$(mode "$P/etc")" 700
expect_eq "modes drifted: config back to 0600" "$(mode "$P/etc/ownauth.conf")" 600
expect_eq "modes drifted: config and keys otherwise untouched" "$(etc_state)" "$before"

# A changed program is replaced (through a rename: a running one is safe).
echo stale >"$C/jwks.fcgi"
inst
expect_eq "stale program: exit 0" "$RC" 0
check "stale program: replaced by the built one" cmp -s "$C/jwks.fcgi" "$OA_JWKS"
expect_eq "stale program: mode" "$(mode "$C/jwks.fcgi")" 755
check "no temporary files left in the cgi-bin" \
    test "$(find "$C" -name '*.fcgi.*' | wc -l)" -eq 0
oa_done
