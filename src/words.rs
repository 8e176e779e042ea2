//! The word grammar shared by the socket line, `-start`/`-prestop`/`-stop`
//! strings and the submit client (SPEC §2, §5).
//!
//! * Words are separated by runs of spaces or tabs.
//! * A `"` anywhere in a word opens a quoted part that runs to the next lone
//!   `"`; inside it spaces are kept and `""` stands for one `"`. `a"b c"d` is
//!   the single word `ab cd`; `""` alone is an empty word.
//! * `-r` starts a command group; the word `\-r` is a literal `-r`.
//!
//! `split` works in place on the caller's buffer (unquoting only ever
//! shortens a word) and records spans; nothing here allocates.
//! `quote` is `split`'s inverse: `split(quote(ws)) == ws`.

/// The longest socket line, newline included (SPEC §5).
pub const LINE_MAX: usize = 512;
/// The most words a line of `LINE_MAX` bytes can hold ("a a a ..." is 256).
pub const WORDS_MAX: usize = 256;

/// A word's place in the buffer `split` rewrote.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Span {
    pub start: u16,
    pub end: u16,
}

impl Span {
    pub fn get<'b>(&self, buf: &'b [u8]) -> &'b [u8] {
        &buf[self.start as usize..self.end as usize]
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SplitError {
    /// A `"` without its closing `"`.
    UnterminatedQuote,
    /// More words than the output can hold.
    TooManyWords,
    /// The buffer is longer than a `u16` span can address.
    TooLong,
}

/// Split `buf` into words in place (see the module doc), appending a span
/// per word to `out`.
pub fn split(buf: &mut [u8], out: &mut heapless::Vec<Span, WORDS_MAX>) -> Result<(), SplitError> {
    todo!()
}

/// Write `word` so that `split` gives it back unchanged: as is when it is
/// non-empty and has no space, tab or `"`; otherwise in double quotes with
/// every `"` doubled. Bytes go to `sink` one at a time, so the caller can
/// count past its capacity (the submit client reports the full size).
pub fn quote(word: &[u8], sink: &mut impl FnMut(u8)) {
    todo!()
}

/// `true` for the word that starts a command group.
pub fn is_run_flag(word: &[u8]) -> bool {
    word == b"-r"
}

/// The escaped `\-r` stands for a literal `-r` argument; other words are
/// returned unchanged.
pub fn unescape(word: &[u8]) -> &[u8] {
    if word == b"\\-r" { b"-r" } else { word }
}

/// Iterate the command groups of `words`, which must start with `-r`: each
/// item is the words after one `-r` up to the next (escapes not yet removed).
/// An empty group (`-r` followed by `-r` or the end) is yielded as empty.
pub fn groups<'w, 'a>(words: &'w [&'a [u8]]) -> Groups<'w, 'a> {
    Groups { rest: words }
}

pub struct Groups<'w, 'a> {
    rest: &'w [&'a [u8]],
}

impl<'w, 'a> Iterator for Groups<'w, 'a> {
    type Item = &'w [&'a [u8]];
    fn next(&mut self) -> Option<Self::Item> {
        todo!()
    }
}
