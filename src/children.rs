//! The children: every process dinit forked or adopted, as one thing — the
//! table of managed processes, the helper commands (`-start`, `-prestop`,
//! `-stop`), the orphans it signalled, reaping and the sweep. The system
//! calls go through [`Os`], a small interface a unit test fakes (as
//! `resolve` takes its file probe), so the supervisor is tested without
//! processes.
//!
//! Every pid here is dinit's own live or zombie child: a pid enters when
//! the fork returns it and leaves in the same step that reaps it. A
//! managed process is `Starting` until its report pipe says the exec
//! happened (or failed): the loop watches the pipe, never waits for it.
//!
//! Per reaped child the bookkeeping is O(1) (the table's pid index, the
//! orphan set's map), whatever the storm. Nothing here allocates.

use crate::error::{ECHILD, ESRCH, ExitStatus};
use crate::sys;
use crate::sys::spawn::{ChildFds, Exec, Group, Report, SpawnError, Spawned, Watch, read_report};
use crate::table::PROC_MAX;
use crate::table::{Full, OrphanSet, Proc, State, Table};
use rustix::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

/// The operating system as the children see it: what a unit test fakes.
pub trait Os {
    /// The monotonic clock in milliseconds.
    fn now(&mut self) -> u64;
    /// Fork a child running `exec` with the descriptors `fds` says, its
    /// report pipe watched as `watch` says.
    fn spawn(
        &mut self,
        exec: &Exec<'_>,
        group: Group,
        watch: Watch<'_>,
        fds: ChildFds<'_>,
    ) -> Result<Spawned, SpawnError>;
    /// `kill(pid, sig)`.
    fn kill(&mut self, pid: i32, sig: i32) -> Result<(), i32>;
    /// `wait4(-1, WNOHANG)`: a reaped child and its raw status, `None` when
    /// none has exited, `Err(ECHILD)` when there is none.
    fn reap(&mut self) -> Result<Option<(i32, i32)>, i32>;
    /// Call `f` with each of dinit's children (`/proc/thread-self/children`).
    fn children(&mut self, f: &mut dyn FnMut(i32)) -> Result<(), i32>;
    /// The process group of one of dinit's children.
    fn pgid(&mut self, pid: i32) -> Option<i32>;
}

/// The real system.
pub struct System;

impl Os for System {
    fn now(&mut self) -> u64 {
        sys::monotonic_ms()
    }

    fn spawn(
        &mut self,
        exec: &Exec<'_>,
        group: Group,
        watch: Watch<'_>,
        fds: ChildFds<'_>,
    ) -> Result<Spawned, SpawnError> {
        sys::spawn::spawn(exec, group, watch, fds)
    }

    fn kill(&mut self, pid: i32, sig: i32) -> Result<(), i32> {
        sys::signals::kill(pid, sig)
    }

    fn reap(&mut self) -> Result<Option<(i32, i32)>, i32> {
        sys::reap_any()
    }

    fn children(&mut self, f: &mut dyn FnMut(i32)) -> Result<(), i32> {
        sys::children(f)
    }

    fn pgid(&mut self, pid: i32) -> Option<i32> {
        sys::getpgid(pid)
    }
}

/// A helper command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Helper {
    Start,
    Prestop,
    Stop,
}

impl Helper {
    /// Each, in the order of `Children`'s helper slots.
    const ALL: [Helper; 3] = [Helper::Start, Helper::Prestop, Helper::Stop];

    pub fn name(self) -> &'static str {
        match self {
            Helper::Start => "start",
            Helper::Prestop => "prestop",
            Helper::Stop => "stop",
        }
    }
}

/// Whether the child `pid` is a managed process or a helper command (what
/// is neither is an adopted orphan). A free function: the callers hold
/// other parts of `Children` mutably.
fn ours(table: &Table, helpers: &[Option<Aux>; 3], pid: i32) -> bool {
    table.get(pid).is_some() || helpers.iter().flatten().any(|a| a.pid == pid)
}

/// A running helper command.
#[derive(Clone, Copy, Debug)]
struct Aux {
    pid: i32,
    state: State,
}

/// Who a child is. (Large by design: it lives on the stack for a moment,
/// and there is no heap to box the entry in.)
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Copy, Debug)]
pub enum Who {
    Managed(Proc),
    Helper(Helper),
}

/// Who a reaped child was ([`Children::forget`]). (Large by design, as
/// `Who`.)
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Copy, Debug)]
pub enum Gone {
    /// An orphan adopted by dinit: the common case of a storm, built
    /// without copying anything else.
    Orphan,
    /// A managed process, out of the table now (its `state` says whether
    /// its report was read: `Starting` means not yet, see
    /// [`Children::late_report`]; `Failed` means its failure was told).
    Managed(Proc),
    /// A helper command, and the same about its report.
    Helper(Helper, State),
}

/// Why a managed process could not be started.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotStarted {
    /// The process table is full.
    Full,
    Spawn(SpawnError),
}

/// The most new orphans one sweep signals.
const SWEEP_MAX: usize = 512;

/// Whether `/proc/thread-self/children` can be read and trusted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Listing {
    Usable,
    /// Failed once (warned about once); tried again each time.
    Failing,
    /// That `/proc` belongs to another PID namespace: its pids name other
    /// processes, so it is never read (SPEC §10).
    Foreign,
}

pub struct Children<'a, O: Os> {
    pub os: O,
    table: &'a mut Table,
    helpers: [Option<Aux>; 3],
    /// Report pipes of the children still starting: fd → pid.
    starting: heapless::Vec<(OwnedFd, i32), { PROC_MAX + 3 }>,
    /// Adopted orphans sent the stop signal or SIGKILL already.
    orphans: OrphanSet,
    /// With `-pgroup`: the process groups of managed commands that were
    /// sent the stop signal (each command's group is its pid). Their
    /// members got it with the group, so as orphans they are not sent it
    /// again.
    groups: OrphanSet,
    pgroup: bool,
    self_pid: i32,
    listing: Listing,
    /// The last reap found no child at all (reset by each spawn).
    none_left: bool,
}

impl<'a, O: Os> Children<'a, O> {
    /// `proc_foreign`: `/proc` is of another PID namespace (never read).
    pub fn new(
        os: O,
        table: &'a mut Table,
        pgroup: bool,
        self_pid: i32,
        proc_foreign: bool,
    ) -> Self {
        Children {
            os,
            table,
            helpers: [None; 3],
            starting: heapless::Vec::new(),
            orphans: OrphanSet::new(),
            groups: OrphanSet::new(),
            pgroup,
            self_pid,
            listing: if proc_foreign {
                Listing::Foreign
            } else {
                Listing::Usable
            },
            none_left: false,
        }
    }

    pub fn table(&self) -> &Table {
        self.table
    }

    /// Room for `n` more managed processes.
    pub fn has_room(&self, n: usize) -> bool {
        self.table.len() + n <= PROC_MAX
    }

    /// Managed processes (starting or running).
    pub fn managed(&self) -> impl Iterator<Item = &Proc> {
        self.table.iter().filter(|p| p.is_managed())
    }

    /// The pid of a helper command while it runs.
    pub fn helper(&self, which: Helper) -> Option<i32> {
        self.helpers[which as usize].map(|a| a.pid)
    }

    /// The last reap found no child at all.
    pub fn none_left(&self) -> bool {
        self.none_left
    }

    /// Fork a managed process (`proc.pid` is set here) and record it,
    /// `Starting`; nothing is forked when the table has no room.
    pub fn spawn_managed(
        &mut self,
        exec: &Exec<'_>,
        group: Group,
        watch: Watch<'_>,
        fds: ChildFds<'_>,
        mut proc: Proc,
    ) -> Result<i32, NotStarted> {
        if self.table.is_full() {
            return Err(NotStarted::Full);
        }
        let child = self
            .fork(exec, group, watch, fds)
            .map_err(NotStarted::Spawn)?;
        proc.pid = child.pid;
        proc.state = State::Starting { signalled: false };
        // Room was checked, and a new pid is not in the table.
        let _ = self.table.insert(proc);
        let _ = self.watch(child);
        Ok(proc.pid)
    }

    /// Fork a helper command and record it, `Starting`.
    pub fn spawn_helper(
        &mut self,
        which: Helper,
        exec: &Exec<'_>,
        group: Group,
        watch: Watch<'_>,
    ) -> Result<i32, SpawnError> {
        let child = self.fork(exec, group, watch, ChildFds::default())?;
        let pid = child.pid;
        self.helpers[which as usize] = Some(Aux {
            pid,
            state: State::Starting { signalled: false },
        });
        let _ = self.watch(child);
        Ok(pid)
    }

    fn fork(
        &mut self,
        exec: &Exec<'_>,
        group: Group,
        watch: Watch<'_>,
        fds: ChildFds<'_>,
    ) -> Result<Spawned, SpawnError> {
        let child = self.os.spawn(exec, group, watch, fds)?;
        self.none_left = false;
        Ok(child)
    }

    /// Keep a starting child's report pipe (there is room for every child
    /// the table and the helpers can hold).
    fn watch(&mut self, child: Spawned) -> Result<(), Full> {
        self.starting
            .push((child.report, child.pid))
            .map_err(|_| Full)
    }

    /// The report pipe `fd` is readable: what it says, for which pid, and
    /// whether dinit signalled the child while it was starting (see
    /// [`State::Starting`]), once it says something (the pipe leaves
    /// `epoll` and is closed then).
    pub fn report(&mut self, fd: i32, epoll: BorrowedFd<'_>) -> Option<(i32, Report, bool)> {
        let i = self
            .starting
            .iter()
            .position(|(p, _)| p.as_raw_fd() == fd)?;
        let report = read_report(self.starting[i].0.as_fd());
        if report == Report::Pending {
            return None;
        }
        let (pipe, pid) = self.starting.swap_remove(i);
        sys::unwatch(epoll, pipe);
        // Record what it said.
        let mut signalled = false;
        if let Some(state) = self.state_mut(pid) {
            signalled = *state == State::Starting { signalled: true };
            *state = match report {
                Report::Failed(_) => State::Failed,
                _ => State::Running,
            };
        }
        Some((pid, report, signalled))
    }

    /// The state of a managed process or helper command.
    fn state_mut(&mut self, pid: i32) -> Option<&mut State> {
        if let Some(p) = self.table.get_mut(pid) {
            return Some(&mut p.state);
        }
        let a = self.helpers.iter_mut().flatten().find(|a| a.pid == pid)?;
        Some(&mut a.state)
    }

    /// Reap one child that has exited, if any. SIGCHLDs coalesce: the
    /// caller loops until `None`, and calls [`Children::forget`] with each
    /// pid in the same step.
    pub fn reap(&mut self) -> Option<(i32, ExitStatus)> {
        match self.os.reap() {
            Ok(Some((pid, raw))) => Some((pid, ExitStatus::from_raw(raw))),
            Ok(None) => None,
            Err(ECHILD) => {
                self.none_left = true;
                None
            }
            Err(_) => None,
        }
    }

    /// A reaped child leaves: who it was. O(1): a hash lookup and three
    /// compares.
    pub fn forget(&mut self, pid: i32) -> Gone {
        if let Some(p) = self.table.remove(pid) {
            return Gone::Managed(p);
        }
        if let Some(i) = self
            .helpers
            .iter()
            .position(|a| a.is_some_and(|a| a.pid == pid))
        {
            let which = Helper::ALL[i];
            let state = self.helpers[i].take().map_or(State::Running, |a| a.state);
            return Gone::Helper(which, state);
        }
        // Not ours: an orphan reparented to dinit (PID 1 or subreaper).
        self.orphans.remove(pid);
        Gone::Orphan
    }

    /// The report of a child reaped while `Starting`: it wrote it (or not)
    /// before it exited, so it is final. End of file when it exec'd, or
    /// when it died before it could say (its status tells how).
    pub fn late_report(&mut self, pid: i32, epoll: BorrowedFd<'_>) -> Report {
        let Some(i) = self.starting.iter().position(|(_, p)| *p == pid) else {
            return Report::Execed;
        };
        let (fd, _) = self.starting.swap_remove(i);
        let report = read_report(fd.as_fd());
        sys::unwatch(epoll, fd);
        match report {
            Report::Pending => Report::Execed,
            r => r,
        }
    }

    /// Whether the managed process `pid` that the socket line `conn`
    /// started can run nothing more: reaped (the pid may name another
    /// process by now), its exec failed, or sent SIGKILL (it may be stuck
    /// in the kernel, but it never returns to its program).
    pub fn finished(&self, pid: i32, conn: u64) -> bool {
        self.table
            .get(pid)
            .is_none_or(|p| p.conn != conn || p.killed || p.state == State::Failed)
    }

    /// Send `sig` to one child, or its process group with `-pgroup`. A
    /// child still starting may die of it before its exec; one sent
    /// SIGKILL runs nothing more: both are noted.
    pub fn signal(&mut self, pid: i32, sig: i32) -> Result<(), i32> {
        if let Some(p) = self.table.get_mut(pid) {
            p.killed |= sig == crate::signals::SIGKILL;
        }
        if let Some(State::Starting { signalled }) = self.state_mut(pid) {
            *signalled = true;
        }
        if !self.pgroup {
            return self.os.kill(pid, sig);
        }
        match self.os.kill(-pid, sig) {
            // The group may be gone while its leader is a zombie.
            Err(ESRCH) => self.os.kill(pid, sig),
            r => r,
        }
    }

    /// Send a managed process or a helper command its stop signal, then
    /// SIGCONT; true when it was sent. With `-pgroup` its group is noted:
    /// an orphan left in it has had its stop signal (see `sweep`).
    pub fn stop(&mut self, pid: i32, sig: i32) -> bool {
        if self.pgroup {
            self.groups.mark(pid, false);
        }
        let sent = self.signal(pid, sig).is_ok();
        let _ = self.signal(pid, crate::signals::SIGCONT);
        sent
    }

    /// Forward `sig` to every managed process whose exec happened (one
    /// still starting is not yet the program the signal is meant for);
    /// returns how many got it.
    pub fn forward(&mut self, sig: i32) -> usize {
        self.signal_each(sig, |p| p.state == State::Running)
    }

    /// SIGKILL every managed process (starting ones too); how many.
    pub fn kill_managed(&mut self) -> usize {
        self.signal_each(crate::signals::SIGKILL, Proc::is_managed)
    }

    /// Send `sig` to each table entry `which` picks; how many got it.
    fn signal_each(&mut self, sig: i32, which: impl Fn(&Proc) -> bool) -> usize {
        let mut pids = [0i32; PROC_MAX];
        let mut n = 0;
        for p in self.table.iter().filter(|p| which(p)) {
            pids[n] = p.pid;
            n += 1;
        }
        pids[..n]
            .iter()
            .filter(|&&pid| self.signal(pid, sig).is_ok())
            .count()
    }

    /// Send `sig` (+SIGCONT unless SIGKILL) to every child that is not
    /// managed (not in the table, not a helper command): orphans adopted
    /// as PID 1 or child subreaper (SPEC §10). Each gets the stop signal
    /// once, SIGKILL once. As PID 1 too the stop signal goes to dinit's own
    /// children only, never through `kill(-1)`: that would reach the
    /// managed processes' own children (nginx's workers, say) and signal
    /// twice what was signalled already. Returns how many were signalled,
    /// and the errno when the children cannot be listed (first time only).
    pub fn sweep(&mut self, sig: i32) -> (usize, Option<i32>) {
        use crate::signals::{SIGCONT, SIGKILL};
        // No child left: nothing to look at (and no /proc read for it).
        if self.none_left || self.listing == Listing::Foreign {
            return (0, None);
        }
        let kill = sig == SIGKILL;
        // Up to SWEEP_MAX new ones per look; any beyond are not marked, so
        // the next look (after the next reap, at the deadline) takes them.
        let mut found: heapless::Vec<i32, SWEEP_MAX> = heapless::Vec::new();
        let (table, helpers, orphans) = (&*self.table, &self.helpers, &mut self.orphans);
        let listed = self.os.children(&mut |pid| {
            if !ours(table, helpers, pid) && !found.is_full() && orphans.mark(pid, kill) {
                let _ = found.push(pid);
            }
        });
        let mut signalled = 0;
        for &pid in &found {
            // Still in the group of a command that got the stop signal
            // (`-pgroup` signals whole groups): it has had its one stop
            // signal; it is marked, and gets only the SIGKILL if it stays.
            // Asked only of an orphan about to be signalled.
            if !kill && self.pgroup {
                let group = self.os.pgid(pid);
                if group.is_some_and(|g| g != pid && self.groups.contains(g)) {
                    continue;
                }
            }
            if self.os.kill(pid, sig).is_ok() {
                signalled += 1;
                if !kill {
                    let _ = self.os.kill(pid, SIGCONT);
                }
            }
        }
        let errno = match listed {
            Err(e) if self.listing == Listing::Usable => {
                self.listing = Listing::Failing;
                Some(e)
            }
            Err(_) => None,
            Ok(()) => {
                self.listing = Listing::Usable;
                None
            }
        };
        (signalled, errno)
    }

    /// SIGKILL every child that is not managed. As PID 1, `kill(-1)` first:
    /// from a namespace's init it reaches every other process in it, the
    /// children's own children too. Never when not PID 1: there it would
    /// reach every process of the user's.
    pub fn kill_leftovers(&mut self) -> (usize, Option<i32>) {
        if self.self_pid == 1 {
            let _ = self.os.kill(-1, crate::signals::SIGKILL);
        }
        self.sweep(crate::signals::SIGKILL)
    }

    /// Who `pid` is, if it is a managed process or a helper command.
    pub fn who(&self, pid: i32) -> Option<Who> {
        if let Some(p) = self.table.get(pid) {
            return Some(Who::Managed(*p));
        }
        let i = self
            .helpers
            .iter()
            .position(|a| a.is_some_and(|a| a.pid == pid))?;
        Some(Who::Helper(Helper::ALL[i]))
    }

    /// Call `f` with every child still there (for the last line, when
    /// dinit gives up on what is stuck): managed processes and helpers
    /// with their command, other children (when they can be listed)
    /// without.
    pub fn left(&mut self, mut f: impl FnMut(i32, Option<&Proc>)) {
        for p in self.table.iter() {
            f(p.pid, Some(p));
        }
        for a in self.helpers.iter().flatten() {
            f(a.pid, None);
        }
        if self.listing != Listing::Foreign {
            let (table, helpers) = (&*self.table, &self.helpers);
            let _ = self.os.children(&mut |pid| {
                if !ours(table, helpers, pid) {
                    f(pid, None);
                }
            });
        }
    }
}
