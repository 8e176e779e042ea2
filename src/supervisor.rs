//! The event loop: one thread, one epoll set, every signal read through a
//! signalfd, every deadline through the epoll timeout, every child's exec
//! reported through a pipe in the same set. While nothing happens dinit
//! sleeps in `epoll_pwait` with no timeout: no timers, no polling, no
//! system calls.
//!
//! Each turn, in s6-svscan's shape: wait until the earliest deadline; read
//! what happened — signals, socket lines, exec reports, exits (one SIGCHLD
//! may stand for many, so reap until nothing is left) and the time — and
//! feed it to the teardown machine, which changes state and queues
//! actions; then perform the queued actions, once, in one place
//! ([`Supervisor::perform`]). Performing never calls back into the machine
//! (it only tells it what was forked, [`Machine::started`]) or into
//! reaping: what an action finds (a command or helper that could not be
//! forked) is an event of the next turn, which then starts without
//! waiting. The handlers queue actions of their own too: the next
//! command-line command is launched once the one before it has reported
//! its exec ([`Action::Launch`]). Last in a turn, with the SIGKILLs
//! performed, the clients whose line failed are answered once all of it
//! can run nothing more (`Server::settle`).
//!
//! Forks happen in performing, with one exception: a client's line
//! (SPEC §5, `requests`) starts its commands while it is served, in the
//! event phase. Its programs are built in the one request arena, which
//! holds one line at a time, so they cannot wait for the end of the turn;
//! and the line is all or nothing, so its forks and its verdict belong
//! together. What the machine hears of them it hears as events (each
//! fork, then [`Machine::drop_process`] for the processes of a line that
//! failed), as from any other handler.
//!
//! Before leaving, PID 1 or not, dinit waits until it has no child at all
//! (SPEC §10): the machine says how to treat the children that are not
//! managed — orphans adopted as PID 1 or child subreaper — and the loop
//! looks at them when their stop signal is due, after every reap (a dying
//! process's children are reparented to dinit before dinit reaps it), and
//! while draining.
//!
//! From here on nothing allocates and nothing exits except through the
//! machine's `Exit`: a failing syscall is logged and survived.

use crate::children::{Children, Gone, Helper, NotStarted, Os, Who};
use crate::cli::Config;
use crate::command::{self, Program, StartFailure};
use crate::error::{EINTR, Errno, Num, SigName};
use crate::inherit::Inherited;
use crate::log::Tally;
use crate::phase::{Action, Actions, Machine, Settings, Sweep, Why};
use crate::signals::{self, Handling, SIGKILL, SIGMAX, SIGPIPE, SIGTERM, SIGXFSZ};
use crate::socket::Server;
use crate::sys;
use crate::sys::fdpass::PidSlot;
use crate::sys::signals::{SigInfo, read_signals};
use crate::sys::spawn::{Argv, ChildFds, Group, Report, SpawnError, Watch};
use crate::table::{Proc, State, Table};
use rustix::event::epoll;
use rustix::fd::{AsFd, OwnedFd};

mod requests;
#[cfg(test)]
mod tests;

/// epoll token of the signalfd (the socket's are 1 and up, below 2^32).
const TOKEN_SIGNALS: u64 = 0;
/// epoll tokens of exec report pipes: this plus the pipe's fd.
const TOKEN_REPORT: u64 = 1 << 32;
/// Batches of 16 signals read per turn. A flood of signals (a same-uid
/// process can queue thousands of real-time ones) must not starve reaping
/// and the socket: the signalfd stays readable, and the level-triggered
/// epoll brings the loop back to it after the rest of the turn.
const SIGNAL_BATCHES: usize = 4;
/// The longest pause after `epoll_wait` failed (it backs off from 1 ms).
const WAIT_ERROR_PAUSE_MAX_MS: u64 = 1_000;

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
    /// The descriptors dinit inherited (SPEC §11), for `heir`, the index
    /// in `programs` of the primary that gets them, and its `LISTEN_PID=`
    /// entry when dinit was socket activated.
    pub inherited: Inherited,
    pub heir: Option<usize>,
    pub listen_pid: Option<PidSlot<'a>>,
}

/// What performing an action found out, for the machine at the next turn.
#[derive(Clone, Copy, Debug)]
enum Deferred {
    /// This helper command could not be forked.
    HelperFailed(Helper),
    /// A command-line command could not be forked: exit with this code.
    Abort(u8),
}

/// The command line's commands are started one at a time, in order (SPEC
/// §3): the next is forked once this one's exec is confirmed.
#[derive(Clone, Copy, Debug)]
struct Launch {
    /// The index of the command to start next.
    next: usize,
    /// The one whose report is awaited.
    waiting: i32,
}

pub struct Supervisor<'a, O: Os> {
    cfg: &'a Config<'a>,
    plan: Plan<'a>,
    children: Children<'a, O>,
    machine: Machine,
    /// The actions queued this turn, performed at its end.
    actions: Actions,
    deferred: heapless::Vec<Deferred, 4>,
    epoll: OwnedFd,
    sigfd: OwnedFd,
    server: Option<Server>,
    self_pid: i32,
    launch: Option<Launch>,
    orphans: Tally,
    /// Spawns that failed for want of resources (fork: a pids limit,
    /// RLIMIT_NPROC; the report pipe: EMFILE, ENFILE): rate-limited, with
    /// the last failure for the summary line.
    spawn_failures: Tally,
    spawn_failure: SpawnError,
    /// `epoll_wait` failing, rate-limited; how many times in a row.
    wait_failures: Tally,
    wait_errors: u32,
    /// Reap in this turn: a SIGCHLD came, or draining looks for the last
    /// child (no SIGCHLD would say there is none).
    reap: bool,
    /// Look at the adopted orphans at the end of this turn's actions
    /// (a reap, `StopOrphans`, `Drain`): after the managed processes'
    /// signals, and once per turn however many asked.
    sweep: bool,
    /// Start the next turn without waiting: something is due now.
    again: bool,
    /// The monotonic time, read once per loop turn (after the wait): every
    /// decision in a turn uses it, so a storm of events costs one clock read
    /// per turn, not one per event.
    now: u64,
}

impl<'a, O: Os> Supervisor<'a, O> {
    pub fn new(
        cfg: &'a Config<'a>,
        plan: Plan<'a>,
        table: &'a mut Table,
        sigfd: OwnedFd,
        mut os: O,
    ) -> Result<Self, crate::error::Error<'static>> {
        let sys_error = |what| {
            move |e: rustix::io::Errno| crate::error::Error::Sys {
                what,
                errno: e.raw_os_error(),
            }
        };
        let epoll = epoll::create(epoll::CreateFlags::CLOEXEC)
            .map_err(sys_error("unable to create epoll"))?;
        epoll::add(
            &epoll,
            &sigfd,
            epoll::EventData::new_u64(TOKEN_SIGNALS),
            epoll::EventFlags::IN,
        )
        .map_err(sys_error("unable to watch signalfd"))?;
        let self_pid = sys::getpid();
        // SPEC §10: dinit knows which processes are its own. A /proc of
        // another PID namespace lists pids that name other processes here.
        let foreign = sys::proc_self_pid().is_some_and(|p| p != self_pid);
        if foreign {
            warn!(
                "/proc belongs to another PID namespace (mounted without --mount-proc?); \
                 adopted orphans are not looked for there"
            );
        }
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
        // Created before the first command starts (SPEC §5); optional.
        let server = if cfg.socket.is_empty() {
            None
        } else {
            Server::open(cfg.socket, &epoll)
        };
        let now = os.now();
        Ok(Supervisor {
            cfg,
            plan,
            children: Children::new(os, table, cfg.pgroup, self_pid, foreign),
            machine: Machine::new(settings),
            actions: Actions::new(),
            deferred: heapless::Vec::new(),
            epoll,
            sigfd,
            server,
            self_pid,
            launch: None,
            orphans: Tally::default(),
            spawn_failures: Tally::default(),
            spawn_failure: SpawnError::Fork(0),
            wait_failures: Tally::default(),
            wait_errors: 0,
            reap: false,
            sweep: false,
            again: false,
            now,
        })
    }

    /// Run until the machine says done; returns dinit's exit code.
    pub fn run(&mut self) -> u8 {
        self.begin();
        while !self.machine.is_done() {
            self.turn(true);
        }
        self.finish()
    }

    /// The first turn's events: what to start, and a `-pdeathsig` whose
    /// parent is gone already.
    fn begin(&mut self) {
        self.machine.begin(&mut self.actions);
        if let Some(sig) = self.plan.parent_gone {
            info!(
                "parent exited before -pdeathsig was set; acting on {} now",
                SigName(sig)
            );
            self.on_signal(SigInfo { signo: sig, pid: 0 });
        }
        self.perform();
    }

    /// One turn of the loop; `block` false never waits (the unit tests).
    fn turn(&mut self, block: bool) {
        let mut events = [epoll::Event {
            flags: epoll::EventFlags::empty(),
            data: epoll::EventData::new_u64(0),
        }; 8];
        let n = self.wait(&mut events, block);
        for d in core::mem::take(&mut self.deferred) {
            self.on_deferred(d);
        }
        for ev in &events[..n] {
            match ev.data.u64() {
                TOKEN_SIGNALS => self.read_signals(),
                t if t >= TOKEN_REPORT => self.on_report((t - TOKEN_REPORT) as i32),
                t => self.on_socket(t),
            }
        }
        if core::mem::take(&mut self.reap) {
            self.reap_all();
        }
        let now = self.now;
        if let Some(server) = self.server.as_mut() {
            server.expire(&self.epoll, now);
        }
        self.machine.tick(now, &mut self.actions);
        if self.children.none_left() {
            self.machine.children_gone(&mut self.actions);
        }
        self.perform();
        if let Some(server) = self.server.as_mut() {
            let children = &self.children;
            server.settle(&|pid, conn| children.finished(pid, conn));
        }
        if !self.machine.tearing_down() {
            log_orphans(self.orphans.flush(now));
        }
        log_spawn_failures(self.spawn_failures.flush(now), self.spawn_failure);
    }

    /// Wait for events until the next deadline (not at all when something
    /// is due now); reads the clock after.
    fn wait(&mut self, events: &mut [epoll::Event], block: bool) -> usize {
        let timeout_ms = if self.again || !block {
            Some(0)
        } else {
            self.next_deadline().map(|d| d.saturating_sub(self.now))
        };
        self.again = false;
        // At most ~24 days per wait: longer timeouts would make rustix use
        // epoll_pwait2, which older kernels and some seccomp profiles
        // refuse. The loop simply waits again.
        let ts = timeout_ms.map(|ms| {
            let ms = ms.min(i32::MAX as u64);
            rustix::time::Timespec {
                tv_sec: (ms / 1000) as i64,
                tv_nsec: ((ms % 1000) * 1_000_000) as i64,
            }
        });
        let room = events.len();
        let n = loop {
            match epoll::wait(&self.epoll, &mut *events, ts.as_ref()) {
                Ok(n) => {
                    self.wait_errors = 0;
                    break n.min(room);
                }
                // epoll waits are never restarted (a ptrace attach or a
                // SIGSTOP/SIGCONT interrupts them): nothing happened.
                // Without a deadline, wait again at once, so that an idle
                // dinit makes no other system call (not even the clock
                // read); with one, the turn goes on and the clock says
                // what is due.
                Err(e) if e.raw_os_error() == EINTR && ts.is_none() => continue,
                Err(e) if e.raw_os_error() == EINTR => break 0,
                Err(e) => {
                    self.wait_failed(e.raw_os_error(), timeout_ms);
                    break 0;
                }
            }
        };
        self.now = self.children.os.now();
        n
    }

    /// `epoll_wait` failed (it should not: EBADF, EFAULT, EINVAL mean a bug
    /// or a hostile seccomp profile). A persistent failure must not spin:
    /// back off, doubling from 1 ms up to a second (never past the next
    /// deadline), and look at everything that may have happened, as if
    /// every descriptor were readable: the signalfd and the children.
    #[inline(never)] // cold path
    fn wait_failed(&mut self, errno: i32, timeout_ms: Option<u64>) {
        self.wait_errors = self.wait_errors.saturating_add(1);
        let now = self.children.os.now();
        if let Some(n) = self.wait_failures.add(now) {
            warn!(
                "epoll_wait failed: {}{}",
                Errno(errno),
                crate::log::Since(n)
            );
        }
        let pause = (1u64 << self.wait_errors.min(10)).min(WAIT_ERROR_PAUSE_MAX_MS);
        sys::sleep_ms(pause.min(timeout_ms.unwrap_or(pause)));
        self.read_signals();
        self.reap = true;
    }

    fn next_deadline(&self) -> Option<u64> {
        let server = self.server.as_ref().and_then(Server::deadline);
        // Orphan summaries wait for the end during a teardown.
        let orphans = (!self.machine.tearing_down())
            .then(|| self.orphans.deadline())
            .flatten();
        [
            self.machine.deadline(),
            orphans,
            server,
            self.spawn_failures.deadline(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Leave: the last lines, the socket file removed; the exit code.
    fn finish(&mut self) -> u8 {
        // Summaries keep their interval to the end (SPEC §6): a count that
        // is not due yet goes unsaid.
        log_orphans(self.orphans.flush(self.now));
        log_spawn_failures(self.spawn_failures.flush(self.now), self.spawn_failure);
        if let Some(server) = self.server.take() {
            server.close();
        }
        // One last look: what dinit gave up on may have gone meanwhile.
        if !self.children.none_left() {
            while let Some((pid, _)) = self.children.reap() {
                self.children.forget(pid);
            }
        }
        // The last line says what is true (SPEC §6).
        if self.children.none_left() {
            info!("all processes exited, goodbye!");
        } else {
            let mut left = Left::default();
            self.children.left(|pid, proc| left.add(pid, proc));
            warn!("{left}");
        }
        self.machine.exit_code()
    }

    // Events.

    /// Read the signalfd, a few batches at most (see `SIGNAL_BATCHES`).
    fn read_signals(&mut self) {
        let mut batch = [SigInfo::default(); 16];
        for _ in 0..SIGNAL_BATCHES {
            let n = read_signals(self.sigfd.as_fd(), &mut batch);
            for si in &batch[..n] {
                self.on_signal(*si);
            }
            if n < batch.len() {
                return;
            }
        }
    }

    /// Decide what one received signal means (the signal table's
    /// `Handling`, with the `-stopsignal` a stop request too).
    fn on_signal(&mut self, si: SigInfo) {
        let sig = si.signo;
        // Signals dinit raises against itself are about dinit, not for its
        // children: SIGPIPE (a log line to a closed stderr pipe) and SIGXFSZ
        // (a log file past its size limit). Only those are filtered by
        // sender: any other signal with dinit's own pid was queued before
        // the exec into dinit by the process that became it (a -stopsignal
        // or SIGTERM sent early), and is meant.
        if si.pid as i32 == self.self_pid && (sig == SIGPIPE || sig == SIGXFSZ) {
            return;
        }
        match signals::handling(sig, self.cfg.stop_signal) {
            // Drives reaping; never forwarded.
            Some(Handling::Reap) => self.reap = true,
            // Teardown (SPEC §3, §9); while the start command runs it gets
            // the signal, as the machine says.
            Some(Handling::Stop) => {
                info!("received {}, stopping", SigName(sig));
                self.machine.stop_request(sig, self.now, &mut self.actions);
            }
            Some(Handling::Forward) => self.forward(sig),
            // Job control is about dinit's own session (see the table);
            // faults and SIGKILL/SIGSTOP never come through the signalfd.
            _ => {}
        }
    }

    /// Pass a signal on (SPEC §4), as `-rewrite` says: to the start command
    /// while it runs, otherwise to every managed process.
    fn forward(&mut self, sig: i32) {
        let to = self.cfg.rewrite.get(sig);
        let name = Rewritten(sig, to);
        if to == 0 {
            info!("dropped {} (-rewrite)", SigName(sig));
        } else if let Some(pid) = self.children.helper(Helper::Start) {
            let _ = self.children.signal(pid, to);
            info!("forwarded {name} to the start command");
        } else {
            let n = self.children.forward(to);
            info!("forwarded {name} to {} process{}", Num(n), es(n));
        }
    }

    /// A report pipe is readable.
    fn on_report(&mut self, fd: i32) {
        let Some((pid, report, signalled)) = self.children.report(fd, self.epoll.as_fd()) else {
            return;
        };
        match self.children.who(pid) {
            Some(Who::Managed(p)) => self.managed_reported(&p, report, signalled),
            Some(Who::Helper(which)) => self.helper_reported(which, pid, report, signalled),
            None => {}
        }
    }

    /// A managed process's exec happened or failed. `signalled`: dinit
    /// signalled it while it was starting (see [`State::Starting`]).
    fn managed_reported(&mut self, p: &Proc, report: Report, signalled: bool) {
        let now = self.now;
        let Report::Failed(f) = report else {
            if signalled {
                // It may have died of the signal before its exec: never
                // "started", never `ok` for a program that may not have
                // run (a teardown's stop signal, or its line's). It stays
                // managed until reaped: it may have exec'd after all.
                info!("pid {} stopped before it started: {}", Num(p.pid), p.cmd);
                self.tell(
                    p,
                    Some(&format_args!("{} stopped before it started", p.cmd)),
                );
            } else {
                info!("pid {} started: {}", Num(p.pid), p.cmd);
                self.tell(p, None);
            }
            // The next command-line command is forked where actions are
            // performed (it is not, once teardown has begun).
            if self.launch.is_some_and(|l| l.waiting == p.pid) {
                let queued = self.actions.push(Action::Launch);
                debug_assert!(queued.is_ok(), "one launch a turn has room");
            }
            return;
        };
        let failure = StartFailure::reported(&p.cmd, &f);
        warn!("{failure}");
        self.machine.exited(p.pid, None, now, &mut self.actions);
        self.tell(p, Some(&failure));
        if self.launch.is_some_and(|l| l.waiting == p.pid) {
            // SPEC §3: one cannot be started: tear down what runs, exit
            // 127, 126 or 1.
            self.launch = None;
            let code = command::exit_code(SpawnError::Exec(f.errno));
            self.machine.abort(code, now, &mut self.actions);
        }
    }

    /// A helper command's exec happened or failed (`signalled`: as for a
    /// managed process; its exit says the rest).
    fn helper_reported(&mut self, which: Helper, pid: i32, report: Report, signalled: bool) {
        let Some(prog) = self.helper_program(which) else {
            return;
        };
        match report {
            Report::Failed(f) => {
                warn!("{}", StartFailure::reported(&prog.cmd, &f));
                self.helper_gone(which, false);
            }
            _ if signalled => {}
            _ => info!(
                "{} command pid {} started: {}",
                which.name(),
                Num(pid),
                prog.cmd
            ),
        }
    }

    /// A helper command is gone (or never ran): tell the machine.
    fn helper_gone(&mut self, which: Helper, ok: bool) {
        let (now, out) = (self.now, &mut self.actions);
        match which {
            Helper::Start => self.machine.start_exited(ok, now, out),
            Helper::Prestop => self.machine.prestop_exited(now, out),
            Helper::Stop => self.machine.stop_exited(now, out),
        }
    }

    fn on_deferred(&mut self, d: Deferred) {
        match d {
            Deferred::HelperFailed(which) => self.helper_gone(which, false),
            Deferred::Abort(code) => self.machine.abort(code, self.now, &mut self.actions),
        }
    }

    /// Reap every child that has exited. SIGCHLDs coalesce, so one signal
    /// may stand for many exits: loop until nothing is left. Then look at
    /// the children again: those of the dead are dinit's now.
    fn reap_all(&mut self) {
        let mut reaped = false;
        while let Some((pid, status)) = self.children.reap() {
            reaped = true;
            match self.children.forget(pid) {
                // An orphan reparented to dinit (PID 1 or subreaper).
                // During a teardown they are summed up once, as dinit
                // leaves: a teardown is short, and a line now and one at
                // the end would break the one-line-a-second limit (SPEC §6).
                Gone::Orphan if self.machine.tearing_down() => self.orphans.count(),
                Gone::Orphan => log_orphans(self.orphans.add(self.now)),
                Gone::Managed(p) => self.managed_exited(&p, status),
                Gone::Helper(which, state) => self.helper_exited(which, pid, state, status),
            }
        }
        self.sweep |= reaped;
    }

    /// A managed process was reaped.
    fn managed_exited(&mut self, p: &Proc, status: crate::error::ExitStatus) {
        match p.state {
            // Reaped before its report was read: the report first.
            State::Starting { signalled } => {
                let report = self.children.late_report(p.pid, self.epoll.as_fd());
                self.managed_reported(p, report, signalled);
                if let Report::Failed(_) = report {
                    return; // its failure said it all
                }
            }
            State::Failed => return,
            State::Running => {}
        }
        if status.success() {
            info!("pid {} finished: {}", Num(p.pid), p.cmd);
        } else {
            info!(
                "pid {} finished: {} with error: {status}",
                Num(p.pid),
                p.cmd
            );
        }
        self.job_exited(p.pid, status);
        if p.primary && self.machine.accepting() && self.children.managed().next().is_some() {
            info!("pid {} was primary, signalling other processes", Num(p.pid));
        }
        let primary = p.primary.then_some(status);
        self.machine
            .exited(p.pid, primary, self.now, &mut self.actions);
    }

    /// A helper command was reaped.
    fn helper_exited(
        &mut self,
        which: Helper,
        pid: i32,
        state: State,
        status: crate::error::ExitStatus,
    ) {
        match state {
            State::Starting { signalled } => {
                let report = self.children.late_report(pid, self.epoll.as_fd());
                self.helper_reported(which, pid, report, signalled);
                if let Report::Failed(_) = report {
                    return; // its failure said it all
                }
            }
            State::Failed => return,
            State::Running => {}
        }
        let (name, pid) = (which.name(), Num(pid));
        if status.success() {
            info!("{name} command pid {pid} finished");
        } else {
            warn!("{name} command pid {pid} finished with error: {status}");
        }
        self.helper_gone(which, status.success());
    }

    // Performing.

    /// Perform the actions queued this turn, in order, once. Nothing here
    /// calls into the machine or reaps; what an action finds is deferred to
    /// the next turn.
    fn perform(&mut self) {
        // Stop signals sent together are logged one line per signal.
        let mut sent = [0u16; SIGMAX as usize + 1];
        for i in 0..self.actions.len() {
            let act = self.actions[i];
            self.act(act, &mut sent);
        }
        self.actions.clear();
        log_sent(&mut sent);
        // The orphans after the managed processes (their line first).
        if core::mem::take(&mut self.sweep) {
            self.sweep();
        }
    }

    fn act(&mut self, act: Action, sent: &mut [u16; SIGMAX as usize + 1]) {
        match act {
            Action::SpawnStart => self.spawn_helper(Helper::Start),
            Action::SpawnPrestop => self.spawn_helper(Helper::Prestop),
            Action::SpawnStop => self.spawn_helper(Helper::Stop),
            Action::Launch => {
                let next = self.launch.map_or(0, |l| l.next);
                if let Err(code) = self.launch_next(next) {
                    self.defer(Deferred::Abort(code));
                }
            }
            Action::PassToStart(sig) => {
                if let Some(pid) = self.children.helper(Helper::Start) {
                    self.children.stop(pid, sig);
                }
            }
            Action::Stop { pid, sig } => {
                if self.children.stop(pid, sig) {
                    sent[sig as usize] += 1;
                }
            }
            Action::StopNext { pid, sig, waiting } => {
                self.children.stop(pid, sig);
                let cmd = self.children.table().get(pid).map(|p| p.cmd);
                let waiting = usize::from(waiting);
                info!(
                    "sent {} to pid {} {}; {} process{} wait{} behind it",
                    SigName(sig),
                    Num(pid),
                    cmd.unwrap_or_default(),
                    Num(waiting),
                    es(waiting),
                    if waiting == 1 { "s" } else { "" }
                );
            }
            Action::Kill { pid } => {
                warn!("pid {} did not stop in time, killing it", Num(pid));
                let _ = self.children.signal(pid, SIGKILL);
            }
            Action::TermPrestop => {
                if let Some(pid) = self.children.helper(Helper::Prestop) {
                    self.children.stop(pid, SIGTERM);
                }
            }
            Action::StopOrphans => self.sweep = true,
            Action::KillAll(why) => {
                let n = self.children.kill_managed();
                if let Some(pid) = self.children.helper(Helper::Start) {
                    log_helper_kill(Helper::Start, pid, why);
                    let _ = self.children.signal(pid, SIGKILL);
                }
                if let Some(pid) = self.children.helper(Helper::Prestop) {
                    let _ = self.children.signal(pid, SIGKILL);
                }
                if n > 0 {
                    warn!("killing {} remaining process{}", Num(n), es(n));
                }
                self.kill_leftovers();
            }
            Action::KillStop(why) => {
                if let Some(pid) = self.children.helper(Helper::Stop) {
                    log_helper_kill(Helper::Stop, pid, why);
                    let _ = self.children.signal(pid, SIGKILL);
                }
            }
            Action::KillOrphans => {
                let (n, errno) = self.children.sweep(SIGKILL);
                log_swept(SIGKILL, n, errno);
            }
            Action::KillLeftovers => self.kill_leftovers(),
            // Look for "no child left" next, at once: no SIGCHLD would come.
            Action::Drain => {
                self.sweep = true;
                self.reap = true;
                self.again = true;
            }
            Action::Exit => {}
        }
    }

    fn defer(&mut self, d: Deferred) {
        let queued = self.deferred.push(d);
        debug_assert!(queued.is_ok(), "more deferred events than room");
        self.again = true;
    }

    /// Signal the adopted orphans as the machine says (SPEC §10).
    fn sweep(&mut self) {
        let sig = match self.machine.sweep(self.now) {
            Sweep::Nothing => return,
            Sweep::Stop(sig) => sig,
            Sweep::Kill => SIGKILL,
        };
        let (n, errno) = self.children.sweep(sig);
        log_swept(sig, n, errno);
    }

    fn kill_leftovers(&mut self) {
        let (n, errno) = self.children.kill_leftovers();
        log_swept(SIGKILL, n, errno);
    }

    // Spawning.

    /// Start the command line's command `i` (in order: SPEC §3), unless
    /// teardown has begun or all have started. A failure to fork is the
    /// exit code to abort with.
    fn launch_next(&mut self, i: usize) -> Result<(), u8> {
        self.launch = None;
        let programs = self.plan.programs;
        let Some(prog) = programs.get(i) else {
            return Ok(());
        };
        if !self.machine.accepting() {
            return Ok(());
        }
        let last = i + 1 == programs.len();
        let primary = self.cfg.is_primary(prog.marked_primary, last);
        // With -pgroup the last command gets the terminal (the primary,
        // unless -r:primary marks others: it is still the one in front).
        let group = match self.group() {
            Group::Own if last => Group::OwnWithTerminal,
            g => g,
        };
        // The primary gets what dinit inherited (SPEC §11); dinit's copies
        // are closed at once, forked or not: from the fork on the child
        // holds its own, and nothing else is ever to get them.
        let heir = self.plan.heir == Some(i);
        let mut inherited = if heir {
            core::mem::take(&mut self.plan.inherited)
        } else {
            Inherited::default()
        };
        let listen_pid = if heir {
            self.plan.listen_pid.take()
        } else {
            None
        };
        let fds = ChildFds {
            stdio: None,
            inherited: inherited.fds(),
            listen_pid: listen_pid.as_ref(),
        };
        let started = self.spawn_managed(prog, group, primary, 0, fds);
        inherited.close();
        match started {
            Ok(pid) => {
                self.launch = Some(Launch {
                    next: i + 1,
                    waiting: pid,
                });
                Ok(())
            }
            Err(NotStarted::Spawn(e)) => Err(command::exit_code(e)),
            Err(NotStarted::Full) => Err(crate::error::EXIT_FAILURE),
        }
    }

    /// Fork a managed process (its report comes later); logs a failure.
    fn spawn_managed(
        &mut self,
        prog: &Program<'_>,
        group: Group,
        primary: bool,
        conn: u64,
        fds: ChildFds<'_>,
    ) -> Result<i32, NotStarted> {
        let watch = Watch {
            epoll: self.epoll.as_fd(),
            token_base: TOKEN_REPORT,
        };
        let proc = Proc {
            pid: 0,
            primary,
            killed: false,
            started_ms: self.now,
            cmd: prog.cmd,
            name: prog.name,
            state: State::Running,
            conn,
        };
        match self
            .children
            .spawn_managed(&prog.exec, group, watch, fds, proc)
        {
            Ok(pid) => {
                let room = self.machine.started(pid, prog.stop_signal);
                debug_assert!(room, "the machine holds as many as the table");
                Ok(pid)
            }
            Err(NotStarted::Spawn(e)) => {
                self.spawn_failed(&prog.cmd, e);
                Err(NotStarted::Spawn(e))
            }
            // Only a submission can meet it (the command line fits, and
            // starts before any submission), and those check for room.
            Err(NotStarted::Full) => {
                warn!("unable to start {}: process table full", prog.cmd);
                Err(NotStarted::Full)
            }
        }
    }

    /// Fork a helper command; when there is none configured nothing
    /// happens, when it cannot be forked the machine hears so next turn.
    fn spawn_helper(&mut self, which: Helper) {
        let Some(prog) = self.helper_program(which) else {
            return;
        };
        let watch = Watch {
            epoll: self.epoll.as_fd(),
            token_base: TOKEN_REPORT,
        };
        let group = self.group();
        if let Err(e) = self.children.spawn_helper(which, &prog.exec, group, watch) {
            self.spawn_failed(&prog.cmd, e);
            self.defer(Deferred::HelperFailed(which));
        }
    }

    fn helper_program(&self, which: Helper) -> Option<Program<'a>> {
        match which {
            Helper::Start => self.plan.start,
            Helper::Prestop => self.plan.prestop,
            Helper::Stop => self.plan.stop,
        }
    }

    /// Log a failed fork. Failures for want of resources are rate-limited:
    /// under a pids limit, RLIMIT_NPROC or a descriptor limit every
    /// submission of a storm fails the same way at once (SPEC §10).
    fn spawn_failed(&mut self, cmd: &crate::table::CmdText, e: SpawnError) {
        self.spawn_failure = e;
        if let Some(n) = self.spawn_failures.add(self.now) {
            log_failure(cmd, e, n);
        }
    }

    /// The process group children start in.
    fn group(&self) -> Group {
        if self.cfg.pgroup {
            Group::Own
        } else {
            Group::Inherit
        }
    }
}

/// Log the stop signals sent together, one line per signal, and start
/// counting anew.
fn log_sent(sent: &mut [u16; SIGMAX as usize + 1]) {
    for (s, n) in sent.iter_mut().enumerate().filter(|(_, n)| **n > 0) {
        let n = usize::from(core::mem::take(n));
        info!("sent {} to {} process{}", SigName(s as i32), Num(n), es(n));
    }
}

/// Log why a program did not start; `since` is how many failures the line
/// stands for (`Since` says nothing for 0 or 1).
#[inline(never)] // cold path: its buffers stay out of the loop's frame
fn log_failure(cmd: &crate::table::CmdText, e: SpawnError, since: u32) {
    warn!("{}{}", StartFailure::new(cmd, e), crate::log::Since(since));
}

/// Log why the start or stop command is SIGKILLed before it finished: its
/// time ran out (for an interrupted start command, the grace period after
/// the signal), or a later stop request cut the wait short.
fn log_helper_kill(which: Helper, pid: i32, why: Why) {
    let (name, pid) = (which.name(), Num(pid));
    match why {
        Why::Timeout if which == Helper::Start => {
            warn!("{name} command pid {pid} did not stop in time, killing it")
        }
        Why::Timeout => warn!("{name} command pid {pid} timed out, killing it"),
        Why::Signal(sig) => warn!(
            "{name} command pid {pid} killed on {} received during teardown",
            SigName(sig)
        ),
    }
}

/// Log what a sweep did: the orphans signalled, and once, why the
/// children could not be listed.
fn log_swept(sig: i32, n: usize, listing_failed: Option<i32>) {
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
    if let Some(errno) = listing_failed {
        warn!("unable to list child processes: {}", Errno(errno));
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

/// The last line when dinit gives up on processes stuck in the kernel
/// after their SIGKILL (SPEC §6): how many, and the first few by name; or,
/// when none can be named (`/proc` cannot be read, or is another PID
/// namespace's), that orphans are left that it cannot list.
#[derive(Default)]
struct Left {
    n: usize,
    named: heapless::Vec<(i32, Option<crate::table::CmdText>), 4>,
}

impl Left {
    fn add(&mut self, pid: i32, proc: Option<&Proc>) {
        self.n += 1;
        let _ = self.named.push((pid, proc.map(|p| p.cmd)));
    }
}

impl core::fmt::Display for Left {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("gave up waiting for ")?;
        if self.n == 0 {
            f.write_str("orphaned processes that cannot be listed")?;
        } else {
            write!(
                f,
                "{} process{} stuck after SIGKILL:",
                Num(self.n),
                es(self.n)
            )?;
        }
        for (pid, cmd) in &self.named {
            write!(f, " pid {}", Num(*pid))?;
            if let Some(cmd) = cmd {
                write!(f, " {cmd}")?;
            }
        }
        if self.n > self.named.len() {
            write!(f, " and {} more", Num(self.n - self.named.len()))?;
        }
        f.write_str("; exiting")
    }
}

/// The plural ending of "process".
fn es(n: usize) -> &'static str {
    if n == 1 { "" } else { "es" }
}
