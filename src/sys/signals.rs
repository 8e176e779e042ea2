//! Signal plumbing with the kernel's own types: a 64-bit sigset,
//! `rt_sigprocmask`, `rt_sigaction`, `signalfd4` and `kill` with any signal
//! number (rustix's `Signal` cannot name real-time signals). What each
//! signal means to dinit is not decided here: see `crate::signals`.
//!
//! Why blocking works for PID 1: the kernel drops signals whose disposition
//! is the default when they are sent to a namespace's init, but a *blocked*
//! signal is never treated as ignored, so it stays pending and signalfd sees
//! it. That is why `main` blocks everything before doing anything else, and
//! why a signal that arrives before the loop runs is never lost.

use super::check;
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
pub const SIGXFSZ: i32 = 25;
/// The highest signal number on Linux (x86_64 and aarch64).
pub const SIGMAX: i32 = 64;

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
}

const SIG_BLOCK: usize = 0;
const SIG_SETMASK: usize = 2;
const SIGSET_SIZE: usize = core::mem::size_of::<u64>();

/// `rt_sigprocmask(SIG_BLOCK, set)`: block `set` (in `main`, every signal
/// dinit reads through its signalfd); returns the mask dinit inherited (so
/// the submit and version roles can put it back).
pub fn block(set: SigSet) -> SigSet {
    let set = set.0;
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

/// `signalfd4(-1, set, SFD_CLOEXEC | SFD_NONBLOCK)`; the errno on failure.
pub fn signalfd(set: SigSet) -> Result<OwnedFd, i32> {
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
    use core::mem::MaybeUninit;
    use rustix::fd::AsRawFd;
    // Not zeroed first: the loop reads this once per turn, and only what
    // the kernel wrote is looked at.
    let mut raw = [MaybeUninit::<u8>::uninit(); SIGINFO_SIZE * 16];
    let got = loop {
        // SAFETY: read(2) writes at most `raw.len()` bytes into `raw`.
        let r = unsafe { sc::syscall!(READ, fd.as_raw_fd(), raw.as_mut_ptr(), raw.len()) };
        match check(r) {
            Err(super::errno::EINTR) => {}
            Ok(n) => break n.min(raw.len()),
            Err(_) => return 0,
        }
    };
    // SAFETY: the kernel initialized the first `got` bytes.
    let raw = unsafe { core::slice::from_raw_parts(raw.as_ptr().cast::<u8>(), got) };
    let n = got / SIGINFO_SIZE;
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
    fn sigset_bits() {
        let s = SigSet::EMPTY.with(SIGHUP).with(SIGMAX);
        assert!(s.contains(SIGHUP) && s.contains(SIGMAX));
        assert!(!s.contains(SIGINT));
        assert!(!s.contains(0));
        assert!(!s.contains(65));
        assert_eq!(s.0, 1 | 1 << 63);
    }
}
