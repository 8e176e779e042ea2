//! The word grammar shared by the socket line, `-start`/`-prestop`/`-stop`
//! strings and the submit client (SPEC §2, §5).
//!
//! * Words are separated by runs of spaces or tabs. `\r` and `\n` separate
//!   words too, so a line may be passed with its `\n` or `\r\n` still on.
//! * A `"` anywhere in a word opens a quoted part that runs to the next lone
//!   `"`; inside it spaces are kept and `""` stands for one `"`. `a"b c"d` is
//!   the single word `ab cd`; `""` alone is an empty word.
//! * `-r` starts a command group; the word `\-r` is a literal `-r`, and
//!   `\--` a literal `--` (on the command line `--` is the engines' form,
//!   SPEC §8, which does not mix with `-r` groups).
//! * Quoting is only `"`: a backslash is an ordinary byte, and so are NUL
//!   and bytes that are not UTF-8.
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
///
/// Each word is unquoted within the bytes it came from, so a span starts
/// where its word started and `buf[span.end]` belongs to no word (it held a
/// separator or a dropped quote) unless `span.end == buf.len()`: a caller
/// may write a NUL there. After an error the buffer's contents and the
/// spans already pushed are unspecified; the caller refuses the whole line.
/// A buffer over `u16::MAX` bytes is refused before anything is touched.
pub fn split(buf: &mut [u8], out: &mut heapless::Vec<Span, WORDS_MAX>) -> Result<(), SplitError> {
    if buf.len() > usize::from(u16::MAX) {
        return Err(SplitError::TooLong);
    }
    // `r` reads, `w` writes; `w <= r` throughout because every byte read is
    // written at most once and `""` or a quote mark writes fewer. Both stay
    // <= len <= u16::MAX, so the `as u16` casts below are exact.
    let mut r = 0usize;
    loop {
        // Between words: skip separators.
        while buf.get(r).is_some_and(|&b| is_separator(b)) {
            r += 1;
        }
        if r >= buf.len() {
            return Ok(());
        }
        // Each word is rewritten from its own first byte, not packed against
        // the previous one: the gap keeps `buf[span.end]` free for a NUL.
        let start = r;
        let mut w = r;
        let mut quoted = false;
        while let Some(&b) = buf.get(r) {
            r += 1;
            if quoted {
                if b == b'"' {
                    if buf.get(r) == Some(&b'"') {
                        // `""` inside quotes: one literal `"`.
                        r += 1;
                    } else {
                        quoted = false;
                        continue;
                    }
                }
            } else if b == b'"' {
                quoted = true;
                continue;
            } else if is_separator(b) {
                break;
            }
            if let Some(slot) = buf.get_mut(w) {
                *slot = b;
            }
            w += 1;
        }
        if quoted {
            return Err(SplitError::UnterminatedQuote);
        }
        out.push(Span {
            start: start as u16,
            end: w as u16,
        })
        .map_err(|_| SplitError::TooManyWords)?;
    }
}

/// Bytes that end an unquoted word. `\r` and `\n` are here so the socket
/// line's terminator needs no stripping.
fn is_separator(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// `split`, then the words themselves: slices of the rewritten buffer.
pub fn split_words(buf: &mut [u8]) -> Result<heapless::Vec<&[u8], WORDS_MAX>, SplitError> {
    let mut spans: heapless::Vec<Span, WORDS_MAX> = heapless::Vec::new();
    split(buf, &mut spans)?;
    let buf: &[u8] = buf;
    let mut words = heapless::Vec::new();
    for s in &spans {
        // As many words as spans: it fits.
        let _ = words.push(s.get(buf));
    }
    Ok(words)
}

/// Write `word` so that `split` gives it back unchanged: as is when it is
/// non-empty and has no space, tab, `\r`, `\n` or `"`; otherwise in double
/// quotes with every `"` doubled. Bytes go to `sink` one at a time, so the
/// caller can count past its capacity (the submit client reports the full
/// size). `\-r` escaping is the caller's business, not quoting's.
pub fn quote(word: &[u8], sink: &mut impl FnMut(u8)) {
    let plain = !word.is_empty() && !word.iter().any(|&b| b == b'"' || is_separator(b));
    if plain {
        word.iter().for_each(|&b| sink(b));
        return;
    }
    sink(b'"');
    for &b in word {
        if b == b'"' {
            sink(b'"');
        }
        sink(b);
    }
    sink(b'"');
}

/// `true` for a word that starts a command group: `-r`, or `-r:` followed
/// by a list ([`RunFlag`]; checked when the group is built). The one place
/// that says so: the command line, the socket, the submit client and
/// [`unescape`] all ask here.
pub fn is_run_flag(word: &[u8]) -> bool {
    word == b"-r" || word.starts_with(b"-r:")
}

/// What a group starter asks for (SPEC §9, §11): `-r` alone nothing;
/// `-r:` a comma-separated list of at most one signal and the word
/// `primary`, in any order: `-r:QUIT`, `-r:primary`, `-r:QUIT,primary`,
/// `-r:primary,QUIT`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunFlag {
    /// The command's own stop signal.
    pub signal: Option<i32>,
    /// Marked primary (the command line only; the socket refuses it).
    pub primary: bool,
}

/// Messages for a `-r:` list that [`RunFlag::parse`] refuses.
const RUN_FLAG_EMPTY: &str = "empty word in the -r: list";
const RUN_FLAG_UNKNOWN: &str = "unknown word in the -r: list (expected a signal or primary)";
const RUN_FLAG_TWO_SIGNALS: &str = "two signals in the -r: list (a command has one stop signal)";
const RUN_FLAG_PRIMARY_TWICE: &str = "primary twice in the -r: list";

impl RunFlag {
    /// A plain `-r`.
    pub const PLAIN: RunFlag = RunFlag {
        signal: None,
        primary: false,
    };

    /// Read a group starter (a word [`is_run_flag`] accepts; any other
    /// word reads as a plain `-r`). `signal` parses one signal name or
    /// number. An unknown word is refused naming it; two signals,
    /// `primary` twice or an empty word naming the whole starter.
    ///
    /// `primary` is matched in any case, as signal names are (`PRIMARY`
    /// is no signal, so nothing is ambiguous).
    pub fn parse(
        flag: &[u8],
        signal: impl Fn(&[u8]) -> Option<i32>,
    ) -> Result<RunFlag, crate::error::Error<'_>> {
        use crate::error::Error::Usage;
        let Some(list) = flag.strip_prefix(b"-r:") else {
            return Ok(RunFlag::PLAIN);
        };
        let mut out = RunFlag::PLAIN;
        for word in list.split(|&b| b == b',') {
            if word.is_empty() {
                return Err(Usage {
                    what: RUN_FLAG_EMPTY,
                    word: flag,
                });
            }
            if is_primary_word(word) {
                if out.primary {
                    return Err(Usage {
                        what: RUN_FLAG_PRIMARY_TWICE,
                        word: flag,
                    });
                }
                out.primary = true;
                continue;
            }
            let sig = signal(word).ok_or(Usage {
                what: RUN_FLAG_UNKNOWN,
                word,
            })?;
            if out.signal.is_some() {
                return Err(Usage {
                    what: RUN_FLAG_TWO_SIGNALS,
                    word: flag,
                });
            }
            out.signal = Some(sig);
        }
        Ok(out)
    }
}

fn is_primary_word(word: &[u8]) -> bool {
    word.eq_ignore_ascii_case(b"primary")
}

/// Whether a group starter marks its command primary (`-r:primary`,
/// `-r:QUIT,primary`, ...), without checking the rest of the list: for
/// deciding, before the groups are built, whether the last command is
/// primary by default, and for the socket, which refuses the mark.
pub fn marks_primary(flag: &[u8]) -> bool {
    flag.strip_prefix(b"-r:")
        .is_some_and(|list| list.split(|&b| b == b',').any(is_primary_word))
}

/// The word that ends the options in the engines' `INIT -- CMD [ARGS...]`
/// form (SPEC §8): what follows is one command, taken verbatim.
pub const END_OF_OPTIONS: &[u8] = b"--";

/// A backslash before a group starter or `--` makes it a literal argument:
/// `\-r` is `-r`, `\-r:SIG` is `-r:SIG`, `\--` is `--`; every other word is
/// returned unchanged (`\\-r` too: only one backslash is ever removed, and
/// only there).
///
/// `\--` is dinit's own decision (SPEC leaves it open): since `--` and
/// `-r` groups do not mix on a command line, a `-r` command that needs a
/// `--` argument (`-r git log \-- file`) escapes it the way `\-r` is.
/// The socket and the start/prestop/stop strings unescape it the same way,
/// so a word means one thing wherever it is written.
pub fn unescape(word: &[u8]) -> &[u8] {
    match word.strip_prefix(b"\\") {
        Some(rest) if is_run_flag(rest) || rest == END_OF_OPTIONS => rest,
        _ => word,
    }
}

/// Iterate the command groups of `words`, which must start with `-r`: each
/// item is the group starter (`-r` or `-r:SIG`) and the words after it up
/// to the next one (escapes not yet removed). An empty group (`-r` followed
/// by `-r` or the end) is yielded with no words.
///
/// Words before the first `-r` are not dropped: they come out as a first
/// group of their own, with an empty starter, so a caller that requires the
/// leading `-r` checks `words.first()` itself (and `dinit-submit`, where the
/// `-r` may be left out, can use that group as the command). No words at
/// all yield no group.
pub fn groups<'w, 'a>(words: &'w [&'a [u8]]) -> Groups<'w, 'a> {
    Groups { rest: words }
}

pub struct Groups<'w, 'a> {
    /// Empty, or starting with `-r` (except before the first item).
    rest: &'w [&'a [u8]],
}

impl<'w, 'a> Iterator for Groups<'w, 'a> {
    /// (starter, words)
    type Item = (&'a [u8], &'w [&'a [u8]]);
    fn next(&mut self) -> Option<Self::Item> {
        let (&first, tail) = self.rest.split_first()?;
        let (flag, body) = if is_run_flag(first) {
            (first, tail)
        } else {
            (&b""[..], self.rest)
        };
        let end = body
            .iter()
            .position(|w| is_run_flag(w))
            .unwrap_or(body.len());
        let (group, rest) = body.split_at(end);
        self.rest = rest;
        Some((flag, group))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_words_gives_the_unquoted_words() {
        let mut buf = *b" -r  echo \"a b\" \"\" x\"\"\"y\"";
        let words = split_words(&mut buf).unwrap();
        let want: [&[u8]; 5] = [b"-r", b"echo", b"a b", b"", b"x\"y"];
        assert_eq!(&words[..], &want[..]);
        let mut bad = *b"-r \"open";
        assert_eq!(split_words(&mut bad), Err(SplitError::UnterminatedQuote));
    }
    use proptest::prelude::*;
    use proptest::test_runner::{Config, RngAlgorithm, RngSeed};

    /// `split` on a copy of `line`, words returned as owned byte strings.
    fn words(line: &[u8]) -> Result<Vec<Vec<u8>>, SplitError> {
        let mut buf = line.to_vec();
        let mut spans = heapless::Vec::new();
        split(&mut buf, &mut spans)?;
        Ok(spans.iter().map(|s| s.get(&buf).to_vec()).collect())
    }

    fn quoted(word: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        quote(word, &mut |b| out.push(b));
        out
    }

    /// The line the submit client writes: quoted words joined by spaces.
    fn line_of(ws: &[Vec<u8>]) -> Vec<u8> {
        let mut line = Vec::new();
        for (i, w) in ws.iter().enumerate() {
            if i > 0 {
                line.push(b' ');
            }
            line.extend(quoted(w));
        }
        line
    }

    #[test]
    fn split_table() {
        let ok: &[(&[u8], &[&[u8]])] = &[
            (b"", &[]),
            (b" ", &[]),
            (b"   \t \t ", &[]),
            (b"\n", &[]),
            (b"\r\n", &[]),
            (b"a", &[b"a"]),
            (b"a\n", &[b"a"]),
            (b"a\r\n", &[b"a"]),
            (b"a\rb", &[b"a", b"b"]),
            (b"  a  ", &[b"a"]),
            (b"a b", &[b"a", b"b"]),
            (b"a\tb", &[b"a", b"b"]),
            (b"a \t \t b", &[b"a", b"b"]),
            (b"-r /bin/sleep 20\n", &[b"-r", b"/bin/sleep", b"20"]),
            (b"\"a b\"", &[b"a b"]),
            (b"a\"b c\"d", &[b"ab cd"]),
            (b"a\"\"b", &[b"ab"]),
            (b"\"\"", &[b""]),
            (b"\"\" \"\"", &[b"", b""]),
            (b"x \"\" y", &[b"x", b"", b"y"]),
            (b"\"\"\"\"", &[b"\""]),
            (b"\"\"\"\"\"\"", &[b"\"\""]),
            (b"\"a\"\"b\"", &[b"a\"b"]),
            (b"\"\"\"a\"\"\"", &[b"\"a\""]),
            (b"\"a\"\"\" b", &[b"a\"", b"b"]),
            (b"\"a\"\"\"\"b\"", &[b"a\"\"b"]),
            (b"\"a\"\"\"b", &[b"a\"b"]),
            (b"a\"\"\"\"b", &[b"a\"b"]),
            (b"\"a\"\"b\" c", &[b"a\"b", b"c"]),
            (b"\"\t\r\n \"", &[b"\t\r\n "]),
            (b"\"a\"b\"c\"", &[b"abc"]),
            (b"\"a\" \"b\"", &[b"a", b"b"]),
            (b"\\-r -r", &[b"\\-r", b"-r"]),
            (b"a\\ b", &[b"a\\", b"b"]),
            (b"'a b'", &[b"'a", b"b'"]),
            (b"\0 a\0b", &[b"\0", b"a\0b"]),
            (b"\xff\xfe \"\xc3( x\"", &[b"\xff\xfe", b"\xc3( x"]),
            (b"\"sh -c \"\"echo hi\"\"\"", &[b"sh -c \"echo hi\""]),
        ];
        for (line, want) in ok {
            let want: Vec<Vec<u8>> = want.iter().map(|w| w.to_vec()).collect();
            assert_eq!(
                words(line),
                Ok(want),
                "line {:?}",
                line.escape_ascii().to_string()
            );
        }
        let bad: &[(&[u8], SplitError)] = &[
            (b"\"", SplitError::UnterminatedQuote),
            (b"\"\"\"", SplitError::UnterminatedQuote),
            (b"a\"", SplitError::UnterminatedQuote),
            (b"a \"b c", SplitError::UnterminatedQuote),
            (b"\"a\"\"", SplitError::UnterminatedQuote),
            (b"\"a\n", SplitError::UnterminatedQuote),
            (b"a b\"\"\"\n", SplitError::UnterminatedQuote),
        ];
        for (line, want) in bad {
            assert_eq!(
                words(line),
                Err(*want),
                "line {:?}",
                line.escape_ascii().to_string()
            );
        }
    }

    #[test]
    fn spans_point_into_the_rewritten_buffer() {
        let mut buf = *b" ab \"c d\"e\"\"\"\" \"\" f\n";
        let mut spans = heapless::Vec::new();
        split(&mut buf, &mut spans).unwrap();
        let want = [
            Span { start: 1, end: 3 },
            Span { start: 4, end: 9 },
            Span { start: 15, end: 15 },
            Span { start: 18, end: 19 },
        ];
        assert_eq!(spans.as_slice(), &want);
        let got: Vec<Vec<u8>> = spans.iter().map(|s| s.get(&buf).to_vec()).collect();
        assert_eq!(got, [&b"ab"[..], b"c de\"", b"", b"f"].map(<[u8]>::to_vec));
        // The byte after each word is free for a terminator.
        for s in &spans {
            buf[usize::from(s.end)] = 0;
        }
        assert_eq!(
            spans
                .iter()
                .map(|s| s.get(&buf).to_vec())
                .collect::<Vec<_>>(),
            got
        );
    }

    #[test]
    fn split_appends_to_out() {
        let mut spans = heapless::Vec::new();
        spans.push(Span { start: 7, end: 9 }).unwrap();
        split(&mut b"x".to_vec(), &mut spans).unwrap();
        assert_eq!(
            spans.as_slice(),
            &[Span { start: 7, end: 9 }, Span { start: 0, end: 1 }]
        );
    }

    #[test]
    fn words_max_boundary() {
        // "a a a ... a\n": 256 words is exactly LINE_MAX bytes.
        let mut line = b"a ".repeat(WORDS_MAX);
        *line.last_mut().unwrap() = b'\n';
        assert_eq!(line.len(), LINE_MAX);
        assert_eq!(words(&line).unwrap().len(), WORDS_MAX);
        let line = b"a ".repeat(WORDS_MAX + 1);
        assert_eq!(words(&line), Err(SplitError::TooManyWords));
        let line = b"\"\"\t".repeat(WORDS_MAX);
        assert_eq!(words(&line).unwrap().len(), WORDS_MAX);
        let line = b"\"\" ".repeat(WORDS_MAX + 1);
        assert_eq!(words(&line), Err(SplitError::TooManyWords));
    }

    #[test]
    fn buffer_length_limit() {
        let mut buf = vec![b'a'; usize::from(u16::MAX)];
        buf[1] = b' ';
        let mut spans = heapless::Vec::new();
        split(&mut buf, &mut spans).unwrap();
        assert_eq!(
            spans.as_slice(),
            &[
                Span { start: 0, end: 1 },
                Span {
                    start: 2,
                    end: u16::MAX
                }
            ]
        );
        let mut buf = vec![b'a'; usize::from(u16::MAX) + 1];
        let mut spans = heapless::Vec::new();
        assert_eq!(split(&mut buf, &mut spans), Err(SplitError::TooLong));
        assert!(spans.is_empty());
    }

    #[test]
    fn quote_table() {
        let table: &[(&[u8], &[u8])] = &[
            (b"a", b"a"),
            (b"/bin/sleep", b"/bin/sleep"),
            (b"-r", b"-r"),
            (b"\\-r", b"\\-r"),
            (b"$HOME", b"$HOME"),
            (b"'", b"'"),
            (b"\0\xff", b"\0\xff"),
            (b"", b"\"\""),
            (b" ", b"\" \""),
            (b"a b", b"\"a b\""),
            (b"a\tb", b"\"a\tb\""),
            (b"a\rb", b"\"a\rb\""),
            (b"a\n", b"\"a\n\""),
            (b"\"", b"\"\"\"\""),
            (b"a\"b", b"\"a\"\"b\""),
            (b"\"\"", b"\"\"\"\"\"\""),
        ];
        for (word, want) in table {
            assert_eq!(
                quoted(word),
                want.to_vec(),
                "word {:?}",
                word.escape_ascii().to_string()
            );
            assert_eq!(words(want), Ok(vec![word.to_vec()]));
        }
    }

    #[test]
    fn groups_table() {
        type Case<'a> = (&'a [&'a [u8]], &'a [&'a [&'a [u8]]]);
        let table: &[Case] = &[
            (&[], &[]),
            (&[b"-r"], &[&[]]),
            (&[b"-r", b"-r"], &[&[], &[]]),
            (&[b"-r", b"a"], &[&[b"a"]]),
            (&[b"-r", b"a", b"b", b"-r", b"c"], &[&[b"a", b"b"], &[b"c"]]),
            (&[b"-r", b"a", b"-r"], &[&[b"a"], &[]]),
            (&[b"-r", b"-r", b"a"], &[&[], &[b"a"]]),
            (&[b"-r", b"a", b"\\-r", b"b"], &[&[b"a", b"\\-r", b"b"]]),
            (&[b"-r", b"a", b"--r", b"-R"], &[&[b"a", b"--r", b"-R"]]),
            // No leading `-r`: the leading words still form a group.
            (&[b"a"], &[&[b"a"]]),
            (&[b"a", b"b"], &[&[b"a", b"b"]]),
            (&[b"a", b"-r", b"b"], &[&[b"a"], &[b"b"]]),
            (&[b"", b"-r"], &[&[b""], &[]]),
            (&[b"-r:QUIT", b"a", b"-r", b"b"], &[&[b"a"], &[b"b"]]),
            (&[b"-r", b"a", b"-r:1", b"-r:"], &[&[b"a"], &[], &[]]),
            (
                &[b"-r", b"a", b"\\-r:QUIT", b"-r:x"],
                &[&[b"a", b"\\-r:QUIT"], &[]],
            ),
        ];
        for (input, want) in table {
            let got: Vec<&[&[u8]]> = groups(input).map(|(_, g)| g).collect();
            assert_eq!(&got, want, "input {input:?}");
        }
        let flags: Vec<&[u8]> = groups(&[b"x", b"-r", b"-r:QUIT", b"y", b"-r:"])
            .map(|(f, _)| f)
            .collect();
        assert_eq!(flags, [&b""[..], b"-r", b"-r:QUIT", b"-r:"]);
    }

    #[test]
    fn unescape_only_touches_the_run_flag_and_dashdash() {
        let table: &[(&[u8], &[u8])] = &[
            (b"\\-r", b"-r"),
            (b"\\--", b"--"),
            (b"-r", b"-r"),
            (b"--", b"--"),
            (b"\\-x", b"\\-x"),
            (b"\\\\-r", b"\\\\-r"),
            (b"\\\\--", b"\\\\--"),
            (b"\\---", b"\\---"),
            (b"\\--x", b"\\--x"),
            (b"\\-", b"\\-"),
            (b"\\", b"\\"),
            (b"", b""),
        ];
        for &(word, want) in table {
            assert_eq!(unescape(word), want, "{}", word.escape_ascii());
        }
        assert!(is_run_flag(b"-r") && !is_run_flag(b"\\-r") && !is_run_flag(b"r"));
        assert!(!is_run_flag(END_OF_OPTIONS));
        // -r:SIG starts a group too; \-r:SIG is the literal word.
        assert!(is_run_flag(b"-r:QUIT") && is_run_flag(b"-r:"));
        assert!(!is_run_flag(b"-rQUIT") && !is_run_flag(b"-r-") && !is_run_flag(b"--r:QUIT"));
        assert_eq!(unescape(b"\\-r:QUIT"), b"-r:QUIT");
        assert_eq!(unescape(b"\\-r:"), b"-r:");
        assert_eq!(unescape(b"\\-rx"), b"\\-rx");
        assert_eq!(unescape(b"-r:QUIT"), b"-r:QUIT");
    }

    /// A stand-in for the signal table: QUIT/SIGQUIT/3 and TERM/15.
    fn fake_signal(word: &[u8]) -> Option<i32> {
        match word {
            b"QUIT" | b"SIGQUIT" | b"quit" | b"3" => Some(3),
            b"TERM" | b"15" => Some(15),
            _ => None,
        }
    }

    #[test]
    fn run_flag_lists() {
        let flag = |signal, primary| Ok(RunFlag { signal, primary });
        type Want = Result<RunFlag, (&'static str, &'static str)>;
        let table: &[(&str, Want)] = &[
            ("-r", Ok(RunFlag::PLAIN)),
            // Words before the first -r come with an empty starter.
            ("", Ok(RunFlag::PLAIN)),
            ("-r:QUIT", flag(Some(3), false)),
            ("-r:3", flag(Some(3), false)),
            ("-r:quit", flag(Some(3), false)),
            ("-r:primary", flag(None, true)),
            ("-r:PRIMARY", flag(None, true)),
            ("-r:Primary", flag(None, true)),
            ("-r:QUIT,primary", flag(Some(3), true)),
            ("-r:primary,QUIT", flag(Some(3), true)),
            ("-r:primary,15", flag(Some(15), true)),
            // Unknown words are named.
            ("-r:NOPE", Err((RUN_FLAG_UNKNOWN, "NOPE"))),
            ("-r:QUIT,prmary", Err((RUN_FLAG_UNKNOWN, "prmary"))),
            ("-r:primary,NOPE", Err((RUN_FLAG_UNKNOWN, "NOPE"))),
            ("-r:QUIT primary", Err((RUN_FLAG_UNKNOWN, "QUIT primary"))),
            ("-r:primary:QUIT", Err((RUN_FLAG_UNKNOWN, "primary:QUIT"))),
            // The rest name the whole starter.
            ("-r:", Err((RUN_FLAG_EMPTY, "-r:"))),
            ("-r:QUIT,", Err((RUN_FLAG_EMPTY, "-r:QUIT,"))),
            ("-r:,primary", Err((RUN_FLAG_EMPTY, "-r:,primary"))),
            (
                "-r:QUIT,,primary",
                Err((RUN_FLAG_EMPTY, "-r:QUIT,,primary")),
            ),
            ("-r:QUIT,TERM", Err((RUN_FLAG_TWO_SIGNALS, "-r:QUIT,TERM"))),
            ("-r:QUIT,QUIT", Err((RUN_FLAG_TWO_SIGNALS, "-r:QUIT,QUIT"))),
            (
                "-r:primary,QUIT,TERM",
                Err((RUN_FLAG_TWO_SIGNALS, "-r:primary,QUIT,TERM")),
            ),
            (
                "-r:primary,primary",
                Err((RUN_FLAG_PRIMARY_TWICE, "-r:primary,primary")),
            ),
            (
                "-r:primary,QUIT,PRIMARY",
                Err((RUN_FLAG_PRIMARY_TWICE, "-r:primary,QUIT,PRIMARY")),
            ),
        ];
        for &(flag, want) in table {
            let got = RunFlag::parse(flag.as_bytes(), fake_signal).map_err(|e| match e {
                crate::error::Error::Usage { what, word } => {
                    (what, std::str::from_utf8(word).unwrap())
                }
                e => panic!("{flag}: {e:?}"),
            });
            assert_eq!(got, want, "{flag}");
            // marks_primary agrees wherever the list is valid.
            if let Ok(f) = want {
                assert_eq!(marks_primary(flag.as_bytes()), f.primary, "{flag}");
            }
        }
        // marks_primary looks only for the word.
        assert!(marks_primary(b"-r:NOPE,primary"));
        assert!(!marks_primary(b"-r:NOPE"));
        assert!(!marks_primary(b"\\-r:primary"));
        assert!(!marks_primary(b"-rprimary"));
        // The message for an unknown word, as the user sees it.
        let e = RunFlag::parse(b"-r:QUIT,prmary", fake_signal).unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown word in the -r: list (expected a signal or primary): prmary"
        );
    }

    /// Deterministic: a fixed seed and no failure files, so CI runs the same
    /// cases every time (override with PROPTEST_CASES when hunting).
    fn config() -> Config {
        Config {
            cases: 2000,
            failure_persistence: None,
            rng_algorithm: RngAlgorithm::ChaCha,
            rng_seed: RngSeed::Fixed(0x6469_6e69_7400_0001),
            ..Config::default()
        }
    }

    /// Bytes weighted towards the ones the grammar cares about.
    fn byte() -> impl Strategy<Value = u8> {
        const SPECIAL: &[u8] = b" \t\r\n\"\\-ra$\0";
        any::<u16>().prop_map(|n| {
            let [pick, b] = n.to_le_bytes();
            if pick < 160 {
                SPECIAL[usize::from(b) % SPECIAL.len()]
            } else {
                b
            }
        })
    }

    fn word_list() -> impl Strategy<Value = Vec<Vec<u8>>> {
        prop_oneof![
            prop::collection::vec(prop::collection::vec(byte(), 0..12), 0..64),
            // Many short words, up to and past WORDS_MAX.
            prop::collection::vec(prop::collection::vec(byte(), 0..2), 200..300),
        ]
    }

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn split_inverts_quote(mut ws in word_list(), ending in 0usize..3) {
            // Keep the longest prefix whose line fits LINE_MAX with its ending.
            let ending: &[u8] = [&b""[..], b"\n", b"\r\n"][ending];
            let mut len = ending.len();
            let fit = ws.iter().take_while(|w| {
                len += quoted(w).len() + 1;
                len <= LINE_MAX + 1
            }).count();
            ws.truncate(fit);
            let mut line = line_of(&ws);
            line.extend_from_slice(ending);
            prop_assert!(ws.len() <= WORDS_MAX);
            prop_assert_eq!(words(&line), Ok(ws));
        }

        #[test]
        fn split_never_panics(line in prop::collection::vec(byte(), 0..700)) {
            let mut buf = line.clone();
            let mut spans = heapless::Vec::new();
            let res = split(&mut buf, &mut spans);
            if let Ok(()) = res {
                for s in &spans {
                    prop_assert!(s.start <= s.end && usize::from(s.end) <= buf.len());
                }
                // What split accepted, quoted and split again, is the same.
                let ws: Vec<Vec<u8>> = spans.iter().map(|s| s.get(&buf).to_vec()).collect();
                prop_assert_eq!(words(&line_of(&ws)), Ok(ws));
            }
        }
    }
}
