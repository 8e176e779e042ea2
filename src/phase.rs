//! The teardown machine (SPEC §3, §9), pure: events and the time go in,
//! the actions the loop must perform come out. The supervisor owns the
//! processes and performs the actions; this file owns the order of things,
//! which stop signal goes out, and every deadline, and is tested with fake
//! time.
//!
//!   Starting ──start ok──▶ Running ──primary exit──────────────▶ Terminating
//!                            │                                      │ timeout
//!                            └─stop request─▶ PreStop ─timer──▶     ▼
//!                                         (prestop / drain delay)  Killing
//!   (all managed gone, from any of these) ──▶ Stopping ──▶ Draining (PID 1) ──▶ Done

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
    /// The stop signals were sent; SIGKILL at `until`.
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
    /// Send every managed process its stop signal — its own (`-r:SIG`, in
    /// its table entry: [`signal_for`]) or this one — then SIGCONT.
    Stop(i32),
    /// SIGKILL every managed process and the prestop command.
    KillAll,
    /// SIGTERM (+SIGCONT) the prestop command, the last one left.
    TermPrestop,
    /// Start the `-stop` command.
    SpawnStop,
    /// SIGKILL the stop command.
    KillStop,
    /// SIGTERM (+SIGCONT) every process left in the PID namespace.
    TermLeftovers,
    /// SIGKILL every process left in the PID namespace.
    KillLeftovers,
    /// Leave with the exit status.
    Exit,
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
    /// dinit itself received a stop request during this run; a teardown
    /// started by the primary's exit does not count, so the first request
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
        let first = self.phase == Phase::Running;
        if first {
            self.signalled = true;
        }
        let stop = self.stop_for(sig);
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
            Phase::Stopping { killed: false, .. } => self.kill_stop(now),
            Phase::Draining { .. } => self.kill_leftovers(),
            _ => Actions::new(),
        }
    }

    /// The stop signal goes out now: the grace period starts.
    fn send_stop(&mut self, sig: i32, now: u64) -> Action {
        self.phase = Phase::Terminating {
            until: now + self.s.timeout_ms,
        };
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
            Phase::PreStop { sig, .. } => one(self.send_stop(sig, now)),
            Phase::Terminating { .. } => self.kill_all(now),
            // SIGKILLed processes that still are not reaped are stuck in the
            // kernel; dinit stops waiting for them rather than hang forever.
            Phase::Killing { .. } => self.after_managed(now),
            Phase::Stopping { killed: false, .. } => self.kill_stop(now),
            Phase::Stopping { killed: true, .. } => self.finish(now),
            Phase::Draining { .. } => self.kill_leftovers(),
            _ => Actions::new(),
        }
    }

    // The three kills, each reached by its deadline or by a second stop
    // request that cuts the wait short.

    /// SIGKILL the managed processes; wait `KILL_WAIT_MS` for them.
    fn kill_all(&mut self, now: u64) -> Actions {
        self.phase = Phase::Killing {
            until: now + KILL_WAIT_MS,
        };
        one(Action::KillAll)
    }

    /// SIGKILL the stop command; wait `KILL_WAIT_MS` for it.
    fn kill_stop(&mut self, now: u64) -> Actions {
        self.phase = Phase::Stopping {
            until: now + KILL_WAIT_MS,
            killed: true,
        };
        one(Action::KillStop)
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
    const QUIT: i32 = 3;

    fn settings() -> Settings {
        Settings {
            timeout_ms: 10_000,
            prestop_timer_ms: 0,
            has_start: false,
            has_prestop: false,
            has_stop: false,
            stop_signal: None,
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
        assert_eq!(acts(m.primary_exited(100)), [Stop(TERM)]);
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
        assert_eq!(acts(m.stop_request(INT, 0)), [Stop(INT)]);
        // A second one kills at once.
        assert_eq!(acts(m.stop_request(TERM, 1)), [KillAll]);
        assert_eq!(
            m.phase,
            Phase::Killing {
                until: 1 + KILL_WAIT_MS
            }
        );
        assert_eq!(acts(m.managed_gone(false, 2)), [Exit]);
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
        // After SIGTERM or SIGINT.
        for sig in [TERM, INT] {
            let mut m = Machine::new(s);
            assert_eq!(acts(m.stop_request(sig, 0)), [Stop(QUIT)]);
        }
        // After the stop signal itself, as a stop request.
        let mut m = Machine::new(s);
        assert_eq!(acts(m.stop_request(QUIT, 0)), [Stop(QUIT)]);
        assert_eq!(acts(m.stop_request(QUIT, 1)), [KillAll]);
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
        assert_eq!(acts(m.tick(5_999)), []);
        assert_eq!(acts(m.tick(6_000)), [Stop(TERM)]);
        // The grace period starts when the signal goes out.
        assert_eq!(m.deadline(), Some(16_000));
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
        assert_eq!(acts(m.stop_exited(15_000)), [Exit]);
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
        assert_eq!(acts(m.stop_request(TERM, 0)), []);
        assert_eq!(acts(m.start_exited(true, 0)), [Exit]);
        assert_eq!(m.code, Some(143));

        // A start command that ignores the signal is killed after the
        // grace period, or at once on a second signal.
        let mut m = Machine::new(s);
        m.stop_request(INT, 100);
        assert_eq!(m.deadline(), Some(10_100));
        assert_eq!(acts(m.tick(10_099)), []);
        assert_eq!(acts(m.tick(10_100)), [KillStart]);
        assert_eq!(m.deadline(), None);
        assert_eq!(acts(m.start_exited(false, 10_200)), [Exit]);
        assert_eq!(m.code, Some(130));

        let mut m = Machine::new(s);
        m.stop_request(TERM, 0);
        assert_eq!(acts(m.stop_request(TERM, 1)), [KillStart]);
        assert_eq!(acts(m.stop_request(TERM, 2)), []);
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
        assert_eq!(acts(m.tick(10_001)), [KillStop]);
        assert_eq!(acts(m.tick(10_001 + KILL_WAIT_MS)), [Exit]);
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
        assert_eq!(acts(m.stop_request(TERM, 10)), [Stop(TERM)]);
        assert_eq!(m.deadline(), Some(10_000));
        assert_eq!(acts(m.stop_request(TERM, 20)), [KillAll]);
    }

    #[test]
    fn abort_keeps_its_code() {
        let mut m = Machine::new(settings());
        assert_eq!(acts(m.abort(127, 0)), [Stop(TERM)]);
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
