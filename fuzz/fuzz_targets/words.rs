//! `split` on arbitrary bytes: never panics, spans stay in the buffer, and
//! whatever it accepts survives `quote` + `split` unchanged.
#![no_main]

use dinit::words::{Span, WORDS_MAX, groups, is_run_flag, quote, split};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut buf = data.to_vec();
    let mut spans: heapless::Vec<Span, WORDS_MAX> = heapless::Vec::new();
    if split(&mut buf, &mut spans).is_err() {
        return;
    }
    let words: Vec<&[u8]> = spans.iter().map(|s| s.get(&buf)).collect();
    for (i, s) in spans.iter().enumerate() {
        assert!(s.start <= s.end && usize::from(s.end) <= buf.len());
        // Words are unquoted in place, in order, with a free byte between.
        if let Some(next) = spans.get(i + 1) {
            assert!(s.end < next.start);
        }
    }
    let mut line = Vec::new();
    for (i, w) in words.iter().enumerate() {
        if i > 0 {
            line.push(b' ');
        }
        quote(w, &mut |b| line.push(b));
    }
    let mut again: heapless::Vec<Span, WORDS_MAX> = heapless::Vec::new();
    split(&mut line, &mut again).expect("a quoted line splits");
    let back: Vec<&[u8]> = again.iter().map(|s| s.get(&line)).collect();
    assert_eq!(back, words);
    // Groups cover every word but their starters (`-r`, `-r:...`).
    let flags = words.iter().filter(|w| is_run_flag(w)).count();
    let grouped: usize = groups(&words).map(|(_, g)| g.len()).sum();
    assert_eq!(grouped + flags, words.len());
});
