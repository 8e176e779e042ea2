//! Which role a multi-call invocation plays (SPEC §1), from the arguments
//! alone: `argv[0]`'s basename `dinit-submit`, or a role word anywhere
//! among the leading options, as Go's flag package (which the original
//! dinit used) accepts flags in any order: `dinit -socket P -submit -r ...`.
//!
//! Decided here (README, "Decisions SPEC leaves open"):
//! * The leading options end at the first `-r` (or `-r:SIG`), at `--`, and
//!   at the first word that is not an option (`-` alone included): in
//!   `dinit -r /bin/echo -submit`, echo gets the argument `-submit`.
//! * A value option's value is not an option: the word after `-start`,
//!   `-socket`, ... (written without `=`) is stepped over, with the same
//!   option table the init role's parser uses, so `dinit -start -submit -r x`
//!   is the init role with the start command `-submit`, as in Go.
//! * `-h`/`-help`/`--help` beat `-version`/`--version`/`-V`, which beat
//!   `-submit`, wherever each stands: asking for help or the version never
//!   does anything else. The same through the `dinit-submit` name (SPEC §7:
//!   `dinit-submit -version` prints the version), where the leading options
//!   end at the first word that is not an option, the command's name, as
//!   the `-r` may be left out there.
//! * `-submit` is a Go boolean: `-submit=false` is not the submit role, the
//!   last occurrence wins, and a bad value leaves the choice to the init
//!   role's parser, which names it.

use crate::cli;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Init,
    /// `symlink`: chosen by `argv[0]` (`dinit-submit`), where the `-r` may be
    /// left out.
    Submit {
        symlink: bool,
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

/// The spellings that ask for the usage, and for the version line.
const HELP: [&[u8]; 3] = [b"-h", b"-help", b"--help"];
const VERSION: [&[u8]; 3] = [b"-version", b"--version", b"-V"];

/// Whether `word` ends the leading options (see the module doc).
fn ends_options(word: &[u8]) -> bool {
    crate::words::is_run_flag(word)
        || word == crate::words::END_OF_OPTIONS
        || word == b"-"
        || !word.starts_with(b"-")
}

pub fn select(args: &[&[u8]]) -> Role {
    let symlink = args
        .first()
        .is_some_and(|a0| basename(a0) == b"dinit-submit");
    let (mut version, mut submit) = (false, false);
    let mut rest = args.get(1..).unwrap_or_default();
    while let Some((&word, tail)) = rest.split_first() {
        rest = tail;
        if ends_options(word) {
            break;
        }
        if HELP.contains(&word) {
            return Role::Help;
        }
        version |= VERSION.contains(&word);
        let Some(opt) = cli::option_word(word) else {
            continue;
        };
        if opt.setting == cli::Setting::Submit {
            submit = opt.value.map_or(Some(true), cli::parse_bool) == Some(true);
        }
        if opt.takes_next {
            rest = rest.get(1..).unwrap_or_default();
        }
    }
    match (version, submit || symlink) {
        (true, _) => Role::Version,
        (false, true) => Role::Submit { symlink },
        (false, false) => Role::Init,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn role(args: &str) -> Role {
        let v: Vec<&[u8]> = args.split(' ').map(str::as_bytes).collect();
        select(&v)
    }

    /// Every command line in `table` selects its role.
    fn check(table: &[(&str, Role)]) {
        for &(args, want) in table {
            assert_eq!(role(args), want, "{args}");
        }
    }

    const SUBMIT: Role = Role::Submit { symlink: false };
    const LINK: Role = Role::Submit { symlink: true };

    #[test]
    fn roles() {
        let table: &[(&str, Role)] = &[
            ("/dinit -r x", Role::Init),
            ("dinit", Role::Init),
            ("/usr/bin/dinit-submit -r x", LINK),
            ("dinit-submit", LINK),
            ("/bin/dinit-submit -r x", LINK),
            ("/x/dinit-submitter -r", Role::Init),
            ("dinit -submit -r x", SUBMIT),
            ("dinit --submit", SUBMIT),
            ("dinit -version", Role::Version),
            ("dinit --version", Role::Version),
            ("dinit -V", Role::Version),
            ("dinit -h", Role::Help),
            ("dinit -help", Role::Help),
            ("dinit --help", Role::Help),
        ];
        check(table);
        assert_eq!(select(&[]), Role::Init);
    }

    /// SPEC §7: the version, and help, through the `dinit-submit` name
    /// too; the leading options end at the command's name there.
    #[test]
    fn the_submit_name_asks_for_version_and_help() {
        check(&[
            ("dinit-submit -version", Role::Version),
            ("/usr/bin/dinit-submit --version", Role::Version),
            ("dinit-submit -V", Role::Version),
            ("dinit-submit -socket /s -version", Role::Version),
            ("dinit-submit -list -V", Role::Version),
            ("dinit-submit -h", Role::Help),
            ("dinit-submit -version --help", Role::Help),
            // After the command's name, `-r` or `--`: the command's words.
            ("dinit-submit sleep -version", LINK),
            ("dinit-submit -r /bin/echo -V", LINK),
            ("dinit-submit -r:QUIT x -h", LINK),
            // A value is no option, as in the init role.
            ("dinit-submit -socket -version -r x", LINK),
            // The name decides the role: -submit=false does not undo it.
            ("dinit-submit -submit=false -r x", LINK),
        ]);
    }

    #[test]
    fn role_words_anywhere_among_the_leading_options() {
        let table: &[(&str, Role)] = &[
            ("dinit -socket /run/d.sock -submit -r x", SUBMIT),
            ("dinit -socket=/run/d.sock --submit -list", SUBMIT),
            ("dinit -list -submit", SUBMIT),
            ("dinit -submit -socket /s -list", SUBMIT),
            ("dinit -quiet -timeout 5 -submit -r x", SUBMIT),
            ("dinit -submit=true -r x", SUBMIT),
            ("dinit --submit=1 -r x", SUBMIT),
            ("dinit -bogus -submit -r x", SUBMIT),
            ("dinit -timeout 1 -version", Role::Version),
            ("dinit -quiet -V -r x", Role::Version),
            ("dinit -socket /s --version", Role::Version),
            ("dinit -timeout 5 -h -r x", Role::Help),
            // Precedence: help, then version, then submit.
            ("dinit -submit -version", Role::Version),
            ("dinit -version -submit", Role::Version),
            ("dinit -submit -h", Role::Help),
            ("dinit -V -help", Role::Help),
        ];
        check(table);
    }

    #[test]
    fn leading_options_end_at_r_dashdash_and_the_first_non_option() {
        check(&[
            ("dinit -r /bin/echo -submit", Role::Init),
            ("dinit -r /bin/echo -version", Role::Init),
            ("dinit -r /bin/echo -h", Role::Init),
            ("dinit -quiet -r:QUIT nginx -submit", Role::Init),
            ("dinit -- /bin/echo -submit", Role::Init),
            ("dinit -timeout 5 -- cmd -V", Role::Init),
            ("dinit sleep -submit", Role::Init),
            ("dinit - -submit", Role::Init),
            ("dinit \\-r -submit", Role::Init),
        ]);
    }

    #[test]
    fn option_values_are_not_options() {
        let table: &[(&str, Role)] = &[
            // Go semantics: the word after a value option is its value.
            ("dinit -start -submit -r x", Role::Init),
            ("dinit --stop -version -r x", Role::Init),
            ("dinit -socket -h -r x", Role::Init),
            ("dinit -prestop -submit -submit -r x", SUBMIT),
            // With `=` the next word is not taken.
            ("dinit -start=a -submit -r x", SUBMIT),
            // Booleans never take the next word.
            ("dinit -quiet -submit", SUBMIT),
            ("dinit -submit -version", Role::Version),
            // A value option at the very end takes nothing.
            ("dinit -submit -socket", SUBMIT),
        ];
        check(table);
    }

    #[test]
    fn submit_is_a_go_boolean() {
        let table: &[(&str, Role)] = &[
            ("dinit -submit=false -r x", Role::Init),
            ("dinit -submit -submit=false -r x", Role::Init),
            ("dinit -submit=0 -submit -r x", SUBMIT),
            // A bad value: the init role's parser names it.
            ("dinit -submit=maybe -r x", Role::Init),
        ];
        check(table);
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
            for line in [
                format!("dinit -- {word}"),
                format!("dinit -- /bin/echo {word}"),
                format!("dinit -quiet -- x {word}"),
                format!("dinit -timeout 1 -- {word}"),
            ] {
                assert_eq!(role(&line), Role::Init, "{line}");
            }
        }
    }
}
