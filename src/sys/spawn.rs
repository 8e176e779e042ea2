//! The one audited fork: `clone(SIGCHLD)` + `execve`, with a close-on-exec
//! report pipe so the parent learns whether the exec happened — without
//! ever waiting for it (SPEC §10, "no path can stall PID 1").
//!
//! Everything the child touches is built before the fork by the caller: the
//! file to run (a path, or a name and the `$PATH` to search it in), the
//! NULL-terminated argv and envp arrays. The child only makes raw syscalls
//! (libc's fork bookkeeping never ran, see the module Safety in `sys`) and
//! uses buffers on its own stack: optional `setpgid(0, 0)`, an empty signal
//! mask, the `$PATH` search and `execve` as `execvp` does them, and on
//! failure one write of its report — the errno, and the name of a script's
//! missing `#!` interpreter — down the pipe, then `exit_group`. So a program
//! on a hung file system stalls only its own child.
//!
//! The pipe's read end is non-blocking and watched in the loop's epoll set
//! before the fork (so a failure to watch it forks nothing): end of file
//! means the exec happened (close-on-exec closed the write end), a report
//! means it did not; [`read_report`] reads it when epoll says so.
//!
//! Signal dispositions need no reset here: `init` put every one back to
//! the default at startup and dinit installs no handler, and exec resets
//! handlers anyway.
//!
//! Descriptors ([`ChildFds`]): every fd dinit opens is close-on-exec, but
//! until its exec succeeds the child is a copy of dinit, holding copies of
//! the listener, the clients' connections, the epoll set and the signalfd;
//! an exec stuck on a hung file system would hold them for good (a client
//! would never see its connection end). So the child first closes every
//! descriptor above 2 except its report pipe and, for the primary, the
//! descriptors dinit inherited (SPEC §11), which it opens up for the exec;
//! a `-wait` job first takes the client's three as its 0, 1 and 2 (SPEC
//! §5). The program gets 0–2, and the primary its inherited ones, nothing
//! else.

use super::errno::{EACCES, EINTR, ENOENT, ENOTDIR, EPIPE};
use super::fdpass::PidSlot;
use super::{Static, check};
use rustix::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

/// Why a spawn failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpawnError {
    /// The report pipe could not be made or watched (EMFILE, ENFILE,
    /// ENOMEM), so nothing was forked; dinit's own problem (exit 1).
    Pipe(i32),
    /// clone failed (EAGAIN under a pids limit, ENOMEM): exit 1.
    Fork(i32),
    /// execve failed in the child with this errno (127/126 material); the
    /// child's report says so.
    Exec(i32),
}

/// A NULL-terminated array of pointers to NUL-terminated strings that live
/// for `'s`: what `execve` wants for argv and envp. Only `ArgvBuilder` and
/// `process_env` make one, which is what makes `spawn` safe.
#[derive(Clone, Copy)]
pub struct Argv<'s> {
    ptrs: &'s [*const u8],
}

impl Argv<'_> {
    fn as_ptr(&self) -> *const *const u8 {
        self.ptrs.as_ptr()
    }
}

/// Builds an `Argv` in caller-owned storage.
pub struct ArgvBuilder<'s> {
    ptrs: &'s mut [*const u8],
    len: usize,
}

impl<'s> ArgvBuilder<'s> {
    pub fn new(storage: &'s mut [*const u8]) -> Self {
        ArgvBuilder {
            ptrs: storage,
            len: 0,
        }
    }

    /// Append a string; it must end with its NUL (checked). `None` when it
    /// does not, or when the storage is full (one slot stays for the NULL).
    pub fn push(&mut self, s: &'s [u8]) -> Option<()> {
        if s.last() != Some(&0) || self.len + 1 >= self.ptrs.len() {
            return None;
        }
        self.ptrs[self.len] = s.as_ptr();
        self.len += 1;
        Some(())
    }

    /// Terminate with NULL; the storage past it stays unused.
    pub fn finish(self) -> Argv<'s> {
        self.ptrs[self.len] = core::ptr::null();
        let (used, _) = self.ptrs.split_at(self.len + 1);
        Argv { ptrs: used }
    }
}

/// The environment dinit was started with, unchanged.
pub fn process_env() -> Argv<'static> {
    // The kernel's envp is a NULL-terminated array of NUL-terminated
    // strings living for the whole process (module Safety in `sys`); the
    // slice is just its first element, for the pointer.
    let p = super::args::envp();
    if p.is_null() {
        // No environment at all (only in unit tests, where main never ran).
        static EMPTY: Static<[*const u8; 1]> = Static::new([core::ptr::null()]);
        // SAFETY: never written; this shared reborrow is the only use.
        let empty: &'static [*const u8; 1] = unsafe { EMPTY.get() };
        return Argv { ptrs: empty };
    }
    // SAFETY: `p` points at the first element of the kernel's envp array,
    // which lives for the whole process.
    let first = unsafe { core::slice::from_raw_parts(p, 1) };
    Argv { ptrs: first }
}

/// A program ready to run: what the child execs, and how it finds it.
#[derive(Clone, Copy)]
pub struct Exec<'s> {
    /// With its NUL: a path, used as it is, or with `search` a name.
    file: &'s [u8],
    /// The `$PATH` to look `file` up in, in the child (`execvp`'s search).
    search: Option<&'s [u8]>,
    argv: Argv<'s>,
    envp: Argv<'s>,
}

impl<'s> Exec<'s> {
    /// Exec `path` as it is; it must end with its NUL (checked).
    pub fn new(path: &'s [u8], argv: Argv<'s>, envp: Argv<'s>) -> Option<Self> {
        (path.last() == Some(&0)).then_some(Exec {
            file: path,
            search: None,
            argv,
            envp,
        })
    }

    /// Look `name` (with its NUL, no `/`) up in `path` in the child, as
    /// `execvp` does: each entry in order (an empty one is the current
    /// directory), EACCES remembered while the search goes on.
    pub fn search(name: &'s [u8], path: &'s [u8], argv: Argv<'s>, envp: Argv<'s>) -> Option<Self> {
        (name.last() == Some(&0) && !name.contains(&b'/')).then_some(Exec {
            file: name,
            search: Some(path),
            argv,
            envp,
        })
    }

    /// The path or name the child execs, with its NUL.
    pub fn file(&self) -> &'s [u8] {
        self.file
    }

    /// The same program with another environment.
    pub fn with_envp(self, envp: Argv<'s>) -> Self {
        Exec { envp, ..self }
    }
}

/// `SIGCHLD` as the clone exit signal: the child is an ordinary fork child.
const CLONE_EXIT_SIGCHLD: usize = 17;
const O_CLOEXEC: usize = 0o2000000;
const O_NONBLOCK: usize = 0o4000;

/// The process group a child starts in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Group {
    /// dinit's own.
    Inherit,
    /// Its own (`-pgroup`).
    Own,
    /// Its own, and it takes the terminal on stdin when dinit's group has it
    /// (`-pgroup`'s primary): a background group reading the terminal would
    /// be stopped by SIGTTIN. Done in the child before `execve`, so the
    /// program can never reach its first read still in the background.
    OwnWithTerminal,
}

/// Where a spawn's report pipe is watched: added to `epoll` under
/// `token_base + fd` before the fork.
#[derive(Clone, Copy)]
pub struct Watch<'a> {
    pub epoll: BorrowedFd<'a>,
    pub token_base: u64,
}

/// What a child's descriptors are besides dinit's own 0, 1 and 2, which
/// it keeps unless `stdio` says otherwise (see the module doc).
#[derive(Clone, Copy, Default)]
pub struct ChildFds<'a> {
    /// A `-wait` job: these become its 0, 1 and 2 (SPEC §5).
    pub stdio: Option<[BorrowedFd<'a>; 3]>,
    /// The primary: the descriptors dinit inherited, kept at their numbers
    /// across the exec, in ascending order (SPEC §11).
    pub inherited: &'a [i32],
    /// The primary's `LISTEN_PID=` entry (in its envp), filled in with its
    /// own pid just before the exec.
    pub listen_pid: Option<&'a PidSlot<'a>>,
}

/// A forked child: its pid and the read end of its report pipe (watched).
#[derive(Debug)]
pub struct Spawned {
    pub pid: i32,
    pub report: OwnedFd,
}

/// Fork a child that runs `exec` (in a new process group when `group`
/// says so). Returns at once, before the exec: the child's report pipe,
/// already watched as `watch` says, tells the outcome ([`read_report`]).
pub fn spawn(
    exec: &Exec<'_>,
    group: Group,
    watch: Watch<'_>,
    child_fds: ChildFds<'_>,
) -> Result<Spawned, SpawnError> {
    use rustix::event::epoll;
    let pgroup = group != Group::Inherit;
    // dinit's own group, read here: in the child it could already be the
    // child's own, since the parent also moves it (below). Only the
    // terminal hand-over needs it; other spawns skip the syscall.
    let own_group = if group == Group::OwnWithTerminal {
        // SAFETY: getpgid takes an integer.
        unsafe { sc::syscall!(GETPGID, 0) }
    } else {
        0
    };
    let mut fds = [0i32; 2];
    // SAFETY: pipe2 writes two ints into `fds`.
    check(unsafe { sc::syscall!(PIPE2, fds.as_mut_ptr(), O_CLOEXEC | O_NONBLOCK) })
        .map_err(SpawnError::Pipe)?;
    // SAFETY: pipe2 just made these two descriptors; nothing else owns them.
    let (rd, wr) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    let token = watch.token_base + rd.as_raw_fd() as u64;
    epoll::add(
        watch.epoll,
        &rd,
        epoll::EventData::new_u64(token),
        epoll::EventFlags::IN,
    )
    .map_err(|e| SpawnError::Pipe(e.raw_os_error()))?;

    // SAFETY: a fork-like clone (no CLONE_VM, no new stack): the child gets a
    // copy-on-write copy of this process and continues here with 0.
    let r = unsafe { sc::syscall!(CLONE, CLONE_EXIT_SIGCHLD, 0, 0, 0, 0) };
    let pid = match check(r) {
        Err(e) => {
            super::unwatch(watch.epoll, &rd);
            return Err(SpawnError::Fork(e));
        }
        // SAFETY: we are the child of a raw clone; `exec`'s pointers are
        // valid by construction (Argv, Exec), `wr` is open, and
        // `child_fds` was prepared before the fork.
        Ok(0) => unsafe { child(exec, wr.as_raw_fd(), group, own_group, &child_fds) },
        Ok(pid) => pid as i32,
    };
    drop(wr);
    if pgroup {
        // Also from the parent, as shells do, so the group exists before
        // dinit signals it whichever side runs first. EACCES after the
        // child's exec is harmless: the child did it already.
        // SAFETY: setpgid takes two integers.
        let _ = unsafe { sc::syscall!(SETPGID, pid, pid) };
    }
    Ok(Spawned { pid, report: rd })
}

/// The longest `#!` interpreter name a report carries: the most of a file
/// the kernel reads to find a `#!` line (`BINPRM_BUF_SIZE`).
pub const INTERP_MAX: usize = 256;

/// Why a child's exec failed, as its report says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Failure {
    pub errno: i32,
    /// The script's missing `#!` interpreter, for ENOENT on a file that is
    /// there: the kernel answers ENOENT for both.
    interp: [u8; INTERP_MAX],
    interp_len: u16,
}

impl Failure {
    pub fn new(errno: i32) -> Failure {
        Failure {
            errno,
            interp: [0; INTERP_MAX],
            interp_len: 0,
        }
    }

    /// The missing interpreter, when that is why the exec failed.
    pub fn interpreter(&self) -> Option<&[u8]> {
        let name = &self.interp[..usize::from(self.interp_len).min(INTERP_MAX)];
        (!name.is_empty()).then_some(name)
    }
}

/// What a child's report pipe says. (Large by design: it lives on the
/// stack for a moment, there is no heap to box the failure in.)
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Report {
    /// Nothing yet: the child has not reached (or not finished) its exec.
    Pending,
    /// End of file: the exec happened (or the child died before it could
    /// report, killed by a signal: its exit status says so).
    Execed,
    Failed(Failure),
}

/// Read a child's report without waiting. The child writes its report in
/// one write of at most `4 + INTERP_MAX` bytes (under PIPE_BUF: all or
/// nothing) before it exits, so a report read once the child is gone is
/// final.
pub fn read_report(fd: BorrowedFd<'_>) -> Report {
    let mut buf = [0u8; 4 + INTERP_MAX];
    let n = loop {
        // SAFETY: `buf` is a live, writable slice of the length passed.
        match check(unsafe { sc::syscall!(READ, fd.as_raw_fd(), buf.as_mut_ptr(), buf.len()) }) {
            Err(EINTR) => {}
            Ok(n) => break n.min(buf.len()),
            // EAGAIN: the write end is open and nothing was written yet.
            Err(_) => return Report::Pending,
        }
    };
    match n {
        0 => Report::Execed,
        1..=3 => Report::Failed(Failure::new(EPIPE)),
        _ => {
            let mut f = Failure::new(i32::from_ne_bytes([buf[0], buf[1], buf[2], buf[3]]));
            let name = &buf[4..n];
            f.interp[..name.len()].copy_from_slice(name);
            f.interp_len = name.len() as u16;
            Report::Failed(f)
        }
    }
}

/// The fork child. Never returns.
///
/// # Safety
///
/// Only to be called in the child of a raw clone.
unsafe fn child(
    exec: &Exec<'_>,
    wr: i32,
    group: Group,
    parent_group: usize,
    fds: &ChildFds<'_>,
) -> ! {
    if group != Group::Inherit {
        // SAFETY: setpgid takes two integers.
        let _ = unsafe { sc::syscall!(SETPGID, 0, 0) };
    }
    if group == Group::OwnWithTerminal {
        const TIOCGPGRP: usize = 0x540F;
        const TIOCSPGRP: usize = 0x5410;
        let mut fg: i32 = 0;
        // SAFETY: TIOCGPGRP writes one pid_t into `fg`; fails on a non-tty.
        let r = unsafe { sc::syscall!(IOCTL, 0, TIOCGPGRP, &mut fg as *mut i32) };
        if check(r).is_ok() && Ok(fg as usize) == check(parent_group) {
            // SAFETY: getpid takes nothing.
            let me = unsafe { sc::syscall!(GETPID) } as i32;
            // From a background group this would raise SIGTTOU, but every
            // signal is still blocked here (dinit's mask), so the kernel
            // lets it through. SAFETY: TIOCSPGRP reads one pid_t.
            let _ = unsafe { sc::syscall!(IOCTL, 0, TIOCSPGRP, &me as *const i32) };
        }
    }
    // After the terminal hand-over, which asks dinit's own fd 0.
    let (wr, arranged) = arrange(wr, fds);
    if let Some(slot) = fds.listen_pid {
        // SAFETY: the fork child, just before the exec (PidSlot::fill).
        unsafe { slot.fill() };
    }
    // A raw rt_sigprocmask, safe here like every call in this function.
    super::signals::set_mask(super::signals::SigSet::EMPTY);
    // The report: the errno, then the missing interpreter's name, if any.
    let mut report = [0u8; 4 + INTERP_MAX];
    let mut interp_len = 0;
    let interp = &mut report[4..];
    let errno = match (arranged, exec.search) {
        (Err(errno), _) => errno,
        (Ok(()), None) => try_exec(exec.file, exec, interp, &mut interp_len),
        (Ok(()), Some(path)) => search(exec.file, path, exec, interp, &mut interp_len),
    };
    report[..4].copy_from_slice(&errno.to_ne_bytes());
    let n = 4 + interp_len.min(INTERP_MAX);
    // SAFETY: writes `n` bytes from a live array to our pipe.
    let _ = unsafe { sc::syscall!(WRITE, wr, report.as_ptr(), n) };
    super::exit(127)
}

const F_DUPFD: usize = 0;
const F_DUPFD_CLOEXEC: usize = 1030;

/// The fork child's descriptors, just before the exec (see the module
/// doc): a `-wait` job's three onto 0–2, every descriptor above 2 closed
/// but the report pipe `wr` and the inherited ones, which lose their
/// close-on-exec. Returns the report pipe's number (moved above 2 if it
/// was below, which only a dinit started with a standard descriptor
/// closed can see), and the errno when the three could not be arranged.
/// Raw syscalls only.
fn arrange(mut wr: i32, fds: &ChildFds<'_>) -> (i32, Result<(), i32>) {
    if let Some(stdio) = fds.stdio {
        // First each of them (and the pipe) above 2, so that no dup3
        // below overwrites one still to be read: a descriptor received
        // while one of dinit's 0–2 was closed may have any number.
        let mut high = [0i32; 3];
        for (h, fd) in high.iter_mut().zip(stdio) {
            // SAFETY: fcntl(F_DUPFD) takes integers.
            match check(unsafe { sc::syscall!(FCNTL, fd.as_raw_fd(), F_DUPFD, 3) }) {
                Ok(n) => *h = n as i32,
                Err(e) => return (wr, Err(e)),
            }
        }
        if wr < 3 {
            // SAFETY: fcntl(F_DUPFD_CLOEXEC) takes integers.
            match check(unsafe { sc::syscall!(FCNTL, wr, F_DUPFD_CLOEXEC, 3) }) {
                Ok(n) => wr = n as i32,
                Err(e) => return (wr, Err(e)),
            }
        }
        for (to, &from) in high.iter().enumerate() {
            // dup3 (aarch64 has no dup2); `from` > 2 >= `to`, so never
            // the same number. The copy is not close-on-exec.
            // SAFETY: dup3 takes integers.
            if let Err(e) = check(unsafe { sc::syscall!(DUP3, from, to, 0) }) {
                return (wr, Err(e));
            }
        }
    }
    close_all_but(wr, fds.inherited);
    super::fdpass::keep_on_exec(fds.inherited);
    (wr, Ok(()))
}

/// Close every descriptor above 2 except `keep` and `kept` (ascending),
/// with one `close_range` per gap between them (Linux 5.9; before it,
/// one `close` per descriptor up to `FD_WALK_MAX`).
fn close_all_but(keep: i32, kept: &[i32]) {
    let mut from = 3u32;
    let mut others = kept.iter().copied().filter(|&k| k > 2).peekable();
    let mut pipe = Some(keep).filter(|&k| k > 2);
    loop {
        // The next kept number: the smaller of the pipe and the next
        // inherited one.
        let next = match (pipe, others.peek().copied()) {
            (Some(p), Some(o)) if o < p => others.next(),
            (Some(_), _) => pipe.take(),
            (None, _) => others.next(),
        };
        let Some(k) = next else { break };
        let k = k as u32;
        if k > from {
            close_range(from, k - 1);
        }
        from = from.max(k + 1);
    }
    close_range(from, u32::MAX);
}

/// `close_range(first, last, 0)`, or one `close` each where the kernel
/// lacks it.
fn close_range(first: u32, last: u32) {
    // SAFETY: close_range takes integers; closing has no memory effect.
    let r = unsafe { sc::syscall!(CLOSE_RANGE, first as usize, last as usize, 0) };
    if check(r).is_err() {
        for fd in first..=last.min(super::FD_WALK_MAX as u32) {
            super::close(fd as i32);
        }
    }
}

/// The longest path the child builds from a `$PATH` entry and a name
/// (`PATH_MAX`).
const PATH_BUF: usize = 4096;

/// `execvp`'s search (musl's `__execvpe`): `dir/name` for each `$PATH`
/// entry in order, an empty entry being the current directory; EACCES is
/// remembered and the search goes on, ENOENT and ENOTDIR go on, anything
/// else stops it. Returns the errno to report.
fn search(name: &[u8], path: &[u8], exec: &Exec<'_>, interp: &mut [u8], len: &mut usize) -> i32 {
    let mut buf = [0u8; PATH_BUF];
    let mut denied = false;
    for dir in path.split(|&b| b == b':') {
        let dir: &[u8] = if dir.is_empty() { b"." } else { dir };
        // `name` carries its NUL.
        let total = dir.len() + 1 + name.len();
        let Some(out) = buf.get_mut(..total) else {
            continue;
        };
        let (d, tail) = out.split_at_mut(dir.len());
        d.copy_from_slice(dir);
        let (slash, n) = tail.split_at_mut(1);
        slash[0] = b'/';
        n.copy_from_slice(name);
        match try_exec(out, exec, interp, len) {
            EACCES => denied = true,
            ENOENT | ENOTDIR => {}
            e => return e,
        }
    }
    if denied { EACCES } else { ENOENT }
}

/// `execve(path)`; it returns only on failure, with the errno. The kernel
/// answers ENOENT both for a file that is not there and for a script whose
/// `#!` interpreter is not there: the first such interpreter is named in
/// the report (`interp`, `len`).
fn try_exec(path: &[u8], exec: &Exec<'_>, interp: &mut [u8], len: &mut usize) -> i32 {
    // SAFETY: `path` ends with its NUL (built so, or checked by `Exec`);
    // argv and envp are NULL-terminated by construction of `Argv`.
    let r = unsafe {
        sc::syscall!(
            EXECVE,
            path.as_ptr(),
            exec.argv.as_ptr(),
            exec.envp.as_ptr()
        )
    };
    let errno = check(r).err().unwrap_or(EPIPE);
    if errno == ENOENT && *len == 0 {
        *len = missing_interpreter(path, interp);
    }
    errno
}

/// When the file at `path` (with its NUL) is a script whose `#!`
/// interpreter does not exist, copy the interpreter's name into `out` and
/// return its length; 0 otherwise. Raw syscalls and a stack buffer only
/// (it runs in the fork child); the file is opened O_NONBLOCK, so a FIFO
/// put in the program's place cannot block.
pub fn missing_interpreter(path: &[u8], out: &mut [u8]) -> usize {
    const AT_FDCWD: isize = -100;
    const O_RDONLY: usize = 0;
    const F_OK: usize = 0;
    let mut head = [0u8; INTERP_MAX + 1];
    // SAFETY: `path` is NUL-terminated (callers'); openat reads it only.
    let r = unsafe {
        sc::syscall!(
            OPENAT,
            AT_FDCWD,
            path.as_ptr(),
            O_RDONLY | O_NONBLOCK | O_CLOEXEC
        )
    };
    let Ok(fd) = check(r) else {
        return 0;
    };
    // SAFETY: reads at most INTERP_MAX bytes into the live `head`.
    let r = unsafe { sc::syscall!(READ, fd, head.as_mut_ptr(), INTERP_MAX) };
    super::close(fd as i32);
    let Ok(n) = check(r) else {
        return 0;
    };
    let Some((start, len)) = shebang(&head[..n.min(INTERP_MAX)]) else {
        return 0;
    };
    // NUL-terminate the name in place (over the blank or newline that
    // ended it; a name that fills the buffer ends at the extra byte).
    let Some(name) = head.get_mut(start..=start + len) else {
        return 0;
    };
    name[len] = 0;
    // SAFETY: `name` is NUL-terminated just above.
    let r = unsafe { sc::syscall!(FACCESSAT, AT_FDCWD, name.as_ptr(), F_OK, 0) };
    if !matches!(check(r), Err(ENOENT | ENOTDIR)) || len > out.len() {
        return 0;
    }
    out[..len].copy_from_slice(&name[..len]);
    len
}

/// Where the interpreter of a `#!` line is in `head` (start, length): the
/// first word after `#!` (blanks before it skipped), ending at a space, tab
/// or the line's end, as the kernel's binfmt_script reads it. `None` for a
/// file without one.
pub fn shebang(head: &[u8]) -> Option<(usize, usize)> {
    let rest = head.strip_prefix(b"#!")?;
    let start = rest.iter().position(|&b| b != b' ' && b != b'\t')?;
    let n = rest[start..]
        .iter()
        .position(|&b| matches!(b, b' ' | b'\t' | b'\n' | 0))
        .unwrap_or(rest.len() - start);
    (n > 0).then_some((start + 2, n))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;
    use std::time::{Duration, Instant};

    #[test]
    fn shebang_lines() {
        let table: &[(&[u8], Option<&[u8]>)] = &[
            (b"#!/bin/sh\necho", Some(b"/bin/sh")),
            (b"#!/bin/sh", Some(b"/bin/sh")),
            (b"#! /usr/bin/env python3\n", Some(b"/usr/bin/env")),
            (b"#!\t/bin/bash -e\n", Some(b"/bin/bash")),
            (b"#!/nonexistent/interp\n", Some(b"/nonexistent/interp")),
            (b"#!/bin/sh\r\n", Some(b"/bin/sh\r")),
            (b"#!python3\n", Some(b"python3")),
            (b"#!\n", None),
            (b"#!   \n", None),
            (b"#!", None),
            (b"# /bin/sh\n", None),
            (b"\x7fELF\x02", None),
            (b"", None),
            (b"echo hi\n", None),
        ];
        for &(head, want) in table {
            let got = shebang(head).map(|(start, n)| &head[start..start + n]);
            assert_eq!(got, want, "{:?}", head.escape_ascii().to_string());
        }
    }

    fn tempdir(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("dinit-spawn-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn cpath(p: &std::path::Path) -> Vec<u8> {
        let mut c = p.to_str().unwrap().as_bytes().to_vec();
        c.push(0);
        c
    }

    fn missing(path: &[u8]) -> Option<Vec<u8>> {
        let mut out = [0u8; INTERP_MAX];
        let n = missing_interpreter(path, &mut out);
        (n > 0).then(|| out[..n].to_vec())
    }

    #[test]
    fn missing_interpreters() {
        let dir = tempdir("interp");
        type Case = (&'static str, &'static [u8], Option<&'static [u8]>);
        let table: &[Case] = &[
            (
                "missing",
                b"#!/nonexistent/interp -x\n",
                Some(b"/nonexistent/interp"),
            ),
            ("notdir", b"#!/etc/passwd/sh\n", Some(b"/etc/passwd/sh")),
            ("crlf", b"#!/bin/sh\r\n", Some(b"/bin/sh\r")),
            ("present", b"#!/bin/sh\n", None),
            ("plain", b"\x7fELF", None),
            ("empty", b"", None),
        ];
        for &(name, body, want) in table {
            let p = dir.join(name);
            std::fs::write(&p, body).unwrap();
            assert_eq!(missing(&cpath(&p)).as_deref(), want, "{name}");
        }
        // A name that fills the whole buffer is still read to its end.
        let p = dir.join("long");
        let mut body = b"#!/".to_vec();
        body.resize(INTERP_MAX + 10, b'a');
        std::fs::write(&p, &body).unwrap();
        assert_eq!(missing(&cpath(&p)).map(|n| n.len()), Some(INTERP_MAX - 2));
        assert_eq!(missing(b"/nonexistent/script\0"), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_fifo_in_the_programs_place_does_not_block() {
        let dir = tempdir("fifo");
        let fifo = cpath(&dir.join("prog"));
        // SAFETY: mkfifo reads the NUL-terminated path only.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr().cast(), 0o755) }, 0);
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || tx.send(missing(&fifo)).unwrap());
        let got = rx
            .recv_timeout(Duration::from_secs(20))
            .expect("blocked on the FIFO");
        assert_eq!(got, None);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Spawn `exec` watched by a fresh epoll, wait (bounded) for its report,
    /// and reap it; the report and the exit status.
    fn run(exec: &Exec<'_>) -> (Report, i32) {
        run_with(exec, ChildFds::default())
    }

    /// `run`, with these descriptors for the child.
    fn run_with(exec: &Exec<'_>, fds: ChildFds<'_>) -> (Report, i32) {
        use rustix::event::epoll;
        let ep = epoll::create(epoll::CreateFlags::CLOEXEC).unwrap();
        let watch = Watch {
            epoll: rustix::fd::AsFd::as_fd(&ep),
            token_base: 1 << 32,
        };
        let child = spawn(exec, Group::Inherit, watch, fds).unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        let report = loop {
            let mut events = [epoll::Event {
                flags: epoll::EventFlags::empty(),
                data: epoll::EventData::new_u64(0),
            }; 1];
            let ts = rustix::time::Timespec {
                tv_sec: 0,
                tv_nsec: 50_000_000,
            };
            let n = epoll::wait(&ep, &mut events, Some(&ts)).unwrap_or(0);
            if n == 1 {
                assert_eq!(
                    events[0].data.u64(),
                    (1 << 32) + child.report.as_raw_fd() as u64
                );
                let r = read_report(rustix::fd::AsFd::as_fd(&child.report));
                if r != Report::Pending {
                    break r;
                }
            }
            assert!(Instant::now() < deadline, "no report");
        };
        let mut status = 0;
        // SAFETY: waits for our own child only, writing one int.
        let reaped = unsafe { libc::waitpid(child.pid, &mut status, 0) };
        assert_eq!(reaped, child.pid);
        (report, status)
    }

    fn argv<'a>(store: &'a mut [*const u8], words: &[&'a [u8]]) -> Argv<'a> {
        let mut b = ArgvBuilder::new(store);
        for w in words {
            b.push(w).unwrap();
        }
        b.finish()
    }

    /// A pipe, both ends close-on-exec.
    fn pipe() -> (OwnedFd, OwnedFd) {
        rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC).unwrap()
    }

    #[test]
    fn the_child_gets_its_stdio_and_what_is_kept_and_nothing_else() {
        use rustix::fd::AsFd;
        // A stray descriptor without close-on-exec (what a careless
        // parent leaves, or a fork copy of one dinit has not marked yet),
        // one to keep (an inherited one: close-on-exec until the child
        // opens it up), and a pipe for the job's stdout and stderr.
        let (stray_rd, stray) = pipe();
        super::super::fdpass::keep_on_exec(&[stray.as_raw_fd()]);
        let (kept_rd, kept) = pipe();
        let (out_rd, out) = pipe();
        let null = rustix::fs::open(
            c"/dev/null",
            rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::CLOEXEC,
            rustix::fs::Mode::empty(),
        )
        .unwrap();
        let (s, k) = (stray.as_raw_fd(), kept.as_raw_fd());
        let body = format!(
            "for n in {s} {k}; do [ -e /proc/self/fd/$n ] && echo has $n; done; \
             echo kept > /proc/self/fd/{k}; echo err >&2; read x || echo eof\0"
        );
        let mut store = [core::ptr::null(); 4];
        let args = argv(&mut store, &[b"sh\0", b"-c\0", body.as_bytes()]);
        let exec = Exec::new(b"/bin/sh\0", args, process_env()).unwrap();
        let kept_fds = [k];
        let fds = ChildFds {
            stdio: Some([null.as_fd(), out.as_fd(), out.as_fd()]),
            inherited: &kept_fds,
            listen_pid: None,
        };
        let (r, st) = run_with(&exec, fds);
        assert_eq!((r, st), (Report::Execed, 0));
        drop((stray, kept, out, null));
        let read_all = |fd: &OwnedFd| {
            let mut got = Vec::new();
            let mut buf = [0u8; 256];
            while let Ok(n @ 1..) = rustix::io::read(fd, &mut buf) {
                got.extend_from_slice(&buf[..n]);
            }
            String::from_utf8(got).unwrap()
        };
        assert_eq!(read_all(&out_rd), format!("has {k}\nerr\neof\n"));
        assert_eq!(read_all(&kept_rd), "kept\n");
        drop(stray_rd);
    }

    #[test]
    fn the_child_searches_reports_and_execs() {
        let dir = tempdir("exec");
        let script = dir.join("noshebang");
        std::fs::write(&script, "not a script\n").unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let orphan = dir.join("orphan");
        std::fs::write(&orphan, "#!/nonexistent/interp\n").unwrap();
        std::fs::set_permissions(&orphan, std::fs::Permissions::from_mode(0o755)).unwrap();
        let denied = dir.join("a");
        std::fs::create_dir_all(&denied).unwrap();
        std::fs::write(denied.join("true"), "").unwrap();
        let mut store = [core::ptr::null(); 4];
        let env = process_env();

        let (a, b) = (b"true\0".as_slice(), b"/usr/bin:/bin".as_slice());
        let args = argv(&mut store, &[b"true\0"]);
        let (r, st) = run(&Exec::search(a, b, args, env).unwrap());
        assert_eq!((r, st), (Report::Execed, 0));

        let mut store = [core::ptr::null(); 4];
        let args = argv(&mut store, &[b"x\0"]);
        let (r, _) = run(&Exec::new(b"/nonexistent/x\0", args, env).unwrap());
        assert_eq!(r, Report::Failed(Failure::new(ENOENT)));

        let p = cpath(&script);
        let (r, _) = run(&Exec::new(&p, args, env).unwrap());
        assert_eq!(r, Report::Failed(Failure::new(8)), "ENOEXEC");

        let p = cpath(&orphan);
        let Report::Failed(f) = run(&Exec::new(&p, args, env).unwrap()).0 else {
            panic!("the script ran")
        };
        assert_eq!(
            (f.errno, f.interpreter()),
            (ENOENT, Some(&b"/nonexistent/interp"[..]))
        );

        // EACCES (a file without x permission) wins over ENOENT, as in
        // execvp, and the search goes on past it.
        let path = format!("{}:/nonexistent", denied.display());
        let (r, _) = run(&Exec::search(b"true\0", path.as_bytes(), args, env).unwrap());
        assert_eq!(r, Report::Failed(Failure::new(EACCES)));
        let path = format!("{}:/usr/bin:/bin", denied.display());
        let (r, st) = run(&Exec::search(b"true\0", path.as_bytes(), args, env).unwrap());
        assert_eq!((r, st), (Report::Execed, 0));
        let (r, _) = run(&Exec::search(b"no-such-xyz\0", b"/bin::/usr/bin", args, env).unwrap());
        assert_eq!(r, Report::Failed(Failure::new(ENOENT)));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
