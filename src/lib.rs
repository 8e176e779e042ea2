//! dinit: a PID 1 for containers. The library holds everything but the
//! entry point: pure logic (flags, words, expansion, lookup, exit statuses,
//! the teardown machine, log formatting) tested under std, and the syscall
//! shell in `sys`, the only module allowed `unsafe`.
//!
//! Nothing here allocates: the crate is `no_std` outside tests and the binary
//! has no global allocator at all.
#![cfg_attr(not(test), no_std)]

pub mod cli;
pub mod error;
pub mod expand;
pub mod words;
