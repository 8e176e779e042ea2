//! The event loop: one thread, one epoll set, every signal read through a
//! signalfd, every deadline through the epoll timeout. While nothing happens
//! dinit sleeps in `epoll_pwait` with no timeout: no timers, no polling, no
//! system calls.
//!
//! Each turn (s6-svscan's shape): compute the earliest deadline, wait, read
//! the signals, reap if a SIGCHLD came (one SIGCHLD may stand for many
//! exits, so reap until nothing is left), then let the teardown machine act
//! on the time. A pid leaves the table in the same step that reaps it.
//!
//! Before leaving, PID 1 or not, dinit waits until it has no child at all
//! (SPEC §10): the machine says how to treat the children that are not in
//! the table — orphans it adopted as PID 1 or child subreaper — and the
//! loop looks at them (`sweep`) when the stop signal goes out, after every
//! reap (a dying process's children are reparented to dinit before dinit
//! reaps it), and while draining.
//!
//! From here on nothing allocates and nothing exits except through the
//! machine's `Exit`: a failing syscall is logged and survived.

use crate::cli::Config;
use crate::command::{Program, StartFailure};
use crate::error::{ECHILD, EINTR, ESRCH, Errno, ExitStatus, Num, SigName, Text};
use crate::log::Tally;
use crate::phase::{Action, Actions, Machine, Settings, Sweep, Why};
use crate::signals::{self, Handling, SIGCONT, SIGINT, SIGKILL, SIGMAX, SIGTERM};
use crate::socket::Server;
use crate::sys;
use crate::sys::signals::{SigInfo, kill, read_signals};
use crate::sys::spawn::Argv;
use crate::sys::spawn::{self, Group, SpawnError};
use crate::table::CmdText;
use crate::table::{OrphanSet, Proc, Table};
use rustix::event::epoll;
use rustix::fd::{AsFd, OwnedFd};

mod requests;

/// epoll token of the signalfd.
const TOKEN_SIGNALS: u64 = 0;

/// The commands to run, prepared at startup, and the room to prepare
/// submitted ones.
pub struct Plan<'a> {
    pub programs: &'a [Program<'a>],
    pub start: Option<Program<'a>>,
    pub prestop: Option<Program<'a>>,
    pub stop: Option<Program<'a>>,
    /// The children's environment.
    pub envp: Argv<'a>,
    /// Arena for one socket request at a time.
    pub socket_bytes: &'a mut [u8],
    pub socket_ptrs: &'a mut [*const u8],
    /// The `-pdeathsig` signal when dinit's parent was already gone before
    /// the kernel could be asked for it: acted on as if it had arrived.
    pub parent_gone: Option<i32>,
}

/// A helper command (start, prestop, stop) while it runs.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Aux {
    Start,
    Prestop,
    Stop,
}

impl Aux {
    fn name(self) -> Text<'static> {
        Text(match self {
            Aux::Start => "start",
            Aux::Prestop => "prestop",
            Aux::Stop => "stop",
        })
    }
}

pub struct Supervisor<'a> {
    cfg: &'a Config<'a>,
    plan: Plan<'a>,
    table: &'a mut Table,
    machine: Machine,
    epoll: OwnedFd,
    sigfd: OwnedFd,
    self_pid: i32,
    /// Running helper commands: at most one of each.
    aux: [Option<i32>; 3],
    orphans: Tally,
    /// Spawns that failed for want of resources (fork: a pids limit,
    /// RLIMIT_NPROC; the error pipe: EMFILE, ENFILE): rate-limited, with the
    /// last failure for the summary line.
    spawn_failures: Tally,
    spawn_failure: SpawnError,
    /// The last reap found no child at all.
    no_children: bool,
    /// Adopted orphans sent the stop signal or SIGKILL already.
    orphans_signalled: OrphanSet,
    /// With `-pgroup`: the process groups of managed commands that were sent
    /// the stop signal (each command's group is its pid). Their members got
    /// it with the group, so as orphans they are not sent it again.
    groups_signalled: OrphanSet,
    /// Listing the children failed once (warned about once).
    unlisted: bool,
    server: Option<Server>,
    /// The monotonic time, read once per loop turn (after the wait): every
    /// decision in a turn uses it, so a storm of events costs one clock read
    /// per turn, not one per event.
    now: u64,
}

impl<'a> Supervisor<'a> {
    pub fn new(
        cfg: &'a Config<'a>,
        plan: Plan<'a>,
        table: &'a mut Table,
        sigfd: OwnedFd,
    ) -> Result<Self, crate::error::Error<'static>> {
        let epoll =
            epoll::create(epoll::CreateFlags::CLOEXEC).map_err(|e| crate::error::Error::Sys {
                what: "unable to create epoll",
                errno: e.raw_os_error(),
            })?;
        epoll::add(
            &epoll,
            &sigfd,
            epoll::EventData::new_u64(TOKEN_SIGNALS),
            epoll::EventFlags::IN,
        )
        .map_err(|e| crate::error::Error::Sys {
            what: "unable to watch signalfd",
            errno: e.raw_os_error(),
        })?;
        let self_pid = sys::getpid();
        let settings = Settings {
            timeout_ms: cfg.timeout_ms,
            prestop_timer_ms: cfg.prestop_timer_ms,
            has_start: plan.start.is_some(),
            has_prestop: plan.prestop.is_some(),
            has_stop: plan.stop.is_some(),
            stop_signal: cfg.stop_signal,
            order: cfg.stop_order,
            success: cfg.success,
        };
        let machine = Machine::new(settings);
        // Created before the first command starts (SPEC §5); optional.
        let server = if cfg.socket.is_empty() {
            None
        } else {
            Server::open(cfg.socket, &epoll)
        };
        Ok(Supervisor {
            cfg,
            plan,
            table,
            machine,
            epoll,
            sigfd,
            self_pid,
            aux: [None; 3],
            orphans: Tally::default(),
            spawn_failures: Tally::default(),
            spawn_failure: SpawnError::Fork(0),
            no_children: false,
            orphans_signalled: OrphanSet::new(),
            groups_signalled: OrphanSet::new(),
            unlisted: false,
            server,
            now: sys::monotonic_ms(),
        })
    }

    /// Run until the machine says done; returns dinit's exit code.
    pub fn run(mut self) -> u8 {
        self.feed(|m, o| m.begin(o));
        if let Some(sig) = self.plan.parent_gone {
            info!(
                "parent exited before -pdeathsig was set; acting on {} now",
                SigName(sig)
            );
            self.on_signal(SigInfo { signo: sig, pid: 0 });
        }
        let mut events = [epoll::Event {
            flags: epoll::EventFlags::empty(),
            data: epoll::EventData::new_u64(0),
        }; 8];
        while !self.machine.is_done() {
            let timeout = self.next_deadline().map(|d| {
                // At most ~24 days per wait: longer timeouts would make
                // rustix use epoll_pwait2, which older kernels and some
                // seccomp profiles refuse. The loop simply waits again.
                let ms = d.saturating_sub(self.now).min(i32::MAX as u64);
                rustix::time::Timespec {
                    tv_sec: (ms / 1000) as i64,
                    tv_nsec: ((ms % 1000) * 1_000_000) as i64,
                }
            });
            let n = match epoll::wait(&self.epoll, &mut events[..], timeout.as_ref()) {
                Ok(n) => n,
                // epoll waits are never restarted (a ptrace attach, for one,
                // interrupts them): nothing happened, so wait again; the clock
                // is read only if a deadline needs it.
                Err(e) if e.raw_os_error() == EINTR => {
                    if timeout.is_some() {
                        self.now = sys::monotonic_ms();
                    }
                    continue;
                }
                Err(e) => {
                    warn!("epoll_wait failed: {}", Errno(e.raw_os_error()));
                    0
                }
            };
            self.now = sys::monotonic_ms();
            let mut reap = false;
            for ev in &events[..n.min(events.len())] {
                match ev.data.u64() {
                    TOKEN_SIGNALS => reap |= self.read_signals(),
                    token => self.on_socket(token),
                }
            }
            if reap {
                self.reap();
            }
            let now = self.now;
            if let Some(server) = self.server.as_mut() {
                server.expire(&self.epoll, now);
            }
            self.feed(|m, o| m.tick(now, o));
            log_orphans(self.orphans.flush(now));
            log_spawn_failures(self.spawn_failures.flush(now), self.spawn_failure);
        }
        log_orphans(self.orphans.take());
        log_spawn_failures(self.spawn_failures.take(), self.spawn_failure);
        if let Some(server) = self.server.take() {
            server.close();
        }
        self.exit_code()
    }

    fn next_deadline(&self) -> Option<u64> {
        let server = self.server.as_ref().and_then(Server::deadline);
        [
            self.machine.deadline(),
            self.orphans.deadline(),
            server,
            self.spawn_failures.deadline(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    fn exit_code(&self) -> u8 {
        self.machine.exit_code()
    }

    /// Feed the machine one event and perform what it says.
    fn feed(&mut self, event: impl FnOnce(&mut Machine, &mut Actions)) {
        let mut acts = Actions::new();
        event(&mut self.machine, &mut acts);
        self.perform(acts);
    }

    /// Drain the signalfd; returns whether a SIGCHLD came.
    fn read_signals(&mut self) -> bool {
        let mut batch = [SigInfo::default(); 16];
        let mut reap = false;
        loop {
            let n = read_signals(self.sigfd.as_fd(), &mut batch);
            for si in &batch[..n] {
                reap |= self.on_signal(*si);
            }
            if n < batch.len() {
                return reap;
            }
        }
    }

    /// Decide what one received signal means (the signal table's
    /// `Handling`, with the `-stopsignal` a stop request too); returns true
    /// for SIGCHLD.
    fn on_signal(&mut self, si: SigInfo) -> bool {
        let sig = si.signo;
        // A signal dinit raised itself (SIGPIPE from writing a log line to a
        // closed stderr, say) is about dinit, not for its children.
        if si.pid as i32 == self.self_pid && sig != SIGTERM && sig != SIGINT {
            return false;
        }
        match signals::handling(sig, self.cfg.stop_signal) {
            // Drives reaping; never forwarded.
            Some(Handling::Reap) => return true,
            // Teardown (SPEC §3, §9). While the start command runs, it gets
            // the signal and dinit exits with 128+N once it has finished.
            Some(Handling::Stop) => {
                info!("received {}, stopping", SigName(sig));
                let now = self.now;
                self.feed(|m, o| m.stop_request(sig, now, o));
            }
            Some(Handling::Forward) => self.forward(sig),
            // Job control is about dinit's own session (see the table);
            // faults and SIGKILL/SIGSTOP never come through the signalfd.
            _ => {}
        }
        false
    }

    /// Pass a signal on (SPEC §4), as `-rewrite` says: to the start command
    /// while it runs, otherwise to every managed process.
    fn forward(&self, sig: i32) {
        let to = self.cfg.rewrite.get(sig);
        let name = Rewritten(sig, to);
        if to == 0 {
            info!("dropped {} (-rewrite)", SigName(sig));
        } else if let Some(pid) = self.aux[Aux::Start as usize] {
            let _ = self.signal_pid(pid, to);
            info!("forwarded {name} to the start command");
        } else {
            let n = self.signal_all(to);
            info!("forwarded {name} to {} process{}", Num(n), es(n));
        }
    }

    /// Send `sig` to one child, or its process group with `-pgroup`.
    fn signal_pid(&self, pid: i32, sig: i32) -> Result<(), i32> {
        let target = if self.cfg.pgroup { -pid } else { pid };
        match kill(target, sig) {
            // The group may be gone while its leader is a zombie.
            Err(ESRCH) if self.cfg.pgroup => kill(pid, sig),
            r => r,
        }
    }

    /// Send `sig` to every managed process; returns how many were signalled.
    fn signal_all(&self, sig: i32) -> usize {
        self.table
            .iter()
            .filter(|p| self.signal_pid(p.pid, sig).is_ok())
            .count()
    }

    /// Reap every child that has exited. SIGCHLDs coalesce, so one signal
    /// may stand for many exits: loop until nothing is left. Then look at
    /// the children again: those of the dead are dinit's now.
    fn reap(&mut self) {
        let mut reaped = false;
        loop {
            match sys::reap_any() {
                Ok(Some((pid, status))) => {
                    reaped = true;
                    self.on_exit(pid, ExitStatus::from_raw(status));
                }
                Ok(None) => break,
                Err(ECHILD) => {
                    self.no_children = true;
                    break;
                }
                Err(_) => break,
            }
        }
        if reaped {
            self.sweep();
        }
        self.settle();
    }

    /// Signal the children that are not managed (not in the table, not a
    /// helper command): orphans adopted as PID 1 or child subreaper, as the
    /// machine says (SPEC §10). Each gets the stop signal once, SIGKILL once
    /// the deadline has passed; nothing is done before teardown. As PID 1
    /// too the stop signal goes to dinit's own children only, never through
    /// `kill(-1)`: that would reach the managed processes' own children
    /// (nginx's workers, say) and signal twice what was signalled already.
    fn sweep(&mut self) {
        let sig = match self.machine.sweep(self.now) {
            Sweep::Nothing => return,
            Sweep::Stop(sig) => sig,
            Sweep::Kill => SIGKILL,
        };
        let (table, aux, set) = (&*self.table, &self.aux, &mut self.orphans_signalled);
        let groups = &self.groups_signalled;
        let pgroup = self.cfg.pgroup;
        let mut n = 0usize;
        let listed = sys::children(|pid| {
            let managed = table.get(pid).is_some() || aux.contains(&Some(pid));
            // Still in the group of a command that got the stop signal
            // (`-pgroup` signals whole groups): it has had its one stop
            // signal; it is marked, and gets only the SIGKILL if it stays.
            // Asked only of an orphan about to be signalled.
            let had_it = || {
                sig != SIGKILL
                    && pgroup
                    && sys::getpgid(pid).is_some_and(|g| g != pid && groups.contains(g))
            };
            if !managed && set.mark(pid, sig == SIGKILL) && !had_it() && kill(pid, sig).is_ok() {
                n += 1;
                if sig != SIGKILL {
                    let _ = kill(pid, SIGCONT);
                }
            }
        });
        if n > 0 {
            // A kill is a warning, as for managed processes.
            let level = if sig == SIGKILL {
                crate::log::Level::Warn
            } else {
                crate::log::Level::Info
            };
            let what = format_args!(
                "sent {} to {} orphaned process{}",
                SigName(sig),
                Num(n),
                es(n)
            );
            crate::log::emit(level, what);
        }
        if let Err(errno) = listed
            && !self.unlisted
        {
            self.unlisted = true;
            warn!("unable to list child processes: {}", Errno(errno));
        }
    }

    fn on_exit(&mut self, pid: i32, status: ExitStatus) {
        let now = self.now;
        if let Some(p) = self.table.remove(pid) {
            if status.success() {
                info!("pid {} finished: {}", Num(pid), p.cmd);
            } else {
                info!("pid {} finished: {} with error: {status}", Num(pid), p.cmd);
            }
            if p.primary && self.machine.accepting() && !self.table.is_empty() {
                info!("pid {} was primary, signalling other processes", Num(pid));
            }
            let primary = p.primary.then_some(status);
            self.feed(|m, o| m.exited(pid, primary, now, o));
            return;
        }
        if let Some(i) = self.aux.iter().position(|a| *a == Some(pid)) {
            self.aux[i] = None;
            let which = [Aux::Start, Aux::Prestop, Aux::Stop][i];
            if status.success() {
                info!("{} command pid {} finished", which.name(), Num(pid));
            } else {
                warn!(
                    "{} command pid {} finished with error: {status}",
                    which.name(),
                    Num(pid)
                );
            }
            let ok = status.success();
            match which {
                Aux::Start => self.feed(|m, o| m.start_exited(ok, now, o)),
                Aux::Prestop => self.feed(|m, o| m.prestop_exited(now, o)),
                Aux::Stop => self.feed(|m, o| m.stop_exited(now, o)),
            }
            return;
        }
        // Not ours: an orphan reparented to dinit (PID 1 or subreaper).
        self.orphans_signalled.remove(pid);
        log_orphans(self.orphans.add(now));
    }

    /// Tell the machine when no child is left: no SIGCHLD would say so.
    fn settle(&mut self) {
        if self.no_children {
            self.feed(|m, o| m.children_gone(o));
        }
    }

    fn perform(&mut self, acts: Actions) {
        // Stop signals are logged one line per signal, not per process.
        let mut sent = [0u16; SIGMAX as usize + 1];
        for act in acts {
            self.act(act, &mut sent);
        }
        for (s, &n) in sent.iter().enumerate().filter(|(_, n)| **n > 0) {
            let n = usize::from(n);
            info!("sent {} to {} process{}", SigName(s as i32), Num(n), es(n));
        }
    }

    fn act(&mut self, act: Action, sent: &mut [u16; SIGMAX as usize + 1]) {
        let now = self.now;
        match act {
            Action::SpawnStart => {
                if !self.spawn_aux(Aux::Start) {
                    self.feed(|m, o| m.start_exited(false, now, o));
                }
            }
            Action::Launch => self.spawn_commands(),
            Action::SpawnPrestop => {
                if !self.spawn_aux(Aux::Prestop) {
                    self.feed(|m, o| m.prestop_exited(now, o));
                }
            }
            Action::SpawnStop => {
                if !self.spawn_aux(Aux::Stop) {
                    self.feed(|m, o| m.stop_exited(now, o));
                }
            }
            Action::PassToStart(sig) => {
                if let Some(pid) = self.aux[Aux::Start as usize] {
                    let _ = self.signal_pid(pid, sig);
                    let _ = self.signal_pid(pid, SIGCONT);
                }
            }
            Action::Stop { pid, sig } => {
                if self.stop(pid, sig) {
                    sent[sig as usize] += 1;
                }
            }
            Action::StopNext { pid, sig, waiting } => {
                self.stop(pid, sig);
                let cmd = self.table.get(pid).map_or(CmdText::EMPTY, |p| p.cmd);
                info!(
                    "sent {} to pid {} {cmd}, {} process{} still to stop",
                    SigName(sig),
                    Num(pid),
                    Num(usize::from(waiting)),
                    es(usize::from(waiting))
                );
            }
            Action::Kill { pid } => {
                warn!("pid {} did not stop in time, killing it", Num(pid));
                let _ = self.signal_pid(pid, SIGKILL);
            }
            Action::TermPrestop => {
                if let Some(pid) = self.aux[Aux::Prestop as usize] {
                    let _ = self.signal_pid(pid, SIGTERM);
                    let _ = self.signal_pid(pid, SIGCONT);
                }
            }
            Action::StopOrphans | Action::KillOrphans => self.sweep(),
            Action::KillAll(why) => {
                let n = self.signal_all(SIGKILL);
                if let Some(pid) = self.aux[Aux::Start as usize] {
                    log_aux_kill(Aux::Start, pid, why);
                    let _ = self.signal_pid(pid, SIGKILL);
                }
                if let Some(pid) = self.aux[Aux::Prestop as usize] {
                    let _ = self.signal_pid(pid, SIGKILL);
                }
                if n > 0 {
                    warn!("killing {} remaining process{}", Num(n), es(n));
                }
                self.kill_leftovers();
            }
            Action::KillStop(why) => {
                if let Some(pid) = self.aux[Aux::Stop as usize] {
                    log_aux_kill(Aux::Stop, pid, why);
                    let _ = self.signal_pid(pid, SIGKILL);
                }
            }
            Action::KillLeftovers => self.kill_leftovers(),
            // Look for "no child left" at once: no SIGCHLD would come.
            Action::Drain => {
                self.no_children = false;
                self.sweep();
                self.reap();
            }
            Action::Exit => {}
        }
    }

    /// Send one managed process its stop signal, then SIGCONT; true when
    /// it was sent.
    fn stop(&mut self, pid: i32, sig: i32) -> bool {
        if self.cfg.pgroup {
            self.groups_signalled.mark(pid, false);
        }
        let sent = self.signal_pid(pid, sig).is_ok();
        let _ = self.signal_pid(pid, SIGCONT);
        sent
    }

    /// SIGKILL every child that is not managed. As PID 1, `kill(-1)` first:
    /// from a namespace's init it reaches every other process in it, the
    /// children's own children too. Never when not PID 1: there it would
    /// reach every process of the user's.
    fn kill_leftovers(&mut self) {
        if self.self_pid == 1 {
            let _ = kill(-1, SIGKILL);
        }
        self.sweep();
    }

    fn spawn_commands(&mut self) {
        let last = self.plan.programs.len().saturating_sub(1);
        for (i, prog) in self.plan.programs.iter().enumerate() {
            let primary = self.cfg.primary_all || i == last;
            // With -pgroup the last command (the primary) gets the terminal.
            let group = match self.group() {
                Group::Own if i == last => Group::OwnWithTerminal,
                g => g,
            };
            match self.spawn(prog, group) {
                // Capacity was checked at startup; the table cannot be full.
                Ok(pid) => self.started(pid, primary, prog),
                Err(code) => {
                    let now = self.now;
                    self.feed(|m, o| m.abort(code, now, o));
                    self.settle();
                    return;
                }
            }
        }
    }

    /// Record a managed process that has just started, and log it. The
    /// caller has made sure the table has room.
    fn started(&mut self, pid: i32, primary: bool, prog: &Program<'_>) {
        let _ = self.table.insert(Proc {
            pid,
            primary,
            stop_signal: prog.stop_signal,
            started_ms: self.now,
            cmd: prog.cmd,
        });
        self.machine.started(pid, prog.stop_signal);
        info!("pid {} started: {}", Num(pid), prog.cmd);
    }

    /// Start a helper command; false when there is none or it could not
    /// start (the failure is logged).
    fn spawn_aux(&mut self, which: Aux) -> bool {
        let prog = match which {
            Aux::Start => self.plan.start,
            Aux::Prestop => self.plan.prestop,
            Aux::Stop => self.plan.stop,
        };
        let Some(prog) = prog else {
            return false;
        };
        let Ok(pid) = self.spawn(&prog, self.group()) else {
            return false;
        };
        info!(
            "{} command pid {} started: {}",
            which.name(),
            Num(pid),
            prog.cmd
        );
        self.aux[which as usize] = Some(pid);
        true
    }

    /// The process group children start in.
    fn group(&self) -> Group {
        if self.cfg.pgroup {
            Group::Own
        } else {
            Group::Inherit
        }
    }

    /// Start a program; on failure log why and return the exit code SPEC §3
    /// gives it (127, 126, 1).
    fn spawn(&mut self, prog: &Program<'_>, group: Group) -> Result<i32, u8> {
        self.spawn_program(prog, group)
            .map_err(crate::command::exit_code)
    }

    /// Start a program, logging a failure. Failures for want of resources
    /// are rate-limited: under a pids limit, RLIMIT_NPROC or a descriptor
    /// limit every submission of a storm fails the same way at once (SPEC
    /// §10). An exec failure is about its program and always logged.
    fn spawn_program(&mut self, prog: &Program<'_>, group: Group) -> Result<i32, SpawnError> {
        let r = spawn::spawn(&prog.exec, group);
        match r {
            Err(e @ (SpawnError::Fork(_) | SpawnError::Pipe(_))) => {
                self.spawn_failure = e;
                if let Some(n) = self.spawn_failures.add(self.now) {
                    log_failure(prog, e, n);
                }
            }
            Err(e) => log_failure(prog, e, 0),
            Ok(_) => {}
        }
        r
    }
}

/// Log why a program did not start; `since` is how many failures the line
/// stands for (`Since` says nothing for 0 or 1).
#[inline(never)] // cold path: its file buffer stays out of the loop's frame
fn log_failure(prog: &Program<'_>, e: SpawnError, since: u32) {
    warn!("{}{}", StartFailure::new(prog, e), crate::log::Since(since));
}

/// Log why the start or stop command is SIGKILLed before it finished: its
/// time ran out (for an interrupted start command, the grace period after
/// the signal), or a second stop request cut the wait short.
fn log_aux_kill(which: Aux, pid: i32, why: Why) {
    let (name, pid) = (which.name(), Num(pid));
    match why {
        Why::Timeout if which == Aux::Start => {
            warn!("{name} command pid {pid} did not stop in time, killing it")
        }
        Why::Timeout => warn!("{name} command pid {pid} timed out, killing it"),
        Why::Signal(sig) => warn!(
            "{name} command pid {pid} killed on {} received during teardown",
            SigName(sig)
        ),
    }
}

/// Log a summary of spawn failures, when the tally says one is due, in
/// the words of the last one.
fn log_spawn_failures(due: Option<u32>, last: SpawnError) {
    let Some(n) = due else { return };
    let (what, errno) = match last {
        SpawnError::Pipe(e) => ("start", e),
        SpawnError::Fork(e) | SpawnError::Exec(e) => ("fork", e),
    };
    let what = Text(what);
    warn!("unable to {what} {}: {}", crate::log::More(n), Errno(errno));
}

/// Log an orphan summary, when the tally says one is due.
fn log_orphans(due: Option<u32>) {
    if let Some(n) = due {
        info!("reaped {} orphaned process{}", Num(n), es(n as usize));
    }
}

/// A forwarded signal for a log line: `SIGHUP`, or `SIGHUP as SIGUSR1`
/// when `-rewrite` changed it.
struct Rewritten(i32, i32);

impl core::fmt::Display for Rewritten {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}", SigName(self.0))?;
        if self.1 != self.0 {
            write!(f, " as {}", SigName(self.1))?;
        }
        Ok(())
    }
}

/// The plural ending of "process".
fn es(n: usize) -> Text<'static> {
    Text(if n == 1 { "" } else { "es" })
}
