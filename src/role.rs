//! Which role a multi-call invocation plays (SPEC §1), from the arguments
//! alone: `argv[0]`'s basename `dinit-submit`, or the first option.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Init,
    /// `skip` words after argv[0] belong to the role selection (`-submit`).
    Submit {
        skip: usize,
    },
    Version,
    Help,
}

/// The basename of a path.
pub fn basename(path: &[u8]) -> &[u8] {
    match path.iter().rposition(|&b| b == b'/') {
        Some(i) => &path[i + 1..],
        None => path,
    }
}

pub fn select(args: &[&[u8]]) -> Role {
    if args
        .first()
        .is_some_and(|a0| basename(a0) == b"dinit-submit")
    {
        return Role::Submit { skip: 0 };
    }
    match args.get(1).copied() {
        Some(b"-submit" | b"--submit") => Role::Submit { skip: 1 },
        Some(b"-version" | b"--version" | b"-V") => Role::Version,
        Some(b"-h" | b"-help" | b"--help") => Role::Help,
        _ => Role::Init,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn role(args: &[&str]) -> Role {
        let v: Vec<&[u8]> = args.iter().map(|s| s.as_bytes()).collect();
        select(&v)
    }

    #[test]
    fn roles() {
        assert_eq!(role(&["/dinit", "-r", "x"]), Role::Init);
        assert_eq!(role(&["dinit"]), Role::Init);
        assert_eq!(role(&[]), Role::Init);
        assert_eq!(
            role(&["/usr/bin/dinit-submit", "-r", "x"]),
            Role::Submit { skip: 0 }
        );
        assert_eq!(role(&["dinit-submit"]), Role::Submit { skip: 0 });
        assert_eq!(
            role(&["dinit", "-submit", "-r", "x"]),
            Role::Submit { skip: 1 }
        );
        assert_eq!(role(&["dinit", "--submit"]), Role::Submit { skip: 1 });
        assert_eq!(role(&["dinit", "-version"]), Role::Version);
        assert_eq!(role(&["dinit", "--version"]), Role::Version);
        assert_eq!(role(&["dinit", "-V"]), Role::Version);
        assert_eq!(role(&["dinit", "-h"]), Role::Help);
        assert_eq!(role(&["dinit", "-help"]), Role::Help);
        assert_eq!(role(&["dinit", "--help"]), Role::Help);
        assert_eq!(role(&["dinit", "-timeout", "1", "-version"]), Role::Init);
        assert_eq!(role(&["/x/dinit-submitter", "-r"]), Role::Init);
    }

    /// SPEC §8: the words after `--` are the command's, so none of them
    /// picks a role (`dinit -- -version` runs a program called `-version`).
    #[test]
    fn nothing_after_dashdash_picks_a_role() {
        for word in [
            "-version",
            "--version",
            "-V",
            "-submit",
            "--submit",
            "-h",
            "-help",
            "--help",
        ] {
            assert_eq!(role(&["dinit", "--", word]), Role::Init, "{word}");
            assert_eq!(role(&["dinit", "--", "/bin/echo", word]), Role::Init);
            assert_eq!(role(&["dinit", "-quiet", "--", "x", word]), Role::Init);
            assert_eq!(role(&["dinit", "-timeout", "1", "--", word]), Role::Init);
        }
    }
}
