//! Integration tests: black-box runs of the built dinit binary.
// The harness calls libc (kill, getuid) directly.
#![allow(unsafe_code)]
mod util;

mod basic;
mod dashdash;
mod edges;
mod engines;
mod escape;
mod hostile;
mod json;
mod neverblock;
mod operate;
mod pid1;
mod primary;
mod realapps;
mod release;
mod runc;
mod signals;
mod socket;
mod spawning;
mod stoporder;
mod stopsignals;
mod tools;
mod variables;
