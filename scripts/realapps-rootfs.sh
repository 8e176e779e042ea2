#!/usr/bin/env bash
# The Debian root file system of the real-program tests (tests/it/realapps.rs)
# and of the bench's "requests lost per graceful stop" row: bookworm minbase
# with nginx-light, php8.2-fpm and postgresql-15, made by mmdebstrap (about a
# minute from the Debian mirror apt uses, about 550 MB). Prints the tarball's
# path on stdout.
#
#   scripts/realapps-rootfs.sh [CACHE_DIR]      (default: target/realapps)
#
# The tarball is cached in CACHE_DIR under a name keyed by the suite, the
# variant and the package list, so a second `make test` reuses it and a
# change of the list builds a new one (older ones are removed then). It is
# built under a lock (tests and the bench may ask at once: the second waits)
# into a temporary name, renamed when complete: a killed build leaves no
# tarball that looks finished. Every failure exits 1 with one line naming the
# step, and mmdebstrap's log is kept beside the cache. mmdebstrap is given
# 15 min, the lock's wait 16 min.
#
# The mirror is the one apt uses on this machine (the first URI of
# /etc/apt/sources.list or sources.list.d/*.sources that serves the suite);
# without one, mmdebstrap's own default. Needs root (mmdebstrap's root mode)
# and the Debian package mmdebstrap (scripts/setup.sh test).
set -euo pipefail
cd "$(dirname "$0")/.."

suite=bookworm
variant=minbase
packages=nginx-light,php8.2-fpm,postgresql-15
dir=${1:-target/realapps}

fail() {
    echo "realapps-rootfs: $*" >&2
    exit 1
}

command -v mmdebstrap >/dev/null || fail "step 'find mmdebstrap': not installed (Debian package mmdebstrap; run scripts/setup.sh test)"
[ "$(id -u)" = 0 ] || fail "step 'mmdebstrap': needs root (its root mode)"
mkdir -p "$dir" || fail "step 'create $dir' failed"
dir=$(cd "$dir" && pwd)
key=$(printf '%s\n' "$suite" "$variant" "$packages" | sha256sum | cut -c1-16)
out="$dir/rootfs-$key.tar"

exec 9>"$dir/rootfs.lock"
# Another build ends within its own bound (below), so this wait is bounded
# by it.
flock -w 960 9 || fail "step 'lock': $dir/rootfs.lock still held by another build after 16 min"
if [ -s "$out" ]; then
    echo "$out"
    exit 0
fi

# The mirror apt uses for $suite: deb822 files first (Debian's default since
# bookworm), then one-line sources.
mirror=$(
    awk -v suite="$suite" '
        /^[ \t]*$/ { if (uri != "" && ok) { print uri; exit } uri = ""; ok = 0; next }
        /^URIs:/ { uri = $2 }
        /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == suite) ok = 1 }
        END { if (uri != "" && ok) print uri }
    ' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n 1
)
if [ -z "$mirror" ] && [ -r /etc/apt/sources.list ]; then
    mirror=$(awk -v suite="$suite" '$1 == "deb" && $0 !~ /\[/ && $3 == suite { print $2; exit }' /etc/apt/sources.list)
fi

log="$dir/mmdebstrap.log"
tmp="$dir/.rootfs-$key.$$.tar"
trap 'rm -f "$tmp"' EXIT
# Bounded: a mirror that stops answering fails the step instead of hanging.
# shellcheck disable=SC2086 # $mirror is one word or none
if ! timeout --kill-after=30 900 mmdebstrap --mode=root --format=tar --variant="$variant" --include="$packages" \
    "$suite" "$tmp" $mirror >"$log" 2>&1; then
    tail -n 15 "$log" >&2
    fail "step 'mmdebstrap $suite ($variant, $packages)' failed; full log: $log"
fi
[ -s "$tmp" ] || fail "step 'mmdebstrap' wrote no tarball; log: $log"
# Older keys' tarballs are not needed any more.
for old in "$dir"/rootfs-*.tar; do
    [ "$old" = "$out" ] || rm -f "$old"
done
mv "$tmp" "$out" || fail "step 'rename $tmp to $out' failed"
trap - EXIT
echo "$out"
