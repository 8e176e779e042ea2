#!/usr/bin/env bash
# Installs what `make run`, `make test` and `make bench` need on a fresh
# Debian machine: the pinned toolchain's musl targets and the Debian packages
# the tests drive (busybox-static for scratch roots, qemu-user-static for the
# aarch64 binary, runc for a real OCI runtime, Debian's /usr/bin/python3 for
# the tests' helper processes and scripts/stress.py), plus strace, which only
# scripts/bench.py uses (idle system calls).
# Safe to run again: every step checks before it installs.
set -euo pipefail
cd "$(dirname "$0")/.."

targets="x86_64-unknown-linux-musl aarch64-unknown-linux-musl"
installed=$(rustup target list --installed 2>/dev/null || true)
for t in $targets; do
    case " $installed " in
        *"$t"*) ;;
        *) rustup target add "$t" ;;
    esac
done
# clippy and rustfmt come with the pinned toolchain's default profile; make
# sure, since auto-install of components is off on some machines.
rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy
rustup component list --installed 2>/dev/null | grep -q '^rustfmt' || rustup component add rustfmt

want="${SETUP_PACKAGES:-busybox-static qemu-user-static runc strace util-linux binutils python3}"
missing=""
for p in $want; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
if [ -n "$missing" ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "setup: missing Debian packages:$missing (run as root or install them)" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

# Let the aarch64 binary run directly (binfmt_misc), as root only; the
# qemu-user-static package registers it when systemd-binfmt runs, which a
# container does not, so register by hand if it is missing.
if [ "$(id -u)" = 0 ] && [ -x /usr/bin/qemu-aarch64-static ] && [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
    [ -e /proc/sys/fs/binfmt_misc/register ] || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc 2>/dev/null || true
    if [ -w /proc/sys/fs/binfmt_misc/register ]; then
        printf '%s' ':qemu-aarch64:M::\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00:\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff:/usr/bin/qemu-aarch64-static:F' \
            > /proc/sys/fs/binfmt_misc/register 2>/dev/null || true
    fi
    # Not fatal (only `make it-arm` needs it), but say so.
    if [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
        echo "setup: warning: could not register qemu-aarch64 with binfmt_misc; the aarch64 binary will not run directly (make it-arm will fail)" >&2
    fi
fi
