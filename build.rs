//! Bakes the version line's target and commit into the binary (SPEC §7):
//! `dinit VERSION (TARGET) - git.COMMIT`, the commit as a short hash with
//! `-dirty` when the tree has changes, `unknown` outside git (or what
//! `DINIT_COMMIT` says, as `make release` sets it). No timestamps, so
//! builds are reproducible.
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    Some(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn main() {
    let target = std::env::var("TARGET").unwrap_or_else(|_| "unknown".into());
    let commit = match std::env::var("DINIT_COMMIT") {
        Ok(c) if !c.is_empty() => c,
        _ => match git(&["rev-parse", "--short=12", "HEAD"]) {
            Some(hash) => {
                let dirty = git(&["status", "--porcelain", "--untracked-files=no"])
                    .is_some_and(|s| !s.is_empty());
                if dirty { format!("{hash}-dirty") } else { hash }
            }
            None => "unknown".into(),
        },
    };
    // The dinit binary never unwinds (panic = "abort"): drop the unwind
    // tables and the RELRO page padding; and let lld fold functions whose
    // code is identical (monomorphizations that differ only in type).
    // The kernel starts it at its own entry, `dinit_start` (src/main.rs
    // says why musl's start-up is left out). Binaries only: the test
    // harness does unwind, and starts through std.
    if target.ends_with("-linux-musl") {
        let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into());
        println!("cargo:rustc-link-arg-bins=-T{dir}/link/discard-eh-frame.ld");
        println!("cargo:rustc-link-arg-bins=--no-eh-frame-hdr");
        println!("cargo:rustc-link-arg-bins=-znorelro");
        println!("cargo:rustc-link-arg-bins=--icf=all");
        println!("cargo:rustc-link-arg-bins=--entry=dinit_start");
        println!("cargo:rerun-if-changed=link/discard-eh-frame.ld");
        // `dinit_start` does not relocate the binary (musl's static-pie
        // start-up would): a static-pie dinit would crash at its first
        // pointer. .cargo/config.toml asks for plain static, but RUSTFLAGS
        // replaces that table's flags: refuse rather than build it.
        let flags = std::env::var("CARGO_ENCODED_RUSTFLAGS").unwrap_or_default();
        if !flags
            .split('\x1f')
            .any(|f| f.ends_with("relocation-model=static"))
        {
            panic!(
                "dinit for {target} must be built with -C relocation-model=static \
                 (.cargo/config.toml sets it; RUSTFLAGS replaces it: add it there too)"
            );
        }
        println!("cargo:rerun-if-env-changed=CARGO_ENCODED_RUSTFLAGS");
    }
    // dockerd reads COMMIT from `- git.COMMIT` as one word without a dot
    // (src/version.rs): a commit that could not be read back is refused
    // here rather than shown as "N/A" by `docker info`.
    if commit.is_empty()
        || !commit
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        panic!("DINIT_COMMIT={commit:?}: the commit must be letters, digits, '-' or '_'");
    }
    println!("cargo:rustc-env=DINIT_TARGET={target}");
    println!("cargo:rustc-env=DINIT_COMMIT={commit}");
    println!("cargo:rerun-if-env-changed=DINIT_COMMIT");
    // Build again when the commit or the tree's state changes: HEAD, the
    // branch it names, the index, and the sources (for `-dirty`). Asked of
    // git, since in a worktree `.git` is a file and these live elsewhere.
    let branch = git(&["rev-parse", "--symbolic-full-name", "HEAD"]).unwrap_or_default();
    for p in ["HEAD", "index", "packed-refs", &branch] {
        if let Some(path) = git(&["rev-parse", "--git-path", p]).filter(|_| !p.is_empty())
            && std::path::Path::new(&path).exists()
        {
            println!("cargo:rerun-if-changed={path}");
        }
    }
    println!("cargo:rerun-if-changed=src");
}
