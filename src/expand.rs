//! `$` expansion of program names and arguments (SPEC §2): `$NAME` and
//! `${NAME}` become the variable's value (nothing when unset),
//! `${NAME:-default}` the default when NAME is unset or empty, `$$` a
//! literal `$`; a `$` not followed by a name character or `{` stays as it
//! is. Name characters are ASCII letters, digits and `_` (a name may start
//! with a digit, as Go's os.Expand allows).
//!
//! Every other `${...}` form is refused (`Unsupported`), never guessed at:
//! `${X-d}`, `${X:=d}`, `${#X}`, `${X#p}`, `${}`, `${A B}`, ... are shell
//! syntax dinit does not implement, and a silently empty or mangled
//! argument is worse than a usage error naming the word (`$${` passes the
//! text on to a shell). A `${` without its `}` is `Unterminated`.
//!
//! The default is expanded in turn: it may hold `$Y`, `${Y}`, `${Y:-z}` and
//! `$$`, and it ends at the first `}` that closes no `${` inside it (so it
//! cannot hold a literal `}`; bash reads `${U:-{x}y}` as `{xy}` too). When
//! NAME is set the default is still parsed, without lookups, so a bad form
//! in it is refused whatever the environment holds: nothing is ever left
//! half-parsed. Nesting costs no stack: the parser keeps only how many
//! defaults are open and from which one on output is suppressed.
//! Bytes need not be UTF-8; NUL is an ordinary byte.
//!
//! Output goes into a caller-owned buffer; nothing here allocates.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExpandError {
    /// `${` without its closing `}`.
    Unterminated,
    /// A `${...}` form other than `${NAME}` and `${NAME:-default}`.
    Unsupported,
    /// The result does not fit the output buffer.
    TooLong,
}

/// `true` when `word` contains a `$`, i.e. `expand` could change it.
pub fn needs_expansion(word: &[u8]) -> bool {
    word.contains(&b'$')
}

/// Expand `word` into `out`, looking variables up with `lookup`; returns the
/// number of bytes written. The first error met wins: a word that overflows
/// `out` before a bad `${` is `TooLong`. On `TooLong`, `out` holds as much
/// of the result as fits.
pub fn expand<'e>(
    word: &[u8],
    lookup: &dyn Fn(&[u8]) -> Option<&'e [u8]>,
    out: &mut [u8],
) -> Result<usize, ExpandError> {
    let mut w = Writer { out, len: 0 };
    // `${NAME:-` defaults open around `i`, and the depth from which output
    // is suppressed (the default of a NAME that is set), if any.
    let mut depth = 0usize;
    let mut quiet: Option<usize> = None;
    let mut i = 0;
    while let Some(&b) = word.get(i) {
        if b == b'}' && depth > 0 {
            // Closes the innermost open default.
            if quiet == Some(depth) {
                quiet = None;
            }
            depth -= 1;
            i += 1;
            continue;
        }
        if b != b'$' {
            let rest = word.get(i..).unwrap_or_default();
            let n = rest
                .iter()
                .position(|&c| c == b'$' || (c == b'}' && depth > 0))
                .unwrap_or(rest.len());
            w.put_unless(quiet.is_some(), rest.get(..n).unwrap_or_default())?;
            i += n;
            continue;
        }
        match word.get(i + 1) {
            Some(b'$') => {
                w.put_unless(quiet.is_some(), b"$")?;
                i += 2;
            }
            Some(b'{') => {
                let start = i + 2;
                let tail = word.get(start..).unwrap_or_default();
                let n = tail.iter().take_while(|&&c| is_name_byte(c)).count();
                let name = tail.get(..n).unwrap_or_default();
                let after = tail.get(n..).unwrap_or_default();
                match after {
                    [] | [b':'] => return Err(ExpandError::Unterminated),
                    [b'}', ..] if n > 0 => {
                        if quiet.is_none() {
                            w.put(lookup(name).unwrap_or_default())?;
                        }
                        i = start + n + 1;
                    }
                    [b':', b'-', ..] if n > 0 => {
                        depth += 1;
                        if quiet.is_none()
                            && let Some(v) = lookup(name).filter(|v| !v.is_empty())
                        {
                            w.put(v)?;
                            quiet = Some(depth);
                        }
                        i = start + n + 2;
                    }
                    _ => return Err(ExpandError::Unsupported),
                }
            }
            Some(&c) if is_name_byte(c) => {
                let tail = word.get(i + 1..).unwrap_or_default();
                let n = tail.iter().take_while(|&&c| is_name_byte(c)).count();
                if quiet.is_none() {
                    w.put(lookup(tail.get(..n).unwrap_or_default()).unwrap_or_default())?;
                }
                i += 1 + n;
            }
            // A lone `$`: kept, and whatever follows is read normally.
            _ => {
                w.put_unless(quiet.is_some(), b"$")?;
                i += 1;
            }
        }
    }
    if depth > 0 {
        return Err(ExpandError::Unterminated);
    }
    Ok(w.len)
}

/// ASCII letters, digits and `_`, as in Go's os.Expand.
fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// A bounded cursor over the output buffer.
struct Writer<'o> {
    out: &'o mut [u8],
    len: usize,
}

impl Writer<'_> {
    /// `put`, unless inside the default of a variable that is set.
    fn put_unless(&mut self, quiet: bool, bytes: &[u8]) -> Result<(), ExpandError> {
        if quiet { Ok(()) } else { self.put(bytes) }
    }

    fn put(&mut self, bytes: &[u8]) -> Result<(), ExpandError> {
        let end = self
            .len
            .checked_add(bytes.len())
            .ok_or(ExpandError::TooLong)?;
        match self.out.get_mut(self.len..end) {
            Some(dst) => {
                dst.copy_from_slice(bytes);
                self.len = end;
                Ok(())
            }
            None => {
                // Keep what fits, so a caller can show the start of the word.
                let room = self.out.len().saturating_sub(self.len);
                if let (Some(dst), Some(src)) = (self.out.get_mut(self.len..), bytes.get(..room)) {
                    dst.copy_from_slice(src);
                }
                self.len = self.out.len();
                Err(ExpandError::TooLong)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use proptest::test_runner::{Config, RngAlgorithm, RngSeed};

    /// The test environment: A=a, B=bee, E set but empty, and a few odd ones.
    const ENV: &[(&[u8], &[u8])] = &[
        (b"A", b"a"),
        (b"B", b"bee"),
        (b"E", b""),
        (b"HOME", b"/root"),
        (b"_x9", b"under"),
        (b"9", b"nine"),
        (b"D", b"$A"),
        (b"A B", b"spaced"),
        (b"N\0", b"nul\0"),
        (b"\xff", b"\xfe"),
    ];

    fn env(name: &[u8]) -> Option<&'static [u8]> {
        ENV.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
    }

    fn run(word: &[u8]) -> Result<Vec<u8>, ExpandError> {
        let mut out = [0u8; 1024];
        let n = expand(word, &env, &mut out)?;
        Ok(out[..n].to_vec())
    }

    #[test]
    fn expand_table() {
        let table: &[(&[u8], &[u8])] = &[
            (b"", b""),
            (b"plain", b"plain"),
            (b"$A", b"a"),
            (b"${A}", b"a"),
            (b"$B", b"bee"),
            (b"$UNSET", b""),
            (b"${UNSET}", b""),
            (b"x${UNSET}y", b"xy"),
            (b"$E", b""),
            (b"$A$B", b"abee"),
            (b"${A}${B}", b"abee"),
            (b"$A.txt", b"a.txt"),
            (b"$A-$B", b"a-bee"),
            (b"$AB", b""),
            (b"${A}B", b"aB"),
            (b"$A/$HOME/x", b"a//root/x"),
            (b"$_x9", b"under"),
            (b"$9", b"nine"),
            (b"$9x", b""),
            (b"$$", b"$"),
            (b"$$A", b"$A"),
            (b"$$$A", b"$a"),
            (b"$$$$", b"$$"),
            (b"$", b"$"),
            (b"a$", b"a$"),
            (b"$ ", b"$ "),
            (b"$-", b"$-"),
            (b"$.A", b"$.A"),
            (b"$}", b"$}"),
            (b"$/", b"$/"),
            (b"$\0", b"$\0"),
            (b"$\xff", b"$\xff"),
            (b"$A$", b"a$"),
            (b"\\$A", b"\\a"),
            (b"$D", b"$A"),
            (b"${D}", b"$A"),
            (b"}", b"}"),
            (b"{A}", b"{A}"),
            (b"${A:-x}", b"a"),
            (b"${E:-x}", b"x"),
            (b"${UNSET:-x}", b"x"),
            (b"${A:-}", b"a"),
            (b"${E:-}", b""),
            (b"${UNSET:-}", b""),
            (b"${UNSET:-a b}", b"a b"),
            (b"${UNSET:-x:-y}", b"x:-y"),
            (b"${UNSET:-{x}y}", b"{xy}"),
            (b"${A}}", b"a}"),
            (b"$N\0", b"\0"),
            (b"${A}${E:-e}$$${UNSET:-u}", b"ae$u"),
            // The default is expanded in turn.
            (b"${UNSET:-$B}", b"bee"),
            (b"${UNSET:-${B}}", b"bee"),
            (b"${UNSET:-x${B}y}", b"xbeey"),
            (b"${UNSET:-${UNSET:-z}}", b"z"),
            (b"${UNSET:-${E:-${UNSET:-deep}}}", b"deep"),
            (b"${UNSET:-${B:-q}x}", b"beex"),
            (b"${UNSET:-$$}", b"$"),
            (b"${UNSET:-$$B}", b"$B"),
            (b"${UNSET:-$}", b"$"),
            (b"${UNSET:-a}b}", b"ab}"),
            (b"${UNSET:-}}", b"}"),
            // A set variable wins; its default is parsed but not looked at.
            (b"${A:-${B}}", b"a"),
            (b"${B:-${B}}", b"bee"),
            (b"${A:-${UNSET:-x}y}z", b"az"),
            (b"${A:-$B}$B", b"abee"),
            (b"${UNSET:-${A:-${B}}}", b"a"),
        ];
        for (word, want) in table {
            assert_eq!(
                run(word),
                Ok(want.to_vec()),
                "word {:?}",
                word.escape_ascii().to_string()
            );
        }
    }

    /// Every word in `table` fails with `err`.
    fn assert_all(table: &[&[u8]], err: ExpandError) {
        for word in table {
            let shown = word.escape_ascii().to_string();
            assert_eq!(run(word), Err(err), "word {shown:?}");
        }
    }

    #[test]
    fn unsupported_forms_are_refused() {
        let table: &[&[u8]] = &[
            b"${A-x}",
            b"${UNSET-x}",
            b"${A:=x}",
            b"${A=x}",
            b"${A:?x}",
            b"${A:+x}",
            b"${A+x}",
            b"${#A}",
            b"${A#p}",
            b"${A##p}",
            b"${A%p}",
            b"${A/a/b}",
            b"${A:1}",
            b"${A:x}",
            b"${!A}",
            b"${A[0]}",
            b"${}",
            b"a${}b",
            b"${:-x}",
            b"${A B}",
            b"${ A}",
            b"${A }",
            b"${N\0}",
            b"${\xff}",
            b"${A-x",
            // Inside a default, whether the variable is set or not.
            b"${UNSET:-${B-x}}",
            b"${A:-${B-x}}",
            b"${A:-${#B}}",
            b"${UNSET:-${}}",
            b"${UNSET:-${UNSET:-${A:=x}}}",
            // Later in the word than a good form.
            b"$A${B}${C-d}",
        ];
        assert_all(table, ExpandError::Unsupported);
        // `$${` passes any of them on literally (to a shell).
        assert_eq!(run(b"$${A-x}"), Ok(b"${A-x}".to_vec()));
        assert_eq!(run(b"$${#A}"), Ok(b"${#A}".to_vec()));
    }

    #[test]
    fn deep_nesting_needs_no_stack() {
        let n = 100_000;
        let mut word = b"${UNSET:-".repeat(n);
        word.push(b'x');
        word.extend(std::iter::repeat_n(b'}', n));
        assert_eq!(run(&word), Ok(b"x".to_vec()));
        word.pop();
        assert_eq!(run(&word), Err(ExpandError::Unterminated));
    }

    #[test]
    fn unterminated() {
        let table: &[&[u8]] = &[
            b"${",
            b"${A",
            b"${A:",
            b"${:",
            b"x${A:-y",
            b"$A${",
            b"$${A}${",
            // Nested: the inner one closes, the outer does not.
            b"${UNSET:-${B}",
            b"${A:-${B}",
            b"${UNSET:-${B:-x}",
            b"${UNSET:-${",
            b"${A:-${B",
            b"${A:-${UNSET:-${B:-}}",
        ];
        assert_all(table, ExpandError::Unterminated);
        // `$${` is a literal `$` and `{`, not an open brace.
        assert_eq!(run(b"$${"), Ok(b"${".to_vec()));
    }

    #[test]
    fn output_bounds() {
        let fits = |word: &[u8], cap: usize| {
            let mut out = vec![0u8; cap];
            expand(word, &env, &mut out).map(|n| out[..n].to_vec())
        };
        assert_eq!(fits(b"", 0), Ok(vec![]));
        assert_eq!(fits(b"$E${UNSET}", 0), Ok(vec![]));
        assert_eq!(fits(b"x", 0), Err(ExpandError::TooLong));
        assert_eq!(fits(b"$", 0), Err(ExpandError::TooLong));
        assert_eq!(fits(b"$B", 3), Ok(b"bee".to_vec()));
        assert_eq!(fits(b"$B", 2), Err(ExpandError::TooLong));
        assert_eq!(fits(b"x$B", 3), Err(ExpandError::TooLong));
        assert_eq!(fits(b"$B$$", 4), Ok(b"bee$".to_vec()));
        assert_eq!(fits(b"$B$$", 3), Err(ExpandError::TooLong));
        assert_eq!(fits(b"${UNSET:-abc}", 3), Ok(b"abc".to_vec()));
        assert_eq!(fits(b"${UNSET:-abc}", 2), Err(ExpandError::TooLong));
        // What fits is kept, so a message can show the start.
        let mut out = [0u8; 4];
        assert_eq!(expand(b"ab$B", &env, &mut out), Err(ExpandError::TooLong));
        assert_eq!(&out, b"abbe");
        // A huge value into a small buffer.
        let big = vec![b'v'; 100_000];
        let lookup = |_: &[u8]| Some(&big[..]);
        let mut out = [0u8; 512];
        assert_eq!(expand(b"$X", &lookup, &mut out), Err(ExpandError::TooLong));
        let mut out = vec![0u8; 100_000];
        assert_eq!(expand(b"$X", &lookup, &mut out), Ok(100_000));
    }

    #[test]
    fn lookup_sees_only_names() {
        use std::cell::RefCell;
        let seen = RefCell::new(Vec::new());
        let lookup = |name: &[u8]| {
            seen.borrow_mut().push(name.to_vec());
            None
        };
        let mut out = [0u8; 64];
        expand(b"$$ $A ${B} ${C:-d$F} $ $-", &lookup, &mut out).unwrap();
        assert_eq!(
            *seen.borrow(),
            [&b"A"[..], b"B", b"C", b"F"].map(<[u8]>::to_vec)
        );
        // The default of a variable that is set is not looked into.
        let seen = RefCell::new(Vec::new());
        let lookup = |name: &[u8]| {
            seen.borrow_mut().push(name.to_vec());
            Some(&b"v"[..])
        };
        assert_eq!(expand(b"${S:-${T}$U}", &lookup, &mut out), Ok(1));
        assert_eq!(*seen.borrow(), [b"S".to_vec()]);
    }

    #[test]
    fn needs_expansion_table() {
        assert!(needs_expansion(b"$"));
        assert!(needs_expansion(b"a$b"));
        assert!(!needs_expansion(b""));
        assert!(!needs_expansion(b"a{b}"));
        // Every word without a `$` expands to itself.
        for word in [&b""[..], b"abc", b"{}", b"\0\xff"] {
            assert_eq!(run(word), Ok(word.to_vec()));
        }
    }

    /// Fixed seed and no failure files: CI runs the same cases every time.
    fn config() -> Config {
        Config {
            cases: 2000,
            failure_persistence: None,
            rng_algorithm: RngAlgorithm::ChaCha,
            rng_seed: RngSeed::Fixed(0x6469_6e69_7400_0002),
            ..Config::default()
        }
    }

    /// Bytes weighted towards the ones the grammar cares about.
    fn byte() -> impl Strategy<Value = u8> {
        const SPECIAL: &[u8] = b"$${}:-ABE_9 \0";
        any::<u16>().prop_map(|n| {
            let [pick, b] = n.to_le_bytes();
            if pick < 192 {
                SPECIAL[usize::from(b) % SPECIAL.len()]
            } else {
                b
            }
        })
    }

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn expand_never_panics(word in prop::collection::vec(byte(), 0..600), cap in 0usize..700) {
            let mut out = vec![0u8; cap];
            match expand(&word, &env, &mut out) {
                Ok(n) => {
                    prop_assert!(n <= cap);
                    // A bigger buffer gives the same answer.
                    let mut big = vec![0u8; 8 * word.len() + 8];
                    let m = expand(&word, &env, &mut big).unwrap();
                    prop_assert_eq!(&out[..n], &big[..m]);
                }
                Err(ExpandError::TooLong) => {
                    // The first error met wins: a later `${` may be
                    // unterminated, but what fitted is still a prefix.
                    let mut big = vec![0u8; 8 * word.len() + 8];
                    match expand(&word, &env, &mut big) {
                        Ok(m) => prop_assert!(m > cap),
                        Err(e) => prop_assert_ne!(e, ExpandError::TooLong),
                    }
                    prop_assert_eq!(&out[..], &big[..cap]);
                }
                Err(ExpandError::Unterminated | ExpandError::Unsupported) => {
                    let opens = word.windows(2).any(|w| w == b"${");
                    prop_assert!(opens);
                }
            }
        }

        #[test]
        fn words_without_dollar_are_unchanged(word in prop::collection::vec(any::<u8>().prop_filter("no $", |&b| b != b'$'), 0..300)) {
            prop_assert_eq!(run(&word), Ok(word));
        }
    }
}
