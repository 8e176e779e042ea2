//! What each signal means to dinit (SPEC §4, §9): one table — name,
//! number, what dinit does with it when received — read by parsing
//! (`-stopsignal`, `-r:SIG`, `-rewrite`, `-pdeathsig`), the signal mask,
//! forwarding and log lines alike, the way catatonit's one `switch` is the
//! single place a reader learns what happens to each signal. Pure: the
//! syscalls are in `sys::signals`.
//!
//! SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP and SIGSYS stay
//! unblocked: raised synchronously, they mean dinit itself is broken, and
//! blocking them would turn a crash into a hang.

pub use crate::sys::signals::{
    SIGCHLD, SIGCONT, SIGHUP, SIGINT, SIGKILL, SIGMAX, SIGPIPE, SIGQUIT, SIGSTOP, SIGTERM, SIGXFSZ,
    SigSet,
};

/// `SIGRTMIN` as the kernel numbers it and `kill -l` prints it (glibc's
/// runtime value; musl's `SIGRTMIN()` says 35 because it keeps one more for
/// itself, but a name on dinit's command line means the kernel's number).
pub const SIGRTMIN: i32 = 34;

/// What dinit does with a signal it receives (SPEC §4, §9), by default:
/// `-stopsignal` turns one more signal into a stop request at run time
/// ([`handling`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Handling {
    /// Passed on to every managed process (`-rewrite` may change it).
    Forward,
    /// A stop request: teardown (SPEC §3).
    Stop,
    /// Drives reaping; never forwarded.
    Reap,
    /// Job control from a terminal is about dinit's own session: forwarding
    /// a stop would freeze the children with no one to resume them.
    JobControl,
    /// A synchronous fault, left unblocked: raised, it means dinit itself is
    /// broken, and blocking it would turn a crash into a hang.
    Fault,
    /// SIGKILL and SIGSTOP: nobody can catch them.
    Uncatchable,
}

/// One standard signal: its name without `SIG` and what dinit does with it.
pub struct Row {
    pub name: &'static [u8],
    pub handling: Handling,
    /// Go's (and strsignal's) lower-case description, as the original
    /// dinit printed it in "finished ... with error: signal: killed".
    pub text: &'static str,
}

const fn row(name: &'static str, handling: Handling, text: &'static str) -> Row {
    Row {
        name: name.as_bytes(),
        handling,
        text,
    }
}

use Handling::{Fault, Forward, JobControl, Reap, Stop, Uncatchable};

/// The one table of signals: row N-1 is signal N, named as `kill -l` names
/// it. Signals 32 and 33 (kept by libcs for their threads) have no name and
/// are forwarded; 34..=64 are the real-time signals `RTMIN`..`RTMAX`, all
/// forwarded. Parsing (`-stopsignal`, `-r:SIG`, `-rewrite`, `-pdeathsig`),
/// the signal mask, forwarding and log lines all read it.
pub static TABLE: [Row; 31] = [
    row("HUP", Forward, "hangup"),                    // 1
    row("INT", Stop, "interrupt"),                    // 2
    row("QUIT", Forward, "quit"),                     // 3
    row("ILL", Fault, "illegal instruction"),         // 4
    row("TRAP", Fault, "trace/breakpoint trap"),      // 5
    row("ABRT", Fault, "aborted"),                    // 6
    row("BUS", Fault, "bus error"),                   // 7
    row("FPE", Fault, "floating point exception"),    // 8
    row("KILL", Uncatchable, "killed"),               // 9
    row("USR1", Forward, "user defined signal 1"),    // 10
    row("SEGV", Fault, "segmentation fault"),         // 11
    row("USR2", Forward, "user defined signal 2"),    // 12
    row("PIPE", Forward, "broken pipe"),              // 13
    row("ALRM", Forward, "alarm clock"),              // 14
    row("TERM", Stop, "terminated"),                  // 15
    row("STKFLT", Forward, "stack fault"),            // 16
    row("CHLD", Reap, "child exited"),                // 17
    row("CONT", Forward, "continued"),                // 18
    row("STOP", Uncatchable, "stopped (signal)"),     // 19
    row("TSTP", JobControl, "stopped"),               // 20
    row("TTIN", JobControl, "stopped (tty input)"),   // 21
    row("TTOU", JobControl, "stopped (tty output)"),  // 22
    row("URG", Forward, "urgent I/O condition"),      // 23
    row("XCPU", Forward, "CPU time limit exceeded"),  // 24
    row("XFSZ", Forward, "file size limit exceeded"), // 25
    row("VTALRM", Forward, "virtual timer expired"),  // 26
    row("PROF", Forward, "profiling timer expired"),  // 27
    row("WINCH", Forward, "window changed"),          // 28
    row("IO", Forward, "I/O possible"),               // 29
    row("PWR", Forward, "power failure"),             // 30
    row("SYS", Fault, "bad system call"),             // 31
];

/// What dinit does with signal `sig` by default; `None` for a number that
/// is no signal.
pub const fn default_handling(sig: i32) -> Option<Handling> {
    match sig {
        1..=31 => Some(TABLE[sig as usize - 1].handling),
        32..=SIGMAX => Some(Forward),
        _ => None,
    }
}

/// What dinit does with a received `sig`: the table's answer, except that
/// the `-stopsignal` (`stop`) is a stop request too.
pub fn handling(sig: i32, stop: Option<i32>) -> Option<Handling> {
    if stop == Some(sig) {
        return Some(Stop);
    }
    default_handling(sig)
}

/// The name of a standard signal without `SIG` (`HUP`); `None` for the
/// real-time and unnamed ones.
pub fn name(sig: i32) -> Option<&'static [u8]> {
    match sig {
        1..=31 => Some(TABLE[sig as usize - 1].name),
        _ => None,
    }
}

/// Parse a signal as SPEC §9 writes it: a name with or without `SIG`
/// (`QUIT`, `SIGQUIT`, `RTMIN`, `RTMIN+3`, `RTMAX-2`), in any case
/// (`quit` too: friendlier, and no two signals differ only in case), or a
/// number 1..=64. `None` for anything else.
pub fn parse(text: &[u8]) -> Option<i32> {
    if let Some(n) = decimal(text) {
        return (1..=SIGMAX).contains(&n).then_some(n);
    }
    let body = match text.get(..3) {
        Some(p) if p.eq_ignore_ascii_case(b"SIG") => &text[3..],
        _ => text,
    };
    if let Some(i) = TABLE.iter().position(|r| r.name.eq_ignore_ascii_case(body)) {
        return Some(i as i32 + 1);
    }
    // RTMIN, RTMIN+n, RTMAX, RTMAX-n, as `kill -l` lists them.
    let (head, tail) = body.split_at_checked(5)?;
    let (base, sign) = if head.eq_ignore_ascii_case(b"RTMIN") {
        (SIGRTMIN, b'+')
    } else if head.eq_ignore_ascii_case(b"RTMAX") {
        (SIGMAX, b'-')
    } else {
        return None;
    };
    let sig = match tail {
        [] => base,
        [s, n @ ..] if *s == sign => {
            let n = decimal(n)?;
            if sign == b'+' { base + n } else { base - n }
        }
        _ => return None,
    };
    (SIGRTMIN..=SIGMAX).contains(&sig).then_some(sig)
}

/// Digits only, at most three of them (no signal number needs more).
fn decimal(text: &[u8]) -> Option<i32> {
    if text.len() > 3 {
        return None;
    }
    crate::error::parse_decimal(text).map(|n| n as i32)
}

/// `-rewrite FROM:TO`: what each forwarded signal is sent as, 0 for
/// "dropped". A copyable 64-byte table; unlisted signals map to themselves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rewrite([u8; SIGMAX as usize]);

impl Rewrite {
    /// Every signal forwarded as itself.
    pub const NONE: Rewrite = {
        let mut t = [0u8; SIGMAX as usize];
        let mut i = 0;
        while i < t.len() {
            t[i] = i as u8 + 1;
            i += 1;
        }
        Rewrite(t)
    };

    /// Forward `from` as `to` (0: drop it). Both must be 0..=64, `from` > 0.
    pub fn set(&mut self, from: i32, to: i32) {
        self.0[from as usize - 1] = to as u8;
    }

    /// What a received `sig` is forwarded as; 0 means it is dropped.
    pub fn get(&self, sig: i32) -> i32 {
        match sig {
            1..=SIGMAX => i32::from(self.0[sig as usize - 1]),
            _ => sig,
        }
    }
}

/// The signals dinit blocks and reads through its signalfd: every one but
/// the synchronous faults (module doc) and the two that cannot be caught at
/// all, as [`TABLE`] says. Computed once, by the compiler.
pub const CATCHABLE: SigSet = {
    let mut set = SigSet::EMPTY;
    let mut sig = 1;
    while sig <= SIGMAX {
        if !matches!(default_handling(sig), Some(Fault | Uncatchable)) {
            set = set.with(sig);
        }
        sig += 1;
    }
    set
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catchable_leaves_faults_out() {
        let s = CATCHABLE;
        for sig in [SIGKILL, 19, 11, 7, 4, 8, 6, 5, 31] {
            assert!(!s.contains(sig), "{sig}");
        }
        for sig in [
            SIGHUP, SIGINT, SIGTERM, SIGCHLD, SIGPIPE, SIGCONT, 20, 32, 33, 34, 64,
        ] {
            assert!(s.contains(sig), "{sig}");
        }
        assert!(!s.contains(0));
        assert!(!s.contains(65));
        assert_eq!(s.0.count_ones(), 64 - 9);
    }

    /// `kill -l` as util-linux and bash print it on Linux (x86_64, aarch64).
    const KILL_L: [&str; 31] = [
        "HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "BUS", "FPE", "KILL", "USR1", "SEGV", "USR2",
        "PIPE", "ALRM", "TERM", "STKFLT", "CHLD", "CONT", "STOP", "TSTP", "TTIN", "TTOU", "URG",
        "XCPU", "XFSZ", "VTALRM", "PROF", "WINCH", "IO", "PWR", "SYS",
    ];

    #[test]
    fn table_matches_kill_l_and_the_constants() {
        for (i, want) in KILL_L.iter().enumerate() {
            let sig = i as i32 + 1;
            assert_eq!(name(sig), Some(want.as_bytes()), "{sig}");
            assert_eq!(parse(want.as_bytes()), Some(sig));
        }
        assert_eq!(name(32), None);
        assert_eq!(name(34), None);
        assert_eq!(name(0), None);
        for (sig, n) in [
            (SIGHUP, "HUP"),
            (SIGINT, "INT"),
            (SIGQUIT, "QUIT"),
            (SIGKILL, "KILL"),
            (SIGPIPE, "PIPE"),
            (SIGTERM, "TERM"),
            (SIGCHLD, "CHLD"),
            (SIGCONT, "CONT"),
            (SIGSTOP, "STOP"),
        ] {
            assert_eq!(name(sig), Some(n.as_bytes()));
        }
    }

    #[test]
    fn handlings() {
        use Handling::*;
        let table: &[(i32, Handling)] = &[
            (1, Forward),
            (2, Stop),
            (3, Forward),
            (9, Uncatchable),
            (11, Fault),
            (15, Stop),
            (17, Reap),
            (19, Uncatchable),
            (20, JobControl),
            (21, JobControl),
            (22, JobControl),
            (28, Forward),
            (31, Fault),
            (32, Forward),
            (34, Forward),
            (64, Forward),
        ];
        for &(sig, h) in table {
            assert_eq!(handling(sig, None), Some(h), "{sig}");
        }
        assert_eq!(handling(0, None), None);
        assert_eq!(handling(65, None), None);
        // The -stopsignal is a stop request; SIGTERM and SIGINT still are.
        assert_eq!(handling(3, Some(3)), Some(Stop));
        assert_eq!(handling(15, Some(3)), Some(Stop));
        assert_eq!(handling(2, Some(3)), Some(Stop));
        assert_eq!(handling(1, Some(3)), Some(Forward));
    }

    #[test]
    fn parse_names_and_numbers() {
        let good: &[(&str, i32)] = &[
            ("QUIT", 3),
            ("SIGQUIT", 3),
            ("quit", 3),
            ("SigQuit", 3),
            ("sigwinch", 28),
            ("3", 3),
            ("03", 3),
            ("1", 1),
            ("64", 64),
            ("32", 32),
            ("RTMIN", 34),
            ("SIGRTMIN", 34),
            ("RTMIN+0", 34),
            ("RTMIN+3", 37),
            ("SIGRTMIN+3", 37),
            ("rtmin+15", 49),
            ("RTMIN+30", 64),
            ("RTMAX", 64),
            ("RTMAX-0", 64),
            ("RTMAX-2", 62),
            ("SIGRTMAX-14", 50),
            ("RTMAX-30", 34),
            ("STKFLT", 16),
            ("IO", 29),
        ];
        for &(text, want) in good {
            assert_eq!(parse(text.as_bytes()), Some(want), "{text}");
        }
        for bad in [
            "",
            "0",
            "65",
            "100",
            "1000",
            "-1",
            "+3",
            "SIG",
            "SIG3",
            "SIGSIGQUIT",
            "QUITX",
            "QUI",
            " QUIT",
            "QUIT ",
            "RTMIN+31",
            "RTMAX-31",
            "RTMIN-1",
            "RTMAX+1",
            "RTMIN+",
            "RTMAX-",
            "RTMIN3",
            "RTMIN+x",
            "RTMIN+1000",
            "RTMIDDLE",
            "CLD",
            "POLL",
            "IOT",
            "RT",
        ] {
            assert_eq!(parse(bad.as_bytes()), None, "{bad:?}");
        }
        assert_eq!(parse(b"QU\xffIT"), None);
    }

    #[test]
    fn rewrite_table() {
        let mut r = Rewrite::NONE;
        for sig in 1..=SIGMAX {
            assert_eq!(r.get(sig), sig);
        }
        r.set(1, 10);
        r.set(28, 0);
        assert_eq!(r.get(1), 10);
        assert_eq!(r.get(28), 0);
        assert_eq!(r.get(10), 10);
        assert_eq!(r.get(0), 0);
    }
}
