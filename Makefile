# Thin wrappers around cargo and scripts/. `make run` and `make test` are the
# README's two commands; both install what they need first (scripts/setup.sh).
# Every target that builds or runs anything depends on `setup`, which runs
# once per make, for all the goals given, before any of them: `make -j` never
# builds while setup is still installing.
SHELL := /bin/bash
TARGET  ?= x86_64-unknown-linux-musl
BIN     := target/$(TARGET)/release/dinit
ARM_BIN := target/aarch64-unknown-linux-musl/release/dinit
SIZE_MAX := 98304

.PHONY: all setup build build-arm run test unit it it-arm stress-short check-static check-size lint fmt bench stress release fuzz clean

all: build

# What the goals on the command line need (`make setup` alone: all `make
# test` needs; a bare `make` builds, so it needs only what `build` does).
setup:
	@bash scripts/setup.sh $(or $(filter-out setup,$(MAKECMDGOALS)),$(if $(MAKECMDGOALS),setup,build))

build: setup
	cargo build --release --target $(TARGET)

build-arm: setup
	cargo build --release --target aarch64-unknown-linux-musl

# Build dinit and run it on a real example (as PID 1 in a PID namespace when root).
run: build
	@bash scripts/run-example.sh $(BIN)

# Everything: formatting, lints, unit and integration tests against the musl
# release binary, static linkage and size checks. The steps run in a second
# make (setup still sees all their goals), so that whatever happens the run
# ends with the skipped tests (scripts/skips.py: how many, why, which) read
# from a fresh SKIP_LOG that the tests append to (tests/it/util.rs,
# record_skip), and the steps' exit status.
TEST_STEPS := lint build build-arm release check-static check-size unit it it-arm stress-short
SKIP_LOG := $(CURDIR)/target/skipped-tests.log

test:
	@mkdir -p target && : > $(SKIP_LOG)
	@DINIT_SKIP_LOG=$(SKIP_LOG) $(MAKE) --no-print-directory $(TEST_STEPS); status=$$?; \
		if command -v python3 >/dev/null; then python3 scripts/skips.py $(SKIP_LOG) || status=1; \
		else echo "skipped tests: see $(SKIP_LOG)"; fi; exit $$status

lint: setup
	cargo fmt --check
	cargo clippy --release --all-targets -- -D warnings
	cargo clippy --release --target aarch64-unknown-linux-musl --lib --bins -- -D warnings
	@# The fuzz targets type-check on stable (running them needs nightly and
	@# cargo-fuzz: `make fuzz`), so an API change cannot leave them stale.
	cargo check --manifest-path fuzz/Cargo.toml --target x86_64-unknown-linux-gnu

unit: setup
	cargo test --release --lib

# `release` first: the engine tests load its image archive (the images are
# built FROM scratch with COPY --from it, as a user would), and the release
# tests read its binaries, their dependency section and the SBOM.
it: build release
	cargo test --release --test it

# The same integration suite against the aarch64 binary under qemu-user
# (tests that cannot work under emulation say why and are skipped by name:
# `make test` lists them at the end).
it-arm: build-arm release
	DINIT_BIN=$(CURDIR)/$(ARM_BIN) DINIT_BIN_EMULATED=1 cargo test --release --test it

# Stress tests: nothing lost, nothing left, right status (short form in `make test`).
stress-short: build
	python3 scripts/stress.py --short $(BIN)

stress: build
	python3 scripts/stress.py $(BIN)

# Side-by-side figures against tini, dumb-init and catatonit (writes BENCHMARKS.md).
# The before/after table (issue 14) runs the dinit of this commit, the last
# before the loop was rebuilt, beside today's (scripts/bench-before.sh).
BENCH_BEFORE ?= aaeca9e

bench: build
	python3 scripts/bench.py $(BIN) --before "$$(scripts/bench-before.sh $(BENCH_BEFORE))" --before-ref $(BENCH_BEFORE)

# Every release file in dist/, reproducibly: plain binaries, tarballs, the
# image archive, the SBOM, SHA256SUMS (see scripts/release.sh). The release
# binaries are built again, in a build directory of their own, from the same
# sources with the same flags plus their dependency section (`cargo
# auditable`); they are held to the same size budget.
release: setup
	SIZE_MAX=$(SIZE_MAX) bash scripts/release.sh

check-static: build build-arm
	@bash scripts/check-static.sh $(BIN) $(ARM_BIN)

check-size: build build-arm
	@for b in $(BIN) $(ARM_BIN); do \
		s=$$(stat -c %s $$b); \
		if [ $$s -gt $(SIZE_MAX) ]; then echo "$$b is $$s bytes, over the $(SIZE_MAX)-byte budget" >&2; exit 1; fi; \
		echo "size ok: $$b $$s bytes"; \
	done

fmt:
	cargo fmt

# Needs the nightly toolchain and `cargo install cargo-fuzz` (not part of `make test`).
fuzz:
	for t in words expand line; do cargo +nightly fuzz run $$t -- -max_total_time=60 || exit 1; done

clean:
	cargo clean
