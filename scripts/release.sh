#!/usr/bin/env bash
# `make release`: reproducible release tarballs for both targets in dist/.
#
#   dist/dinit-VERSION-x86_64-linux-musl.tar.gz
#   dist/dinit-VERSION-aarch64-linux-musl.tar.gz
#   dist/SHA256SUMS
#
# Each tarball holds `dinit` (mode 0755) and `dinit-submit`, a symlink to it,
# at the top level, so `ADD dinit-...tar.gz /` in a Dockerfile unpacks both
# into the image's root.
#
# Reproducible: a clone of the same commit in any other directory, built with
# the same pinned toolchain, gives byte-identical tarballs.
#  * The toolchain is the one rust-toolchain.toml pins; Cargo.lock is used
#    as is (--locked).
#  * Build paths are remapped (--remap-path-prefix) so neither the checkout
#    directory nor the cargo home leaks into the binary.
#  * The commit in the version line is HEAD's short hash, never a time
#    stamp; `-dirty` is added only when a build input (see `inputs` below)
#    differs from HEAD.
#  * Tarball members are sorted, owned by 0:0 (numeric), and carry the
#    commit's date as mtime; gzip stores no name or time (-n).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd -P)

SIZE_MAX=98304
targets="x86_64-unknown-linux-musl aarch64-unknown-linux-musl"

die() { echo "release: $*" >&2; exit 1; }

# --- inputs --------------------------------------------------------------
version=$(sed -n 's/^version *= *"\([^"]*\)".*/\1/p' Cargo.toml | head -n1)
[ -n "$version" ] || die "no version in Cargo.toml"

toolchain=$(sed -n 's/^channel *= *"\([^"]*\)".*/\1/p' rust-toolchain.toml | head -n1)
[ -n "$toolchain" ] || die "no toolchain channel in rust-toolchain.toml"
# The pinned toolchain, whatever the caller's environment says.
export RUSTUP_TOOLCHAIN=$toolchain

# What goes into the tarballs. A change anywhere else (README, tests, other
# scripts) cannot change a byte of them, so it does not make the build
# "-dirty": a checkout with an edited README still builds exactly what a
# fresh clone of HEAD builds.
inputs=(src build.rs Cargo.toml Cargo.lock link .cargo rust-toolchain.toml scripts/release.sh)

if git rev-parse --git-dir >/dev/null 2>&1; then
    commit=$(git rev-parse --short=12 HEAD)
    changed=$(git status --porcelain -- "${inputs[@]}")
    if [ -n "$changed" ]; then
        commit="$commit-dirty"
        echo "release: warning: build inputs differ from HEAD; the version line says $commit:" >&2
        echo "$changed" >&2
    fi
    epoch=$(git log -1 --format=%ct HEAD)
else
    commit=unknown
    epoch=${SOURCE_DATE_EPOCH:-0}
fi
export DINIT_COMMIT=$commit
export SOURCE_DATE_EPOCH=$epoch

cargo_home=${CARGO_HOME:-${HOME:-/root}/.cargo}
cargo_home=$(cd "$cargo_home" 2>/dev/null && pwd -P || echo "$cargo_home")

# A target directory of its own: release flags differ from a dev build's, so
# sharing target/ would rebuild both back and forth.
target_dir="$root/target/release-build"

# RUSTFLAGS (and CARGO_ENCODED_RUSTFLAGS) replace, not extend, the
# `[target.*] rustflags` of .cargo/config.toml, so the flag set there
# (`-C relocation-model=static`: plain static, not static-pie) is repeated
# here; check-static.sh below catches it if it ever goes missing.
# CARGO_ENCODED_RUSTFLAGS (flags separated by 0x1f) keeps paths with spaces
# intact. Later remaps win in rustc, so the more specific ones come last.
sep=$'\x1f'
flags=(
    "-Crelocation-model=static"
    "--remap-path-prefix=$root=/build"
    "--remap-path-prefix=$cargo_home/registry/src=/cargo/registry/src"
    "--remap-path-prefix=$cargo_home/git/checkouts=/cargo/git/checkouts"
)
# The checkout reached through a symlink: rustc may see either spelling.
if [ "$PWD" != "$root" ]; then
    flags+=("--remap-path-prefix=$PWD=/build")
fi
encoded=$(IFS=$sep; printf '%s' "${flags[*]}")
unset RUSTFLAGS
export CARGO_ENCODED_RUSTFLAGS=$encoded

echo "release: dinit $version, commit $commit, toolchain $(rustc -V), mtime @$epoch"

# --- build and check -----------------------------------------------------
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p dist
rm -f dist/dinit-*-linux-musl.tar.gz dist/SHA256SUMS

tarballs=()
for t in $targets; do
    cargo build --locked --release --target "$t" --target-dir "$target_dir" --bin dinit
    bin="$target_dir/$t/release/dinit"
    [ -f "$bin" ] || die "$bin was not built"

    size=$(stat -c %s "$bin")
    if [ "$size" -gt "$SIZE_MAX" ]; then
        die "$t: dinit is $size bytes, over the $SIZE_MAX-byte budget"
    fi
    bash scripts/check-static.sh "$bin" || die "$t: dinit is not fully static"

    arch=${t%%-*}
    name="dinit-$version-$arch-linux-musl"
    dir="$stage/$arch"
    mkdir -p "$dir"
    cp "$bin" "$dir/dinit"
    chmod 0755 "$dir/dinit"
    ln -s dinit "$dir/dinit-submit"
    tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$epoch" \
        --format=gnu -C "$dir" -cf - dinit dinit-submit \
        | gzip -9 -n >"dist/$name.tar.gz"
    tarballs+=("$name.tar.gz")
    echo "release: dist/$name.tar.gz (dinit $size bytes, static)"
done

(cd dist && sha256sum "${tarballs[@]}" >SHA256SUMS)
echo "release: dist/SHA256SUMS"
cat dist/SHA256SUMS
