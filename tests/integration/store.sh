#!/usr/bin/env bash
# tests/integration/store.sh - the Berkeley DB store (SPEC §5) under real
# processes and real files, driven by tests/helpers/dbstress.c:
#
#   concurrency   8 processes x 2000 mixed operations; every committed
#                 write is there, counts exact, single-use things used once
#   races         16 processes refresh one token at once (barrier), inside
#                 and outside the reuse window, an older generation, mixed
#   crash         kill -9 writers >= 60 times; every commit that returned
#                 is there, the next process recovers, nobody blocks
#   watchdog      a call that cannot progress ends its process (75)
#   backup        hot backup while 3 processes write
#   permissions   data dir 0700, every file 0600
#   disk full     a small tmpfs: OA_DB_FULL, earlier data intact, writes
#                 work again once there is space (root only)
#   read-only     the same tmpfs remounted read-only: OA_DB_READONLY
#   corruption    garbage pages, a foreign file, a text file: OA_DB_CORRUPT
#
#   tests/integration/store.sh BUILD_DIR
#
# BUILD_DIR holds obj/t/dbstress (make B=BUILD_DIR helpers). Exits 0 when
# every step passed; prints each failed step.
set -uo pipefail

build=${1:-${OA_BUILD:-.}}
ds=$build/obj/t/dbstress
if [ ! -x "$ds" ]; then
	echo "store: $ds is missing (make B=$build helpers)" >&2
	exit 1
fi

tmp=$(mktemp -d /tmp/oa-store.XXXXXX)
mnt=$tmp/tmpfs
mounted=0
cleanup() {
	if [ "$mounted" = 1 ]; then
		umount "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

# Under LeakSanitizer: Berkeley DB itself does not free a panicked
# environment's handle memory on close (by design: the regions may be
# corrupt), which the corruption steps provoke. Only allocations made
# inside libdb are excused; the unit tests run without this.
printf 'leak:libdb-5.3.so\n' >"$tmp/lsan.supp"
export LSAN_OPTIONS="${LSAN_OPTIONS:+$LSAN_OPTIONS:}suppressions=$tmp/lsan.supp"

failed=()
step() {
	local name=$1
	shift
	echo "-- store: $name"
	# Functions run in a child bash, so that timeout can stop them.
	if declare -F "$1" >/dev/null; then
		set -- bash -c '"$@"' _ "$@"
	fi
	if ! timeout 170 "$@"; then
		echo "store: FAIL: $name"
		failed+=("$name")
	fi
}

# Every file of a data dir is 0600 and the dir 0700.
private_dir() {
	local d=$1 bad
	if [ "$(stat -c %a "$d")" != 700 ]; then
		echo "store: $d has mode $(stat -c %a "$d"), want 700"
		return 1
	fi
	bad=$(find "$d" -mindepth 1 \( -type d -o ! -perm 600 \) -printf '%m %p\n')
	if [ -n "$bad" ]; then
		echo "store: not 0600:"
		echo "$bad"
		return 1
	fi
	echo "private: $d and its $(find "$d" -type f | wc -l) files"
}

export ds tmp mnt
export -f private_dir

step "concurrency: 8 processes x 2000 operations" \
	"$ds" mixed "$tmp/mixed" 8 2000
step "permissions after concurrency" private_dir "$tmp/mixed"

for mode in window outside generation mixed mixed mixed; do
	rm -rf "$tmp/race"
	step "race: 16 processes, $mode" "$ds" race "$tmp/race" 16 "$mode"
done

step "crash: 60 x kill -9 of writers" "$ds" crash "$tmp/crash" 60 4
step "crash: 60 x kill -9, 8 writers" "$ds" crash "$tmp/crash8" 60 8
step "permissions after crashes" private_dir "$tmp/crash"

step "watchdog: a call stuck inside the environment exits 75" \
	"$ds" watchdog "$tmp/watchdog"

step "hot backup under writers" "$ds" backup-live "$tmp/live" "$tmp/live-backup"
step "permissions of the backup" private_dir "$tmp/live-backup"

# Damaged pages: written by a process, pages overwritten with garbage
# while nothing runs, and the shared regions gone (as after a reboot).
corrupt_pages() {
	local d=$tmp/corrupt
	"$ds" populate "$d" 3000 >/dev/null || return 1
	rm -f "$d"/__db.0*
	dd if=/dev/urandom of="$d/ownauth.db" bs=4096 seek=5 count=3 \
	    conv=notrunc 2>/dev/null || return 1
	"$ds" expect "$d" CORRUPT && "$ds" expect "$d" CORRUPT
}
foreign_file() {
	local d=$tmp/foreign
	"$ds" populate "$d" 10 >/dev/null || return 1
	head -c 65536 /dev/urandom >"$d/ownauth.db"
	"$ds" expect "$d" CORRUPT
}
text_file() {
	local d=$tmp/text
	"$ds" populate "$d" 10 >/dev/null || return 1
	echo "not a database" >"$d/ownauth.db"
	"$ds" expect "$d" CORRUPT
}
export -f corrupt_pages foreign_file text_file
step "corruption: garbage pages" corrupt_pages
step "corruption: a foreign file" foreign_file
step "corruption: a text file" text_file

# Disk full and read-only, on a tmpfs of our own (root only).
disk_full() {
	local d=$mnt/data avail
	"$ds" populate "$d" 200 || return 1
	# Leave about 1.5 MB: a few hundred 4 KiB writes.
	avail=$(df -k --output=avail "$mnt" | tail -1)
	dd if=/dev/zero of="$mnt/filler" bs=1k count=$((avail - 1500)) \
	    2>/dev/null
	"$ds" fill "$d" "$tmp/fill.count" || return 1
	rm -f "$mnt/filler"
	"$ds" verify-fill "$d" "$tmp/fill.count" &&
	    "$ds" verify "$d" 200 && "$ds" check "$d" && private_dir "$d"
}
read_only() {
	mount -o remount,ro "$mnt" || return 1
	"$ds" expect "$mnt/data" READONLY
}
export -f disk_full read_only
if [ "$(id -u)" = 0 ] && mkdir -p "$mnt" &&
    mount -t tmpfs -o size=24m,mode=0700 tmpfs "$mnt" 2>/dev/null; then
	mounted=1
	step "disk full (24 MB tmpfs)" disk_full
	step "read-only file system" read_only
	umount "$mnt" && mounted=0
else
	echo "store: not root or no tmpfs: disk-full and read-only steps skipped"
fi

if [ ${#failed[@]} -gt 0 ]; then
	echo "store: ${#failed[@]} step(s) failed:"
	printf '   %s\n' "${failed[@]}"
	exit 1
fi
echo "store: all steps passed"
