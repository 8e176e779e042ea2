//! Integration tests: black-box runs of the built dinit binary.
// The harness calls libc (kill, getuid) directly.
#![allow(unsafe_code)]
mod util;

mod basic;
mod dashdash;
mod edges;
mod engines;
mod escape;
mod neverblock;
mod pid1;
mod runc;
mod signals;
mod socket;
mod spawning;
mod stoporder;
mod stopsignals;
