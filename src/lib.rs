//! dinit: a PID 1 for containers. The library holds everything but the
//! entry point: pure logic (flags, words, expansion, lookup, exit statuses,
//! the teardown machine, log formatting) tested under std, and the syscall
//! shell in `sys`, the only module allowed `unsafe`.
//!
//! Nothing here allocates: the crate is `no_std` outside tests and the binary
//! has no global allocator at all.
#![cfg_attr(not(test), no_std)]

pub mod arena;
pub mod children;
pub mod cli;
pub mod command;
pub mod error;
pub mod expand;
pub mod inherit;
pub mod init;
#[macro_use]
pub mod log;
pub mod phase;
pub mod request;
pub mod resolve;
pub mod role;
pub mod signals;
pub mod socket;
pub mod submit;
pub mod supervisor;
pub mod sys;
pub mod table;
pub mod version;
pub mod words;

use role::Role;

/// Run dinit with `main`'s arguments; returns the process exit code.
/// `main` has blocked every catchable signal already (`old_mask` is what it
/// inherited).
pub fn run(args: &'static [&'static [u8]], old_mask: sys::signals::SigSet) -> u8 {
    match role::select(args) {
        Role::Init => init::run(args),
        Role::Submit { symlink } => {
            // The client is an ordinary program: let Ctrl-C work.
            sys::signals::set_mask(old_mask);
            submit::run(args.get(1..).unwrap_or(&[]), symlink)
        }
        Role::Version => {
            let _ = sys::write_all(1, version::VERSION_LINE.as_bytes());
            0
        }
        Role::Help => {
            let _ = sys::write_all(1, version::USAGE.as_bytes());
            0
        }
    }
}
