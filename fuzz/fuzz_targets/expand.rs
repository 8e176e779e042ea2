//! `expand` on arbitrary bytes and output sizes: never panics, never claims
//! more than the buffer, and a small buffer yields a prefix of the result.
#![no_main]

use dinit::expand::{ExpandError, expand};
use libfuzzer_sys::fuzz_target;

fn env(name: &[u8]) -> Option<&'static [u8]> {
    match name {
        b"A" => Some(b"a"),
        b"B" => Some(b"bee"),
        b"E" => Some(b""),
        b"L" => Some(&[b'L'; 300]),
        b"D" => Some(b"${"),
        _ => None,
    }
}

fuzz_target!(|data: &[u8]| {
    // The first byte picks the output size, the rest is the word.
    let Some((&cap, word)) = data.split_first() else {
        return;
    };
    let cap = usize::from(cap) * 4;
    let mut out = vec![0u8; cap];
    let res = expand(word, &env, &mut out);
    let mut big = vec![0u8; 301 * word.len() + 1];
    let full = expand(word, &env, &mut big);
    match (res, full) {
        (Ok(n), Ok(m)) => assert_eq!(out[..n], big[..m]),
        (Err(ExpandError::TooLong), Ok(m)) => {
            assert!(m > cap);
            assert_eq!(out[..], big[..cap]);
        }
        // The first error met wins: a small buffer may overflow before a
        // bad `${` is reached.
        (Err(ExpandError::TooLong), Err(ExpandError::Unterminated | ExpandError::Unsupported)) => {}
        (Err(ExpandError::Unterminated), Err(ExpandError::Unterminated)) => {}
        (Err(ExpandError::Unsupported), Err(ExpandError::Unsupported)) => {}
        other => panic!("buffer size changed the answer: {other:?}"),
    }
});
