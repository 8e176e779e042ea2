#!/usr/bin/env bash
# Installs what the given make goals need on a fresh Debian machine, and no
# more: `make X` runs `scripts/setup.sh X` once, before anything it builds
# (no goal: `setup`, everything `make test` needs).
#
#   every goal  the pinned toolchain's musl targets, clippy and rustfmt
#               (rustup, as whoever runs make); `make run` needs nothing else
#   test, it, it-arm, stress-short, check-static, setup
#               busybox-static (scratch roots and images), qemu-user-static
#               (the aarch64 binary, registered with binfmt_misc), runc (a
#               real OCI runtime), docker.io and podman (the engine tests;
#               catatonit builds podman's pod infra image, tmux drives
#               `run -it`), util-linux (unshare), binutils (readelf),
#               python3 (the tests' helpers, scripts/stress.py, the hung
#               FUSE file system scripts/hungfs.py), strace (which pids
#               dinit signals, tests/it/hostile.rs; an exec delayed by its fault
#               injection, tests/it/spawning.rs), mmdebstrap (the Debian
#               root file system of the real-program tests,
#               scripts/realapps-rootfs.sh), systemd
#               (systemd-socket-activate, for socket activation through dinit)
#   stress      python3, util-linux
#   bench       python3, util-linux, binutils, strace, tini, dumb-init,
#               catatonit (scripts/bench.py's side-by-side rows), mmdebstrap
#               (the nginx + php-fpm root file system of its graceful-stop row)
#   release     binutils, python3 (scripts/oci-image.py, scripts/sbom.py)
#   release, test, it, it-arm, setup
#               cargo-auditable, the version pinned below (`cargo install
#               --locked`, as whoever runs make): `make release` writes the
#               dependency section with it, and `make it` tests the release
#
# (`make it` and `make it-arm` run `make release` first: the engine tests
# load the release's image archive and the release tests read its files.)
#
# Missing Debian packages are installed with apt-get as root; as any other
# user, a goal that needs one stops and names the command that installs it.
# Safe to run again: every step checks before it installs.
set -euo pipefail
cd "$(dirname "$0")/.."

# Part of the release build (the format of the binaries' dependency
# section): scripts/release.sh refuses any other version.
CARGO_AUDITABLE_VERSION=0.7.7

test_packages="busybox-static qemu-user-static runc util-linux binutils python3 strace docker.io podman catatonit tmux mmdebstrap systemd"
want=""
binfmt=no
auditable=no
for goal in "${@:-setup}"; do
    case $goal in
        test | it | it-arm | stress-short | check-static | setup)
            want="$want $test_packages"
            binfmt=yes
            ;;
        stress) want="$want python3 util-linux" ;;
        bench) want="$want python3 util-linux binutils strace tini dumb-init catatonit mmdebstrap" ;;
        release) want="$want binutils python3" ;;
        *) ;; # run, build, lint, unit, ...: the toolchain only
    esac
    case $goal in
        release | test | it | it-arm | setup) auditable=yes ;;
        *) ;;
    esac
done

if ! command -v rustup >/dev/null; then
    echo "setup: rustup not found: the toolchain pinned in rust-toolchain.toml comes from rustup (https://rustup.rs)" >&2
    exit 1
fi
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
# (The list is read first: with pipefail, `grep -q` leaving early would fail
# the pipe.)
components=$(rustup component list --installed 2>/dev/null || true)
grep -q '^clippy' <<<"$components" || rustup component add clippy
grep -q '^rustfmt' <<<"$components" || rustup component add rustfmt

# cargo-auditable, built from crates.io with its own Cargo.lock (--locked)
# by the pinned toolchain; about half a minute, once.
if [ $auditable = yes ]; then
    have=$(cargo install --list 2>/dev/null | sed -n 's/^cargo-auditable v\([0-9.]*\):$/\1/p')
    if [ "$have" != "$CARGO_AUDITABLE_VERSION" ]; then
        cargo install --locked --quiet cargo-auditable --version "$CARGO_AUDITABLE_VERSION"
    fi
fi

missing=""
for p in $(tr ' ' '\n' <<<"$want" | sort -u); do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
if [ -n "$missing" ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "setup: make ${*:-setup} needs Debian packages:$missing; install them with:" >&2
        echo "    sudo apt-get install --no-install-recommends$missing" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    # Another apt run (a second make in another checkout) holds dpkg's
    # lock for a while: wait for it instead of failing.
    apt-get -o DPkg::Lock::Timeout=600 update -qq
    # shellcheck disable=SC2086
    apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends $missing >/dev/null
fi

# Let the aarch64 binary run directly (binfmt_misc) for `make it-arm`. The
# qemu-user-static package registers it when systemd-binfmt runs, which a
# container does not, so register by hand if it is missing (root only).
if [ $binfmt = yes ] && [ -x /usr/bin/qemu-aarch64-static ] && [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
    if [ "$(id -u)" = 0 ]; then
        [ -e /proc/sys/fs/binfmt_misc/register ] || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc 2>/dev/null || true
        if [ -w /proc/sys/fs/binfmt_misc/register ]; then
            printf '%s' ':qemu-aarch64:M::\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00:\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff:/usr/bin/qemu-aarch64-static:F' \
                >/proc/sys/fs/binfmt_misc/register 2>/dev/null || true
        fi
    fi
    # Not fatal (only `make it-arm` needs it), but say so.
    if [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
        echo "setup: warning: qemu-aarch64 is not registered with binfmt_misc (setup does it as root); the aarch64 binary will not run directly (make it-arm will fail)" >&2
    fi
fi
