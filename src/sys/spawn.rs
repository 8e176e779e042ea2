//! The one audited fork: `clone(SIGCHLD)` + `execve`, with a close-on-exec
//! error pipe so the parent learns whether the exec happened.
//!
//! Everything the child touches is built before the fork by the caller: the
//! path and the NULL-terminated argv and envp arrays. The child only makes
//! raw syscalls (libc's fork bookkeeping never ran, see the module Safety in
//! `sys`): optional `setpgid(0, 0)`, an empty signal mask, `execve`, and on
//! failure the 4-byte errno down the pipe and `exit_group`. Signal
//! dispositions need no reset here: `init` put every one back to the default
//! at startup and dinit installs no handler, and exec resets handlers anyway.
//! Every fd dinit opens is close-on-exec, so the child keeps only 0–2 (and
//! whatever dinit itself inherited).

use super::errno::EPIPE;
use super::{Static, check};

/// Why a spawn failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpawnError {
    /// pipe2 failed: no descriptors for the error pipe (EMFILE, ENFILE), so
    /// nothing was forked; dinit's own problem (exit 1).
    Pipe(i32),
    /// clone failed (EAGAIN under a pids limit, ENOMEM): exit 1.
    Fork(i32),
    /// execve failed in the child with this errno (127/126 material).
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

/// A program ready to run.
#[derive(Clone, Copy)]
pub struct Exec<'s> {
    path: &'s [u8],
    argv: Argv<'s>,
    envp: Argv<'s>,
}

impl<'s> Exec<'s> {
    /// `path` must end with its NUL (checked).
    pub fn new(path: &'s [u8], argv: Argv<'s>, envp: Argv<'s>) -> Option<Self> {
        (path.last() == Some(&0)).then_some(Exec { path, argv, envp })
    }

    /// The resolved path `execve` gets, with its NUL.
    pub fn path(&self) -> &'s [u8] {
        self.path
    }
}

/// `SIGCHLD` as the clone exit signal: the child is an ordinary fork child.
const CLONE_EXIT_SIGCHLD: usize = 17;
const O_CLOEXEC: usize = 0o2000000;

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

/// Start `exec` in a new process (in a new process group when `pgroup`),
/// returning its pid once it has called `execve` successfully.
pub fn spawn(exec: &Exec<'_>, group: Group) -> Result<i32, SpawnError> {
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
    check(unsafe { sc::syscall!(PIPE2, fds.as_mut_ptr(), O_CLOEXEC) }).map_err(SpawnError::Pipe)?;
    let [rd, wr] = fds;

    // SAFETY: a fork-like clone (no CLONE_VM, no new stack): the child gets a
    // copy-on-write copy of this process and continues here with 0.
    let r = unsafe { sc::syscall!(CLONE, CLONE_EXIT_SIGCHLD, 0, 0, 0, 0) };
    let pid = match check(r) {
        Err(e) => {
            super::close(rd);
            super::close(wr);
            return Err(SpawnError::Fork(e));
        }
        // SAFETY: we are the child of a raw clone; `exec`'s pointers are
        // valid by construction (Argv, Exec::new) and `wr` is open.
        Ok(0) => unsafe { child(exec, wr, group, own_group) },
        Ok(pid) => pid as i32,
    };

    super::close(wr);
    if pgroup {
        // Also from the parent, as shells do, so the group exists before
        // dinit signals it whichever side runs first. EACCES after the
        // child's exec is harmless: the child did it already.
        // SAFETY: setpgid takes two integers.
        let _ = unsafe { sc::syscall!(SETPGID, pid, pid) };
    }
    let mut errno = [0u8; 4];
    let mut got = 0;
    while got < errno.len() {
        // `read` retries EINTR itself.
        match super::read(rd, &mut errno[got..]) {
            Ok(0) | Err(_) => break,
            Ok(n) => got += n,
        }
    }
    super::close(rd);
    if got == 0 {
        return Ok(pid);
    }
    // The child failed before or at execve and is exiting: reap it now so
    // it never appears as a process that ran.
    super::reap(pid);
    let e = if got == errno.len() {
        i32::from_ne_bytes(errno)
    } else {
        EPIPE
    };
    Err(SpawnError::Exec(e))
}

/// The fork child. Never returns.
///
/// # Safety
///
/// Only to be called in the child of a raw clone.
unsafe fn child(exec: &Exec<'_>, wr: i32, group: Group, parent_group: usize) -> ! {
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
    // A raw rt_sigprocmask, safe here like every call in this function.
    super::signals::set_mask(super::signals::SigSet::EMPTY);
    // SAFETY: the pointers are valid and NUL/NULL-terminated by
    // construction of `Exec` and `Argv`.
    let r = unsafe {
        sc::syscall!(
            EXECVE,
            exec.path.as_ptr(),
            exec.argv.as_ptr(),
            exec.envp.as_ptr()
        )
    };
    let errno = check(r).err().unwrap_or(0).to_ne_bytes();
    // SAFETY: writes 4 bytes from a live array to our pipe.
    let _ = unsafe { sc::syscall!(WRITE, wr, errno.as_ptr(), errno.len()) };
    super::exit(127)
}
