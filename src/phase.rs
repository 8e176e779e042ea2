//! The teardown machine (SPEC §3), pure: events and the time go in, the
//! actions the loop must perform come out. The supervisor owns the processes
//! and performs the actions; this file owns the order of things and every
//! deadline, and is tested with fake time.
//!
//!   Starting ──start ok──▶ Running ──primary exit──────────▶ Terminating
//!                            │                                  │ timeout
//!                            └─SIGTERM/INT─▶ PreStop ─timer──▶  ▼
//!                                                             Killing
//!   (all managed gone, from any of these) ──▶ Stopping ──▶ Draining (PID 1) ──▶ Done

use heapless::Vec;

/// How long to wait for SIGKILLed processes (or a killed stop command) to be
/// reaped before giving up on them. SIGKILL cannot be caught, so this only
/// matters for a process stuck in uninterruptible sleep.
pub const KILL_WAIT_MS: u64 = 5_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// The `-start` command runs; `interrupted` is a SIGTERM/SIGINT received
    /// meanwhile, after which the start command has the grace period
    /// (`until`) like any process before it is killed.
    Starting {
        interrupted: Option<i32>,
        until: Option<u64>,
    },
    /// Commands run; nothing is being torn down.
    Running,
    /// A SIGTERM/SIGINT arrived and `-prestop` runs; `sig` goes to the
    /// managed processes at `until`.
    PreStop {
        sig: i32,
        until: u64,
    },
    /// The stop signal was sent; SIGKILL at `until`.
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
    /// As PID 1: leftover processes got SIGTERM; SIGKILL and exit at `until`.
    Draining {
        until: u64,
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
    KillStart,
    /// Start the `-prestop` command.
    SpawnPrestop,
    /// Send this signal, then SIGCONT, to every managed process.
    Signal(i32),
    /// SIGKILL every managed process and the prestop command.
    KillAll,
    /// SIGTERM (+SIGCONT) the prestop command, the last one left.
    TermPrestop,
    /// Start the `-stop` command.
    SpawnStop,
    /// SIGKILL the stop command, and why (for the log line).
    KillStop(Why),
    /// SIGTERM (+SIGCONT) every process left in the PID namespace.
    TermLeftovers,
    /// SIGKILL every process left in the PID namespace.
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

pub type Actions = Vec<Action, 4>;

#[derive(Clone, Copy, Debug)]
pub struct Settings {
    pub timeout_ms: u64,
    pub prestop_timer_ms: u64,
    pub has_start: bool,
    pub has_prestop: bool,
    pub has_stop: bool,
    /// dinit is PID 1 and must drain leftovers before it exits.
    pub pid1: bool,
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
    /// dinit itself received SIGTERM/SIGINT during this run; a teardown
    /// started by the primary's exit does not count, so the first signal
    /// then is not yet the "second one" that kills at once.
    signalled: bool,
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
        self.phase == Phase::Done
    }

    /// Whether managed processes may be started (commands, submissions).
    pub fn accepting(&self) -> bool {
        self.phase == Phase::Running
    }

    /// The next deadline, if the phase has one.
    pub fn deadline(&self) -> Option<u64> {
        match self.phase {
            Phase::Starting { until, .. } => until,
            Phase::PreStop { until, .. }
            | Phase::Terminating { until }
            | Phase::Killing { until }
            | Phase::Stopping { until, .. }
            | Phase::Draining { until } => Some(until),
            _ => None,
        }
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

    /// dinit received SIGTERM or SIGINT.
    pub fn stop_signal(&mut self, sig: i32, now: u64) -> Actions {
        if self.phase == Phase::Running {
            self.signalled = true;
        }
        match self.phase {
            // The supervisor passes the signal to the start command; it has
            // the grace period to finish, and a second signal kills it.
            Phase::Starting {
                interrupted: None, ..
            } => {
                self.phase = Phase::Starting {
                    interrupted: Some(sig),
                    until: Some(now + self.s.timeout_ms),
                };
                Actions::new()
            }
            Phase::Starting {
                interrupted,
                until: Some(_),
            } => {
                self.phase = Phase::Starting {
                    interrupted,
                    until: None,
                };
                one(Action::KillStart)
            }
            Phase::Running if self.s.has_prestop => {
                let mut v = one(Action::SpawnPrestop);
                if self.s.prestop_timer_ms == 0 {
                    self.phase = Phase::Terminating {
                        until: now + self.s.timeout_ms,
                    };
                    let _ = v.push(Action::Signal(sig));
                } else {
                    self.phase = Phase::PreStop {
                        sig,
                        until: now + self.s.prestop_timer_ms,
                    };
                }
                v
            }
            Phase::Running => {
                self.phase = Phase::Terminating {
                    until: now + self.s.timeout_ms,
                };
                one(Action::Signal(sig))
            }
            // The first one to arrive while a primary's exit tears down:
            // pass it on too, keep the grace period.
            Phase::Terminating { .. } if !self.signalled => {
                self.signalled = true;
                one(Action::Signal(sig))
            }
            // A second one: skip the rest of the wait.
            Phase::PreStop { .. } | Phase::Terminating { .. } => self.kill_all(now),
            Phase::Stopping { killed: false, .. } => self.kill_stop(now, Why::Signal(sig)),
            Phase::Draining { .. } => self.kill_leftovers(),
            _ => Actions::new(),
        }
    }

    /// A primary process exited (or a command could not be started, `code`).
    pub fn primary_exited(&mut self, now: u64) -> Actions {
        match self.phase {
            Phase::Running => {
                self.phase = Phase::Terminating {
                    until: now + self.s.timeout_ms,
                };
                one(Action::Signal(crate::sys::signals::SIGTERM))
            }
            Phase::PreStop { sig, .. } => {
                self.phase = Phase::Terminating {
                    until: now + self.s.timeout_ms,
                };
                one(Action::Signal(sig))
            }
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

    /// As PID 1, no child is left at all.
    pub fn leftovers_gone(&mut self) -> Actions {
        match self.phase {
            Phase::Draining { .. } => {
                self.phase = Phase::Done;
                one(Action::Exit)
            }
            _ => Actions::new(),
        }
    }

    fn finish(&mut self, now: u64) -> Actions {
        if self.s.pid1 {
            self.phase = Phase::Draining {
                until: now + self.s.timeout_ms,
            };
            one(Action::TermLeftovers)
        } else {
            self.phase = Phase::Done;
            one(Action::Exit)
        }
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
                one(Action::KillStart)
            }
            Phase::PreStop { sig, .. } => {
                self.phase = Phase::Terminating {
                    until: now + self.s.timeout_ms,
                };
                one(Action::Signal(sig))
            }
            Phase::Terminating { .. } => self.kill_all(now),
            // SIGKILLed processes that still are not reaped are stuck in the
            // kernel; dinit stops waiting for them rather than hang forever.
            Phase::Killing { .. } => self.after_managed(now),
            Phase::Stopping { killed: false, .. } => self.kill_stop(now, Why::Timeout),
            Phase::Stopping { killed: true, .. } => self.finish(now),
            Phase::Draining { .. } => self.kill_leftovers(),
            _ => Actions::new(),
        }
    }

    // The three kills, each reached by its deadline or by a second
    // SIGTERM/SIGINT that cuts the wait short.

    /// SIGKILL the managed processes; wait `KILL_WAIT_MS` for them.
    fn kill_all(&mut self, now: u64) -> Actions {
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

    /// SIGKILL the leftovers (PID 1) and leave.
    fn kill_leftovers(&mut self) -> Actions {
        self.phase = Phase::Done;
        let mut v = one(Action::KillLeftovers);
        let _ = v.push(Action::Exit);
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Action::*;

    const TERM: i32 = 15;
    const INT: i32 = 2;

    fn settings() -> Settings {
        Settings {
            timeout_ms: 10_000,
            prestop_timer_ms: 0,
            has_start: false,
            has_prestop: false,
            has_stop: false,
            pid1: false,
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
        assert_eq!(acts(m.primary_exited(100)), [Signal(TERM)]);
        assert_eq!(m.deadline(), Some(10_100));
        assert!(!m.accepting());
        assert_eq!(acts(m.tick(10_099)), []);
        assert_eq!(acts(m.tick(10_100)), [KillAll]);
        assert_eq!(acts(m.managed_gone(false, 10_200)), [Exit]);
        assert!(m.is_done());
        assert_eq!(m.code, None);
    }

    #[test]
    fn all_gone_before_timeout_ends_at_once() {
        let mut m = Machine::new(settings());
        m.primary_exited(0);
        assert_eq!(acts(m.managed_gone(false, 5)), [Exit]);
    }

    #[test]
    fn sigterm_without_prestop_forwards_that_signal() {
        let mut m = Machine::new(settings());
        assert_eq!(acts(m.stop_signal(INT, 0)), [Signal(INT)]);
        // A second one kills at once.
        assert_eq!(acts(m.stop_signal(TERM, 1)), [KillAll]);
        assert_eq!(
            m.phase,
            Phase::Killing {
                until: 1 + KILL_WAIT_MS
            }
        );
        assert_eq!(acts(m.managed_gone(false, 2)), [Exit]);
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
        assert_eq!(acts(m.stop_signal(TERM, 1_000)), [SpawnPrestop]);
        assert_eq!(m.deadline(), Some(4_000));
        assert_eq!(acts(m.tick(3_999)), []);
        assert_eq!(acts(m.tick(4_000)), [Signal(TERM)]);
        assert_eq!(m.deadline(), Some(14_000));
        // Managed processes gone but prestop still running: it is torn
        // down, once.
        assert_eq!(acts(m.managed_gone(true, 5_000)), [TermPrestop]);
        assert_eq!(acts(m.managed_gone(true, 5_001)), []);
        assert_eq!(acts(m.tick(14_000)), [KillAll]);
        assert_eq!(acts(m.managed_gone(false, 14_001)), [SpawnStop]);
        assert_eq!(m.deadline(), Some(24_001));
        assert_eq!(acts(m.stop_exited(15_000)), [Exit]);
    }

    #[test]
    fn prestop_without_timer_signals_at_once() {
        let s = Settings {
            has_prestop: true,
            ..settings()
        };
        let mut m = Machine::new(s);
        assert_eq!(acts(m.stop_signal(TERM, 0)), [SpawnPrestop, Signal(TERM)]);
    }

    #[test]
    fn primary_exit_during_prestop_timer_passes_the_signal() {
        let s = Settings {
            has_prestop: true,
            prestop_timer_ms: 5_000,
            ..settings()
        };
        let mut m = Machine::new(s);
        m.stop_signal(INT, 0);
        assert_eq!(acts(m.primary_exited(10)), [Signal(INT)]);
    }

    #[test]
    fn prestop_outliving_everything_is_terminated() {
        let s = Settings {
            has_prestop: true,
            prestop_timer_ms: 5_000,
            ..settings()
        };
        let mut m = Machine::new(s);
        m.stop_signal(TERM, 0);
        assert_eq!(acts(m.managed_gone(true, 10)), [TermPrestop]);
        assert_eq!(m.deadline(), Some(10_010));
        assert_eq!(acts(m.tick(10_010)), [KillAll]);
        assert_eq!(acts(m.managed_gone(false, 10_011)), [Exit]);
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

        let mut m = Machine::new(s);
        assert_eq!(acts(m.start_exited(false, 0)), [Exit]);
        assert_eq!(m.code, Some(1));

        let mut m = Machine::new(s);
        assert_eq!(acts(m.stop_signal(TERM, 0)), []);
        assert_eq!(acts(m.start_exited(true, 0)), [Exit]);
        assert_eq!(m.code, Some(143));

        // A start command that ignores the signal is killed after the
        // grace period, or at once on a second signal.
        let mut m = Machine::new(s);
        m.stop_signal(INT, 100);
        assert_eq!(m.deadline(), Some(10_100));
        assert_eq!(acts(m.tick(10_099)), []);
        assert_eq!(acts(m.tick(10_100)), [KillStart]);
        assert_eq!(m.deadline(), None);
        assert_eq!(acts(m.start_exited(false, 10_200)), [Exit]);
        assert_eq!(m.code, Some(130));

        let mut m = Machine::new(s);
        m.stop_signal(TERM, 0);
        assert_eq!(acts(m.stop_signal(TERM, 1)), [KillStart]);
        assert_eq!(acts(m.stop_signal(TERM, 2)), []);
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
        assert_eq!(acts(m.tick(10_001)), [KillStop(Why::Timeout)]);
        assert_eq!(acts(m.tick(10_001 + KILL_WAIT_MS)), [Exit]);
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
                assert_eq!(acts(m.stop_signal(TERM, 0)), [Signal(TERM)]);
            } else {
                m.primary_exited(0);
            }
            assert_eq!(acts(m.managed_gone(false, 1)), [SpawnStop]);
            assert_eq!(acts(m.stop_signal(INT, 500)), [KillStop(Why::Signal(INT))]);
            // Once only; the deadline now waits for the kill.
            assert_eq!(acts(m.stop_signal(TERM, 501)), []);
            assert_eq!(m.deadline(), Some(500 + KILL_WAIT_MS));
            assert_eq!(acts(m.tick(500 + KILL_WAIT_MS - 1)), []);
            assert_eq!(acts(m.stop_exited(600)), [Exit]);
        }
    }

    #[test]
    fn pid1_drains_leftovers() {
        let s = Settings {
            pid1: true,
            ..settings()
        };
        let mut m = Machine::new(s);
        m.primary_exited(0);
        assert_eq!(acts(m.managed_gone(false, 1)), [TermLeftovers]);
        assert_eq!(acts(m.leftovers_gone()), [Exit]);

        let mut m = Machine::new(s);
        m.primary_exited(0);
        m.managed_gone(false, 1);
        assert_eq!(acts(m.tick(10_001)), [KillLeftovers, Exit]);
    }

    #[test]
    fn first_signal_after_primary_exit_keeps_the_grace_period() {
        let mut m = Machine::new(settings());
        m.primary_exited(0);
        assert_eq!(acts(m.stop_signal(TERM, 10)), [Signal(TERM)]);
        assert_eq!(m.deadline(), Some(10_000));
        assert_eq!(acts(m.stop_signal(TERM, 20)), [KillAll]);
    }

    #[test]
    fn abort_keeps_its_code() {
        let mut m = Machine::new(settings());
        assert_eq!(acts(m.abort(127, 0)), [Signal(TERM)]);
        assert_eq!(acts(m.managed_gone(false, 0)), [Exit]);
        assert_eq!(m.code, Some(127));
    }

    #[test]
    fn killing_gives_up_after_kill_wait() {
        let mut m = Machine::new(settings());
        m.primary_exited(0);
        m.tick(10_000);
        assert_eq!(acts(m.tick(10_000 + KILL_WAIT_MS)), [Exit]);
    }
}
