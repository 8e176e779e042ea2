//! The socket's request parser (`request::parse`) on arbitrary bytes, as
//! a hostile client would send them: it must never panic; an accepted run
//! or wait request starts with a group starter and has no empty group, a
//! wait request has exactly one group, and a signal request has a target.
#![no_main]

use dinit::request::{Request, parse};
use dinit::words::{groups, is_run_flag};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut buf = data.to_vec();
    match parse(&mut buf) {
        Ok(Request::Run(words)) => {
            assert!(words.first().is_some_and(|w| is_run_flag(w)));
            assert!(groups(&words).all(|(_, g)| !g.is_empty()));
        }
        Ok(Request::Wait(words)) => {
            assert!(words.first().is_some_and(|w| is_run_flag(w)));
            assert_eq!(groups(&words).count(), 1);
            assert!(groups(&words).all(|(_, g)| !g.is_empty()));
        }
        Ok(Request::Signal { sig, targets }) => {
            assert!((1..=64).contains(&sig));
            assert!(!targets.is_empty());
        }
        Ok(Request::List) | Err(_) => {}
    }
});
