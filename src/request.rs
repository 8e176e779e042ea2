//! What a socket client asks for (SPEC §5), as pure code: one line into a
//! [`Request`], and the targets of a `-signal` matched against the managed
//! processes ([`select`]). The server reads the line and acts; nothing here
//! touches a process, and nothing allocates.
//!
//! The verbs, each the first word of the line:
//!
//! | line | request |
//! |---|---|
//! | `-list` | [`Request::List`] |
//! | `-r CMD [ARGS...] [-r ...]` | [`Request::Run`]: the words, `-r` included |
//! | `-wait -r CMD [ARGS...]` | [`Request::Wait`]: exactly one group |
//! | `-signal SIG TARGET...` | [`Request::Signal`] |
//!
//! Decided here (README, "Decisions SPEC leaves open"):
//! * A TARGET of digits only is a pid, anything else a program name; a
//!   program whose name is all digits is reached by its path.
//! * A name without `/` matches the last path component of a process's
//!   program (`nginx` matches `/usr/sbin/nginx`); a name with `/` must be
//!   the program exactly as `-list` shows it (`/usr/sbin/nginx`).
//! * All or nothing across targets: if one target matches no managed
//!   process, nothing is signalled and the reply names that target, as a
//!   line of several `-r` groups starts all of them or none. A process
//!   matched by several targets is signalled once.
//! * Any signal 1–64 may be sent, SIGKILL and SIGSTOP included, by name or
//!   number (`kill` takes them all too); the signal is sent as written
//!   (`-rewrite` does not apply, SPEC §5).

use crate::error::{Bytes, Error};
use crate::words::{self, WORDS_MAX};
use core::fmt;

/// The words of a line, borrowed from the line's buffer.
pub type Words<'l> = heapless::Vec<&'l [u8], WORDS_MAX>;

/// What a complete line asks for. (Large by design: the words live on
/// the stack, there is no heap to box them in.)
#[allow(clippy::large_enum_variant)]
#[derive(Debug, PartialEq, Eq)]
pub enum Request<'l> {
    /// `-list`.
    List,
    /// One or more `-r` groups (the words, `-r` included).
    Run(Words<'l>),
    /// `-wait -r CMD [ARGS...]`: one group (the words from its `-r` on),
    /// run with the descriptors the client passed, the client kept until
    /// it exits.
    Wait(Words<'l>),
    /// `-signal SIG TARGET...`: the signal number and the targets as
    /// written (at least one; see [`select`]).
    Signal { sig: i32, targets: Words<'l> },
}

/// The reply to a `-r:primary` (or `-r:SIG,primary`) on the socket (SPEC
/// §11: submitted processes are never primary).
pub const NOT_PRIMARY: &str =
    "-r:primary is for the command line only: submitted processes are never primary";

/// The reason for an `error:` reply to a line that cannot be served.
const EXPECTED: &str =
    "expected -r CMD [ARGS...], -wait -r CMD [ARGS...], -signal SIG TARGET... or -list";

fn refuse<'l>(what: &'static str, word: &'l [u8]) -> Error<'l> {
    Error::Usage { what, word }
}

/// Parse one line (without its newline, though a trailing `\n` or `\r\n`
/// does no harm). The buffer is rewritten in place by unquoting. The error
/// is the reply's reason: `error: {e}`.
pub fn parse(line: &mut [u8]) -> Result<Request<'_>, Error<'_>> {
    // A NUL cannot reach a program: execve would end the word there, so
    // what ran would not be what was logged and answered. Refused, like any
    // line that cannot be run as written.
    if line.contains(&0) {
        return Err(refuse("NUL byte in line", b""));
    }
    let mut list = match words::split_words(line) {
        Ok(list) => list,
        Err(words::SplitError::UnterminatedQuote) => {
            return Err(refuse("bad quoting: unterminated \"", b""));
        }
        Err(_) => return Err(refuse("too many words", b"")),
    };
    let Some(&verb) = list.first() else {
        return Err(refuse("empty line", b""));
    };
    match verb {
        b"-list" if list.len() == 1 => Ok(Request::List),
        b"-list" => Err(refuse("-list takes nothing after it", list[1])),
        b"-signal" => {
            let (Some(&name), true) = (list.get(1), list.len() > 2) else {
                return Err(refuse(
                    "-signal needs a signal and at least one target",
                    b"",
                ));
            };
            let sig = crate::signals::parse(name).ok_or(refuse("unknown signal", name))?;
            // The targets are what follows: shift them to the front.
            list.rotate_left(2);
            list.truncate(list.len() - 2);
            Ok(Request::Signal { sig, targets: list })
        }
        b"-wait" => {
            list.rotate_left(1);
            list.truncate(list.len() - 1);
            match run_groups(&list)? {
                0 => Err(refuse("-wait needs -r CMD [ARGS...]", b"")),
                1 => Ok(Request::Wait(list)),
                _ => Err(refuse("-wait takes exactly one -r group", b"")),
            }
        }
        w if words::is_run_flag(w) => {
            run_groups(&list)?;
            Ok(Request::Run(list))
        }
        _ => Err(refuse(EXPECTED, b"")),
    }
}

/// Check that `list` is `-r` groups, none empty and none marked primary;
/// returns how many.
fn run_groups<'l>(list: &[&'l [u8]]) -> Result<usize, Error<'l>> {
    match list.first() {
        None => return Ok(0),
        Some(w) if !words::is_run_flag(w) => return Err(refuse(EXPECTED, b"")),
        Some(_) => {}
    }
    let mut n = 0;
    for (flag, group) in words::groups(list) {
        if group.is_empty() {
            // A `-r:` list is named as written (`-r:QUIT`); a bare `-r`
            // needs no naming.
            let word = if flag == b"-r" { b"" } else { flag };
            return Err(refuse("-r needs a command", word));
        }
        n += 1;
    }
    // SPEC §11: a submitted process is never primary.
    if words::groups(list).any(|(flag, _)| words::marks_primary(flag)) {
        return Err(refuse(NOT_PRIMARY, b""));
    }
    Ok(n)
}

/// One `-signal` target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target<'t> {
    /// Digits only: a pid (`None` when it does not fit one, which matches
    /// nothing).
    Pid(Option<i32>),
    /// A program name, or with a `/` a program path.
    Name(&'t [u8]),
}

impl<'t> Target<'t> {
    pub fn of(word: &'t [u8]) -> Target<'t> {
        if word.is_empty() || !word.iter().all(u8::is_ascii_digit) {
            return Target::Name(word);
        }
        Target::Pid(crate::error::parse_i32(word))
    }

    /// Whether the managed process `pid` is this target: `program` is its
    /// program word as `-list` shows it, `name` that program's file name
    /// (either empty when dinit could not keep it whole, which matches no
    /// name).
    pub fn matches(self, pid: i32, program: &[u8], name: &[u8]) -> bool {
        match self {
            Target::Pid(p) => p == Some(pid),
            Target::Name(b"") => false,
            Target::Name(path) if path.contains(&b'/') => program == path,
            Target::Name(n) => name == n,
        }
    }
}

/// `error: no managed process matches TARGET` (SPEC §5).
pub struct NoMatch<'t>(pub &'t [u8]);

impl fmt::Display for NoMatch<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "no managed process matches {}", Bytes(self.0))
    }
}

/// The pids a `-signal` goes to: every managed process (`procs`: pid,
/// program and file name as [`Target::matches`] takes them, one pass over
/// the table) that any of `targets` matches, each
/// once, in table order, appended to `out` — or, when some target matches
/// no process at all, that target (the first such), and `out` is left
/// as it was: all or nothing. Only what `procs` yields can ever be chosen,
/// so the caller decides what "managed" means (the table's started
/// processes, never dinit or its helper commands).
pub fn select<'t, 'p, const N: usize>(
    targets: &[&'t [u8]],
    procs: impl IntoIterator<Item = (i32, &'p [u8], &'p [u8])>,
    out: &mut heapless::Vec<i32, N>,
) -> Result<(), &'t [u8]> {
    let before = out.len();
    // Which targets matched something: a target list is at most a line's
    // words.
    let mut hit = [false; WORDS_MAX];
    let targets = &targets[..targets.len().min(WORDS_MAX)];
    for (pid, program, name) in procs {
        let mut chosen = false;
        for (i, &t) in targets.iter().enumerate() {
            if Target::of(t).matches(pid, program, name) {
                hit[i] = true;
                chosen = true;
            }
        }
        // A table holds at most N processes; a full `out` cannot happen.
        if chosen && !out.contains(&pid) {
            let _ = out.push(pid);
        }
    }
    if let Some(i) = hit[..targets.len()].iter().position(|&h| !h) {
        out.truncate(before);
        return Err(targets[i]);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(w: &[u8]) -> String {
        String::from_utf8_lossy(w).into_owned()
    }

    /// The request as text: `list`, `run a b`, `wait a b`, `signal N a b`,
    /// or `error: REASON`.
    fn parsed(line: &str) -> String {
        let mut buf = line.as_bytes().to_vec();
        let words = |ws: &[&[u8]]| ws.iter().map(|w| s(w)).collect::<Vec<_>>().join(" ");
        match parse(&mut buf) {
            Ok(Request::List) => "list".into(),
            Ok(Request::Run(ws)) => format!("run {}", words(&ws)),
            Ok(Request::Wait(ws)) => format!("wait {}", words(&ws)),
            Ok(Request::Signal { sig, targets }) => format!("signal {sig} {}", words(&targets)),
            Err(e) => format!("error: {e}"),
        }
    }

    #[test]
    fn lines() {
        let table: &[(&str, &str)] = &[
            ("-list", "list"),
            ("-list\r\n", "list"),
            ("-r /bin/sleep 20", "run -r /bin/sleep 20"),
            ("  -r  a \"b c\" \\-r", "run -r a b c \\-r"),
            ("-r a -r:QUIT b", "run -r a -r:QUIT b"),
            ("-wait -r cat", "wait -r cat"),
            (
                "-wait -r:INT sh -c \"exit 3\"\n",
                "wait -r:INT sh -c exit 3",
            ),
            ("-wait -r echo \\-r", "wait -r echo \\-r"),
            ("-signal HUP nginx", "signal 1 nginx"),
            ("-signal SIGUSR1 12 php-fpm", "signal 10 12 php-fpm"),
            ("-signal 9 12", "signal 9 12"),
            ("-signal rtmin+2 x", "signal 36 x"),
            ("-signal hup \"my app\"", "signal 1 my app"),
            // Refused, with a reason a user can act on.
            ("", "error: empty line"),
            ("   ", "error: empty line"),
            ("-r", "error: -r needs a command"),
            ("-r a -r:QUIT", "error: -r needs a command: -r:QUIT"),
            ("sleep 1", &format!("error: {EXPECTED}")),
            ("-list extra", "error: -list takes nothing after it: extra"),
            ("-r \"a", "error: bad quoting: unterminated \""),
            ("-wait", "error: -wait needs -r CMD [ARGS...]"),
            ("-wait cat", &format!("error: {EXPECTED}")),
            ("-wait -r", "error: -r needs a command"),
            ("-wait -r a -r b", "error: -wait takes exactly one -r group"),
            ("-wait -list", &format!("error: {EXPECTED}")),
            (
                "-signal",
                "error: -signal needs a signal and at least one target",
            ),
            (
                "-signal HUP",
                "error: -signal needs a signal and at least one target",
            ),
            ("-signal BOGUS x", "error: unknown signal: BOGUS"),
            ("-signal 0 x", "error: unknown signal: 0"),
            ("-signal 65 x", "error: unknown signal: 65"),
            ("-r -wait", "run -r -wait"),
            ("-r a -r", "error: -r needs a command"),
            ("-r:QUIT a \\-r:primary", "run -r:QUIT a \\-r:primary"),
            ("-r \"a b\" \"\"", "run -r a b "),
        ];
        for &(line, want) in table {
            assert_eq!(parsed(line), want, "{line:?}");
        }
        assert!(parsed("-r \u{ff}").starts_with("run"));
        // Submitted processes are never primary (SPEC §11), `-wait` jobs
        // included; a signal alone is fine, and a literal word is no mark.
        for line in [
            "-r:primary a",
            "-r a -r:QUIT,PRIMARY b",
            "-r:primary,9 a",
            "-wait -r:primary a",
        ] {
            assert_eq!(parsed(line), format!("error: {NOT_PRIMARY}"), "{line}");
        }
    }

    #[test]
    fn nul_anywhere_refuses_the_line() {
        for line in [
            "-r /bin/echo a\0b",
            "-r \0",
            "\0-list",
            "-list\0",
            "-r a \"\0\"",
            "-signal HUP a\0",
            "-wait -r \0",
        ] {
            assert_eq!(parsed(line), "error: NUL byte in line", "{line:?}");
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        let mut seed = 0x2545F4914F6CDD1Du64;
        let verbs: [&[u8]; 4] = [b"-signal ", b"-wait ", b"-wait -r ", b"-signal HUP "];
        for round in 0..20_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let len = (seed % 600) as usize;
            let mut buf: Vec<u8> = verbs[round % 4].to_vec();
            buf.extend((0..len).map(|i| (seed.rotate_left(i as u32 % 64) as u8) % 8 * 17));
            let _ = parse(&mut buf);
        }
    }

    #[test]
    fn targets() {
        assert_eq!(Target::of(b"12"), Target::Pid(Some(12)));
        assert_eq!(Target::of(b"0"), Target::Pid(Some(0)));
        assert_eq!(Target::of(b"99999999999"), Target::Pid(None));
        assert_eq!(Target::of(b"nginx"), Target::Name(b"nginx"));
        assert_eq!(Target::of(b"-12"), Target::Name(b"-12"));
        assert_eq!(Target::of(b"12a"), Target::Name(b"12a"));
        assert_eq!(Target::of(b""), Target::Name(b""));
        // (target, pid, program, matches)
        let table: &[(&str, i32, &str, bool)] = &[
            ("12", 12, "/bin/sleep", true),
            ("12", 13, "/bin/sleep", false),
            ("0", 0, "x", true), // never a managed pid; the table decides
            ("nginx", 5, "/usr/sbin/nginx", true),
            ("nginx", 5, "nginx", true),
            ("nginx", 5, "./nginx", true),
            ("nginx", 5, "/usr/sbin/nginx-debug", false),
            ("ngin", 5, "/usr/sbin/nginx", false),
            ("sbin", 5, "/usr/sbin/nginx", false),
            ("/usr/sbin/nginx", 5, "/usr/sbin/nginx", true),
            ("/usr/sbin/nginx", 5, "nginx", false),
            ("sbin/nginx", 5, "/usr/sbin/nginx", false),
            ("", 5, "", false),
            ("", 5, "/usr/sbin/", false),
            ("99999999999", 5, "99999999999", false),
        ];
        for &(t, pid, prog, want) in table {
            let name = crate::role::basename(prog.as_bytes());
            assert_eq!(
                Target::of(t.as_bytes()).matches(pid, prog.as_bytes(), name),
                want,
                "{t} vs {pid} {prog}"
            );
        }
        // What dinit could not keep whole matches no name: a program word
        // cut in `-list` (empty), a file name too long to keep (empty).
        assert!(!Target::of(b"/usr/sbin/nginx").matches(5, b"", b"nginx"));
        assert!(Target::of(b"nginx").matches(5, b"", b"nginx"));
        assert!(!Target::of(b"nginx").matches(5, b"/usr/sbin/nginx", b""));
        assert!(Target::of(b"5").matches(5, b"", b""));
    }

    /// A fake table: (pid, program).
    const PROCS: &[(i32, &str)] = &[
        (10, "/usr/sbin/php-fpm"),
        (11, "/usr/sbin/nginx"),
        (12, "/usr/sbin/nginx"),
        (13, "sleep"),
    ];

    fn chosen(targets: &[&str]) -> Result<Vec<i32>, String> {
        let t: Vec<&[u8]> = targets.iter().map(|t| t.as_bytes()).collect();
        let mut out: heapless::Vec<i32, 8> = heapless::Vec::new();
        out.push(99).unwrap(); // something already there stays
        let procs = PROCS
            .iter()
            .map(|&(p, prog)| (p, prog.as_bytes(), crate::role::basename(prog.as_bytes())));
        match select(&t, procs, &mut out) {
            Ok(()) => {
                assert_eq!(out[0], 99);
                Ok(out[1..].to_vec())
            }
            Err(t) => {
                assert_eq!(&out[..], &[99], "a refusal leaves out as it was");
                Err(NoMatch(t).to_string())
            }
        }
    }

    #[test]
    fn select_is_all_or_nothing() {
        assert_eq!(chosen(&["nginx"]), Ok(vec![11, 12]));
        assert_eq!(chosen(&["12"]), Ok(vec![12]));
        assert_eq!(chosen(&["php-fpm", "13"]), Ok(vec![10, 13]));
        // Matched twice, signalled once; table order.
        assert_eq!(chosen(&["12", "nginx", "11"]), Ok(vec![11, 12]));
        assert_eq!(chosen(&["/usr/sbin/nginx"]), Ok(vec![11, 12]));
        // One target that matches nothing: nothing at all.
        assert_eq!(
            chosen(&["nginx", "apache2"]),
            Err("no managed process matches apache2".into())
        );
        assert_eq!(chosen(&["1"]), Err("no managed process matches 1".into()));
        assert_eq!(
            chosen(&["99999999999"]),
            Err("no managed process matches 99999999999".into())
        );
        // The first target that matches nothing is named.
        assert_eq!(
            chosen(&["x", "nginx", "y"]),
            Err("no managed process matches x".into())
        );
    }

    #[test]
    fn select_only_ever_picks_what_the_table_yields() {
        // Whatever the targets, every chosen pid is one the table yielded.
        let mut seed = 0x9E3779B97F4A7C15u64;
        let words = [
            "10", "11", "12", "13", "14", "1", "nginx", "sleep", "init", "dinit",
        ];
        for _ in 0..5_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let n = 1 + (seed % 4) as usize;
            let t: Vec<&str> = (0..n)
                .map(|i| words[(seed >> (8 * i)) as usize % words.len()])
                .collect();
            if let Ok(pids) = chosen(&t) {
                assert!(!pids.is_empty(), "{t:?}");
                assert!(
                    pids.iter().all(|p| PROCS.iter().any(|&(q, _)| q == *p)),
                    "{t:?} -> {pids:?}"
                );
            }
        }
    }
}
