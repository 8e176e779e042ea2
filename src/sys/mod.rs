//! The syscall shell: the only module allowed `unsafe`.
//!
//! # Safety
//!
//! Everything below relies on these assumptions, stated once here:
//!
//! * **Syscall ABI.** `sc::syscallN` follows the Linux calling convention
//!   of x86_64 and aarch64; a return value in `-4095..=-1` is `-errno`
//!   (decoded by [`check`] only). Struct layouts passed to the kernel
//!   (`k_sigaction`, `signalfd_siginfo`) are the kernel's, not libc's, and
//!   are the same on both architectures.
//! * **Kernel sigset.** The kernel's `sigset_t` is 8 bytes (64 signals);
//!   every `rt_*` call passes `size_of::<u64>()`.
//! * **One thread.** dinit never starts a thread, so the statics behind
//!   [`Static`] are only ever touched by one thread, and are handed out
//!   once (at startup) or per call without overlapping borrows.
//! * **The fork child** (see `spawn`) runs on a copy-on-write copy of the
//!   parent's memory after a raw `clone`; libc's fork bookkeeping never ran,
//!   so it makes raw syscalls only, touches only data prepared before the
//!   fork, and leaves through `execve` or `exit_group`.
//! * **argv, envp and the auxiliary vector** are read from the kernel's
//!   initial stack at dinit's own entry point (`main.rs`): NUL-terminated
//!   strings and NULL- or `AT_NULL`-terminated arrays that live, unchanged,
//!   for the whole process.
#![allow(unsafe_code)]

pub mod args;
pub mod errno;
pub mod fdpass;
pub mod out;
pub mod signals;
pub mod spawn;

use core::cell::{Cell, UnsafeCell};
use errno::{EINTR, EIO};

/// Decode a raw syscall return: `-4095..=-1` is `-errno`, anything else the
/// result. The one place raw `sc` returns are interpreted.
#[inline]
pub fn check(ret: usize) -> Result<usize, i32> {
    let signed = ret as isize;
    if (-4095..0).contains(&signed) {
        Err((-signed) as i32)
    } else {
        Ok(ret)
    }
}

/// `write(fd, buf)` until everything is written, retrying EINTR; any other
/// error gives up silently: a log line that cannot be written must not hurt
/// PID 1.
pub fn write_all(fd: i32, mut buf: &[u8]) -> Result<(), i32> {
    while !buf.is_empty() {
        // SAFETY: `buf` is a live slice; write(2) reads at most its length.
        let r = check(unsafe { sc::syscall!(WRITE, fd, buf.as_ptr(), buf.len()) });
        match r {
            Ok(0) => return Err(EIO),
            Ok(n) => buf = &buf[n.min(buf.len())..],
            Err(EINTR) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// `read(fd, buf)`, retrying EINTR.
pub fn read(fd: i32, buf: &mut [u8]) -> Result<usize, i32> {
    loop {
        // SAFETY: `buf` is a live, writable slice of the length passed.
        let r = check(unsafe { sc::syscall!(READ, fd, buf.as_mut_ptr(), buf.len()) });
        if r != Err(EINTR) {
            return r;
        }
    }
}

/// `close(fd)`; errors (EINTR after the fd is released, EBADF) are ignored.
pub fn close(fd: i32) {
    // SAFETY: closing an fd number has no memory-safety effect; callers own it.
    let _ = unsafe { sc::syscall!(CLOSE, fd) };
}

/// `getpid()`.
pub fn getpid() -> i32 {
    rustix::process::getpid().as_raw_nonzero().get()
}

/// `getuid()`.
pub fn getuid() -> u32 {
    rustix::process::getuid().as_raw()
}

/// A Unix socket peer's credentials, as the kernel reports them to us.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PeerCred {
    /// The peer's pid in *our* PID namespace; 0 when it has no number here
    /// (it lives in a namespace that is not ours or below ours: a sidecar
    /// container sharing only a volume, dinit seen from the host side).
    pub pid: i32,
    pub uid: u32,
}

/// `getsockopt(fd, SOL_SOCKET, SO_PEERCRED)`. A raw call, not rustix's
/// `socket_peercred`: its `UCred` holds a non-zero `Pid`, so the pid 0 the
/// kernel reports for a peer outside our PID namespace is not a valid value
/// there (in practice the result reads as an error), and exactly the peers
/// that must be judged by uid alone were refused.
///
/// # References
/// - [Linux `unix(7)`](https://man7.org/linux/man-pages/man7/unix.7.html), SO_PEERCRED
pub fn peer_cred(fd: rustix::fd::BorrowedFd<'_>) -> Result<PeerCred, i32> {
    use rustix::fd::AsRawFd;
    const SOL_SOCKET: usize = 1;
    const SO_PEERCRED: usize = 17;
    // `struct ucred { pid_t pid; uid_t uid; gid_t gid; }`
    let mut cred = [0u32; 3];
    let mut len = core::mem::size_of_val(&cred) as u32;
    // SAFETY: the kernel writes at most `len` (12) bytes into `cred` and
    // stores the length it wrote in `len`.
    let r = unsafe {
        sc::syscall!(
            GETSOCKOPT,
            fd.as_raw_fd(),
            SOL_SOCKET,
            SO_PEERCRED,
            cred.as_mut_ptr(),
            &mut len as *mut u32
        )
    };
    check(r)?;
    Ok(PeerCred {
        pid: cred[0] as i32,
        uid: cred[1],
    })
}

/// `clock_gettime(clock)` as (seconds, nanoseconds). A plain syscall, not
/// rustix's vDSO lookup: dinit reads the clock once per loop turn, and
/// the vDSO parser would cost 2 KiB of the binary.
fn clock_gettime(clock: usize) -> (i64, i64) {
    let mut ts = [0i64; 2];
    // SAFETY: the kernel writes one `struct timespec` (two 64-bit fields on
    // x86_64 and aarch64) into `ts`.
    let _ = unsafe { sc::syscall!(CLOCK_GETTIME, clock, ts.as_mut_ptr()) };
    (ts[0], ts[1])
}

/// Wall-clock seconds since the epoch, for log stamps.
pub fn realtime_secs() -> i64 {
    const CLOCK_REALTIME: usize = 0;
    clock_gettime(CLOCK_REALTIME).0
}

/// Milliseconds on the monotonic clock, for deadlines.
pub fn monotonic_ms() -> u64 {
    const CLOCK_MONOTONIC: usize = 1;
    let (s, ns) = clock_gettime(CLOCK_MONOTONIC);
    (s as u64).saturating_mul(1000) + (ns as u64) / 1_000_000
}

/// `exit_group(code)`: leave now, running nothing (no atexit, no flush; dinit
/// buffers nothing).
pub fn exit(code: u8) -> ! {
    // SAFETY: exit_group takes an int and does not return.
    unsafe {
        sc::syscall!(EXIT_GROUP, code as usize);
    }
    #[allow(clippy::empty_loop)]
    loop {}
}

/// Where `/proc` or `close_range` is missing, descriptors are walked one by
/// one below this number (the usual soft `RLIMIT_NOFILE`; dinit's own stay
/// far below).
const FD_WALK_MAX: i32 = 1024;

const F_GETFD: usize = 1;
const F_SETFD: usize = 2;
const FD_CLOEXEC: usize = 1;

/// `fcntl(fd, F_SETFD, flags)`: raw, for the fork child too; EBADF for a
/// descriptor that is not open is ignored.
fn set_fd_flags(fd: i32, flags: usize) {
    // SAFETY: fcntl(F_SETFD) takes integers and touches no memory.
    let _ = unsafe { sc::syscall!(FCNTL, fd, F_SETFD, flags) };
}

/// Mark every inherited descriptor above stderr close-on-exec, so children
/// get only fds 0–2 (dinit opens everything of its own with CLOEXEC).
/// `close_range(3, ~0, CLOSE_RANGE_CLOEXEC)` (Linux 5.11); on older kernels
/// `fcntl(F_SETFD)` on each below `FD_WALK_MAX`.
pub fn cloexec_inherited_fds() {
    const CLOSE_RANGE_CLOEXEC: usize = 1 << 2;
    // SAFETY: close_range with CLOEXEC only changes fd flags; no memory.
    let r = unsafe { sc::syscall!(CLOSE_RANGE, 3, u32::MAX as usize, CLOSE_RANGE_CLOEXEC) };
    if check(r).is_err() {
        for fd in 3..FD_WALK_MAX {
            set_fd_flags(fd, FD_CLOEXEC);
        }
    }
}

/// `wait4(pid, options)`, retrying EINTR: the pid it returns (0 with
/// WNOHANG when nothing has exited) and the raw status.
fn wait4(pid: isize, options: usize) -> Result<(usize, i32), i32> {
    let mut status = 0i32;
    loop {
        // SAFETY: wait4 writes one int into `status`; no rusage is asked for.
        let r = check(unsafe { sc::syscall!(WAIT4, pid, &mut status as *mut i32, options, 0) });
        if r != Err(EINTR) {
            return r.map(|pid| (pid, status));
        }
    }
}

/// `wait4(-1, WNOHANG)`: one exited child and its raw wait status, `None`
/// when children exist but none has exited, `Err(ECHILD)` when there are
/// none.
pub fn reap_any() -> Result<Option<(i32, i32)>, i32> {
    const WNOHANG: usize = 1;
    Ok(match wait4(-1, WNOHANG)? {
        (0, _) => None,
        (pid, status) => Some((pid as i32, status)),
    })
}

/// Call `f` with the pid of every child of dinit (live or zombie), as
/// `/proc/thread-self/children` lists them. That file needs
/// CONFIG_PROC_CHILDREN, which every common distribution kernel has (a
/// scan of `/proc/*/stat` instead would cost a twentieth of the binary's
/// size budget); without it, or without `/proc`, the error is returned and
/// the caller says so. dinit has one thread, so its thread's children are
/// all of its children. The file is read in pieces through a stack buffer,
/// so nothing allocates; a list that changes while it is read may miss or
/// repeat a pid, which the caller's next look (after the next reap, at the
/// deadline) makes up for. Only a child of dinit's is listed, and only
/// dinit can reap it: no pid here is ever a reused one.
pub fn children(mut f: impl FnMut(i32)) -> Result<(), i32> {
    let fd = rustix::fs::open(
        c"/proc/thread-self/children",
        rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::CLOEXEC,
        rustix::fs::Mode::empty(),
    )
    .map_err(|e| e.raw_os_error())?;
    let fd = rustix::fd::AsRawFd::as_raw_fd(&fd);
    // "PID PID ... PID ": a pid ends at its space. The kernel fills a read
    // with whole entries while they fit: one that left room for another
    // entry (at most 11 bytes) was the last, and no read for the end of
    // file is needed.
    const ENTRY_MAX: usize = 11;
    let mut buf = [0u8; 512];
    let mut pid = 0i32;
    loop {
        let n = read(fd, &mut buf)?.min(buf.len());
        for &b in &buf[..n] {
            if b.is_ascii_digit() {
                pid = pid.saturating_mul(10).saturating_add(i32::from(b - b'0'));
            } else if pid > 0 {
                f(pid);
                pid = 0;
            }
        }
        if n == 0 || buf.len() - n > ENTRY_MAX {
            return Ok(());
        }
    }
}

/// The pid `/proc/self` names: dinit's own when `/proc` belongs to dinit's
/// PID namespace. A `/proc` mounted for another namespace (a runtime that
/// kept the host's, `unshare --pid` without `--mount-proc`) names another
/// number, and every pid read from it would name another process. `None`
/// without `/proc`.
pub fn proc_self_pid() -> Option<i32> {
    const AT_FDCWD: isize = -100;
    let mut buf = [0u8; 16];
    let path = c"/proc/self";
    // SAFETY: readlinkat reads the NUL-terminated path and writes at most
    // `buf.len()` bytes into `buf`.
    let r = unsafe {
        sc::syscall!(
            READLINKAT,
            AT_FDCWD,
            path.as_ptr(),
            buf.as_mut_ptr(),
            buf.len()
        )
    };
    let n = check(r).ok()?;
    parse_i32(&buf[..n.min(buf.len())])
}

/// A decimal number of digits only (at least one): the one reader of
/// numbers (`error::decimal` is the one writer). A sign, a length limit or
/// a range is the caller's. `None` for any other byte, or past `u64::MAX`.
pub fn parse_decimal(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0u64, |n, &d| {
        if !d.is_ascii_digit() {
            return None;
        }
        n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    })
}

/// [`parse_decimal`] as an `i32` (a pid, a descriptor number): `None`
/// past `i32::MAX`.
pub fn parse_i32(digits: &[u8]) -> Option<i32> {
    parse_decimal(digits).and_then(|n| i32::try_from(n).ok())
}

/// `n` in decimal at the end of `out`; returns where the digits are. By
/// hand, not `core::fmt`: the fork child uses it too.
pub fn decimal_digits(mut n: u32, out: &mut [u8]) -> core::ops::Range<usize> {
    let mut i = out.len();
    loop {
        i -= 1;
        out[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 || i == 0 {
            return i..out.len();
        }
    }
}

/// Take `fd` (a report pipe, a client connection) out of the epoll set
/// before it is closed. epoll forgets a descriptor only when the last copy
/// of its file is closed, and a fork child holds a copy of each of dinit's
/// until it has closed them (see `spawn`): meanwhile a new descriptor given
/// the same number would get the old one's events (an end of file, a
/// hang-up) under its token.
pub fn unwatch(epoll: impl rustix::fd::AsFd, fd: impl rustix::fd::AsFd) {
    let _ = rustix::event::epoll::delete(epoll, fd);
}

/// Sleep `ms` milliseconds (`nanosleep`), for the loop's back-off when
/// `epoll_wait` keeps failing: a persistent error must not spin.
pub fn sleep_ms(ms: u64) {
    let ts = [(ms / 1000) as i64, ((ms % 1000) * 1_000_000) as i64];
    // SAFETY: nanosleep reads one `struct timespec` (two 64-bit fields on
    // x86_64 and aarch64) and writes no remainder (NULL).
    let _ = unsafe { sc::syscall!(NANOSLEEP, ts.as_ptr(), 0) };
}

/// `getpgid(pid)`: the process group of one of dinit's children, `None`
/// when it is gone.
pub fn getpgid(pid: i32) -> Option<i32> {
    let pid = rustix::process::Pid::from_raw(pid)?;
    rustix::process::getpgid(Some(pid))
        .ok()
        .map(|g| g.as_raw_nonzero().get())
}

/// `getppid()`: 0 when the parent is outside dinit's PID namespace (dinit
/// is PID 1 there).
pub fn getppid() -> i32 {
    rustix::process::getppid().map_or(0, |p| p.as_raw_nonzero().get())
}

/// `prctl(PR_SET_PDEATHSIG, sig)`: the kernel sends `sig` (any number, a
/// real-time one too, which rustix's `Signal` cannot name) when the thread
/// that forked dinit exits.
pub fn set_pdeathsig(sig: i32) -> Result<(), i32> {
    const PR_SET_PDEATHSIG: usize = 1;
    // SAFETY: this prctl takes two integers and touches no memory of ours.
    check(unsafe { sc::syscall!(PRCTL, PR_SET_PDEATHSIG, sig as usize) }).map(|_| ())
}

/// `prctl(PR_SET_CHILD_SUBREAPER, 1)`.
pub fn set_child_subreaper() -> Result<(), i32> {
    rustix::process::set_child_subreaper(Some(rustix::process::Pid::INIT))
        .map_err(|e| e.raw_os_error())
}

/// `sched_getaffinity(0)`: the number of CPUs dinit may run on, or `None`.
pub fn cpus_allowed() -> Option<u32> {
    let mut mask = [0u64; 16]; // 1024 CPUs
    // SAFETY: the kernel writes at most `size_of_val(&mask)` bytes into it.
    let r = unsafe {
        sc::syscall!(
            SCHED_GETAFFINITY,
            0,
            core::mem::size_of_val(&mask),
            mask.as_mut_ptr()
        )
    };
    let n = check(r).ok()?;
    let words = (n / 8).min(mask.len());
    let count: u32 = mask[..words].iter().map(|w| w.count_ones()).sum();
    (count > 0).then_some(count)
}

/// Fixed static storage handed out once: the owner of a large buffer (the
/// startup arenas, the process table, the socket's connection slots)
/// declares it where it is used, `static X: TakeOnce<T> =
/// TakeOnce::new(...)`, and takes the one `&'static mut` at startup. It
/// lives in `.bss`: it costs neither binary size nor memory until a page of
/// it is touched.
///
/// The flag is a plain `Cell`, not an atomic: dinit has one thread (module
/// Safety), and an atomic swap on aarch64 links compiler-rt's run-time
/// check for LSE atomics (a constructor reading the CPU's feature
/// registers at every start, about 0.9 KiB) for a flag read at startup.
pub struct TakeOnce<T> {
    taken: Cell<bool>,
    value: UnsafeCell<T>,
}

// SAFETY: dinit has one thread (module Safety), so `taken` is never read
// and written at once; the value is reachable only through the one
// reference `take` hands out.
unsafe impl<T> Sync for TakeOnce<T> {}

impl<T> TakeOnce<T> {
    pub const fn new(value: T) -> Self {
        TakeOnce {
            taken: Cell::new(false),
            value: UnsafeCell::new(value),
        }
    }

    /// The storage, the first time; `None` after that.
    #[allow(clippy::mut_from_ref)]
    pub fn take(&'static self) -> Option<&'static mut T> {
        if self.taken.replace(true) {
            return None;
        }
        // SAFETY: the flag was false, so no reference to the value exists,
        // and it is true from now on, so none other will.
        Some(unsafe { &mut *self.value.get() })
    }
}

/// A mutable static for the one thread (see the module's Safety), for the
/// few that are read and written in place (the stderr writer).
pub struct Static<T>(UnsafeCell<T>);

// SAFETY: dinit is single-threaded (module Safety); no two threads exist to
// share it.
unsafe impl<T> Sync for Static<T> {}

impl<T> Static<T> {
    pub const fn new(value: T) -> Self {
        Static(UnsafeCell::new(value))
    }

    /// # Safety
    ///
    /// The caller must not hold another reference obtained from this
    /// `Static` while the returned one is alive.
    #[allow(clippy::mut_from_ref)]
    pub unsafe fn get(&self) -> &mut T {
        // SAFETY: exclusivity is the caller's contract (above); one thread.
        unsafe { &mut *self.0.get() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_proc_is_ours() {
        // The tests run in the host's namespace, with its /proc.
        assert_eq!(proc_self_pid(), Some(getpid()));
    }

    #[test]
    fn take_once_hands_out_one_reference() {
        static CELL: TakeOnce<[u8; 4]> = TakeOnce::new([1, 2, 3, 4]);
        let a = CELL.take().unwrap();
        a[0] = 9;
        assert!(CELL.take().is_none());
        assert_eq!(a, &[9, 2, 3, 4]);
    }

    #[test]
    fn check_decodes_errno() {
        assert_eq!(check(0), Ok(0));
        assert_eq!(check(5), Ok(5));
        assert_eq!(check(-2isize as usize), Err(2));
        assert_eq!(check(-4095isize as usize), Err(4095));
        assert_eq!(check(-4096isize as usize), Ok(-4096isize as usize));
    }
}
