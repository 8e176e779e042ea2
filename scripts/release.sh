#!/usr/bin/env bash
# `make release`: every release file, reproducibly, in dist/.
#
#   dist/dinit-VERSION-x86_64                      plain binaries (for `ADD URL /dinit`)
#   dist/dinit-VERSION-aarch64
#   dist/dinit-VERSION-x86_64-linux-musl.tar.gz    dinit + the dinit-submit symlink
#   dist/dinit-VERSION-aarch64-linux-musl.tar.gz
#   dist/dinit-VERSION-oci.tar                     the images, for `docker load` / `podman load`
#   dist/dinit-VERSION.cdx.json                    the SBOM (CycloneDX)
#   dist/SHA256SUMS                                every file above
#
# Each tarball holds `dinit` (mode 0755) and `dinit-submit`, a symlink to it,
# at the top level, so `ADD dinit-...tar.gz /` in a Dockerfile unpacks both
# into the image's root. The image archive (scripts/oci-image.py) holds one
# image per platform made of the same binaries. The binaries carry their
# dependency list (`cargo auditable`: a zlib-compressed JSON in the ELF
# section .dep-v0, which Trivy, Syft/Grype and `cargo audit bin` read); the
# SBOM (scripts/sbom.py) lists the same crates.
#
# No daemon is needed: the images are written as files, not built by an
# engine.
#
# Reproducible: a clone of the same commit in any other directory, built with
# the same pinned toolchain, gives byte-identical files.
#  * The toolchain is the one rust-toolchain.toml pins, cargo-auditable the
#    version scripts/setup.sh pins; Cargo.lock is used as is (--locked).
#  * Build paths are remapped (--remap-path-prefix) so neither the checkout
#    directory nor the cargo home leaks into the binary.
#  * The commit in the version line is HEAD's short hash, never a time
#    stamp; `-dirty` is added only when a build input (see `inputs` below)
#    differs from HEAD.
#  * Every time stamp in every file is the commit's date; tar members are
#    sorted and owned by 0:0 (numeric); gzip stores no name or time (-n).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd -P)

# The size budget: the Makefile's SIZE_MAX (which `make release` passes),
# the same gate as `make check-size` for the binaries `make build` makes.
SIZE_MAX=${SIZE_MAX:-$(sed -n 's/^SIZE_MAX *:= *\([0-9]*\)$/\1/p' Makefile)}
[ -n "$SIZE_MAX" ] || { echo "release: no SIZE_MAX in the Makefile" >&2; exit 1; }

# One line per platform: the Rust target, the image's OCI platform and the
# suffix of its tag (dinit:VERSION-SUFFIX). A new platform is one more line
# here (and its target in rust-toolchain.toml).
platforms=(
    "x86_64-unknown-linux-musl   linux/amd64      amd64"
    "aarch64-unknown-linux-musl  linux/arm64/v8   arm64"
)

die() { echo "release: $*" >&2; exit 1; }

# --- inputs --------------------------------------------------------------
# The first `KEY = "VALUE"` line of Cargo.toml ([package] comes first).
cargo_field() { sed -n "s/^$1 *= *\"\\([^\"]*\\)\".*/\\1/p" Cargo.toml | head -n1; }
version=$(cargo_field version)
[ -n "$version" ] || die "no version in Cargo.toml"
license=$(cargo_field license)
description=$(cargo_field description)

toolchain=$(sed -n 's/^channel *= *"\([^"]*\)".*/\1/p' rust-toolchain.toml | head -n1)
[ -n "$toolchain" ] || die "no toolchain channel in rust-toolchain.toml"
# The pinned toolchain, whatever the caller's environment says.
export RUSTUP_TOOLCHAIN=$toolchain

cargo_home=${CARGO_HOME:-${HOME:-/root}/.cargo}
cargo_home=$(cd "$cargo_home" 2>/dev/null && pwd -P || echo "$cargo_home")
cargo_home_bin=$cargo_home/bin

# cargo-auditable writes the dependency section; its version is part of the
# build (the section's format), so it is pinned like the toolchain.
auditable=$(sed -n 's/^CARGO_AUDITABLE_VERSION=\([0-9.]*\)$/\1/p' scripts/setup.sh)
[ -n "$auditable" ] || die "no CARGO_AUDITABLE_VERSION in scripts/setup.sh"
have=$(cargo install --list 2>/dev/null | sed -n 's/^cargo-auditable v\([0-9.]*\):$/\1/p')
[ "$have" = "$auditable" ] ||
    die "cargo-auditable $auditable is needed${have:+ (found $have)}: bash scripts/setup.sh release installs it"

# cargo-auditable runs as the compiler's wrapper (RUSTC_WORKSPACE_WRAPPER,
# which it sets to its own path), and cargo mixes that path into the crate's
# symbol hashes: the same build through /home/alice/.cargo/bin/cargo-auditable
# and /root/.cargo/bin/cargo-auditable links in another order. So it always
# runs from one fixed path, wherever it was installed (replaced by rename, so
# a build running from it at the same time keeps its copy).
wrapper_dir=/tmp/dinit-release
installed=$(PATH="$cargo_home_bin:$PATH" command -v cargo-auditable) || die "cargo-auditable is not on PATH"
mkdir -p "$wrapper_dir"
[ -O "$wrapper_dir" ] || die "$wrapper_dir belongs to another user: remove it (it holds a copy of cargo-auditable)"
if ! cmp -s "$installed" "$wrapper_dir/cargo-auditable"; then
    cp "$installed" "$wrapper_dir/cargo-auditable.$$"
    mv -f "$wrapper_dir/cargo-auditable.$$" "$wrapper_dir/cargo-auditable"
fi
auditable_cmd=("$wrapper_dir/cargo-auditable" auditable)

command -v python3 >/dev/null || die "python3 is needed (scripts/oci-image.py, scripts/sbom.py): bash scripts/setup.sh release"

# What goes into the release files. A change anywhere else (README, tests,
# other scripts) cannot change a byte of them, so it does not make the build
# "-dirty": a checkout with an edited README still builds exactly what a
# fresh clone of HEAD builds.
inputs=(src build.rs Cargo.toml Cargo.lock link .cargo rust-toolchain.toml
    scripts/release.sh scripts/oci-image.py scripts/sbom.py scripts/setup.sh)

if git rev-parse --git-dir >/dev/null 2>&1; then
    commit=$(git rev-parse --short=12 HEAD)
    revision=$(git rev-parse HEAD)
    changed=$(git status --porcelain -- "${inputs[@]}")
    if [ -n "$changed" ]; then
        commit="$commit-dirty"
        revision="$revision-dirty"
        echo "release: warning: build inputs differ from HEAD; the version line says $commit:" >&2
        echo "$changed" >&2
    fi
    epoch=$(git log -1 --format=%ct HEAD)
else
    commit=unknown
    revision=unknown
    epoch=${SOURCE_DATE_EPOCH:-0}
fi
export DINIT_COMMIT=$commit
export SOURCE_DATE_EPOCH=$epoch


# A target directory of its own: release flags differ from a dev build's, so
# sharing target/ would rebuild both back and forth.
target_dir="$root/target/release-build"

# RUSTFLAGS (and CARGO_ENCODED_RUSTFLAGS) replace, not extend, the
# `[target.*] rustflags` of .cargo/config.toml, so the flags set there
# (`-C relocation-model=static`: plain static, not static-pie; the inline
# threshold, .cargo/config.toml says why) are repeated here; check-static.sh
# below catches the first if it ever goes missing, the size check the
# second.
# CARGO_ENCODED_RUSTFLAGS (flags separated by 0x1f) keeps paths with spaces
# intact. Later remaps win in rustc, so the more specific ones come last.
sep=$'\x1f'
flags=(
    "-Crelocation-model=static"
    "-Cllvm-args=-inline-threshold=28"
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

echo "release: dinit $version, commit $commit, toolchain $(rustc -V), cargo-auditable $auditable, mtime @$epoch"

# --- build and check -----------------------------------------------------
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p dist
# Only what this script writes; anything else a user put in dist/ stays.
rm -f dist/dinit-*-linux-musl.tar.gz dist/dinit-*-x86_64 dist/dinit-*-aarch64 \
    dist/dinit-*-oci.tar dist/dinit-*.cdx.json dist/SHA256SUMS

files=()
images=()
targets=()
for line in "${platforms[@]}"; do
    read -r t platform suffix <<<"$line"
    targets+=("$t")
    "${auditable_cmd[@]}" build --locked --release --target "$t" --target-dir "$target_dir" --bin dinit
    bin="$target_dir/$t/release/dinit"
    [ -f "$bin" ] || die "$bin was not built"

    size=$(stat -c %s "$bin")
    if [ "$size" -gt "$SIZE_MAX" ]; then
        die "$t: dinit is $size bytes, over the $SIZE_MAX-byte budget"
    fi
    bash scripts/check-static.sh "$bin" || die "$t: dinit is not fully static"
    readelf -SW "$bin" | grep -q ' \.dep-v0 ' || die "$t: dinit has no .dep-v0 section"

    arch=${t%%-*}
    # The plain binary, as `ADD https://.../dinit-VERSION-ARCH /dinit` takes it.
    plain="dinit-$version-$arch"
    install -m 0755 "$bin" "dist/$plain"
    touch -d "@$epoch" "dist/$plain"
    files+=("$plain")

    name="dinit-$version-$arch-linux-musl"
    dir="$stage/$arch"
    mkdir -p "$dir"
    install -m 0755 "$bin" "$dir/dinit"
    ln -s dinit "$dir/dinit-submit"
    tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$epoch" \
        --format=gnu -C "$dir" -cf - dinit dinit-submit \
        | gzip -9 -n >"dist/$name.tar.gz"
    files+=("$name.tar.gz")
    images+=(--image "dist/$plain" "$platform" "$suffix" "$t")
    echo "release: dist/$plain, dist/$name.tar.gz (dinit $size bytes, static)"
done

oci="dinit-$version-oci.tar"
python3 scripts/oci-image.py "${images[@]}" --out "dist/$oci" --name dinit \
    --version "$version" --revision "$revision" --epoch "$epoch" \
    --label "org.opencontainers.image.title=dinit" \
    --label "org.opencontainers.image.description=$description" \
    --label "org.opencontainers.image.licenses=$license"
files+=("$oci")

sbom="dinit-$version.cdx.json"
python3 scripts/sbom.py --out "dist/$sbom" --version "$version" --commit "$commit" \
    --epoch "$epoch" --toolchain "$toolchain" "${targets[@]}"
files+=("$sbom")
echo "release: dist/$sbom"

(cd dist && sha256sum "${files[@]}" >SHA256SUMS)
echo "release: dist/SHA256SUMS"
cat dist/SHA256SUMS
