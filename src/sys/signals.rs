//! Signal plumbing with the kernel's own types: a 64-bit sigset,
//! `rt_sigprocmask`, `rt_sigaction`, `signalfd4` and `kill` with any signal
//! number (rustix's `Signal` cannot name real-time signals).
//!
//! Why blocking works for PID 1: the kernel drops signals whose disposition
//! is the default when they are sent to a namespace's init, but a *blocked*
//! signal is never treated as ignored, so it stays pending and signalfd sees
//! it. That is why `main` blocks everything before doing anything else, and
//! why a signal that arrives before the loop runs is never lost.
//!
//! SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP and SIGSYS stay
//! unblocked: raised synchronously, they mean dinit itself is broken, and
//! blocking them would turn a crash into a hang.

use super::check;
use crate::error::Error;
use rustix::fd::{BorrowedFd, FromRawFd, OwnedFd};

pub const SIGHUP: i32 = 1;
pub const SIGINT: i32 = 2;
pub const SIGQUIT: i32 = 3;
pub const SIGKILL: i32 = 9;
pub const SIGPIPE: i32 = 13;
pub const SIGTERM: i32 = 15;
pub const SIGCHLD: i32 = 17;
pub const SIGCONT: i32 = 18;
pub const SIGSTOP: i32 = 19;
/// The highest signal number on Linux (x86_64 and aarch64).
pub const SIGMAX: i32 = 64;
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

/// One standard signal: its name without `SIG` (NUL-padded) and what dinit
/// does with it.
pub struct Row {
    name: [u8; 6],
    pub handling: Handling,
}

impl Row {
    pub fn name(&self) -> &[u8] {
        let n = self.name.iter().position(|&b| b == 0).unwrap_or(6);
        &self.name[..n]
    }
}

const fn row(name: &str, handling: Handling) -> Row {
    let mut padded = [0u8; 6];
    let mut i = 0;
    while i < name.len() {
        padded[i] = name.as_bytes()[i];
        i += 1;
    }
    Row {
        name: padded,
        handling,
    }
}

use Handling::{Fault, Forward, JobControl, Reap, Stop, Uncatchable};

/// The one table of signals: row N-1 is signal N, named as `kill -l` names
/// it. Signals 32 and 33 (kept by libcs for their threads) have no name and
/// are forwarded; 34..=64 are the real-time signals `RTMIN`..`RTMAX`, all
/// forwarded. Parsing (`-stopsignal`, `-r:SIG`, `-rewrite`, `-pdeathsig`),
/// the signal mask, forwarding and log lines all read it.
pub static TABLE: [Row; 31] = [
    row("HUP", Forward),      //  1
    row("INT", Stop),         //  2
    row("QUIT", Forward),     //  3
    row("ILL", Fault),        //  4
    row("TRAP", Fault),       //  5
    row("ABRT", Fault),       //  6
    row("BUS", Fault),        //  7
    row("FPE", Fault),        //  8
    row("KILL", Uncatchable), //  9
    row("USR1", Forward),     // 10
    row("SEGV", Fault),       // 11
    row("USR2", Forward),     // 12
    row("PIPE", Forward),     // 13
    row("ALRM", Forward),     // 14
    row("TERM", Stop),        // 15
    row("STKFLT", Forward),   // 16
    row("CHLD", Reap),        // 17
    row("CONT", Forward),     // 18
    row("STOP", Uncatchable), // 19
    row("TSTP", JobControl),  // 20
    row("TTIN", JobControl),  // 21
    row("TTOU", JobControl),  // 22
    row("URG", Forward),      // 23
    row("XCPU", Forward),     // 24
    row("XFSZ", Forward),     // 25
    row("VTALRM", Forward),   // 26
    row("PROF", Forward),     // 27
    row("WINCH", Forward),    // 28
    row("IO", Forward),       // 29
    row("PWR", Forward),      // 30
    row("SYS", Fault),        // 31
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
        1..=31 => Some(TABLE[sig as usize - 1].name()),
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
    if let Some(i) = TABLE
        .iter()
        .position(|r| r.name().eq_ignore_ascii_case(body))
    {
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
    if text.is_empty() || text.len() > 3 || !text.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(text.iter().fold(0, |n, &d| n * 10 + i32::from(d - b'0')))
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

/// [`SigSet::catchable`], computed once by the compiler.
pub const CATCHABLE: SigSet = SigSet::catchable();

/// The kernel's sigset: bit N-1 stands for signal N.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SigSet(pub u64);

impl SigSet {
    pub const EMPTY: SigSet = SigSet(0);

    pub const fn with(self, sig: i32) -> SigSet {
        SigSet(self.0 | 1 << (sig - 1))
    }

    pub const fn contains(self, sig: i32) -> bool {
        sig >= 1 && sig <= SIGMAX && self.0 & (1 << (sig - 1)) != 0
    }

    /// The signals dinit blocks and reads through its signalfd: every one
    /// but the synchronous faults (module doc) and the two that cannot be
    /// caught at all, as [`TABLE`] says.
    pub const fn catchable() -> SigSet {
        let mut set = SigSet::EMPTY;
        let mut sig = 1;
        while sig <= SIGMAX {
            if !matches!(default_handling(sig), Some(Fault | Uncatchable)) {
                set = set.with(sig);
            }
            sig += 1;
        }
        set
    }
}

const SIG_BLOCK: usize = 0;
const SIG_SETMASK: usize = 2;
const SIGSET_SIZE: usize = core::mem::size_of::<u64>();

/// Block every catchable signal; returns the mask dinit inherited (so the
/// submit and version roles can put it back).
pub fn block_all() -> SigSet {
    let set = CATCHABLE.0;
    let mut old = 0u64;
    // SAFETY: both pointers are to live u64s, the kernel sigset size.
    let _ = unsafe {
        sc::syscall!(
            RT_SIGPROCMASK,
            SIG_BLOCK,
            &set as *const u64,
            &mut old as *mut u64,
            SIGSET_SIZE
        )
    };
    SigSet(old)
}

/// `rt_sigprocmask(SIG_SETMASK, set)`.
pub fn set_mask(set: SigSet) {
    // SAFETY: the pointer is to a live u64; no old set is asked for.
    let _ = unsafe {
        sc::syscall!(
            RT_SIGPROCMASK,
            SIG_SETMASK,
            &set.0 as *const u64,
            0,
            SIGSET_SIZE
        )
    };
}

/// The kernel's `struct sigaction` (with `sa_restorer`, which both x86_64
/// and aarch64 define), not libc's.
#[repr(C)]
struct KSigaction {
    handler: usize,
    flags: u64,
    restorer: usize,
    mask: u64,
}

const SIG_DFL: usize = 0;

/// Put every signal's disposition back to the default. An ignored
/// disposition survives `execve`, so a SIGINT ignored by the shell that
/// started dinit would otherwise reach every child, and teardown by SIGINT
/// would not work; an ignored SIGCHLD would even make the kernel reap
/// children behind dinit's back. dinit itself installs no handler (it reads
/// signals through signalfd), so after this its children inherit a clean
/// state without having to reset anything between fork and exec.
pub fn reset_dispositions() {
    for sig in 1..=SIGMAX {
        if sig == SIGKILL || sig == SIGSTOP {
            continue;
        }
        let mut old = KSigaction {
            handler: 0,
            flags: 0,
            restorer: 0,
            mask: 0,
        };
        // SAFETY: a null new action only reads the current one into `old`,
        // a live struct of the kernel's layout.
        let r = unsafe {
            sc::syscall!(
                RT_SIGACTION,
                sig,
                0,
                &mut old as *mut KSigaction,
                SIGSET_SIZE
            )
        };
        if check(r).is_ok() && old.handler != SIG_DFL {
            let dfl = KSigaction {
                handler: SIG_DFL,
                flags: 0,
                restorer: 0,
                mask: 0,
            };
            // SAFETY: `dfl` is a live struct of the kernel's layout; SIG_DFL
            // needs no restorer.
            let _ = unsafe {
                sc::syscall!(RT_SIGACTION, sig, &dfl as *const KSigaction, 0, SIGSET_SIZE)
            };
        }
    }
}

/// `signalfd4(-1, set, SFD_CLOEXEC | SFD_NONBLOCK)`.
pub fn signalfd(set: SigSet) -> Result<OwnedFd, Error<'static>> {
    const SFD_CLOEXEC: usize = 0o2000000;
    const SFD_NONBLOCK: usize = 0o4000;
    // SAFETY: the pointer is to a live u64 of the size passed.
    let r = unsafe {
        sc::syscall!(
            SIGNALFD4,
            -1isize,
            &set.0 as *const u64,
            SIGSET_SIZE,
            SFD_CLOEXEC | SFD_NONBLOCK
        )
    };
    check(r)
        // SAFETY: signalfd4 just returned this fd; nothing else owns it.
        .map(|fd| unsafe { OwnedFd::from_raw_fd(fd as i32) })
        .map_err(|errno| Error::Sys {
            what: "unable to create signalfd",
            errno,
        })
}

/// The fields of `struct signalfd_siginfo` dinit uses.
#[derive(Clone, Copy, Debug, Default)]
pub struct SigInfo {
    pub signo: i32,
    pub pid: u32,
}

/// One `signalfd_siginfo` record is 128 bytes.
pub const SIGINFO_SIZE: usize = 128;

/// Read up to `out.len()` pending signals from the signalfd; returns how many.
/// Non-blocking: EAGAIN means none are left.
pub fn read_signals(fd: BorrowedFd<'_>, out: &mut [SigInfo; 16]) -> usize {
    let mut raw = [0u8; SIGINFO_SIZE * 16];
    let n = match rustix::io::retry_on_intr(|| rustix::io::read(fd, &mut raw)) {
        Ok(n) => n / SIGINFO_SIZE,
        Err(_) => return 0,
    };
    for (i, rec) in raw.chunks_exact(SIGINFO_SIZE).take(n).enumerate() {
        let field =
            |off: usize| u32::from_ne_bytes([rec[off], rec[off + 1], rec[off + 2], rec[off + 3]]);
        // Layout: ssi_signo u32 @0, ssi_pid u32 @12.
        out[i] = SigInfo {
            signo: field(0) as i32,
            pid: field(12),
        };
    }
    n
}

/// `kill(pid, sig)`: `pid` > 0 is one process, < 0 a process group, -1
/// everyone dinit may signal. Returns the errno on failure (ESRCH for a
/// process that is already gone is normal and callers ignore it).
pub fn kill(pid: i32, sig: i32) -> Result<(), i32> {
    // SAFETY: kill takes two integers and touches no memory of ours.
    check(unsafe { sc::syscall!(KILL, pid as isize, sig as isize) }).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catchable_leaves_faults_out() {
        let s = SigSet::catchable();
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
