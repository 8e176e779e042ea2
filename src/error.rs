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
    /// Bad command line or environment: `what` names the problem, `word` the
    /// option or text it is about.
    Usage { what: &'static str, word: &'a [u8] },
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
            Error::Usage { .. } => EXIT_USAGE,
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
            Error::Usage { what, word } => write!(f, "{}: {}", Text(what), Bytes(word)),
            Error::NotFound { word } => write!(f, "{}: executable file not found", Bytes(word)),
            Error::NotExecutable { word, errno } => {
                write!(f, "{}: cannot execute: {}", Bytes(word), Errno(errno))
            }
            Error::Sys { what, errno } => write!(f, "{}: {}", Text(what), Errno(errno)),
            Error::Failed { what } => f.write_str(what),
            Error::Help => f.write_str("usage requested"),
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
}

impl ExitStatus {
    /// Decode a raw `wait` status word (as in `<sys/wait.h>`). Stop and
    /// continue reports never reach here: dinit waits without WUNTRACED.
    pub fn from_raw(status: i32) -> ExitStatus {
        let sig = status & 0x7f;
        if sig == 0 {
            ExitStatus::Code(((status >> 8) & 0xff) as u8)
        } else {
            ExitStatus::Signal(sig)
        }
    }

    /// The code a shell would show: the exit code, or 128+N for signal N.
    pub fn code(self) -> u8 {
        match self {
            ExitStatus::Code(c) => c,
            ExitStatus::Signal(n) => (128 + (n & 0x7f)) as u8,
        }
    }

    pub fn success(self) -> bool {
        self == ExitStatus::Code(0)
    }
}

/// Go's wording of an exit status, kept from the original dinit's log lines:
/// `exit status 1`, `signal: killed`.
impl fmt::Display for ExitStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ExitStatus::Code(c) => write!(f, "exit status {}", Num(c)),
            ExitStatus::Signal(n) => match signal_description(n) {
                Some(d) => write!(f, "signal: {}", Bytes(d)),
                None => write!(f, "signal: signal {}", Num(n)),
            },
        }
    }
}

/// Go's (and strsignal's) lower-case signal descriptions, as the original
/// dinit printed them in "finished ... with error: signal: killed"; line
/// N-1 is signal N. (One text, not a `match` of strings: a table of
/// pointers and lengths in the binary.)
const SIGNAL_TEXT: &[u8] = concat!(
    "hangup\n",                   // 1
    "interrupt\n",                // 2
    "quit\n",                     // 3
    "illegal instruction\n",      // 4
    "trace/breakpoint trap\n",    // 5
    "aborted\n",                  // 6
    "bus error\n",                // 7
    "floating point exception\n", // 8
    "killed\n",                   // 9
    "user defined signal 1\n",    // 10
    "segmentation fault\n",       // 11
    "user defined signal 2\n",    // 12
    "broken pipe\n",              // 13
    "alarm clock\n",              // 14
    "terminated\n",               // 15
    "stack fault\n",              // 16
    "child exited\n",             // 17
    "continued\n",                // 18
    "stopped (signal)\n",         // 19
    "stopped\n",                  // 20
    "stopped (tty input)\n",      // 21
    "stopped (tty output)\n",     // 22
    "urgent I/O condition\n",     // 23
    "CPU time limit exceeded\n",  // 24
    "file size limit exceeded\n", // 25
    "virtual timer expired\n",    // 26
    "profiling timer expired\n",  // 27
    "window changed\n",           // 28
    "I/O possible\n",             // 29
    "power failure\n",            // 30
    "bad system call\n",          // 31
)
.as_bytes();

/// The description of signal `n` (1..=31), from [`SIGNAL_TEXT`].
pub fn signal_description(n: i32) -> Option<&'static [u8]> {
    let i = usize::try_from(n.checked_sub(1)?).ok()?;
    SIGNAL_TEXT
        .split(|&b| b == b'\n')
        .nth(i)
        .filter(|d| !d.is_empty())
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

/// The errnos [`Errno`] names, with their meanings: one byte and one
/// line of text per errno, not a `match` of string pairs (a jump table and
/// two pointers per errno: 500 bytes more in the binary).
macro_rules! errno_names {
    ($($name:ident => $text:literal,)*) => {
        /// The numbers, in the order of the lines of [`ERRNO_TEXT`].
        const ERRNO_CODES: &[u8] = &[$($name as u8),*];
        /// `NAME meaning`, one line per errno.
        const ERRNO_TEXT: &[u8] = concat!($(stringify!($name), " ", $text, "\n"),*).as_bytes();
    };
}

errno_names! {
    EPERM => "operation not permitted",
    ENOENT => "no such file or directory",
    ESRCH => "no such process",
    EINTR => "interrupted system call",
    EIO => "input/output error",
    E2BIG => "argument list too long",
    ENOEXEC => "exec format error",
    EBADF => "bad file descriptor",
    ECHILD => "no child processes",
    EAGAIN => "resource temporarily unavailable",
    ENOMEM => "cannot allocate memory",
    EACCES => "permission denied",
    EEXIST => "file exists",
    ENOTDIR => "not a directory",
    EISDIR => "is a directory",
    EINVAL => "invalid argument",
    ENFILE => "too many open files in system",
    EMFILE => "too many open files",
    ETXTBSY => "text file busy",
    ENOSPC => "no space left on device",
    EROFS => "read-only file system",
    EPIPE => "broken pipe",
    ENAMETOOLONG => "file name too long",
    ELOOP => "too many levels of symbolic links",
    ENOTSOCK => "socket operation on non-socket",
    EADDRINUSE => "address already in use",
    ECONNRESET => "connection reset by peer",
    ECONNREFUSED => "connection refused",
}

/// An errno shown as its name and meaning: `ENOENT (no such file or directory)`.
#[derive(Clone, Copy)]
pub struct Errno(pub i32);

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let line = ERRNO_CODES
            .iter()
            .position(|&c| i32::from(c) == self.0)
            .and_then(|i| ERRNO_TEXT.split(|&b| b == b'\n').nth(i));
        let Some(line) = line else {
            return write!(f, "errno {}", Num(self.0));
        };
        let space = line.iter().position(|&b| b == b' ').unwrap_or(0);
        let (name, text) = line.split_at(space);
        write!(
            f,
            "{} ({})",
            Bytes(text.get(1..).unwrap_or_default()),
            Bytes(name)
        )
    }
}

/// Text for a `{}`, written as it is. A bare `&str` in `{}` goes through
/// `Formatter::pad` (core's width and precision handling), 1 KiB of a
/// 64 KiB binary for padding dinit never asks for; so every string in a
/// format goes through this, [`Bytes`] or `write_str`.
#[derive(Clone, Copy)]
pub struct Text<'a>(pub &'a str);

impl fmt::Display for Text<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
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
/// (`pad_integral`), about 2 KiB of a 64 KiB binary for digits dinit never
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
        }
        // Core-dump bit does not change the signal.
        assert_eq!(ExitStatus::from_raw(0x80 | 11), ExitStatus::Signal(11));
    }

    #[test]
    fn go_wording() {
        assert_eq!(ExitStatus::Code(1).to_string(), "exit status 1");
        assert_eq!(ExitStatus::Signal(9).to_string(), "signal: killed");
        assert_eq!(ExitStatus::Signal(15).to_string(), "signal: terminated");
        assert_eq!(ExitStatus::Signal(40).to_string(), "signal: signal 40");
        assert_eq!(ExitStatus::Signal(1).to_string(), "signal: hangup");
        assert_eq!(
            ExitStatus::Signal(31).to_string(),
            "signal: bad system call"
        );
        assert_eq!(ExitStatus::Signal(32).to_string(), "signal: signal 32");
        assert_eq!(ExitStatus::Signal(0).to_string(), "signal: signal 0");
        assert!((1..=31).all(|n| signal_description(n).is_some()));
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
        // One line per code, each `NAME meaning`.
        let lines: Vec<&[u8]> = ERRNO_TEXT.split(|&b| b == b'\n').collect();
        assert_eq!(lines.len(), ERRNO_CODES.len() + 1, "a newline ends each");
        for (line, &code) in lines.iter().zip(ERRNO_CODES) {
            let shown = Errno(i32::from(code)).to_string();
            let (name, text) = std::str::from_utf8(line).unwrap().split_once(' ').unwrap();
            assert_eq!(shown, format!("{text} ({name})"));
        }
        assert_eq!(Bytes(b"a\xffb\n").to_string(), "a\\xffb\\x0a");
    }
}
