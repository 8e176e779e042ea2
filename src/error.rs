//! Errors, exit statuses and the mapping between them (SPEC §3 "Exit status").
//!
//! `Error` is small and `Copy`: a `&'static str` saying what dinit was doing,
//! an optional errno, and for usage and lookup errors the offending word.
//! Nothing here allocates; errno names come from a fixed table, never from
//! rustix's `Display` (which builds a heap `String` through std).

use core::fmt;

/// Exit code for a usage error (Go's `flag` package uses 2 too).
pub const EXIT_USAGE: u8 = 2;
/// Exit code when a program is found but cannot be executed.
pub const EXIT_NOT_EXECUTABLE: u8 = 126;
/// Exit code when a program is not found.
pub const EXIT_NOT_FOUND: u8 = 127;
/// Exit code for dinit's own failures (start command, fork, ...).
pub const EXIT_FAILURE: u8 = 1;

/// Everything that can stop dinit before or instead of supervising.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error<'a> {
    /// Bad command line: `what` names the problem, `word` the option or
    /// text it is about.
    Usage { what: &'static str, word: &'a [u8] },
    /// A bad value for an option or its environment variable: `option` is
    /// `-timeout` or `DINIT_TIMEOUT`, `why` says what was expected, or why
    /// this value cannot be.
    BadValue {
        option: &'static str,
        value: &'a [u8],
        why: Reason,
    },
    /// The program was not found (`execvp`'s ENOENT).
    NotFound { word: &'a [u8] },
    /// Found but not executable: EACCES, ENOEXEC ("exec format error"), ...
    NotExecutable { word: &'a [u8], errno: i32 },
    /// A system call dinit needed failed.
    Sys { what: &'static str, errno: i32 },
    /// A failure with nothing more to say than `what` (start command failed...).
    Failed { what: &'static str },
    /// `-h`/`-help` among the options: not a failure, print the usage.
    Help,
}

impl Error<'_> {
    /// The process exit code SPEC §2–3 gives this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Usage { .. } | Error::BadValue { .. } => EXIT_USAGE,
            Error::NotFound { .. } => EXIT_NOT_FOUND,
            Error::NotExecutable { .. } => EXIT_NOT_EXECUTABLE,
            Error::Sys { .. } | Error::Failed { .. } => EXIT_FAILURE,
            Error::Help => 0,
        }
    }

    /// Map an exec errno (from the child's error pipe or from probing) to the
    /// error `execvp` users know: ENOENT/ENOTDIR are "not found", the rest
    /// "not executable" (126) or a plain failure.
    pub fn from_exec_errno(word: &[u8], errno: i32) -> Error<'_> {
        match errno {
            ENOENT | ENOTDIR => Error::NotFound { word },
            EACCES | ENOEXEC | EPERM | EISDIR | ELOOP | ETXTBSY | ENAMETOOLONG => {
                Error::NotExecutable { word, errno }
            }
            // E2BIG, ENOMEM, ...: neither "not found" nor "not executable",
            // so dinit's own failure (SPEC §3: 1 otherwise).
            _ => Error::Sys {
                what: "exec failed",
                errno,
            },
        }
    }
}

impl fmt::Display for Error<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Error::Usage { what, word: [] } => f.write_str(what),
            Error::Usage { what, word } => write!(f, "{what}: {}", Bytes(word)),
            Error::BadValue {
                option,
                value: [],
                why,
            } => write!(f, "invalid value for {option}: empty ({})", why.text()),
            Error::BadValue { option, value, why } => {
                let why = why.text();
                write!(f, "invalid value for {option}: {} ({why})", Bytes(value))
            }
            Error::NotFound { word } => write!(f, "{}: executable file not found", Bytes(word)),
            Error::NotExecutable { word, errno } => {
                write!(f, "{}: cannot execute: {}", Bytes(word), Errno(errno))
            }
            Error::Sys { what, errno } => write!(f, "{what}: {}", Errno(errno)),
            Error::Failed { what } => f.write_str(what),
            Error::Help => f.write_str("usage requested"),
        }
    }
}

/// Why an option's value was refused: what was expected, or why this
/// value cannot be (SPEC §2: one line naming the option; issue 15: say
/// why). A one-byte enum rather than a third `&str` in
/// [`Error::BadValue`]: a bigger `Error` makes every `Result` that carries
/// one bigger, which measured 2 KiB more code in startup.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    /// `-timeout`, `-prestoptimer`.
    Duration,
    /// `-maxproc`, `-core-fraction`.
    Fraction,
    /// `-success`.
    ExitCodes,
    /// The booleans: `-primary`, `-pgroup`, `-quiet`, ...
    Bool,
    /// `-stopsignal`, `-pdeathsig`: not a signal at all.
    Signal,
    /// `-rewrite`: not `FROM:TO` with two signals (or TO `0`).
    RewritePair,
    /// `-rewrite` FROM is SIGTERM or SIGINT.
    StopRequest,
    /// SIGCHLD anywhere a signal dinit acts on is asked for.
    Reaping,
    /// `-rewrite` FROM is SIGKILL or SIGSTOP.
    Uncatchable,
    /// `-rewrite` FROM is SIGTSTP, SIGTTIN or SIGTTOU.
    JobControl,
    /// A synchronous fault signal (SIGSEGV, ...).
    Fault,
    /// `-stopsignal KILL`, `-pdeathsig KILL`.
    SigKill,
    /// `-stopsignal STOP`, `-pdeathsig STOP`.
    SigStop,
    /// `-stoporder`: neither `together` nor `reverse`.
    StopOrder,
}

impl Reason {
    pub fn text(self) -> &'static str {
        match self {
            Reason::Duration => "expected seconds or a Go duration: 10, 2.5, 500ms, 1m30s",
            Reason::Fraction => "expected a decimal number, 0 or more: 0.5, 1, 2",
            Reason::ExitCodes => "expected exit codes 0-255, comma-separated: 143 or 0,143",
            Reason::Bool => "expected true or false, 1 or 0, t or f",
            Reason::Signal => "expected a signal name or number: QUIT, SIGQUIT, RTMIN+3, 3",
            Reason::RewritePair => {
                "expected FROM:TO with two signals, or TO 0 to drop FROM: HUP:USR1, WINCH:0"
            }
            Reason::StopRequest => {
                "SIGTERM and SIGINT are stop requests: they start teardown and are never \
                 forwarded, so there is nothing to rewrite"
            }
            Reason::Reaping => "SIGCHLD tells dinit a child exited; it cannot mean anything else",
            Reason::Uncatchable => {
                "SIGKILL and SIGSTOP cannot be caught: dinit never receives them to forward"
            }
            Reason::JobControl => {
                "SIGTSTP, SIGTTIN and SIGTTOU are never forwarded: \
                 a stopped child would have no one to resume it"
            }
            Reason::Fault => {
                "fault signals (SEGV, BUS, ILL, FPE, ABRT, TRAP, SYS) are left to end dinit \
                 if it crashes: it never receives them"
            }
            Reason::SigKill => {
                "SIGKILL cannot be caught and allows no graceful stop; \
                 teardown sends it anyway once -timeout has passed"
            }
            Reason::SigStop => {
                "SIGSTOP cannot be caught and only pauses a process: it can never stop one"
            }
            Reason::StopOrder => {
                "expected together (every process at once) or reverse (the last started first)"
            }
        }
    }
}

/// How a process ended, as `waitpid` reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitStatus {
    /// `exit(code)`.
    Code(u8),
    /// Killed by signal N.
    Signal(i32),
    /// Killed by signal N, which dumped core (SIGSEGV, SIGABRT, SIGQUIT,
    /// ... with a core size limit above 0): the `0x80` bit of the status.
    CoreDumped(i32),
}

/// The bit of a raw wait status that says a core was dumped
/// (`WCOREDUMP` in `<sys/wait.h>`).
const CORE_DUMP_BIT: i32 = 0x80;

impl ExitStatus {
    /// Decode a raw `wait` status word (as in `<sys/wait.h>`). Stop and
    /// continue reports never reach here: dinit waits without WUNTRACED.
    pub fn from_raw(status: i32) -> ExitStatus {
        let sig = status & 0x7f;
        if sig == 0 {
            ExitStatus::Code(((status >> 8) & 0xff) as u8)
        } else if status & CORE_DUMP_BIT != 0 {
            ExitStatus::CoreDumped(sig)
        } else {
            ExitStatus::Signal(sig)
        }
    }

    /// The code a shell would show: the exit code, or 128+N for signal N
    /// (a core dump changes nothing here, as in a shell).
    pub fn code(self) -> u8 {
        match self {
            ExitStatus::Code(c) => c,
            ExitStatus::Signal(n) | ExitStatus::CoreDumped(n) => (128 + (n & 0x7f)) as u8,
        }
    }

    pub fn success(self) -> bool {
        self == ExitStatus::Code(0)
    }
}

/// Go's wording of an exit status (`os.ProcessState.String`), kept from
/// the original dinit's log lines: `exit status 1`, `signal: killed`,
/// `signal: segmentation fault (core dumped)`.
impl fmt::Display for ExitStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (n, core) = match *self {
            ExitStatus::Code(c) => return write!(f, "exit status {}", Num(c)),
            ExitStatus::Signal(n) => (n, ""),
            ExitStatus::CoreDumped(n) => (n, " (core dumped)"),
        };
        match signal_description(n) {
            Some(d) => write!(f, "signal: {d}{core}"),
            None => write!(f, "signal: signal {}{core}", Num(n)),
        }
    }
}

/// The description of signal `n` (1..=31); `None` for the others, which
/// Go calls `signal N`.
pub fn signal_description(n: i32) -> Option<&'static str> {
    let i = usize::try_from(n.checked_sub(1)?).ok()?;
    crate::signals::TABLE.get(i).map(|r| r.text)
}

/// A signal number displayed by name for log lines: `SIGHUP` from the
/// signal table (`signals::TABLE`), `SIGRTMIN+k` for every real-time
/// signal (one spelling for all 31, as dinit always logged them; the
/// `SIGRTMAX-n` names `kill -l` uses for the upper half are accepted on
/// input), `signal N` for the rest.
#[derive(Clone, Copy)]
pub struct SigName(pub i32);

impl fmt::Display for SigName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use crate::signals::{SIGMAX, SIGRTMIN, name};
        match name(self.0) {
            Some(s) => write!(f, "SIG{}", Bytes(s)),
            None if (SIGRTMIN..=SIGMAX).contains(&self.0) => {
                write!(f, "SIGRTMIN+{}", Num(self.0 - SIGRTMIN))
            }
            None => write!(f, "signal {}", Num(self.0)),
        }
    }
}

// Linux errno values: the kernel's numbers live with the syscalls.
pub use crate::sys::errno::*;

/// The errnos [`Errno`] names, each with the text it is shown as: its
/// meaning (strerror's, in lower case) and its name, kept as one string
/// (a name and a meaning apart cost a second 16-byte pointer a row). Any
/// other errno is shown as `errno N`. Listed are those dinit's own calls,
/// a fork, an exec or a socket can plausibly return, including an exec
/// from a hung or dead FUSE server (ECONNABORTED, ENOTCONN), an NFS mount
/// (ESTALE, ETIMEDOUT, EHOSTUNREACH), a seccomp profile that filters a call
/// (ENOSYS, EOPNOTSUPP) and passing descriptors (ETOOMANYREFS): a client's
/// `error:` line should name what it got.
const ERRNO_TEXT: &[(i32, &str)] = &[
    (EPERM, "operation not permitted (EPERM)"),
    (ENOENT, "no such file or directory (ENOENT)"),
    (ESRCH, "no such process (ESRCH)"),
    (EINTR, "interrupted system call (EINTR)"),
    (EIO, "input/output error (EIO)"),
    (E2BIG, "argument list too long (E2BIG)"),
    (ENOEXEC, "exec format error (ENOEXEC)"),
    (EBADF, "bad file descriptor (EBADF)"),
    (ECHILD, "no child processes (ECHILD)"),
    (EAGAIN, "resource temporarily unavailable (EAGAIN)"),
    (ENOMEM, "cannot allocate memory (ENOMEM)"),
    (EACCES, "permission denied (EACCES)"),
    (EEXIST, "file exists (EEXIST)"),
    (ENOTDIR, "not a directory (ENOTDIR)"),
    (EISDIR, "is a directory (EISDIR)"),
    (EINVAL, "invalid argument (EINVAL)"),
    (ENFILE, "too many open files in system (ENFILE)"),
    (EMFILE, "too many open files (EMFILE)"),
    (ETXTBSY, "text file busy (ETXTBSY)"),
    (ENOSPC, "no space left on device (ENOSPC)"),
    (EROFS, "read-only file system (EROFS)"),
    (EPIPE, "broken pipe (EPIPE)"),
    (ENAMETOOLONG, "file name too long (ENAMETOOLONG)"),
    (ENOSYS, "function not implemented (ENOSYS)"),
    (ELOOP, "too many levels of symbolic links (ELOOP)"),
    (EPROTO, "protocol error (EPROTO)"),
    (ELIBBAD, "accessing a corrupted shared library (ELIBBAD)"),
    (ENOTSOCK, "socket operation on non-socket (ENOTSOCK)"),
    (EOPNOTSUPP, "operation not supported (EOPNOTSUPP)"),
    (EADDRINUSE, "address already in use (EADDRINUSE)"),
    (
        ECONNABORTED,
        "software caused connection abort (ECONNABORTED)",
    ),
    (ECONNRESET, "connection reset by peer (ECONNRESET)"),
    (ENOBUFS, "no buffer space available (ENOBUFS)"),
    (ENOTCONN, "transport endpoint is not connected (ENOTCONN)"),
    (
        ETOOMANYREFS,
        "too many references: cannot splice (ETOOMANYREFS)",
    ),
    (ETIMEDOUT, "connection timed out (ETIMEDOUT)"),
    (ECONNREFUSED, "connection refused (ECONNREFUSED)"),
    (EHOSTUNREACH, "no route to host (EHOSTUNREACH)"),
    (ESTALE, "stale file handle (ESTALE)"),
];

/// An errno shown as its meaning and name: `no such file or directory
/// (ENOENT)`.
#[derive(Clone, Copy)]
pub struct Errno(pub i32);

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match ERRNO_TEXT.iter().find(|&&(n, _)| n == self.0) {
            Some((_, text)) => f.write_str(text),
            None => write!(f, "errno {}", Num(self.0)),
        }
    }
}

/// Bytes shown as text: valid UTF-8 as is, anything else as `\xNN`.
#[derive(Clone, Copy)]
pub struct Bytes<'a>(pub &'a [u8]);

impl fmt::Display for Bytes<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for chunk in self.0.utf8_chunks() {
            for c in chunk.valid().chars() {
                if c.is_control() {
                    hex_escape(f, c as u8)?;
                } else {
                    fmt::Write::write_char(f, c)?;
                }
            }
            for &b in chunk.invalid() {
                hex_escape(f, b)?;
            }
        }
        Ok(())
    }
}

/// `\xNN`, lower-case hex (a control character is below 0xa0, so one byte).
fn hex_escape(f: &mut fmt::Formatter<'_>, b: u8) -> fmt::Result {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    f.write_str("\\x")?;
    fmt::Write::write_char(f, char::from(HEX[usize::from(b >> 4)]))?;
    fmt::Write::write_char(f, char::from(HEX[usize::from(b & 15)]))
}

/// An integer for a `{}`, in decimal. Every number dinit prints goes
/// through here rather than core's `Display` for each integer type: those
/// are one routine per type on top of the width, sign and radix machinery
/// (`pad_integral`), about 2 KiB of code for digits dinit never
/// pads or writes in hex.
#[derive(Clone, Copy)]
pub struct Num<T>(pub T);

/// The integer types [`Num`] shows, as a sign and a magnitude.
pub trait Int: Copy {
    fn sign_abs(self) -> (bool, u64);
}

macro_rules! unsigned_int {
    ($($t:ty),*) => {$(
        impl Int for $t {
            fn sign_abs(self) -> (bool, u64) {
                (false, self as u64)
            }
        }
    )*};
}

macro_rules! signed_int {
    ($($t:ty),*) => {$(
        impl Int for $t {
            fn sign_abs(self) -> (bool, u64) {
                (self < 0, self.unsigned_abs() as u64)
            }
        }
    )*};
}

unsigned_int!(u8, u32, u64, usize);
signed_int!(i32, i64);

impl<T: Int> fmt::Display for Num<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (neg, abs) = self.0.sign_abs();
        decimal(f, neg, abs, 0)
    }
}

/// The one reader of numbers lives in `sys` (which imports nothing from
/// above), as [`decimal`] is the one writer.
pub use crate::sys::{parse_decimal, parse_i32};

/// `abs` in decimal, after a `-` when `neg`, with zeros in front to make
/// `width` characters in all (as `{:0width$}` pads: the sign counts).
pub fn decimal(out: &mut dyn fmt::Write, neg: bool, abs: u64, width: usize) -> fmt::Result {
    let mut digits = [0u8; 20]; // u64::MAX has 20
    let mut i = digits.len();
    let mut n = abs;
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if neg {
        out.write_char('-')?;
    }
    for _ in digits.len() - i + usize::from(neg)..width {
        out.write_char('0')?;
    }
    digits[i..]
        .iter()
        .try_for_each(|&d| out.write_char(char::from(d)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_exit_code_maps_to_itself() {
        for c in 0..=255u8 {
            let raw = (c as i32) << 8;
            let st = ExitStatus::from_raw(raw);
            assert_eq!(st, ExitStatus::Code(c));
            assert_eq!(st.code(), c);
        }
    }

    #[test]
    fn signals_map_to_128_plus_n() {
        for n in 1..=64 {
            let st = ExitStatus::from_raw(n);
            assert_eq!(st, ExitStatus::Signal(n));
            assert_eq!(st.code() as i32, 128 + n);
            // The core-dump bit keeps the signal and the code.
            let dumped = ExitStatus::from_raw(CORE_DUMP_BIT | n);
            assert_eq!(dumped, ExitStatus::CoreDumped(n));
            assert_eq!(dumped.code() as i32, 128 + n);
            assert!(!st.success() && !dumped.success());
        }
        // As waitpid reports SIGSEGV with a core: 0x8b.
        assert_eq!(ExitStatus::from_raw(0x8b), ExitStatus::CoreDumped(11));
    }

    #[test]
    fn go_wording() {
        let table: &[(ExitStatus, &str)] = &[
            (ExitStatus::Code(0), "exit status 0"),
            (ExitStatus::Code(1), "exit status 1"),
            (ExitStatus::Code(255), "exit status 255"),
            (ExitStatus::Signal(9), "signal: killed"),
            (ExitStatus::Signal(15), "signal: terminated"),
            (ExitStatus::Signal(1), "signal: hangup"),
            (ExitStatus::Signal(31), "signal: bad system call"),
            (ExitStatus::Signal(32), "signal: signal 32"),
            (ExitStatus::Signal(40), "signal: signal 40"),
            (ExitStatus::Signal(0), "signal: signal 0"),
            // SPEC §6, as Go's os.ProcessState says it.
            (
                ExitStatus::CoreDumped(11),
                "signal: segmentation fault (core dumped)",
            ),
            (ExitStatus::CoreDumped(6), "signal: aborted (core dumped)"),
            (ExitStatus::CoreDumped(3), "signal: quit (core dumped)"),
            (
                ExitStatus::CoreDumped(40),
                "signal: signal 40 (core dumped)",
            ),
        ];
        for &(st, want) in table {
            assert_eq!(st.to_string(), want, "{st:?}");
        }
        // From raw statuses, as reaping sees them.
        assert_eq!(
            ExitStatus::from_raw(0x80 | 11).to_string(),
            "signal: segmentation fault (core dumped)"
        );
        assert_eq!(
            ExitStatus::from_raw(11).to_string(),
            "signal: segmentation fault"
        );
        assert!((1..=31).all(|n| signal_description(n).is_some()));
        assert_eq!(signal_description(0), None);
        assert_eq!(signal_description(32), None);
        assert_eq!(signal_description(-1), None);
    }

    #[test]
    fn decimal_numbers_read_back() {
        for (text, want) in [
            (&b"0"[..], Some(0)),
            (b"007", Some(7)),
            (b"18446744073709551615", Some(u64::MAX)),
            (b"18446744073709551616", None),
            (b"", None),
            (b"+1", None),
            (b"-1", None),
            (b"1a", None),
            (b" 1", None),
        ] {
            assert_eq!(parse_decimal(text), want, "{:?}", Bytes(text).to_string());
        }
        for n in [0, 9, 10, 255, 65_536, u64::MAX] {
            let text = Num(n).to_string();
            assert_eq!(parse_decimal(text.as_bytes()), Some(n));
        }
    }

    #[test]
    fn error_codes() {
        assert_eq!(Error::from_exec_errno(b"x", ENOENT).exit_code(), 127);
        assert_eq!(Error::from_exec_errno(b"x", EACCES).exit_code(), 126);
        assert_eq!(Error::from_exec_errno(b"x", ENOEXEC).exit_code(), 126);
        assert_eq!(Error::from_exec_errno(b"x", E2BIG).exit_code(), 1);
        assert_eq!(Error::from_exec_errno(b"x", ENOTDIR).exit_code(), 127);
        assert_eq!(
            Error::Usage {
                what: "x",
                word: b""
            }
            .exit_code(),
            2
        );
        assert_eq!(Error::Failed { what: "x" }.exit_code(), 1);
        let bad = Error::BadValue {
            option: "-timeout",
            value: b"10x",
            why: Reason::Duration,
        };
        assert_eq!(bad.exit_code(), 2);
        assert_eq!(
            bad.to_string(),
            "invalid value for -timeout: 10x \
             (expected seconds or a Go duration: 10, 2.5, 500ms, 1m30s)"
        );
        let empty = Error::BadValue {
            option: "DINIT_QUIET",
            value: b"",
            why: Reason::Bool,
        };
        assert_eq!(
            empty.to_string(),
            "invalid value for DINIT_QUIET: empty (expected true or false, 1 or 0, t or f)"
        );
        let e = Error::from_exec_errno(b"/x", ENOEXEC).to_string();
        assert!(e.contains("exec format error"), "{e}");
    }

    #[test]
    fn names() {
        assert_eq!(SigName(1).to_string(), "SIGHUP");
        assert_eq!(SigName(34).to_string(), "SIGRTMIN+0");
        assert_eq!(SigName(64).to_string(), "SIGRTMIN+30");
        assert_eq!(SigName(16).to_string(), "SIGSTKFLT");
        assert_eq!(SigName(31).to_string(), "SIGSYS");
        assert_eq!(SigName(32).to_string(), "signal 32");
        assert_eq!(SigName(0).to_string(), "signal 0");
        assert_eq!(Errno(2).to_string(), "no such file or directory (ENOENT)");
        assert_eq!(Errno(999).to_string(), "errno 999");
        assert_eq!(Errno(EPERM).to_string(), "operation not permitted (EPERM)");
        assert_eq!(
            Errno(ECONNREFUSED).to_string(),
            "connection refused (ECONNREFUSED)"
        );
        // What a failed exec on a dead FUSE server (ECONNABORTED, ENOTCONN),
        // a stale NFS handle or a filtered clone3 gives a client.
        assert_eq!(
            Errno(103).to_string(),
            "software caused connection abort (ECONNABORTED)"
        );
        assert_eq!(
            Errno(107).to_string(),
            "transport endpoint is not connected (ENOTCONN)"
        );
        assert_eq!(Errno(116).to_string(), "stale file handle (ESTALE)");
        assert_eq!(Errno(38).to_string(), "function not implemented (ENOSYS)");
        // Every row is shown as `meaning (NAME)`, and no errno is listed twice.
        for (i, &(n, text)) in ERRNO_TEXT.iter().enumerate() {
            assert_eq!(Errno(n).to_string(), text);
            let (meaning, name) = text.rsplit_once(" (").unwrap();
            assert!(
                !meaning.is_empty() && meaning == meaning.to_lowercase(),
                "{text}"
            );
            let name = name.strip_suffix(')').unwrap();
            assert!(
                name.starts_with('E')
                    && name
                        .bytes()
                        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()),
                "{text}"
            );
            assert!(ERRNO_TEXT[..i].iter().all(|r| r.0 != n), "{text}");
        }
        assert_eq!(Bytes(b"a\xffb\n").to_string(), "a\\xffb\\x0a");
    }
}
