//! The socket's line parser (`socket::parse`) on arbitrary bytes, as a
//! hostile client would send them: it must never panic, and an accepted
//! run request always starts with `-r` and has no empty group.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut buf = data.to_vec();
    if let Ok(dinit::socket::Request::Run(words)) = dinit::socket::parse(&mut buf) {
        assert_eq!(words.first().copied(), Some(&b"-r"[..]));
        assert!(dinit::words::groups(&words).all(|g| !g.is_empty()));
    }
});
