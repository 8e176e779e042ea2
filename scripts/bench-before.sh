#!/usr/bin/env bash
# Builds the dinit of an earlier commit for `make bench`'s before/after
# table, and prints the binary's path:
#
#   scripts/bench-before.sh REF
#
# REF is a commit of this repository (the Makefile's BENCH_BEFORE: the last
# commit before issue 14 rebuilt the loop). Its tree is exported with
# `git archive` into /tmp/dinit-bench-before-UID/COMMIT and built there with
# that commit's own Cargo.lock, build script and flags (x86_64 only); a
# second run reuses the binary. Outside this checkout on purpose: cargo
# merges every .cargo/config.toml from the build directory up, so a build
# under target/ would add today's rustflags to the old commit's. Needs the repository's history (a shallow clone
# fails here, naming the commit).
set -euo pipefail
cd "$(dirname "$0")/.."
ref=${1:?usage: scripts/bench-before.sh REF}
commit=$(git rev-parse --verify --quiet "$ref^{commit}") || {
    echo "bench-before.sh: commit $ref not in this clone (a shallow clone? git fetch --unshallow)" >&2
    exit 1
}
short=${commit:0:12}
dir=${TMPDIR:-/tmp}/dinit-bench-before-$(id -u)/$short
bin=$dir/target/x86_64-unknown-linux-musl/release/dinit
if [ ! -x "$bin" ]; then
    rm -rf "$dir"
    mkdir -p "$dir"
    git archive "$commit" | tar -x -C "$dir"
    # Not a git checkout: DINIT_COMMIT names the commit for the version
    # line (build.rs reads it, as `make release` sets it).
    (cd "$dir" && DINIT_COMMIT=$short cargo build --release --quiet --target x86_64-unknown-linux-musl --bin dinit) >&2
fi
echo "$bin"
