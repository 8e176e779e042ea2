//! The teardown machine (SPEC §3, §9, §10, §11), pure: events and the time
//! go in, the actions the loop must perform come out. The supervisor owns
//! the processes and performs the actions; this file owns the order of
//! things, which stop signal each process gets and when, every deadline,
//! and the exit code. It is tested with fake time, by example and by
//! properties over random event sequences.
//!
//!   Starting ──start ok──▶ Running ──primary exit / stop request──▶ Teardown ──▶ Done
//!      └──stop request / start failed──────────────────────────────────▲
//!
//! A teardown is one value ([`Teardown`]): why it began, its stop signal,
//! where its clock stands ([`Stage`]: the stop signal held back, the grace
//! period running towards the one SIGKILL deadline, everything killed, or
//! the `-stop` command on a clock of its own, [`StopCommand`]) and what it
//! waits for ([`Step`]; whether the `-prestop` command still runs is part
//! of it). The managed processes are kept in start order, each with
//! whether it has had its stop signal, which is how `-stoporder reverse`
//! walks them from the last started backwards and how no process is ever
//! sent its stop signal twice.
//!
//! One deadline for the whole teardown: the moment the first stop signal
//! goes out (after any drain delay) fixes `kill_at`, and everything dinit
//! signals — managed processes, the orphans it adopted, children reparented
//! to it while others die — is SIGKILLed then, so the total time is about
//! one `-timeout`, not one per step or per process. The `-stop` command
//! alone has its own `-timeout`. A process still there `KILL_WAIT_MS` after
//! its SIGKILL is stuck in the kernel; dinit gives up waiting for it.
//!
//! Stop requests are counted: the first one dinit receives begins the
//! teardown (or, when a primary's exit or a failed start began it already,
//! is only noted: everything has had or is getting its stop signal, and a
//! second stop signal means "now" to many programs); every later one kills
//! at once. The one exception is the drain delay (`-prestoptimer` without
//! `-prestop`): the second request ends the delay, the third kills.

use crate::cli::CodeSet;
use crate::error::ExitStatus;
use crate::table::PROC_MAX;
use heapless::Vec;

/// How long to wait for SIGKILLed processes (or a killed stop command) to be
/// reaped before giving up on them. SIGKILL cannot be caught, so this only
/// matters for a process stuck in uninterruptible sleep.
pub const KILL_WAIT_MS: u64 = 5_000;

/// SIGTERM: the stop signal after a primary's exit when no `-stopsignal` is
/// set.
const SIGTERM: i32 = 15;

/// In which order teardown sends the stop signals (`-stoporder`, SPEC §11).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopOrder {
    /// Every managed process at once (the default).
    Together,
    /// One at a time, the last started first, each once every process
    /// started after it has exited.
    Reverse,
}

#[derive(Clone, Copy, Debug)]
pub struct Settings {
    pub timeout_ms: u64,
    /// With `-prestop`: from starting it to the stop signal. Without: the
    /// drain delay, the stop signal held back after a stop request.
    pub prestop_timer_ms: u64,
    pub has_start: bool,
    pub has_prestop: bool,
    pub has_stop: bool,
    /// `-stopsignal`: sent instead of the received SIGTERM/SIGINT (or the
    /// SIGTERM after a primary's exit).
    pub stop_signal: Option<i32>,
    pub order: StopOrder,
    /// `-success`: primary exit codes that make dinit exit 0.
    pub success: CodeSet,
}

/// Where dinit is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// The `-start` command runs; nothing else has started.
    Starting,
    /// The commands are started (in order) and run; nothing is torn down.
    Running,
    Teardown(Teardown),
    /// Nothing is left (or dinit gave up on what is stuck): leave. Keeps
    /// why the teardown began, for the exit code.
    Done(Cause),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Teardown {
    pub cause: Cause,
    /// The teardown's stop signal: what every managed process without its
    /// own (`-r:SIG`) gets, and the adopted orphans.
    pub sig: i32,
    pub stage: Stage,
}

/// Why a teardown began. It decides the exit code with the primary's
/// status ([`Machine::exit_code`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cause {
    /// A primary process exited (with `-primary`: the first process).
    PrimaryExit,
    /// dinit received this stop request (SIGTERM, SIGINT, `-stopsignal`).
    Request(i32),
    /// This stop request arrived while the `-start` command ran.
    StartInterrupted(i32),
    /// The `-start` command failed or could not start.
    StartFailed,
    /// A command-line command could not be started: exit with this code.
    Aborted(u8),
}

/// The teardown's clock. The SIGKILL deadline exists from the first stop
/// signal on, and only the drain delay (or prestop timer) comes before it.
/// The `-stop` command, which runs once every managed process is gone,
/// has a clock of its own beside it ([`StopCommand`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// The stop signal is held back until `until` (`-prestoptimer`); the
    /// managed processes keep running, and the `-prestop` command while
    /// `prestop`.
    Held { until: u64, prestop: bool },
    /// The stop signal went out: everything left is SIGKILLed at `kill_at`.
    Grace { kill_at: u64, step: Step },
    /// SIGKILL went out to everything at `at` (the deadline, or a second
    /// stop request); what is still there at `give_up_at` is stuck in the
    /// kernel and given up on.
    Killed {
        at: u64,
        give_up_at: u64,
        step: Step,
    },
    /// The `-stop` command runs: every managed process and the prestop
    /// command are gone (or given up on).
    StopCommand(StopCommand),
}

/// What a teardown waits for before the stop command (or, after it, to
/// leave).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// The interrupted `-start` command.
    StartCommand,
    /// The managed processes (with `-stoporder reverse`, one at a time),
    /// and the prestop command beside them while `prestop`.
    Managed { prestop: bool },
    /// The prestop command, the last one left (it got SIGTERM).
    Prestop,
    /// The children left: adopted orphans, late arrivals.
    Draining,
}

/// The `-stop` command's clock: its own `-timeout` from its start, and
/// where the teardown's one deadline stands for the orphans meanwhile. It
/// starts after the first stop signal, so its own deadline never comes
/// before the teardown's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopCommand {
    /// It runs; the teardown's deadline `kill_at` is still ahead (orphans
    /// get the stop signal until then), its own SIGKILL is due at `until`.
    Runs { kill_at: u64, until: u64 },
    /// It runs past the teardown's deadline (met at `at`: the orphans were
    /// SIGKILLed) until its own, `until`.
    Overtime { at: u64, until: u64 },
    /// It was SIGKILLed (its own deadline passed, or a stop request came);
    /// if still there at `give_up_at`, it is stuck and dinit goes on
    /// without it. Everything else was SIGKILLed at `at`.
    Killed { at: u64, give_up_at: u64 },
}

impl StopCommand {
    /// When everything but the stop command is (or was) SIGKILLed.
    fn kill_deadline(self) -> u64 {
        match self {
            StopCommand::Runs { kill_at, .. } => kill_at,
            StopCommand::Overtime { at, .. } | StopCommand::Killed { at, .. } => at,
        }
    }

    /// Its next deadline: the teardown's while that is ahead (its own is
    /// never earlier), then its own SIGKILL, then the give-up.
    fn deadline(self) -> u64 {
        match self {
            StopCommand::Runs { kill_at, .. } => kill_at,
            StopCommand::Overtime { until, .. } => until,
            StopCommand::Killed { give_up_at, .. } => give_up_at,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Start the `-start` command.
    SpawnStart,
    /// Start the command line's commands, in order.
    Launch,
    /// Start the `-prestop` command.
    SpawnPrestop,
    /// Start the `-stop` command.
    SpawnStop,
    /// Pass this stop request (+SIGCONT) to the running start command.
    PassToStart(i32),
    /// Send one managed process its stop signal and SIGCONT (teardown in
    /// one go: the loop logs one line per signal for all of them).
    Stop { pid: i32, sig: i32 },
    /// `-stoporder reverse`: the same for the process whose turn it is;
    /// `waiting` processes are still to be stopped after it.
    StopNext { pid: i32, sig: i32, waiting: u16 },
    /// SIGKILL one managed process: its own deadline passed (it was stopped
    /// alone, by [`Machine::drop_process`]).
    Kill { pid: i32 },
    /// SIGTERM (+SIGCONT) the prestop command, the last one left.
    TermPrestop,
    /// Send the adopted orphans their stop signal now (as
    /// [`Machine::sweep`] says): it has just become due.
    StopOrphans,
    /// SIGKILL the managed processes, the start and prestop commands and
    /// every other child (as PID 1: everything in the PID namespace).
    KillAll(Why),
    /// SIGKILL the stop command.
    KillStop(Why),
    /// SIGKILL the adopted orphans, sparing the stop command.
    KillOrphans,
    /// SIGKILL every child left (no helper command runs).
    KillLeftovers,
    /// See whether any child is left (none: [`Machine::children_gone`]);
    /// sweep the orphans as [`Machine::sweep`] says first.
    Drain,
    /// Leave with [`Machine::exit_code`].
    Exit,
}

/// Why a kill comes before its process is done.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Why {
    /// Its deadline passed.
    Timeout,
    /// A stop request (this signal) arrived meanwhile.
    Signal(i32),
}

/// What to do with the children that are not managed (not in the table,
/// not a helper command) — orphans dinit adopted — whenever dinit looks at
/// them: when the stop signal goes out, after each reap, when draining.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sweep {
    /// Leave them alone (nothing torn down yet, the drain delay runs, or
    /// with `-stoporder reverse` managed processes are still stopping).
    Nothing,
    /// Send this stop signal and SIGCONT to each one not signalled yet.
    Stop(i32),
    /// SIGKILL them: the deadline has passed, or it was cut short.
    Kill,
}

/// The stop signal a managed process gets: its own (`-r:SIG`, 0 for none)
/// or the teardown's. A command's own signal is what it gets at every
/// teardown, whatever started it (a primary's exit, SIGTERM, SIGINT, the
/// `-stopsignal`): it names how that program stops gracefully.
pub fn signal_for(own: u8, teardown: i32) -> i32 {
    if own == 0 { teardown } else { i32::from(own) }
}

/// The most actions a whole run produces that are not about one managed
/// process (spawns, `StopOrphans`, the kills of everything, `Drain`,
/// `Exit`): each comes with a change of stage or step that happens once
/// in a run, so 17 at most (`KillOrphans` and `Drain` twice,
/// `KillLeftovers` three times, the rest once); the property test counts
/// them.
const ONE_OFF_MAX: usize = 24;

/// Room for the actions of one loop turn: two per managed process (its
/// stop signal, and a SIGKILL of its own if it was stopped alone: each
/// comes once in its life) and the one-offs. A turn that sees more
/// processes than the table holds (one leaves and another takes its slot
/// in the same turn) can still run short of room for the per-process
/// actions: they are owed then, never lost (see `push_if_room`).
pub const ACTIONS_MAX: usize = 2 * PROC_MAX + ONE_OFF_MAX;

/// The actions of one loop turn, in order.
pub type Actions = Vec<Action, ACTIONS_MAX>;

/// Push a one-off action: there is always room for these (`ONE_OFF_MAX`).
/// One call at each of its twenty callers, not a copy of the push.
#[inline(never)]
fn push(out: &mut Actions, a: Action) {
    let pushed = out.push(a);
    debug_assert!(pushed.is_ok(), "more one-off actions than ONE_OFF_MAX");
}

/// Push an action for one managed process if the turn has room for it
/// beside the one-offs. When it has not, the caller leaves the process as
/// it was: the action stays owed, [`Machine::deadline`] says it is due at
/// once, and the next turn's tick sends it.
fn push_if_room(out: &mut Actions, a: Action) -> bool {
    out.len() < ACTIONS_MAX - ONE_OFF_MAX && out.push(a).is_ok()
}

/// A managed process as the machine sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Proc {
    pid: i32,
    /// Its own stop signal (`-r:SIG`), 0 for the teardown's.
    own: u8,
    stop: Stopped,
}

/// Whether a managed process has had its stop signal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stopped {
    No,
    Yes,
    /// Stopped alone (its socket line failed, SPEC §5), but the turn had
    /// no room for its stop signal: it is owed, then as `Alone`.
    Dropped {
        kill_at: u64,
    },
    /// Sent alone: SIGKILL at `kill_at` unless it is gone by then.
    Alone {
        kill_at: u64,
    },
}

#[derive(Debug)]
pub struct Machine {
    s: Settings,
    state: State,
    /// Managed processes in the order they started; one leaves when it is
    /// reaped or its exec failed.
    procs: Vec<Proc, PROC_MAX>,
    /// Stop requests received so far.
    requests: u8,
    /// The primary's status (with `-primary`: of the first process to exit).
    status: Option<ExitStatus>,
}

impl Machine {
    /// The machine before anything has started; `begin` says what to do
    /// first.
    pub fn new(s: Settings) -> Machine {
        Machine {
            state: if s.has_start {
                State::Starting
            } else {
                State::Running
            },
            s,
            procs: Vec::new(),
            requests: 0,
            status: None,
        }
    }

    pub fn state(&self) -> State {
        self.state
    }

    /// What to do first: start the `-start` command, or the commands.
    pub fn begin(&mut self, out: &mut Actions) {
        match self.state {
            State::Starting => push(out, Action::SpawnStart),
            State::Running => push(out, Action::Launch),
            _ => {}
        }
    }

    pub fn is_done(&self) -> bool {
        matches!(self.state, State::Done(_))
    }

    /// Whether managed processes may be started (commands, submissions).
    pub fn accepting(&self) -> bool {
        matches!(self.state, State::Running)
    }

    /// Whether a teardown runs (or has ended).
    pub fn tearing_down(&self) -> bool {
        matches!(self.state, State::Teardown(_) | State::Done(_))
    }

    /// The exit code (SPEC §3): 128+N for a start interrupted by signal N,
    /// 1 for a failed start, the abort code for a command that could not
    /// start; otherwise the primary's status (0 when listed with
    /// `-success`), or for a stop request that came before any primary
    /// exited (none had started yet) 128+N as during `-start`.
    pub fn exit_code(&self) -> u8 {
        const FAILURE: u8 = crate::error::EXIT_FAILURE;
        let cause = match self.state {
            State::Teardown(Teardown { cause, .. }) | State::Done(cause) => Some(cause),
            State::Starting | State::Running => None,
        };
        match (cause, self.status) {
            (Some(Cause::StartInterrupted(sig)), _) => (128 + sig) as u8,
            (Some(Cause::StartFailed), _) => FAILURE,
            (Some(Cause::Aborted(code)), _) => code,
            (_, Some(st)) if self.s.success.contains(st.code()) => 0,
            (_, Some(st)) => st.code(),
            (Some(Cause::Request(sig)), None) => (128 + sig) as u8,
            _ => FAILURE,
        }
    }

    /// The next deadline, if any (0: at once).
    pub fn deadline(&self) -> Option<u64> {
        if self.owes() {
            return Some(0);
        }
        let own = self.stage().map(|stage| match stage {
            Stage::Held { until, .. } => until,
            Stage::Grace { kill_at, .. } => kill_at,
            Stage::Killed { give_up_at, .. } => give_up_at,
            Stage::StopCommand(clock) => clock.deadline(),
        });
        // Each process stopped alone has its own SIGKILL deadline.
        let alone = self
            .procs
            .iter()
            .filter_map(|p| match p.stop {
                Stopped::Alone { kill_at } => Some(kill_at),
                _ => None,
            })
            .min();
        match (own, alone) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The managed processes' pids, in the order they started.
    pub fn pids(&self) -> impl Iterator<Item = i32> + '_ {
        self.procs.iter().map(|p| p.pid)
    }

    /// The SIGKILL deadline of the teardown: when everything left is (or
    /// was) SIGKILLed. `None` before the first stop signal.
    pub fn kill_deadline(&self) -> Option<u64> {
        match self.stage()? {
            Stage::Held { .. } => None,
            Stage::Grace { kill_at, .. } => Some(kill_at),
            Stage::Killed { at, .. } => Some(at),
            Stage::StopCommand(clock) => Some(clock.kill_deadline()),
        }
    }

    /// Whether an action for a managed process is owed: a turn had no room
    /// for it ([`push_if_room`]). A SIGKILL owed to a process stopped alone
    /// needs no saying: its deadline has passed.
    fn owes(&self) -> bool {
        let dropped = self
            .procs
            .iter()
            .any(|p| matches!(p.stop, Stopped::Dropped { .. }));
        let together = self.stopping(StopOrder::Together).is_some()
            && self.procs.iter().any(|p| p.stop == Stopped::No);
        let reverse = self.stopping(StopOrder::Reverse).is_some()
            && self.procs.last().is_some_and(|p| p.stop == Stopped::No);
        dropped || together || reverse
    }

    /// How to treat adopted orphans at `now` (see [`Sweep`]).
    pub fn sweep(&self, now: u64) -> Sweep {
        let State::Teardown(t) = self.state else {
            return Sweep::Nothing;
        };
        match t.stage {
            Stage::Held { .. } => Sweep::Nothing,
            Stage::Grace { kill_at, .. }
            | Stage::StopCommand(StopCommand::Runs { kill_at, .. })
                if now >= kill_at =>
            {
                Sweep::Kill
            }
            // Orphans come after every managed process (SPEC §11).
            Stage::Grace { .. } if self.s.order == StopOrder::Reverse && !self.procs.is_empty() => {
                Sweep::Nothing
            }
            Stage::Grace { .. } | Stage::StopCommand(StopCommand::Runs { .. }) => {
                Sweep::Stop(t.sig)
            }
            Stage::Killed { .. } | Stage::StopCommand(_) => Sweep::Kill,
        }
    }

    /// The teardown's stop signal for a stop request `sig` (or SIGTERM).
    fn stop_for(&self, sig: i32) -> i32 {
        self.s.stop_signal.unwrap_or(sig)
    }

    // Events.

    /// A managed process was forked (command line or socket), in this
    /// order; `own` is its own stop signal (0 for none). Acts on nothing:
    /// processes start only while the machine is accepting. False when
    /// there is no room (the table, of the same size, refuses first).
    pub fn started(&mut self, pid: i32, own: u8) -> bool {
        self.procs
            .push(Proc {
                pid,
                own,
                stop: Stopped::No,
            })
            .is_ok()
    }

    /// A managed process is gone: reaped, or its exec failed. `primary` is
    /// its status when it was a primary process.
    pub fn exited(&mut self, pid: i32, primary: Option<ExitStatus>, now: u64, out: &mut Actions) {
        if let Some(i) = self.procs.iter().position(|p| p.pid == pid) {
            self.procs.remove(i);
        }
        if let Some(st) = primary
            && self.status.is_none()
        {
            self.status = Some(st);
            match self.state {
                State::Running => {
                    self.teardown(Cause::PrimaryExit, self.stop_for(SIGTERM), now, out)
                }
                // A primary's exit ends the drain delay (or prestop timer):
                // the others are stopped now.
                State::Teardown(Teardown {
                    stage: Stage::Held { .. },
                    ..
                }) => self.signal_stop(now, out),
                _ => {}
            }
        }
        self.stop_next(out);
        self.progress(now, out);
    }

    /// Stop one managed process now, alone: its socket line failed (SPEC
    /// §5). It gets its stop signal (unless it had it) and SIGKILL after
    /// the timeout. In a teardown (with `-stoporder reverse`, before its
    /// turn) it is stopped now all the same, but once everything has been
    /// SIGKILLed nothing is left to send it.
    pub fn drop_process(&mut self, pid: i32, now: u64, out: &mut Actions) {
        if self.is_done()
            || matches!(
                self.stage(),
                Some(Stage::Killed { .. } | Stage::StopCommand(_))
            )
        {
            return;
        }
        let sig = self.stop_for(SIGTERM);
        let kill_at = now + self.s.timeout_ms;
        if let Some(p) = self.procs.iter_mut().find(|p| p.pid == pid)
            && p.stop == Stopped::No
        {
            let sig = signal_for(p.own, sig);
            p.stop = if push_if_room(out, Action::Stop { pid, sig }) {
                Stopped::Alone { kill_at }
            } else {
                Stopped::Dropped { kill_at }
            };
        }
    }

    /// The `-start` command exited (`ok` = status 0) or could not start.
    pub fn start_exited(&mut self, ok: bool, now: u64, out: &mut Actions) {
        match self.state {
            State::Starting if ok => {
                self.state = State::Running;
                push(out, Action::Launch);
            }
            State::Starting => {
                self.state = State::Teardown(Teardown {
                    cause: Cause::StartFailed,
                    sig: self.stop_for(SIGTERM),
                    stage: Stage::Grace {
                        kill_at: now + self.s.timeout_ms,
                        step: Step::StartCommand,
                    },
                });
                self.finish(now, out);
            }
            State::Teardown(_) if self.step() == Some(Step::StartCommand) => self.finish(now, out),
            _ => {}
        }
    }

    /// The prestop command exited or could not start.
    pub fn prestop_exited(&mut self, now: u64, out: &mut Actions) {
        if self.step() == Some(Step::Prestop) {
            // It was the last one left.
            return self.after_managed(now, out);
        }
        if let State::Teardown(Teardown {
            stage:
                Stage::Held { prestop, .. }
                | Stage::Grace {
                    step: Step::Managed { prestop },
                    ..
                }
                | Stage::Killed {
                    step: Step::Managed { prestop },
                    ..
                },
            ..
        }) = &mut self.state
        {
            *prestop = false;
        }
        self.progress(now, out);
    }

    /// The stop command exited or could not start.
    pub fn stop_exited(&mut self, now: u64, out: &mut Actions) {
        if let Some(Stage::StopCommand(_)) = self.stage() {
            self.finish(now, out);
        }
    }

    /// dinit has no child left at all.
    pub fn children_gone(&mut self, out: &mut Actions) {
        if self.step() == Some(Step::Draining) {
            self.done(out);
        }
    }

    /// A command-line command could not be started: tear down what runs
    /// and exit with `code`.
    pub fn abort(&mut self, code: u8, now: u64, out: &mut Actions) {
        if let State::Running = self.state {
            self.teardown(Cause::Aborted(code), self.stop_for(SIGTERM), now, out);
            self.progress(now, out);
        }
    }

    /// dinit received a stop request: SIGTERM, SIGINT or the `-stopsignal`.
    pub fn stop_request(&mut self, sig: i32, now: u64, out: &mut Actions) {
        self.requests = self.requests.saturating_add(1);
        let first = self.requests == 1;
        let stop = self.stop_for(sig);
        match self.state {
            // The start command gets the signal and the grace period to
            // finish; whatever it leaves behind shares that deadline.
            State::Starting => {
                self.state = State::Teardown(Teardown {
                    cause: Cause::StartInterrupted(sig),
                    sig: stop,
                    stage: Stage::Grace {
                        kill_at: now + self.s.timeout_ms,
                        step: Step::StartCommand,
                    },
                });
                push(out, Action::PassToStart(sig));
            }
            // With -prestop it starts first; with -prestoptimer the stop
            // signal waits (a drain delay when there is no -prestop).
            State::Running => {
                self.state = State::Teardown(Teardown {
                    cause: Cause::Request(sig),
                    sig: stop,
                    stage: Stage::Held {
                        until: now + self.s.prestop_timer_ms,
                        prestop: self.s.has_prestop,
                    },
                });
                if self.s.has_prestop {
                    push(out, Action::SpawnPrestop);
                }
                if self.s.prestop_timer_ms == 0 {
                    self.signal_stop(now, out);
                }
                self.progress(now, out);
            }
            // The first request after a primary's exit (or a failed start)
            // is noted only: everything has had or is getting its stop
            // signal, and the grace period stays. The next one kills.
            State::Teardown(_) if first => {}
            // A second request during the drain delay ends the delay (not
            // the grace period: a third one kills).
            State::Teardown(Teardown {
                cause: Cause::Request(_),
                stage: Stage::Held { .. },
                ..
            }) if self.requests == 2 && !self.s.has_prestop => {
                self.signal_stop(now, out);
                self.progress(now, out);
            }
            State::Teardown(_) => self.kill_now(Why::Signal(sig), now, out),
            State::Done(_) => {}
        }
    }

    /// Time has passed; act on every expired deadline.
    pub fn tick(&mut self, now: u64, out: &mut Actions) {
        // The SIGKILLs due to processes stopped alone, and whatever an
        // earlier turn had no room for (see `push_if_room`).
        let sig = self.stop_for(SIGTERM);
        for p in self.procs.iter_mut() {
            if let Stopped::Dropped { kill_at } = p.stop {
                let (pid, sig) = (p.pid, signal_for(p.own, sig));
                if push_if_room(out, Action::Stop { pid, sig }) {
                    p.stop = Stopped::Alone { kill_at };
                }
            }
            if let Stopped::Alone { kill_at } = p.stop
                && now >= kill_at
                && push_if_room(out, Action::Kill { pid: p.pid })
            {
                p.stop = Stopped::Yes;
            }
        }
        self.stop_managed(out);
        self.stop_next(out);
        // One after the other, in the order the stages follow each other:
        // each may move the teardown on to the next (`-timeout 0` kills
        // right after the stop signal, in the same turn).
        if let Some(Stage::Held { until, .. }) = self.stage()
            && now >= until
        {
            self.signal_stop(now, out);
            self.progress(now, out);
        }
        // The one deadline, for everything but the stop command.
        if let Some(
            Stage::Grace { kill_at, .. } | Stage::StopCommand(StopCommand::Runs { kill_at, .. }),
        ) = self.stage()
            && now >= kill_at
        {
            self.kill_now(Why::Timeout, now, out);
        }
        // Stuck in the kernel: go on without it (to the stop command, or
        // out).
        if let Some(Stage::Killed {
            give_up_at, step, ..
        }) = self.stage()
            && now >= give_up_at
        {
            self.give_up(step, now, out);
        }
        // The stop command's own deadline.
        if let Some(Stage::StopCommand(StopCommand::Overtime { at, until })) = self.stage()
            && now >= until
        {
            push(out, Action::KillStop(Why::Timeout));
            self.set_stage(Stage::StopCommand(StopCommand::Killed {
                at,
                give_up_at: now + KILL_WAIT_MS,
            }));
        }
        // The stop command stuck in the kernel: go on without it.
        if let Some(Stage::StopCommand(StopCommand::Killed { give_up_at, .. })) = self.stage()
            && now >= give_up_at
        {
            self.finish(now, out);
        }
    }

    // Transitions.

    fn stage(&self) -> Option<Stage> {
        match self.state {
            State::Teardown(t) => Some(t.stage),
            _ => None,
        }
    }

    fn set_stage(&mut self, stage: Stage) {
        if let State::Teardown(t) = &mut self.state {
            t.stage = stage;
        }
    }

    /// What the teardown waits for, outside the stop command.
    fn step(&self) -> Option<Step> {
        match self.stage()? {
            Stage::Grace { step, .. } | Stage::Killed { step, .. } => Some(step),
            Stage::Held { .. } | Stage::StopCommand(_) => None,
        }
    }

    fn set_step(&mut self, new: Step) {
        if let State::Teardown(Teardown {
            stage: Stage::Grace { step, .. } | Stage::Killed { step, .. },
            ..
        }) = &mut self.state
        {
            *step = new;
        }
    }

    /// Begin a teardown whose stop signal goes out at once.
    fn teardown(&mut self, cause: Cause, sig: i32, now: u64, out: &mut Actions) {
        self.state = State::Teardown(Teardown {
            cause,
            sig,
            stage: Stage::Grace {
                kill_at: now + self.s.timeout_ms,
                step: Step::Managed { prestop: false },
            },
        });
        self.send_stops(out);
    }

    /// The held stop signal goes out now: the grace period starts, and
    /// with it the teardown's one SIGKILL deadline.
    fn signal_stop(&mut self, now: u64, out: &mut Actions) {
        if let Some(Stage::Held { prestop, .. }) = self.stage() {
            self.set_stage(Stage::Grace {
                kill_at: now + self.s.timeout_ms,
                step: Step::Managed { prestop },
            });
            self.send_stops(out);
        }
    }

    /// Send the stop signals due at the start of the grace period: to every
    /// managed process at once (and the orphans), or to the last started
    /// one.
    fn send_stops(&mut self, out: &mut Actions) {
        match self.s.order {
            StopOrder::Together => {
                self.stop_managed(out);
                push(out, Action::StopOrphans);
            }
            StopOrder::Reverse => self.stop_next(out),
        }
    }

    /// The teardown's stop signal while its grace period waits for the
    /// managed processes, and they are stopped in `order`.
    fn stopping(&self, order: StopOrder) -> Option<i32> {
        match self.state {
            State::Teardown(Teardown {
                sig,
                stage:
                    Stage::Grace {
                        step: Step::Managed { .. },
                        ..
                    },
                ..
            }) if self.s.order == order => Some(sig),
            _ => None,
        }
    }

    /// `-stoporder together`, in the grace period: the stop signal to every
    /// managed process that has not had it (as far as the turn has room).
    fn stop_managed(&mut self, out: &mut Actions) {
        let Some(sig) = self.stopping(StopOrder::Together) else {
            return;
        };
        for p in self.procs.iter_mut().filter(|p| p.stop == Stopped::No) {
            let (pid, sig) = (p.pid, signal_for(p.own, sig));
            if !push_if_room(out, Action::Stop { pid, sig }) {
                break;
            }
            p.stop = Stopped::Yes;
        }
    }

    /// `-stoporder reverse`: stop the last started process once every one
    /// started after it has exited (so, when it is the last in the list).
    fn stop_next(&mut self, out: &mut Actions) {
        let Some(sig) = self.stopping(StopOrder::Reverse) else {
            return;
        };
        let waiting = self.procs.len().saturating_sub(1) as u16;
        if let Some(p) = self.procs.last_mut()
            && p.stop == Stopped::No
        {
            let (pid, sig) = (p.pid, signal_for(p.own, sig));
            if push_if_room(out, Action::StopNext { pid, sig, waiting }) {
                p.stop = Stopped::Yes;
            }
        }
    }

    /// Move on once every managed process is gone.
    fn progress(&mut self, now: u64, out: &mut Actions) {
        if !self.procs.is_empty() {
            return;
        }
        match self.stage() {
            // The held stop signal goes out now (the orphans' and the
            // grace period's), then as below.
            Some(Stage::Held { .. }) => {
                self.signal_stop(now, out);
                self.progress(now, out);
            }
            // Only the prestop command is left: it is torn down like the
            // rest, within the same deadline.
            Some(Stage::Grace {
                step: Step::Managed { prestop: true },
                ..
            }) => {
                self.set_step(Step::Prestop);
                push(out, Action::TermPrestop);
            }
            // SIGKILLed already: nothing more to send it.
            Some(Stage::Killed {
                step: Step::Managed { prestop: true },
                ..
            }) => self.set_step(Step::Prestop),
            Some(
                Stage::Grace {
                    step: Step::Managed { prestop: false },
                    ..
                }
                | Stage::Killed {
                    step: Step::Managed { prestop: false },
                    ..
                },
            ) => self.after_managed(now, out),
            _ => {}
        }
    }

    /// Every managed process (and the prestop command) is gone: run the
    /// stop command, or drain.
    fn after_managed(&mut self, now: u64, out: &mut Actions) {
        if !self.s.has_stop {
            return self.finish(now, out);
        }
        let until = now + self.s.timeout_ms;
        let clock = match self.stage() {
            Some(Stage::Grace { kill_at, .. }) => StopCommand::Runs { kill_at, until },
            Some(Stage::Killed { at, .. }) => StopCommand::Overtime { at, until },
            // The stop signal goes out before (`signal_stop`), and the stop
            // command runs once.
            _ => return,
        };
        self.set_stage(Stage::StopCommand(clock));
        push(out, Action::SpawnStop);
        // With -stoporder reverse the orphans' turn has come.
        if self.s.order == StopOrder::Reverse {
            push(out, Action::StopOrphans);
        }
    }

    /// Before leaving, PID 1 or not: drain every child left (SPEC §10).
    /// Until the deadline they get the stop signal; past it, or once
    /// everything was killed, SIGKILL at once.
    fn finish(&mut self, now: u64, out: &mut Actions) {
        let Some(stage) = self.stage() else {
            return;
        };
        let (at, give_up_at) = match stage {
            Stage::Grace { kill_at, .. }
            | Stage::StopCommand(StopCommand::Runs { kill_at, .. })
                if now < kill_at =>
            {
                self.set_stage(Stage::Grace {
                    kill_at,
                    step: Step::Draining,
                });
                push(out, Action::Drain);
                return;
            }
            Stage::Held { .. } => (now, now + KILL_WAIT_MS),
            // Past the deadline (met, not yet acted on).
            Stage::Grace { kill_at, .. }
            | Stage::StopCommand(StopCommand::Runs { kill_at, .. }) => {
                (kill_at, now + KILL_WAIT_MS)
            }
            // Everything had its SIGKILL: the wait for what is stuck goes
            // on, it does not start over (SPEC §10: 5 s at most).
            Stage::Killed { at, give_up_at, .. } => (at, give_up_at),
            // After the stop command, on a clock of its own, what is left
            // is killed anew, and waited for anew.
            Stage::StopCommand(
                StopCommand::Overtime { at, .. } | StopCommand::Killed { at, .. },
            ) => (at, now + KILL_WAIT_MS),
        };
        self.set_stage(Stage::Killed {
            at,
            give_up_at,
            step: Step::Draining,
        });
        push(out, Action::KillLeftovers);
        push(out, Action::Drain);
    }

    /// The deadline passed, or a second stop request: SIGKILL everything
    /// (the stop command only on a request: it keeps its own timeout).
    fn kill_now(&mut self, why: Why, now: u64, out: &mut Actions) {
        let Some(stage) = self.stage() else {
            return;
        };
        let (at, step) = match stage {
            Stage::Held { prestop, .. } => (now, Step::Managed { prestop }),
            // `at` is the deadline met, or the moment that cut it short.
            Stage::Grace { kill_at, step } => (now.min(kill_at), step),
            Stage::Killed { .. } => return,
            Stage::StopCommand(clock) => return self.kill_now_stop_command(clock, why, now, out),
        };
        match step {
            Step::Draining => {
                push(out, Action::KillLeftovers);
                push(out, Action::Drain);
            }
            Step::StartCommand | Step::Managed { .. } | Step::Prestop => {
                push(out, Action::KillAll(why));
                // Those stopped alone were killed with the rest: their own
                // SIGKILL (and its "did not stop in time") is not due any
                // more.
                for p in self.procs.iter_mut() {
                    if let Stopped::Dropped { .. } | Stopped::Alone { .. } = p.stop {
                        p.stop = Stopped::Yes;
                    }
                }
            }
        }
        self.set_stage(Stage::Killed {
            at,
            give_up_at: now + KILL_WAIT_MS,
            step,
        });
    }

    /// `kill_now` while the stop command runs: the orphans are SIGKILLed,
    /// and the stop command too on a request, not when the teardown's
    /// deadline passes (its own comes later).
    fn kill_now_stop_command(&mut self, clock: StopCommand, why: Why, now: u64, out: &mut Actions) {
        let clock = match (clock, why) {
            (StopCommand::Runs { kill_at, until }, Why::Timeout) => {
                StopCommand::Overtime { at: kill_at, until }
            }
            (StopCommand::Runs { .. } | StopCommand::Overtime { .. }, Why::Signal(_)) => {
                StopCommand::Killed {
                    at: now.min(clock.kill_deadline()),
                    give_up_at: now + KILL_WAIT_MS,
                }
            }
            _ => return,
        };
        push(out, Action::KillOrphans);
        if let StopCommand::Killed { .. } = clock {
            push(out, Action::KillStop(why));
        }
        self.set_stage(Stage::StopCommand(clock));
    }

    /// What `step` waits for outlived its SIGKILL by `KILL_WAIT_MS`: it is
    /// stuck in the kernel, and dinit goes on without it.
    fn give_up(&mut self, step: Step, now: u64, out: &mut Actions) {
        match step {
            Step::Managed { .. } | Step::Prestop if self.s.has_stop => self.after_managed(now, out),
            // Every child has had its SIGKILL and this one wait (README:
            // 5 s); a last one for late arrivals, and leave.
            Step::Managed { .. } | Step::Prestop | Step::StartCommand => {
                push(out, Action::KillLeftovers);
                self.done(out);
            }
            Step::Draining => self.done(out),
        }
    }

    fn done(&mut self, out: &mut Actions) {
        if let State::Teardown(t) = self.state {
            self.state = State::Done(t.cause);
            push(out, Action::Exit);
        }
    }
}

#[cfg(test)]
mod tests;
