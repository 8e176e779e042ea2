//! The teardown machine (SPEC §3, §9, §10), pure: events and the time go
//! in, the actions the loop must perform come out. The supervisor owns the
//! processes and performs the actions; this file owns the order of things,
//! which stop signal goes out, and every deadline, and is tested with fake
//! time.
//!
//!   Starting ──start ok──▶ Running ──primary exit──────────────▶ Terminating
//!                            │                                      │ timeout
//!                            └─stop request─▶ PreStop ─timer──▶     ▼
//!                                         (prestop / drain delay)  Killing
//!   (all managed gone, from any of these) ──▶ Stopping ──▶ Draining ──▶ Done
//!
//! One deadline for the whole teardown: the moment the stop signal goes out
//! (after any drain delay) fixes `kill_at`, and everything dinit signals —
//! managed processes, the orphans it adopted, children reparented to it
//! while others die — is SIGKILLed then, so the total time is about one
//! `-timeout`, not one per phase. The `-stop` command alone has its own
//! `-timeout`; what is left after it (arrivals after `kill_at`) is killed at
//! once. Draining ends when dinit has no child at all, or `KILL_WAIT_MS`
//! after the last SIGKILL.

use heapless::Vec;

/// How long to wait for SIGKILLed processes (or a killed stop command) to be
/// reaped before giving up on them. SIGKILL cannot be caught, so this only
/// matters for a process stuck in uninterruptible sleep.
pub const KILL_WAIT_MS: u64 = 5_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// The `-start` command runs; `interrupted` is a stop request received
    /// meanwhile, after which the start command has the grace period
    /// (`until`) like any process before it is killed.
    Starting {
        interrupted: Option<i32>,
        until: Option<u64>,
    },
    /// Commands run; nothing is being torn down.
    Running,
    /// A stop request arrived; the stop signal `sig` goes out at `until`.
    /// `-prestop` (if any) runs meanwhile; without one this is the drain
    /// delay of `-prestoptimer`.
    PreStop {
        sig: i32,
        until: u64,
    },
    /// The stop signals were sent (`until` is then the teardown's
    /// `kill_at`), or only the prestop command is left; SIGKILL at `until`.
    Terminating {
        until: u64,
    },
    /// SIGKILL was sent; stop waiting at `until`.
    Killing {
        until: u64,
    },
    /// The `-stop` command runs; it is killed at `until` (then given
    /// `KILL_WAIT_MS` more when `killed`).
    Stopping {
        until: u64,
        killed: bool,
    },
    /// Every child left (adopted orphans, late arrivals) got the stop
    /// signal: SIGKILL at `until`; once `killed`, exit at `until` whatever
    /// is left (stuck in the kernel).
    Draining {
        until: u64,
        killed: bool,
    },
    Done,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Start the `-start` command.
    SpawnStart,
    /// Start every `-r` command, in order.
    SpawnCommands,
    /// SIGKILL the start command (interrupted, and out of time).
    KillStart(Why),
    /// Start the `-prestop` command.
    SpawnPrestop,
    /// Send every managed process its stop signal — its own (`-r:SIG`, in
    /// its table entry: [`signal_for`]) or this one — then SIGCONT; then
    /// sweep the other children ([`Machine::sweep`] says how).
    Stop(i32),
    /// SIGKILL every managed process, the prestop command and every other
    /// child (as PID 1: everything in the PID namespace).
    KillAll,
    /// SIGTERM (+SIGCONT) the prestop command, the last one left.
    TermPrestop,
    /// Start the `-stop` command.
    SpawnStop,
    /// SIGKILL the stop command, and why (for the log line).
    KillStop(Why),
    /// Sweep the children left (stop signal + SIGCONT to each one not yet
    /// signalled), then leave once none is left.
    DrainChildren,
    /// SIGKILL every child left (as PID 1: everything in the namespace).
    KillLeftovers,
    /// Leave with the exit status.
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
/// them: when teardown starts, after each reap, when draining.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sweep {
    /// Leave them alone (nothing torn down yet, or the drain delay runs).
    Nothing,
    /// Send this stop signal and SIGCONT to each one not signalled yet.
    Stop(i32),
    /// SIGKILL them: the teardown's deadline has passed, or it was cut
    /// short.
    Kill,
}

/// The stop signal a managed process gets: its own (`-r:SIG`, 0 for none)
/// or the teardown's. A command's own signal is what it gets at every
/// teardown, whatever started it (a primary's exit, SIGTERM, SIGINT, the
/// `-stopsignal`): it names how that program stops gracefully.
pub fn signal_for(own: u8, teardown: i32) -> i32 {
    if own == 0 { teardown } else { i32::from(own) }
}

pub type Actions = Vec<Action, 4>;

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
}

#[derive(Debug)]
pub struct Machine {
    pub phase: Phase,
    s: Settings,
    /// An exit code decided by the machine itself (interrupted start, failed
    /// start); otherwise the primary's status decides.
    pub code: Option<u8>,
    /// The prestop command was sent SIGTERM already.
    prestop_termed: bool,
    /// dinit itself received a stop request during this run; a teardown
    /// started by the primary's exit does not count, so the first request
    /// then is not yet the "second one" that kills at once.
    signalled: bool,
    /// The stop signal of this teardown (0 until one is decided).
    stop_sig: i32,
    /// When everything signalled is SIGKILLed: set when the stop signal
    /// goes out (or draining starts without one).
    kill_at: Option<u64>,
    /// SIGKILL went out to everything (the deadline, or a second request).
    killed: bool,
}

fn one(a: Action) -> Actions {
    let mut v = Actions::new();
    let _ = v.push(a);
    v
}

impl Machine {
    /// The machine before anything has started; `begin` says what to do
    /// first.
    pub fn new(s: Settings) -> Machine {
        let phase = if s.has_start {
            Phase::Starting {
                interrupted: None,
                until: None,
            }
        } else {
            Phase::Running
        };
        Machine {
            phase,
            s,
            code: None,
            prestop_termed: false,
            signalled: false,
            stop_sig: 0,
            kill_at: None,
            killed: false,
        }
    }

    /// What to do first: start the `-start` command, or the commands.
    pub fn begin(&self) -> Actions {
        match self.phase {
            Phase::Starting { .. } => one(Action::SpawnStart),
            Phase::Running => one(Action::SpawnCommands),
            _ => Actions::new(),
        }
    }

    pub fn is_done(&self) -> bool {
        // `matches!`, not `==`: the derived `PartialEq` (for the tests)
        // compares every field of every phase, 200 bytes in the binary.
        matches!(self.phase, Phase::Done)
    }

    /// Whether managed processes may be started (commands, submissions).
    pub fn accepting(&self) -> bool {
        matches!(self.phase, Phase::Running)
    }

    /// The next deadline, if the phase has one.
    pub fn deadline(&self) -> Option<u64> {
        match self.phase {
            Phase::Starting { until, .. } => until,
            Phase::PreStop { until, .. }
            | Phase::Terminating { until }
            | Phase::Killing { until }
            | Phase::Stopping { until, .. }
            | Phase::Draining { until, .. } => Some(until),
            _ => None,
        }
    }

    /// How to treat adopted orphans at `now` (see [`Sweep`]).
    pub fn sweep(&self, now: u64) -> Sweep {
        match self.kill_at {
            _ if self.killed => Sweep::Kill,
            Some(at) if now >= at => Sweep::Kill,
            Some(_) => Sweep::Stop(self.stop_sig),
            None => Sweep::Nothing,
        }
    }

    /// The teardown's stop signal for a stop request `sig` (or SIGTERM).
    fn stop_for(&self, sig: i32) -> i32 {
        self.s.stop_signal.unwrap_or(sig)
    }

    /// The `-start` command exited (`ok` = status 0).
    pub fn start_exited(&mut self, ok: bool, now: u64) -> Actions {
        let Phase::Starting { interrupted, .. } = self.phase else {
            return Actions::new();
        };
        if let Some(sig) = interrupted {
            self.code = Some((128 + sig) as u8);
            self.finish(now)
        } else if !ok {
            self.code = Some(crate::error::EXIT_FAILURE);
            self.finish(now)
        } else {
            self.phase = Phase::Running;
            one(Action::SpawnCommands)
        }
    }

    /// dinit received a stop request: SIGTERM, SIGINT or the `-stopsignal`.
    pub fn stop_request(&mut self, sig: i32, now: u64) -> Actions {
        let first = matches!(self.phase, Phase::Running);
        if first {
            self.signalled = true;
        }
        let stop = self.stop_for(sig);
        match self.phase {
            // The supervisor passes the signal to the start command; it has
            // the grace period to finish (the teardown's deadline: whatever
            // it leaves behind is killed then too), and a second signal
            // kills it, and them, at once.
            Phase::Starting {
                interrupted: None, ..
            } => {
                let until = now + self.s.timeout_ms;
                self.stop_sig = stop;
                self.kill_at = Some(until);
                self.phase = Phase::Starting {
                    interrupted: Some(sig),
                    until: Some(until),
                };
                Actions::new()
            }
            Phase::Starting {
                interrupted,
                until: Some(_),
            } => {
                self.killed = true;
                self.phase = Phase::Starting {
                    interrupted,
                    until: None,
                };
                one(Action::KillStart(Why::Signal(sig)))
            }
            // With -prestop it starts first; with -prestoptimer the stop
            // signal waits (a drain delay when there is no -prestop).
            Phase::Running if self.s.has_prestop || self.s.prestop_timer_ms > 0 => {
                let mut v = Actions::new();
                if self.s.has_prestop {
                    let _ = v.push(Action::SpawnPrestop);
                }
                if self.s.prestop_timer_ms == 0 {
                    let _ = v.push(self.send_stop(stop, now));
                } else {
                    self.stop_sig = stop;
                    self.phase = Phase::PreStop {
                        sig: stop,
                        until: now + self.s.prestop_timer_ms,
                    };
                }
                v
            }
            Phase::Running => one(self.send_stop(stop, now)),
            // The first one to arrive while a primary's exit tears down:
            // the stop signals go out again, the grace period stays.
            Phase::Terminating { .. } if !self.signalled => {
                self.signalled = true;
                one(Action::Stop(stop))
            }
            // A second request during the drain delay skips the delay (not
            // the grace period: a third one kills). With -prestop it kills,
            // as during the grace period: skip the rest of the wait.
            Phase::PreStop { sig, .. } if !self.s.has_prestop => one(self.send_stop(sig, now)),
            Phase::PreStop { .. } | Phase::Terminating { .. } => self.kill_all(now),
            // The first one after a primary's exit, once the managed
            // processes are gone: noted, so that the next one cuts the wait
            // short; the stop command and the orphans keep their grace.
            Phase::Killing { .. } | Phase::Stopping { .. } | Phase::Draining { .. }
                if !self.signalled =>
            {
                self.signalled = true;
                Actions::new()
            }
            Phase::Stopping { killed: false, .. } => self.kill_stop(now, Why::Signal(sig)),
            Phase::Draining { killed: false, .. } => self.kill_leftovers(now),
            _ => Actions::new(),
        }
    }

    /// The stop signal goes out now: the grace period starts, and with it
    /// the teardown's one SIGKILL deadline.
    fn send_stop(&mut self, sig: i32, now: u64) -> Action {
        let until = now + self.s.timeout_ms;
        self.stop_sig = sig;
        self.kill_at = Some(until);
        self.phase = Phase::Terminating { until };
        Action::Stop(sig)
    }

    /// A primary process exited (or a command could not be started, `code`).
    pub fn primary_exited(&mut self, now: u64) -> Actions {
        match self.phase {
            Phase::Running => {
                let sig = self.stop_for(crate::sys::signals::SIGTERM);
                one(self.send_stop(sig, now))
            }
            Phase::PreStop { sig, .. } => one(self.send_stop(sig, now)),
            _ => Actions::new(),
        }
    }

    /// Startup failed after some commands may have started: tear down with
    /// this exit code.
    pub fn abort(&mut self, code: u8, now: u64) -> Actions {
        self.code = Some(code);
        self.primary_exited(now)
    }

    /// The table of managed processes is empty; `prestop_alive` says whether
    /// the prestop command still runs.
    pub fn managed_gone(&mut self, prestop_alive: bool, now: u64) -> Actions {
        match self.phase {
            Phase::Running
            | Phase::PreStop { .. }
            | Phase::Terminating { .. }
            | Phase::Killing { .. } => {}
            _ => return Actions::new(),
        }
        if prestop_alive {
            // The prestop command is torn down like the rest: SIGTERM once,
            // SIGKILL with KillAll when the grace period ends.
            if let Phase::Running | Phase::PreStop { .. } = self.phase {
                self.phase = Phase::Terminating {
                    until: now + self.s.timeout_ms,
                };
            }
            if self.prestop_termed || matches!(self.phase, Phase::Killing { .. }) {
                return Actions::new();
            }
            self.prestop_termed = true;
            return one(Action::TermPrestop);
        }
        self.after_managed(now)
    }

    fn after_managed(&mut self, now: u64) -> Actions {
        if self.s.has_stop {
            self.phase = Phase::Stopping {
                until: now + self.s.timeout_ms,
                killed: false,
            };
            one(Action::SpawnStop)
        } else {
            self.finish(now)
        }
    }

    /// The stop command exited (or could not be started).
    pub fn stop_exited(&mut self, now: u64) -> Actions {
        match self.phase {
            Phase::Stopping { .. } => self.finish(now),
            _ => Actions::new(),
        }
    }

    /// dinit has no child left at all.
    pub fn children_gone(&mut self) -> Actions {
        match self.phase {
            Phase::Draining { .. } => {
                self.phase = Phase::Done;
                one(Action::Exit)
            }
            _ => Actions::new(),
        }
    }

    /// Before leaving, PID 1 or not: drain every child left (SPEC §10).
    /// Until the teardown's deadline they get the stop signal; past it (or
    /// after a second request) SIGKILL at once. A teardown that never sent
    /// a stop signal (a failed or interrupted `-start`) starts the grace
    /// period here.
    fn finish(&mut self, now: u64) -> Actions {
        if self.stop_sig == 0 {
            self.stop_sig = self.stop_for(crate::sys::signals::SIGTERM);
        }
        let until = *self.kill_at.get_or_insert(now + self.s.timeout_ms);
        if self.killed || now >= until {
            return self.kill_leftovers(now);
        }
        self.phase = Phase::Draining {
            until,
            killed: false,
        };
        one(Action::DrainChildren)
    }

    /// Time has passed; act on an expired deadline.
    pub fn tick(&mut self, now: u64) -> Actions {
        match self.deadline() {
            Some(until) if now >= until => {}
            _ => return Actions::new(),
        }
        match self.phase {
            Phase::Starting { interrupted, .. } => {
                self.phase = Phase::Starting {
                    interrupted,
                    until: None,
                };
                one(Action::KillStart(Why::Timeout))
            }
            Phase::PreStop { sig, .. } => one(self.send_stop(sig, now)),
            Phase::Terminating { .. } => self.kill_all(now),
            // SIGKILLed processes that still are not reaped are stuck in the
            // kernel; dinit stops waiting for them rather than hang forever.
            // Without a stop command to run, every child has had its SIGKILL
            // and this one wait (README: 5 s): a last sweep, and leave.
            Phase::Killing { .. } if !self.s.has_stop => {
                self.phase = Phase::Done;
                let mut v = one(Action::KillLeftovers);
                let _ = v.push(Action::Exit);
                v
            }
            Phase::Killing { .. } => self.after_managed(now),
            Phase::Stopping { killed: false, .. } => self.kill_stop(now, Why::Timeout),
            Phase::Stopping { killed: true, .. } => self.finish(now),
            Phase::Draining { killed: false, .. } => self.kill_leftovers(now),
            Phase::Draining { killed: true, .. } => {
                self.phase = Phase::Done;
                one(Action::Exit)
            }
            _ => Actions::new(),
        }
    }

    // The three kills, each reached by its deadline or by a second stop
    // request that cuts the wait short.

    /// SIGKILL the managed processes and every other child; wait
    /// `KILL_WAIT_MS` for the managed ones.
    fn kill_all(&mut self, now: u64) -> Actions {
        self.killed = true;
        self.phase = Phase::Killing {
            until: now + KILL_WAIT_MS,
        };
        one(Action::KillAll)
    }

    /// SIGKILL the stop command; wait `KILL_WAIT_MS` for it.
    fn kill_stop(&mut self, now: u64, why: Why) -> Actions {
        self.phase = Phase::Stopping {
            until: now + KILL_WAIT_MS,
            killed: true,
        };
        one(Action::KillStop(why))
    }

    /// SIGKILL every child left; wait `KILL_WAIT_MS` for them.
    fn kill_leftovers(&mut self, now: u64) -> Actions {
        self.killed = true;
        self.phase = Phase::Draining {
            until: now + KILL_WAIT_MS,
            killed: true,
        };
        one(Action::KillLeftovers)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Action::*;

    const TERM: i32 = 15;
    const INT: i32 = 2;
    const QUIT: i32 = 3;

    fn settings() -> Settings {
        Settings {
            timeout_ms: 10_000,
            prestop_timer_ms: 0,
            has_start: false,
            has_prestop: false,
            has_stop: false,
            stop_signal: None,
        }
    }

    fn acts(v: Actions) -> std::vec::Vec<Action> {
        v.into_iter().collect()
    }

    #[test]
    fn primary_exit_plain() {
        let mut m = Machine::new(settings());
        let a = m.begin();
        assert_eq!(acts(a), [SpawnCommands]);
        assert!(m.accepting());
        assert_eq!(m.sweep(0), Sweep::Nothing);
        assert_eq!(acts(m.primary_exited(100)), [Stop(TERM)]);
        assert_eq!(m.deadline(), Some(10_100));
        assert!(!m.accepting());
        assert_eq!(m.sweep(100), Sweep::Stop(TERM));
        assert_eq!(acts(m.tick(10_099)), []);
        assert_eq!(acts(m.tick(10_100)), [KillAll]);
        assert_eq!(m.sweep(10_100), Sweep::Kill);
        // Past the deadline: whatever is left is killed at once...
        assert_eq!(acts(m.managed_gone(false, 10_200)), [KillLeftovers]);
        assert!(!m.is_done());
        // ...and dinit leaves once it has no child.
        assert_eq!(acts(m.children_gone()), [Exit]);
        assert!(m.is_done());
        assert_eq!(m.code, None);
    }

    #[test]
    fn all_gone_before_timeout_drains_then_ends() {
        let mut m = Machine::new(settings());
        m.primary_exited(0);
        assert_eq!(acts(m.managed_gone(false, 5)), [DrainChildren]);
        assert_eq!(acts(m.children_gone()), [Exit]);
    }

    #[test]
    fn orphans_share_the_teardown_deadline() {
        // Orphans adopted before the teardown get the stop signal with the
        // managed processes (Stop's sweep) and are killed at the same
        // deadline: draining does not start a second grace period.
        let mut m = Machine::new(settings());
        m.primary_exited(1_000);
        assert_eq!(m.sweep(1_000), Sweep::Stop(TERM));
        assert_eq!(acts(m.managed_gone(false, 1_500)), [DrainChildren]);
        assert_eq!(
            m.phase,
            Phase::Draining {
                until: 11_000,
                killed: false
            }
        );
        // A late arrival (reparented while draining) still gets the stop
        // signal before the deadline, and SIGKILL after it.
        assert_eq!(m.sweep(10_999), Sweep::Stop(TERM));
        assert_eq!(m.sweep(11_000), Sweep::Kill);
        assert_eq!(acts(m.tick(10_999)), []);
        assert_eq!(acts(m.tick(11_000)), [KillLeftovers]);
        assert_eq!(m.deadline(), Some(11_000 + KILL_WAIT_MS));
        // Stuck in the kernel: dinit gives up on them.
        assert_eq!(acts(m.tick(11_000 + KILL_WAIT_MS)), [Exit]);
        assert!(m.is_done());
    }

    #[test]
    fn sigterm_without_prestop_forwards_that_signal() {
        let mut m = Machine::new(settings());
        assert_eq!(acts(m.stop_request(INT, 0)), [Stop(INT)]);
        assert_eq!(m.sweep(0), Sweep::Stop(INT));
        // A second one kills at once, orphans too.
        assert_eq!(acts(m.stop_request(TERM, 1)), [KillAll]);
        assert_eq!(
            m.phase,
            Phase::Killing {
                until: 1 + KILL_WAIT_MS
            }
        );
        assert_eq!(m.sweep(1), Sweep::Kill);
        assert_eq!(acts(m.managed_gone(false, 2)), [KillLeftovers]);
        assert_eq!(acts(m.children_gone()), [Exit]);
    }

    #[test]
    fn stopsignal_replaces_the_default_everywhere() {
        let s = Settings {
            stop_signal: Some(QUIT),
            ..settings()
        };
        // After a primary's exit.
        let mut m = Machine::new(s);
        assert_eq!(acts(m.primary_exited(0)), [Stop(QUIT)]);
        assert_eq!(m.sweep(0), Sweep::Stop(QUIT));
        // After SIGTERM or SIGINT.
        for sig in [TERM, INT] {
            let mut m = Machine::new(s);
            assert_eq!(acts(m.stop_request(sig, 0)), [Stop(QUIT)]);
        }
        // After the stop signal itself, as a stop request.
        let mut m = Machine::new(s);
        assert_eq!(acts(m.stop_request(QUIT, 0)), [Stop(QUIT)]);
        assert_eq!(acts(m.stop_request(QUIT, 1)), [KillAll]);
        // A teardown that sent nothing yet drains with it too.
        let mut m = Machine::new(Settings {
            has_start: true,
            ..s
        });
        m.start_exited(false, 0);
        assert_eq!(m.sweep(0), Sweep::Stop(QUIT));
    }

    #[test]
    fn own_signals_win_whatever_started_the_teardown() {
        assert_eq!(signal_for(0, TERM), TERM);
        assert_eq!(signal_for(0, INT), INT);
        assert_eq!(signal_for(QUIT as u8, TERM), QUIT);
        assert_eq!(signal_for(QUIT as u8, INT), QUIT);
        assert_eq!(signal_for(28, QUIT), 28);
        assert_eq!(signal_for(64, TERM), 64);
    }

    #[test]
    fn drain_delay_holds_the_stop_signal_back() {
        let s = Settings {
            prestop_timer_ms: 5_000,
            ..settings()
        };
        let mut m = Machine::new(s);
        // No -prestop: nothing starts, the signal waits.
        assert_eq!(acts(m.stop_request(TERM, 1_000)), []);
        assert_eq!(m.deadline(), Some(6_000));
        assert!(!m.accepting());
        // Orphans are left alone while the app keeps serving.
        assert_eq!(m.sweep(1_000), Sweep::Nothing);
        assert_eq!(acts(m.tick(5_999)), []);
        assert_eq!(acts(m.tick(6_000)), [Stop(TERM)]);
        // The grace period starts when the signal goes out.
        assert_eq!(m.deadline(), Some(16_000));
        assert_eq!(m.sweep(6_000), Sweep::Stop(TERM));
        assert_eq!(acts(m.tick(16_000)), [KillAll]);
    }

    #[test]
    fn second_request_skips_the_drain_delay_not_the_grace_period() {
        let s = Settings {
            prestop_timer_ms: 5_000,
            stop_signal: Some(QUIT),
            ..settings()
        };
        let mut m = Machine::new(s);
        assert_eq!(acts(m.stop_request(TERM, 0)), []);
        assert_eq!(acts(m.stop_request(TERM, 100)), [Stop(QUIT)]);
        assert_eq!(m.deadline(), Some(10_100));
        // The third one kills.
        assert_eq!(acts(m.stop_request(INT, 200)), [KillAll]);
    }

    #[test]
    fn primary_exit_during_the_drain_delay_ends_it() {
        let s = Settings {
            prestop_timer_ms: 5_000,
            ..settings()
        };
        let mut m = Machine::new(s);
        m.stop_request(INT, 0);
        assert_eq!(acts(m.primary_exited(10)), [Stop(INT)]);
        assert_eq!(m.deadline(), Some(10_010));
    }

    #[test]
    fn prestop_with_timer() {
        let s = Settings {
            has_prestop: true,
            prestop_timer_ms: 3_000,
            has_stop: true,
            ..settings()
        };
        let mut m = Machine::new(s);
        assert_eq!(acts(m.stop_request(TERM, 1_000)), [SpawnPrestop]);
        assert_eq!(m.deadline(), Some(4_000));
        assert_eq!(acts(m.tick(3_999)), []);
        assert_eq!(acts(m.tick(4_000)), [Stop(TERM)]);
        assert_eq!(m.deadline(), Some(14_000));
        // Managed processes gone but prestop still running: it is torn
        // down, once.
        assert_eq!(acts(m.managed_gone(true, 5_000)), [TermPrestop]);
        assert_eq!(acts(m.managed_gone(true, 5_001)), []);
        assert_eq!(acts(m.tick(14_000)), [KillAll]);
        assert_eq!(acts(m.managed_gone(false, 14_001)), [SpawnStop]);
        assert_eq!(m.deadline(), Some(24_001));
        // The stop command ends past the teardown's deadline: what is left
        // was killed already and is killed again at once.
        assert_eq!(acts(m.stop_exited(15_000)), [KillLeftovers]);
        assert_eq!(acts(m.children_gone()), [Exit]);
    }

    #[test]
    fn second_request_with_prestop_kills() {
        let s = Settings {
            has_prestop: true,
            prestop_timer_ms: 3_000,
            ..settings()
        };
        let mut m = Machine::new(s);
        m.stop_request(TERM, 0);
        assert_eq!(acts(m.stop_request(TERM, 1)), [KillAll]);
    }

    #[test]
    fn prestop_without_timer_signals_at_once() {
        let s = Settings {
            has_prestop: true,
            ..settings()
        };
        let mut m = Machine::new(s);
        assert_eq!(acts(m.stop_request(TERM, 0)), [SpawnPrestop, Stop(TERM)]);
    }

    #[test]
    fn primary_exit_during_prestop_timer_passes_the_signal() {
        let s = Settings {
            has_prestop: true,
            prestop_timer_ms: 5_000,
            ..settings()
        };
        let mut m = Machine::new(s);
        m.stop_request(INT, 0);
        assert_eq!(acts(m.primary_exited(10)), [Stop(INT)]);
    }

    #[test]
    fn prestop_outliving_everything_is_terminated() {
        let s = Settings {
            has_prestop: true,
            prestop_timer_ms: 5_000,
            ..settings()
        };
        let mut m = Machine::new(s);
        m.stop_request(TERM, 0);
        assert_eq!(acts(m.managed_gone(true, 10)), [TermPrestop]);
        assert_eq!(m.deadline(), Some(10_010));
        assert_eq!(acts(m.tick(10_010)), [KillAll]);
        assert_eq!(acts(m.managed_gone(false, 10_011)), [KillLeftovers]);
        assert_eq!(acts(m.children_gone()), [Exit]);
    }

    #[test]
    fn start_command_paths() {
        let s = Settings {
            has_start: true,
            ..settings()
        };
        let mut m = Machine::new(s);
        let a = m.begin();
        assert_eq!(acts(a), [SpawnStart]);
        assert!(!m.accepting());
        assert_eq!(acts(m.start_exited(true, 0)), [SpawnCommands]);
        assert!(m.accepting());

        // A failed start drains what it may have left, with a grace period
        // of its own (no stop signal went out before).
        let mut m = Machine::new(s);
        assert_eq!(acts(m.start_exited(false, 0)), [DrainChildren]);
        assert_eq!(m.code, Some(1));
        assert_eq!(m.sweep(0), Sweep::Stop(TERM));
        assert_eq!(m.deadline(), Some(10_000));
        assert_eq!(acts(m.children_gone()), [Exit]);

        // Interrupted: what the start command leaves behind shares its
        // grace period.
        let mut m = Machine::new(s);
        assert_eq!(acts(m.stop_request(INT, 0)), []);
        assert_eq!(m.sweep(0), Sweep::Stop(INT));
        assert_eq!(acts(m.start_exited(true, 100)), [DrainChildren]);
        assert_eq!(m.sweep(100), Sweep::Stop(INT));
        assert_eq!(m.deadline(), Some(10_000));
        assert_eq!(acts(m.children_gone()), [Exit]);
        assert_eq!(m.code, Some(130));

        // A start command that ignores the signal is killed after the
        // grace period, or at once on a second signal; so is what it left.
        let mut m = Machine::new(s);
        m.stop_request(INT, 100);
        assert_eq!(m.deadline(), Some(10_100));
        assert_eq!(acts(m.tick(10_099)), []);
        assert_eq!(acts(m.tick(10_100)), [KillStart(Why::Timeout)]);
        assert_eq!(m.deadline(), None);
        assert_eq!(acts(m.start_exited(false, 10_200)), [KillLeftovers]);
        assert_eq!(m.code, Some(130));

        let mut m = Machine::new(s);
        m.stop_request(TERM, 0);
        assert_eq!(
            acts(m.stop_request(TERM, 1)),
            [KillStart(Why::Signal(TERM))]
        );
        assert_eq!(m.sweep(1), Sweep::Kill);
        assert_eq!(acts(m.stop_request(TERM, 2)), []);
        assert_eq!(acts(m.start_exited(false, 3)), [KillLeftovers]);
    }

    #[test]
    fn stop_command_is_bounded() {
        let s = Settings {
            has_stop: true,
            ..settings()
        };
        let mut m = Machine::new(s);
        m.primary_exited(0);
        assert_eq!(acts(m.managed_gone(false, 1)), [SpawnStop]);
        // Orphans turning up while it runs get the stop signal until the
        // teardown's deadline, SIGKILL after it; the stop command itself
        // keeps its own grace period.
        assert_eq!(m.sweep(9_999), Sweep::Stop(TERM));
        assert_eq!(m.sweep(10_000), Sweep::Kill);
        assert_eq!(acts(m.tick(10_000)), []);
        assert_eq!(acts(m.tick(10_001)), [KillStop(Why::Timeout)]);
        assert_eq!(acts(m.tick(10_001 + KILL_WAIT_MS)), [KillLeftovers]);
        assert_eq!(acts(m.tick(10_001 + 2 * KILL_WAIT_MS)), [Exit]);
    }

    #[test]
    fn stop_request_during_the_stop_command_kills_it_and_says_so() {
        let s = Settings {
            has_stop: true,
            ..settings()
        };
        // After a primary exit, and after a first SIGTERM.
        for first_term in [false, true] {
            let mut m = Machine::new(s);
            if first_term {
                assert_eq!(acts(m.stop_request(TERM, 0)), [Stop(TERM)]);
            } else {
                m.primary_exited(0);
            }
            assert_eq!(acts(m.managed_gone(false, 1)), [SpawnStop]);
            if !first_term {
                // The first request after a primary's exit keeps the stop
                // command's grace period; only a second one cuts it.
                assert_eq!(acts(m.stop_request(TERM, 400)), []);
                assert_eq!(m.deadline(), Some(1 + 10_000));
            }
            assert_eq!(acts(m.stop_request(INT, 500)), [KillStop(Why::Signal(INT))]);
            // Once only; the deadline now waits for the kill.
            assert_eq!(acts(m.stop_request(TERM, 501)), []);
            assert_eq!(m.deadline(), Some(500 + KILL_WAIT_MS));
            assert_eq!(acts(m.tick(500 + KILL_WAIT_MS - 1)), []);
            assert_eq!(acts(m.stop_exited(600)), [DrainChildren]);
        }
    }

    #[test]
    fn stop_command_in_time_then_drain_until_the_deadline() {
        let s = Settings {
            has_stop: true,
            ..settings()
        };
        let mut m = Machine::new(s);
        m.primary_exited(0);
        m.managed_gone(false, 1);
        assert_eq!(acts(m.stop_exited(2_000)), [DrainChildren]);
        assert_eq!(m.deadline(), Some(10_000));
        // The first request after the primary's exit is only noted: the
        // leftovers keep the teardown's deadline.
        assert_eq!(acts(m.stop_request(TERM, 2_500)), []);
        assert_eq!(m.deadline(), Some(10_000));
        // A second request kills them at once.
        assert_eq!(acts(m.stop_request(TERM, 3_000)), [KillLeftovers]);
        assert_eq!(m.deadline(), Some(3_000 + KILL_WAIT_MS));
        assert_eq!(acts(m.stop_request(TERM, 3_001)), []);
        assert_eq!(acts(m.children_gone()), [Exit]);
    }

    #[test]
    fn second_request_during_the_stop_command_kills_it() {
        let s = Settings {
            has_stop: true,
            ..settings()
        };
        let mut m = Machine::new(s);
        m.stop_request(TERM, 0);
        m.managed_gone(false, 1);
        assert_eq!(acts(m.stop_request(TERM, 2)), [KillStop(Why::Signal(TERM))]);
        assert_eq!(acts(m.stop_exited(3)), [DrainChildren]);
    }

    #[test]
    fn first_signal_after_primary_exit_keeps_the_grace_period() {
        let mut m = Machine::new(settings());
        m.primary_exited(0);
        assert_eq!(acts(m.stop_request(TERM, 10)), [Stop(TERM)]);
        assert_eq!(m.deadline(), Some(10_000));
        assert_eq!(acts(m.stop_request(TERM, 20)), [KillAll]);
    }

    #[test]
    fn abort_keeps_its_code() {
        let mut m = Machine::new(settings());
        assert_eq!(acts(m.abort(127, 0)), [Stop(TERM)]);
        assert_eq!(acts(m.managed_gone(false, 0)), [DrainChildren]);
        assert_eq!(acts(m.children_gone()), [Exit]);
        assert_eq!(m.code, Some(127));
    }

    #[test]
    fn killing_gives_up_after_kill_wait() {
        let mut m = Machine::new(settings());
        m.primary_exited(0);
        m.tick(10_000);
        // One wait for what is stuck, not a second one for the leftovers:
        // they were SIGKILLed with the rest.
        assert_eq!(acts(m.tick(10_000 + KILL_WAIT_MS)), [KillLeftovers, Exit]);
        assert!(m.is_done());
    }

    #[test]
    fn children_gone_only_counts_when_draining() {
        let mut m = Machine::new(settings());
        assert_eq!(acts(m.children_gone()), []);
        m.primary_exited(0);
        assert_eq!(acts(m.children_gone()), []);
        assert!(!m.is_done());
    }
}
