#!/usr/bin/env bash
# install.sh - dependencies and user-level installs for ownauth.
#
#   ./install.sh --deps            Debian packages to build and run ownauth
#   ./install.sh --deps --test     ... plus what the test suite needs (and
#                                  the npm packages of tests/)
#   ./install.sh --prefix DIR [--cgi-bin DIR] [--issuer URL]
#                                  build, then install for one user: the CLI
#                                  in DIR/bin, the programs in the cgi-bin
#                                  (default DIR/cgi-bin), the config, keys
#                                  and data in DIR/etc (made by `ownauth
#                                  init` when absent; never overwritten)
#       [--build DIR]              install programs already built in DIR
#                                  instead of building them for this prefix
#                                  (their compiled-in config path is that
#                                  build's: set OWNAUTH_CONF; for tests)
#
# Only what is missing is installed, so a second run is quick. As root,
# apt-get installs it; otherwise the exact apt-get line is printed and the
# script exits 1. Every step says what it does.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cd "$here"

say() { printf 'install.sh: %s\n' "$*"; }
die() { printf 'install.sh: error: %s\n' "$*" >&2; exit 1; }
usage() {
	sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'
	exit 2
}

want_deps=0 want_test=0 prefix="" cgibin="" issuer="" from=""
while [ $# -gt 0 ]; do
	case $1 in
	--deps) want_deps=1 ;;
	--test) want_test=1 ;;
	--prefix) [ $# -ge 2 ] || usage; prefix=$2; shift ;;
	--prefix=*) prefix=${1#*=} ;;
	--cgi-bin) [ $# -ge 2 ] || usage; cgibin=$2; shift ;;
	--cgi-bin=*) cgibin=${1#*=} ;;
	--issuer) [ $# -ge 2 ] || usage; issuer=$2; shift ;;
	--issuer=*) issuer=${1#*=} ;;
	--build) [ $# -ge 2 ] || usage; from=$2; shift ;;
	--build=*) from=${1#*=} ;;
	-h | --help) usage ;;
	*) printf 'install.sh: unknown argument: %s\n' "$1" >&2; usage ;;
	esac
	shift
done
[ "$want_test" = 1 ] && want_deps=1
[ "$want_deps" = 1 ] || [ -n "$prefix" ] || usage

# --- Debian packages ---------------------------------------------------------

# To build and run: compiler, make, pkg-config, the five libraries (SPEC
# §1), the FastCGI tools and lighttpd for `make demo`, Berkeley DB tools
# for `ownauth db` maintenance by hand.
BUILD_PKGS=(make gcc pkg-config libc6-dev libfcgi-dev libfcgi-bin libssl-dev
	libcjson-dev libcurl4-openssl-dev libdb5.3-dev db5.3-util lighttpd)
# To test: clang + the libFuzzer/sanitizer runtime (make fuzz), valgrind,
# wrk (bench), the independent verifiers (python3-jwt with cryptography for
# EdDSA; Node for jose), headless Chromium (browser tests), the other web
# servers the programs run under (Apache, nginx + spawn-fcgi), and the
# small tools the test scripts use (curl, jq, openssl, ss, taskset).
TEST_PKGS=(clang libclang-rt-14-dev valgrind wrk python3 python3-jwt
	python3-cryptography chromium apache2 libapache2-mod-fcgid nginx spawn-fcgi curl jq openssl
	iproute2 util-linux procps ca-certificates)

installed() {
	dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null | grep -qx installed
}

# A policy-rc.d that keeps apt from starting apache2/nginx/lighttpd as
# system services (the tests start their own, on random loopback ports;
# two daemons fighting for port 80 would also fail the install).
POLICY=/usr/sbin/policy-rc.d
made_policy=0
cleanup_policy() {
	if [ "$made_policy" = 1 ]; then
		rm -f "$POLICY"
		say "removed the temporary $POLICY"
	fi
}

install_pkgs() {
	local missing=() p
	for p in "$@"; do
		if installed "$p"; then :; else missing+=("$p"); fi
	done
	if [ ${#missing[@]} -eq 0 ]; then
		say "all ${#@} Debian packages are installed already"
		return 0
	fi
	say "missing Debian packages: ${missing[*]}"
	local line="apt-get install -y --no-install-recommends ${missing[*]}"
	if [ "$(id -u)" != 0 ]; then
		say "not root: as root, run:"
		echo "  apt-get update && $line"
		exit 1
	fi
	command -v apt-get >/dev/null || die "no apt-get: this needs Debian 12 (bookworm)"
	if [ ! -e "$POLICY" ]; then
		say "writing a temporary $POLICY so that apt starts no services"
		printf '#!/bin/sh\nexit 101\n' >"$POLICY"
		chmod 755 "$POLICY"
		made_policy=1
		trap cleanup_policy EXIT
	fi
	say "apt-get update (package lists)"
	DEBIAN_FRONTEND=noninteractive apt-get update -q
	say "$line"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
	for p in "${missing[@]}"; do
		installed "$p" || die "package $p did not install"
	done
	say "installed: ${missing[*]}"
}

# Node: the machine may have Node 20 from elsewhere; then Debian's nodejs
# is not installed over it.
node_pkgs() {
	if command -v node >/dev/null 2>&1; then
		say "node $(node --version) found at $(command -v node): not installing Debian's nodejs"
		if ! command -v npm >/dev/null 2>&1; then
			die "node is there but npm is not: install npm that matches $(command -v node)"
		fi
	else
		say "no node on PATH: adding Debian's nodejs and npm"
		TEST_PKGS+=(nodejs npm)
	fi
}

# npm packages of the test harness (tests/package-lock.json), installed
# with `npm ci` only when node_modules is missing or the lock changed.
npm_test_pkgs() {
	local lock="$here/tests/package-lock.json" stamp="$here/tests/node_modules/.ownauth-lock.sha256"
	[ -f "$lock" ] || die "missing $lock"
	local sum
	sum=$(sha256sum "$lock" | cut -d' ' -f1)
	if [ -d "$here/tests/node_modules" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$sum" ]; then
		say "tests/node_modules matches tests/package-lock.json: npm ci not needed"
		return 0
	fi
	say "npm ci in tests/ (node_modules missing or package-lock.json changed)"
	(cd "$here/tests" && npm ci --no-audit --no-fund --loglevel=error)
	echo "$sum" >"$stamp"
	say "npm packages installed in tests/node_modules"
}

if [ "$want_deps" = 1 ]; then
	if [ "$want_test" = 1 ]; then
		node_pkgs
		say "checking the Debian packages to build, run and test ownauth"
		install_pkgs "${BUILD_PKGS[@]}" "${TEST_PKGS[@]}"
		npm_test_pkgs
	else
		say "checking the Debian packages to build and run ownauth"
		install_pkgs "${BUILD_PKGS[@]}"
	fi
fi

# --- user-level install ------------------------------------------------------

# put SRC DST MODE: copies SRC to DST through a temporary file and a
# rename, so a running program is never overwritten in place; says
# whether DST changed.
put() {
	local src=$1 dst=$2 mode=$3 tmp
	if [ -f "$dst" ] && cmp -s "$src" "$dst"; then
		chmod "$mode" "$dst"
		say "unchanged $dst"
		return 0
	fi
	tmp=$(mktemp "$dst.XXXXXX")
	cp "$src" "$tmp"
	chmod "$mode" "$tmp"
	mv -f "$tmp" "$dst"
	say "installed $dst (mode $mode)"
}

if [ -n "$prefix" ]; then
	mkdir -p "$prefix"
	prefix=$(cd "$prefix" && pwd)
	cgibin=${cgibin:-$prefix/cgi-bin}
	etc="$prefix/etc"
	conf="$etc/ownauth.conf"

	if [ -n "$from" ]; then
		build=$(cd "$from" && pwd) || die "no build dir $from"
		say "installing the programs built in $build (their compiled-in config path is that build's; set OWNAUTH_CONF=$conf)"
	else
		command -v make >/dev/null || die "make is missing: run ./install.sh --deps first"
		# The programs find their config without $OWNAUTH_CONF (web
		# servers on shared hosting often pass no environment): the path
		# is compiled in, so they are built for this prefix, in their own
		# build dir.
		build="$here/build/prefix"
		if [ -f "$build/.conf-path" ] && [ "$(cat "$build/.conf-path")" != "$conf" ]; then
			say "the last --prefix build was for another config path: rebuilding"
			rm -rf "$build"
		fi
		mkdir -p "$build"
		say "building with the config path $conf compiled in (make B=build/prefix)"
		make -C "$here" --no-print-directory B=build/prefix OA_CONF_PATH="$conf" all
		echo "$conf" >"$build/.conf-path"
	fi

	say "installing into $prefix (programs in $cgibin)"
	mkdir -p "$prefix/bin" "$cgibin"
	put "$build/bin/ownauth" "$prefix/bin/ownauth" 0755
	found=0
	for p in "$build"/cgi-bin/*.fcgi; do
		[ -e "$p" ] || continue
		put "$p" "$cgibin/$(basename "$p")" 0755
		found=1
	done
	[ "$found" = 1 ] || die "no program was built in $build/cgi-bin"

	if [ -e "$conf" ]; then
		say "keeping the existing $conf, its keys and data (never overwritten)"
	else
		[ -n "$issuer" ] || die "no $conf yet: pass --issuer URL (the public URL of this ownauth) to create it"
		if [ -e "$etc" ]; then
			chmod 700 "$etc"
		fi
		say "creating $etc with \`ownauth init --issuer $issuer --dir $etc\`"
		"$prefix/bin/ownauth" init --issuer "$issuer" --dir "$etc"
	fi
	chmod 700 "$etc"
	chmod 600 "$conf"
	say "checking the installed instance (ownauth check)"
	if "$prefix/bin/ownauth" -c "$conf" check; then
		say "ownauth check: ok"
	else
		die "ownauth check failed for $conf (see above)"
	fi
	if [ -n "$from" ]; then
		say "done. The CLI: $prefix/bin/ownauth (use -c $conf or OWNAUTH_CONF)."
	else
		say "done. The CLI: $prefix/bin/ownauth (config $conf, compiled in)."
	fi
	say "Point the web server at $cgibin; etc/ has snippets for Apache, lighttpd and nginx."
fi
