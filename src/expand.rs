//! `$` expansion of program names and arguments (SPEC §2): `$NAME` and
//! `${NAME}` become the variable's value (nothing when unset),
//! `${NAME:-default}` the default when NAME is unset or empty, `$$` a
//! literal `$`; a `$` not followed by a name character or `{` stays as it
//! is; a `${` without its `}` is an error. Name characters are ASCII
//! letters, digits and `_` (a name may start with a digit, as Go's
//! os.Expand allows). The default is taken literally (no nested expansion).
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
/// number of bytes written.
pub fn expand<'e>(
    word: &[u8],
    lookup: &dyn Fn(&[u8]) -> Option<&'e [u8]>,
    out: &mut [u8],
) -> Result<usize, ExpandError> {
    todo!()
}
