//! `$` expansion of program names and arguments (SPEC §2): `$NAME` and
//! `${NAME}` become the variable's value (nothing when unset),
//! `${NAME:-default}` the default when NAME is unset or empty, `$$` a
//! literal `$`; a `$` not followed by a name character or `{` stays as it
//! is; a `${` without its `}` is an error. Name characters are ASCII
//! letters, digits and `_` (a name may start with a digit, as Go's
//! os.Expand allows). The default is taken literally (no nested expansion).
//!
//! Inside braces the name is everything up to the first `}` or `:-`, with no
//! check on its characters: `${A B}` or `${A-x}` look up the name `A B` or
//! `A-x`, which no environment entry normally has, so they expand to nothing
//! rather than fail. `${}` is the empty name and expands to nothing, and
//! `${:-x}` to `x`. The default runs to the first `}`, so it cannot hold one.
//! Bytes need not be UTF-8; NUL is an ordinary byte.
//!
//! Output goes into a caller-owned buffer; nothing here allocates.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExpandError {
    /// `${` without its closing `}`.
    Unterminated,
    /// The result does not fit the output buffer.
    TooLong,
}

/// `true` when `word` contains a `$`, i.e. `expand` could change it.
pub fn needs_expansion(word: &[u8]) -> bool {
    word.contains(&b'$')
}

/// Expand `word` into `out`, looking variables up with `lookup`; returns the
/// number of bytes written. The first error met wins: a word that overflows
/// `out` before an unterminated `${` is `TooLong`. On `TooLong`, `out` holds
/// as much of the result as fits.
pub fn expand<'e>(
    word: &[u8],
    lookup: &dyn Fn(&[u8]) -> Option<&'e [u8]>,
    out: &mut [u8],
) -> Result<usize, ExpandError> {
    let mut w = Writer { out, len: 0 };
    let mut rest = word;
    while let Some(dollar) = rest.iter().position(|&b| b == b'$') {
        let (lit, tail) = rest.split_at(dollar);
        w.put(lit)?;
        // `tail` starts with the `$`.
        let after = tail.get(1..).unwrap_or_default();
        rest = match after.first() {
            Some(b'$') => {
                w.put(b"$")?;
                after.get(1..).unwrap_or_default()
            }
            Some(b'{') => {
                let inner = after.get(1..).unwrap_or_default();
                let close = inner
                    .iter()
                    .position(|&b| b == b'}')
                    .ok_or(ExpandError::Unterminated)?;
                let (body, closed) = inner.split_at(close);
                let (name, default) = match find(body, b":-") {
                    Some(i) => (body.get(..i).unwrap_or_default(), body.get(i + 2..)),
                    None => (body, None),
                };
                let value = if name.is_empty() { None } else { lookup(name) };
                match (value, default) {
                    (Some(v), Some(_)) if !v.is_empty() => w.put(v)?,
                    (_, Some(d)) => w.put(d)?,
                    (v, None) => w.put(v.unwrap_or_default())?,
                }
                closed.get(1..).unwrap_or_default()
            }
            Some(&b) if is_name_byte(b) => {
                let n = after
                    .iter()
                    .position(|&b| !is_name_byte(b))
                    .unwrap_or(after.len());
                let (name, tail) = after.split_at(n);
                w.put(lookup(name).unwrap_or_default())?;
                tail
            }
            // A lone `$`: kept, and whatever follows is read normally.
            _ => {
                w.put(b"$")?;
                after
            }
        };
    }
    w.put(rest)?;
    Ok(w.len)
}

/// ASCII letters, digits and `_`, as in Go's os.Expand.
fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// The index of the first `needle` in `hay`.
fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// A bounded cursor over the output buffer.
struct Writer<'o> {
    out: &'o mut [u8],
    len: usize,
}

impl Writer<'_> {
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
            (b"${}", b""),
            (b"a${}b", b"ab"),
            (b"}", b"}"),
            (b"{A}", b"{A}"),
            (b"${A:-x}", b"a"),
            (b"${E:-x}", b"x"),
            (b"${UNSET:-x}", b"x"),
            (b"${A:-}", b"a"),
            (b"${E:-}", b""),
            (b"${UNSET:-}", b""),
            (b"${:-x}", b"x"),
            (b"${UNSET:-$B}", b"$B"),
            (b"${UNSET:-${B}", b"${B"),
            (b"${A:-${B}", b"a"),
            (b"${UNSET:-a b}", b"a b"),
            (b"${UNSET:-x:-y}", b"x:-y"),
            (b"${UNSET:-{x}y}", b"{xy}"),
            (b"${A}}", b"a}"),
            (b"${A-x}", b""),
            (b"${A:x}", b""),
            (b"${A:=x}", b""),
            (b"${A B}", b"spaced"),
            (b"${ A}", b""),
            (b"${N\0}", b"nul\0"),
            (b"$N\0", b"\0"),
            (b"${\xff}", b"\xfe"),
            (b"${A}${E:-e}$$${UNSET:-u}", b"ae$u"),
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

    #[test]
    fn unterminated() {
        let table: &[&[u8]] = &[b"${", b"${A", b"x${A:-y", b"$A${", b"$${A}${"];
        for word in table {
            assert_eq!(
                run(word),
                Err(ExpandError::Unterminated),
                "word {:?}",
                word.escape_ascii().to_string()
            );
        }
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
        expand(b"$$ $A ${B} ${C:-d} ${} ${:-e} $ $-", &lookup, &mut out).unwrap();
        assert_eq!(*seen.borrow(), [&b"A"[..], b"B", b"C"].map(<[u8]>::to_vec));
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
                        Err(e) => prop_assert_eq!(e, ExpandError::Unterminated),
                    }
                    prop_assert_eq!(&out[..], &big[..cap]);
                }
                Err(ExpandError::Unterminated) => {
                    let opens = find(&word, b"${").is_some();
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
