//! The teardown machine by example (fake time) and by properties over
//! random event sequences against a model of the processes it speaks about.
use super::*;
use Action::*;

const TERM: i32 = 15;
const INT: i32 = 2;
const QUIT: i32 = 3;
const KW: u64 = KILL_WAIT_MS;

fn settings() -> Settings {
    Settings {
        timeout_ms: 10_000,
        prestop_timer_ms: 0,
        has_start: false,
        has_prestop: false,
        has_stop: false,
        stop_signal: None,
        order: StopOrder::Together,
        success: CodeSet::default(),
    }
}

/// The actions `f` produces.
fn go(m: &mut Machine, f: impl FnOnce(&mut Machine, &mut Actions)) -> std::vec::Vec<Action> {
    let mut out = Actions::new();
    f(m, &mut out);
    out.into_iter().collect()
}

/// A machine past `begin` with managed processes 10, 11, ... (the last
/// one primary by convention of the tests), none with its own signal.
fn running(s: Settings, n: i32) -> Machine {
    let mut m = Machine::new(s);
    let mut out = Actions::new();
    m.begin(&mut out);
    for pid in 10..10 + n {
        assert!(m.started(pid, 0));
    }
    m
}

const OK: Option<ExitStatus> = Some(ExitStatus::Code(0));

#[test]
fn primary_exit_plain() {
    let mut m = Machine::new(settings());
    assert_eq!(go(&mut m, |m, o| m.begin(o)), [Launch]);
    assert!(m.accepting());
    m.started(10, 0);
    m.started(11, 0);
    assert_eq!(m.sweep(0), Sweep::Nothing);
    assert_eq!(
        go(&mut m, |m, o| m.exited(
            11,
            Some(ExitStatus::Code(3)),
            100,
            o
        )),
        [Stop { pid: 10, sig: TERM }, StopOrphans]
    );
    assert_eq!(m.deadline(), Some(10_100));
    assert!(!m.accepting());
    assert_eq!(m.sweep(100), Sweep::Stop(TERM));
    assert_eq!(go(&mut m, |m, o| m.tick(10_099, o)), []);
    assert_eq!(
        go(&mut m, |m, o| m.tick(10_100, o)),
        [KillAll(Why::Timeout)]
    );
    assert_eq!(m.sweep(10_100), Sweep::Kill);
    // Past the deadline: whatever is left is killed at once...
    assert_eq!(
        go(&mut m, |m, o| m.exited(10, None, 10_200, o)),
        [KillLeftovers, Drain]
    );
    assert!(!m.is_done());
    // ...and dinit leaves once it has no child.
    assert_eq!(go(&mut m, |m, o| m.children_gone(o)), [Exit]);
    assert!(m.is_done());
    assert_eq!(m.exit_code(), 3);
}

#[test]
fn all_gone_before_timeout_drains_then_ends() {
    let mut m = running(settings(), 2);
    m.exited(11, OK, 0, &mut Actions::new());
    assert_eq!(go(&mut m, |m, o| m.exited(10, None, 5, o)), [Drain]);
    assert_eq!(go(&mut m, |m, o| m.children_gone(o)), [Exit]);
    assert_eq!(m.exit_code(), 0);
}

#[test]
fn orphans_share_the_teardown_deadline() {
    // Orphans adopted before the teardown get the stop signal with the
    // managed processes and are killed at the same deadline: draining
    // does not start a second grace period.
    let mut m = running(settings(), 2);
    m.exited(11, OK, 1_000, &mut Actions::new());
    assert_eq!(m.sweep(1_000), Sweep::Stop(TERM));
    assert_eq!(go(&mut m, |m, o| m.exited(10, None, 1_500, o)), [Drain]);
    // A late arrival (reparented while draining) still gets the stop
    // signal before the deadline, and SIGKILL after it.
    assert_eq!(m.sweep(10_999), Sweep::Stop(TERM));
    assert_eq!(m.sweep(11_000), Sweep::Kill);
    assert_eq!(go(&mut m, |m, o| m.tick(10_999, o)), []);
    assert_eq!(go(&mut m, |m, o| m.tick(11_000, o)), [KillLeftovers, Drain]);
    assert_eq!(m.deadline(), Some(11_000 + KW));
    // Stuck in the kernel: dinit gives up on them.
    assert_eq!(go(&mut m, |m, o| m.tick(11_000 + KW, o)), [Exit]);
    assert!(m.is_done());
}

#[test]
fn sigterm_forwards_that_signal_and_a_second_kills() {
    let mut m = running(settings(), 2);
    assert_eq!(
        go(&mut m, |m, o| m.stop_request(INT, 0, o)),
        [
            Stop { pid: 10, sig: INT },
            Stop { pid: 11, sig: INT },
            StopOrphans
        ]
    );
    assert_eq!(m.sweep(0), Sweep::Stop(INT));
    // A second one kills at once, orphans too.
    assert_eq!(
        go(&mut m, |m, o| m.stop_request(TERM, 1, o)),
        [KillAll(Why::Signal(TERM))]
    );
    assert_eq!(m.deadline(), Some(1 + KW));
    assert_eq!(m.kill_deadline(), Some(1));
    assert_eq!(m.sweep(1), Sweep::Kill);
    assert_eq!(go(&mut m, |m, o| m.stop_request(TERM, 2, o)), []);
    m.exited(10, None, 2, &mut Actions::new());
    assert_eq!(
        go(&mut m, |m, o| m.exited(
            11,
            Some(ExitStatus::Signal(9)),
            2,
            o
        )),
        [KillLeftovers, Drain]
    );
    assert_eq!(go(&mut m, |m, o| m.children_gone(o)), [Exit]);
    assert_eq!(m.exit_code(), 137);
}

#[test]
fn stopsignal_replaces_the_default_everywhere() {
    let s = Settings {
        stop_signal: Some(QUIT),
        ..settings()
    };
    // After a primary's exit.
    let mut m = running(s, 2);
    assert_eq!(
        go(&mut m, |m, o| m.exited(11, OK, 0, o)),
        [Stop { pid: 10, sig: QUIT }, StopOrphans]
    );
    assert_eq!(m.sweep(0), Sweep::Stop(QUIT));
    // After SIGTERM or SIGINT, or the stop signal itself.
    for sig in [TERM, INT, QUIT] {
        let mut m = running(s, 1);
        assert_eq!(
            go(&mut m, |m, o| m.stop_request(sig, 0, o)),
            [Stop { pid: 10, sig: QUIT }, StopOrphans]
        );
    }
    // A teardown that sent nothing yet drains with it too.
    let mut m = Machine::new(Settings {
        has_start: true,
        ..s
    });
    m.begin(&mut Actions::new());
    m.start_exited(false, 0, &mut Actions::new());
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
    let mut m = Machine::new(settings());
    m.begin(&mut Actions::new());
    m.started(10, QUIT as u8);
    m.started(11, 0);
    assert_eq!(
        go(&mut m, |m, o| m.stop_request(INT, 0, o)),
        [
            Stop { pid: 10, sig: QUIT },
            Stop { pid: 11, sig: INT },
            StopOrphans
        ]
    );
}

#[test]
fn drain_delay_holds_the_stop_signal_back() {
    let s = Settings {
        prestop_timer_ms: 5_000,
        ..settings()
    };
    let mut m = running(s, 1);
    // No -prestop: nothing starts, the signal waits.
    assert_eq!(go(&mut m, |m, o| m.stop_request(TERM, 1_000, o)), []);
    assert_eq!(m.deadline(), Some(6_000));
    assert_eq!(m.kill_deadline(), None);
    assert!(!m.accepting());
    // Orphans are left alone while the app keeps serving.
    assert_eq!(m.sweep(1_000), Sweep::Nothing);
    assert_eq!(go(&mut m, |m, o| m.tick(5_999, o)), []);
    assert_eq!(
        go(&mut m, |m, o| m.tick(6_000, o)),
        [Stop { pid: 10, sig: TERM }, StopOrphans]
    );
    // The grace period starts when the signal goes out.
    assert_eq!(m.deadline(), Some(16_000));
    assert_eq!(m.sweep(6_000), Sweep::Stop(TERM));
    assert_eq!(
        go(&mut m, |m, o| m.tick(16_000, o)),
        [KillAll(Why::Timeout)]
    );
}

#[test]
fn second_request_skips_the_drain_delay_not_the_grace_period() {
    let s = Settings {
        prestop_timer_ms: 5_000,
        stop_signal: Some(QUIT),
        ..settings()
    };
    let mut m = running(s, 1);
    assert_eq!(go(&mut m, |m, o| m.stop_request(TERM, 0, o)), []);
    assert_eq!(
        go(&mut m, |m, o| m.stop_request(TERM, 100, o)),
        [Stop { pid: 10, sig: QUIT }, StopOrphans]
    );
    assert_eq!(m.deadline(), Some(10_100));
    // The third one kills.
    assert_eq!(
        go(&mut m, |m, o| m.stop_request(INT, 200, o)),
        [KillAll(Why::Signal(INT))]
    );
}

#[test]
fn primary_exit_during_the_drain_delay_ends_it() {
    let s = Settings {
        prestop_timer_ms: 5_000,
        ..settings()
    };
    let mut m = running(s, 2);
    m.stop_request(INT, 0, &mut Actions::new());
    assert_eq!(
        go(&mut m, |m, o| m.exited(11, OK, 10, o)),
        [Stop { pid: 10, sig: INT }, StopOrphans]
    );
    assert_eq!(m.deadline(), Some(10_010));
    // The stop request came first: that is the exit code's cause, but
    // the primary's own status wins.
    assert_eq!(m.exit_code(), 0);
}

#[test]
fn prestop_with_timer() {
    let s = Settings {
        has_prestop: true,
        prestop_timer_ms: 3_000,
        has_stop: true,
        ..settings()
    };
    let mut m = running(s, 1);
    assert_eq!(
        go(&mut m, |m, o| m.stop_request(TERM, 1_000, o)),
        [SpawnPrestop]
    );
    assert_eq!(m.deadline(), Some(4_000));
    assert_eq!(go(&mut m, |m, o| m.tick(3_999, o)), []);
    assert_eq!(
        go(&mut m, |m, o| m.tick(4_000, o)),
        [Stop { pid: 10, sig: TERM }, StopOrphans]
    );
    assert_eq!(m.deadline(), Some(14_000));
    // Managed processes gone but prestop still running: it is torn
    // down, once, within the same deadline.
    assert_eq!(
        go(&mut m, |m, o| m.exited(10, None, 5_000, o)),
        [TermPrestop]
    );
    assert_eq!(m.kill_deadline(), Some(14_000));
    assert_eq!(
        go(&mut m, |m, o| m.tick(14_000, o)),
        [KillAll(Why::Timeout)]
    );
    assert_eq!(go(&mut m, |m, o| m.prestop_exited(14_001, o)), [SpawnStop]);
    assert_eq!(m.deadline(), Some(24_001));
    // Orphans turning up while it runs are killed: past the deadline.
    assert_eq!(m.sweep(14_002), Sweep::Kill);
    // The stop command ends: what is left is killed again at once.
    assert_eq!(
        go(&mut m, |m, o| m.stop_exited(15_000, o)),
        [KillLeftovers, Drain]
    );
    assert_eq!(go(&mut m, |m, o| m.children_gone(o)), [Exit]);
}

#[test]
fn prestop_left_alone_keeps_the_one_deadline() {
    // The hole in the old machine: with only -prestop left, the grace
    // period must not start over (nor the orphans go without their
    // stop signal meanwhile).
    let s = Settings {
        has_prestop: true,
        prestop_timer_ms: 3_000,
        ..settings()
    };
    let mut m = running(s, 1);
    m.stop_request(TERM, 0, &mut Actions::new());
    m.tick(3_000, &mut Actions::new());
    assert_eq!(m.kill_deadline(), Some(13_000));
    assert_eq!(
        go(&mut m, |m, o| m.exited(10, None, 5_000, o)),
        [TermPrestop]
    );
    assert_eq!(m.kill_deadline(), Some(13_000));
    assert_eq!(m.deadline(), Some(13_000));
    assert_eq!(m.sweep(5_000), Sweep::Stop(TERM));
    assert_eq!(go(&mut m, |m, o| m.prestop_exited(6_000, o)), [Drain]);
    assert_eq!(m.deadline(), Some(13_000));
}

#[test]
fn second_request_with_prestop_kills() {
    let s = Settings {
        has_prestop: true,
        prestop_timer_ms: 3_000,
        ..settings()
    };
    let mut m = running(s, 1);
    m.stop_request(TERM, 0, &mut Actions::new());
    assert_eq!(
        go(&mut m, |m, o| m.stop_request(TERM, 1, o)),
        [KillAll(Why::Signal(TERM))]
    );
}

#[test]
fn prestop_without_timer_signals_at_once() {
    let s = Settings {
        has_prestop: true,
        ..settings()
    };
    let mut m = running(s, 1);
    assert_eq!(
        go(&mut m, |m, o| m.stop_request(TERM, 0, o)),
        [SpawnPrestop, Stop { pid: 10, sig: TERM }, StopOrphans]
    );
}

#[test]
fn prestop_outliving_everything_is_terminated() {
    let s = Settings {
        has_prestop: true,
        prestop_timer_ms: 5_000,
        ..settings()
    };
    let mut m = running(s, 1);
    m.stop_request(TERM, 0, &mut Actions::new());
    // The app leaves during the timer: the prestop command is the last
    // one, stopped now with a grace period of its own.
    assert_eq!(
        go(&mut m, |m, o| m.exited(10, OK, 10, o)),
        [StopOrphans, TermPrestop]
    );
    assert_eq!(m.deadline(), Some(10_010));
    assert_eq!(
        go(&mut m, |m, o| m.tick(10_010, o)),
        [KillAll(Why::Timeout)]
    );
    assert_eq!(
        go(&mut m, |m, o| m.prestop_exited(10_011, o)),
        [KillLeftovers, Drain]
    );
    assert_eq!(go(&mut m, |m, o| m.children_gone(o)), [Exit]);
}

#[test]
fn start_command_paths() {
    let s = Settings {
        has_start: true,
        ..settings()
    };
    let mut m = Machine::new(s);
    assert_eq!(go(&mut m, |m, o| m.begin(o)), [SpawnStart]);
    assert!(!m.accepting());
    assert_eq!(go(&mut m, |m, o| m.start_exited(true, 0, o)), [Launch]);
    assert!(m.accepting());

    // A failed start drains what it may have left, with a grace period
    // of its own (no stop signal went out before).
    let mut m = Machine::new(s);
    m.begin(&mut Actions::new());
    assert_eq!(go(&mut m, |m, o| m.start_exited(false, 0, o)), [Drain]);
    assert_eq!(m.sweep(0), Sweep::Stop(TERM));
    assert_eq!(m.deadline(), Some(10_000));
    assert_eq!(go(&mut m, |m, o| m.children_gone(o)), [Exit]);
    assert_eq!(m.exit_code(), 1);

    // Interrupted: the start command gets the signal, and what it
    // leaves behind shares its grace period.
    let mut m = Machine::new(s);
    m.begin(&mut Actions::new());
    assert_eq!(
        go(&mut m, |m, o| m.stop_request(INT, 0, o)),
        [PassToStart(INT)]
    );
    assert_eq!(m.sweep(0), Sweep::Stop(INT));
    assert_eq!(go(&mut m, |m, o| m.start_exited(true, 100, o)), [Drain]);
    assert_eq!(m.sweep(100), Sweep::Stop(INT));
    assert_eq!(m.deadline(), Some(10_000));
    assert_eq!(go(&mut m, |m, o| m.children_gone(o)), [Exit]);
    assert_eq!(m.exit_code(), 130);

    // A start command that ignores the signal is killed after the
    // grace period, or at once on a second signal; so is what it left.
    let mut m = Machine::new(s);
    m.begin(&mut Actions::new());
    m.stop_request(INT, 100, &mut Actions::new());
    assert_eq!(m.deadline(), Some(10_100));
    assert_eq!(go(&mut m, |m, o| m.tick(10_099, o)), []);
    assert_eq!(
        go(&mut m, |m, o| m.tick(10_100, o)),
        [KillAll(Why::Timeout)]
    );
    assert_eq!(
        go(&mut m, |m, o| m.start_exited(false, 10_200, o)),
        [KillLeftovers, Drain]
    );
    assert_eq!(m.exit_code(), 130);

    let mut m = Machine::new(s);
    m.begin(&mut Actions::new());
    m.stop_request(TERM, 0, &mut Actions::new());
    assert_eq!(
        go(&mut m, |m, o| m.stop_request(TERM, 1, o)),
        [KillAll(Why::Signal(TERM))]
    );
    assert_eq!(m.sweep(1), Sweep::Kill);
    assert_eq!(go(&mut m, |m, o| m.stop_request(TERM, 2, o)), []);
    assert_eq!(
        go(&mut m, |m, o| m.start_exited(false, 3, o)),
        [KillLeftovers, Drain]
    );
    assert_eq!(m.exit_code(), 143);
}

#[test]
fn second_request_after_an_interrupted_start_kills_its_orphans() {
    // The first hole in the old machine: SIGTERM while -start runs, the
    // start command leaves (its TERM-ignoring orphan runs on); the
    // second SIGTERM kills at once.
    let s = Settings {
        has_start: true,
        timeout_ms: 30_000,
        ..settings()
    };
    let mut m = Machine::new(s);
    m.begin(&mut Actions::new());
    m.stop_request(TERM, 0, &mut Actions::new());
    assert_eq!(go(&mut m, |m, o| m.start_exited(false, 10, o)), [Drain]);
    assert_eq!(m.sweep(10), Sweep::Stop(TERM));
    assert_eq!(
        go(&mut m, |m, o| m.stop_request(TERM, 500, o)),
        [KillLeftovers, Drain]
    );
    assert_eq!(m.kill_deadline(), Some(500));
    assert_eq!(go(&mut m, |m, o| m.children_gone(o)), [Exit]);
    assert_eq!(m.exit_code(), 143);
}

#[test]
fn stop_command_is_bounded() {
    let s = Settings {
        has_stop: true,
        ..settings()
    };
    let mut m = running(s, 1);
    m.exited(10, OK, 0, &mut Actions::new());
    // No other process: the stop command starts at once.
    assert_eq!(
        m.stage(),
        Some(Stage::StopCommand(StopCommand::Runs {
            kill_at: 10_000,
            until: 10_000
        }))
    );
    // Orphans turning up while it runs get the stop signal until the
    // teardown's deadline, SIGKILL after it; the stop command itself
    // keeps its own grace period.
    let mut m = running(s, 2);
    m.exited(11, OK, 0, &mut Actions::new());
    assert_eq!(go(&mut m, |m, o| m.exited(10, None, 1, o)), [SpawnStop]);
    assert_eq!(m.sweep(9_999), Sweep::Stop(TERM));
    assert_eq!(m.sweep(10_000), Sweep::Kill);
    assert_eq!(go(&mut m, |m, o| m.tick(10_000, o)), [KillOrphans]);
    assert_eq!(
        go(&mut m, |m, o| m.tick(10_001, o)),
        [KillStop(Why::Timeout)]
    );
    assert_eq!(
        go(&mut m, |m, o| m.tick(10_001 + KW, o)),
        [KillLeftovers, Drain]
    );
    assert_eq!(go(&mut m, |m, o| m.tick(10_001 + 2 * KW, o)), [Exit]);
}

#[test]
fn stop_request_during_the_stop_command_kills_it_and_says_so() {
    let s = Settings {
        has_stop: true,
        ..settings()
    };
    // After a primary exit, and after a first SIGTERM.
    for first_term in [false, true] {
        let mut m = running(s, 1);
        if first_term {
            m.stop_request(TERM, 0, &mut Actions::new());
            assert_eq!(go(&mut m, |m, o| m.exited(10, None, 1, o)), [SpawnStop]);
        } else {
            assert_eq!(
                go(&mut m, |m, o| m.exited(10, OK, 1, o)),
                [StopOrphans, SpawnStop]
            );
            // The first request after a primary's exit keeps the stop
            // command's grace period; only a second one cuts it.
            assert_eq!(go(&mut m, |m, o| m.stop_request(TERM, 400, o)), []);
            assert_eq!(m.deadline(), Some(1 + 10_000));
        }
        assert_eq!(
            go(&mut m, |m, o| m.stop_request(INT, 500, o)),
            [KillOrphans, KillStop(Why::Signal(INT))]
        );
        // Once only; the deadline now waits for the kill.
        assert_eq!(go(&mut m, |m, o| m.stop_request(TERM, 501, o)), []);
        assert_eq!(m.deadline(), Some(500 + KW));
        assert_eq!(go(&mut m, |m, o| m.tick(500 + KW - 1, o)), []);
        assert_eq!(
            go(&mut m, |m, o| m.stop_exited(600, o)),
            [KillLeftovers, Drain]
        );
    }
}

#[test]
fn stop_command_in_time_then_drain_until_the_deadline() {
    let s = Settings {
        has_stop: true,
        ..settings()
    };
    let mut m = running(s, 1);
    m.exited(10, OK, 0, &mut Actions::new());
    assert_eq!(go(&mut m, |m, o| m.stop_exited(2_000, o)), [Drain]);
    assert_eq!(m.deadline(), Some(10_000));
    // The first request after the primary's exit is only noted: the
    // leftovers keep the teardown's deadline.
    assert_eq!(go(&mut m, |m, o| m.stop_request(TERM, 2_500, o)), []);
    assert_eq!(m.deadline(), Some(10_000));
    // A second request kills them at once.
    assert_eq!(
        go(&mut m, |m, o| m.stop_request(TERM, 3_000, o)),
        [KillLeftovers, Drain]
    );
    assert_eq!(m.deadline(), Some(3_000 + KW));
    assert_eq!(go(&mut m, |m, o| m.stop_request(TERM, 3_001, o)), []);
    assert_eq!(go(&mut m, |m, o| m.children_gone(o)), [Exit]);
}

#[test]
fn first_request_after_primary_exit_keeps_the_grace_period_and_sends_nothing() {
    let mut m = running(settings(), 2);
    m.exited(11, OK, 0, &mut Actions::new());
    assert_eq!(go(&mut m, |m, o| m.stop_request(TERM, 10, o)), []);
    assert_eq!(m.deadline(), Some(10_000));
    assert_eq!(
        go(&mut m, |m, o| m.stop_request(TERM, 20, o)),
        [KillAll(Why::Signal(TERM))]
    );
}

#[test]
fn abort_keeps_its_code() {
    let mut m = running(settings(), 1);
    assert_eq!(
        go(&mut m, |m, o| m.abort(127, 0, o)),
        [Stop { pid: 10, sig: TERM }, StopOrphans]
    );
    assert_eq!(go(&mut m, |m, o| m.exited(10, None, 0, o)), [Drain]);
    assert_eq!(go(&mut m, |m, o| m.children_gone(o)), [Exit]);
    assert_eq!(m.exit_code(), 127);
    // Nothing started yet: straight to draining.
    let mut m = running(settings(), 0);
    assert_eq!(go(&mut m, |m, o| m.abort(126, 0, o)), [StopOrphans, Drain]);
    assert_eq!(m.exit_code(), 126);
}

#[test]
fn killing_gives_up_after_kill_wait() {
    let mut m = running(settings(), 2);
    m.exited(11, OK, 0, &mut Actions::new());
    m.tick(10_000, &mut Actions::new());
    // One wait for what is stuck, not a second one for the leftovers:
    // they were SIGKILLed with the rest.
    assert_eq!(
        go(&mut m, |m, o| m.tick(10_000 + KW, o)),
        [KillLeftovers, Exit]
    );
    assert!(m.is_done());
    assert_eq!(m.exit_code(), 0);
}

#[test]
fn the_give_up_wait_does_not_start_over_when_the_last_managed_one_goes() {
    // SPEC §10: 5 s at most after SIGKILL, not 5 s after whatever left
    // last (review finding 6).
    let mut m = running(settings(), 2);
    m.exited(11, OK, 0, &mut Actions::new());
    m.tick(10_000, &mut Actions::new());
    assert_eq!(m.deadline(), Some(10_000 + KW));
    // The stuck one leaves 1 ms before dinit would give up on it; an
    // orphan is stuck too.
    assert_eq!(
        go(&mut m, |m, o| m.exited(10, None, 10_000 + KW - 1, o)),
        [KillLeftovers, Drain]
    );
    assert_eq!(m.deadline(), Some(10_000 + KW));
    assert_eq!(go(&mut m, |m, o| m.tick(10_000 + KW, o)), [Exit]);
}

#[test]
fn the_last_exit_after_an_unacted_deadline_keeps_that_deadline() {
    // The loop reads exits before it ticks: the deadline met is the one
    // reported, not the moment the exit was read.
    let mut m = running(settings(), 2);
    m.exited(11, OK, 0, &mut Actions::new());
    assert_eq!(
        go(&mut m, |m, o| m.exited(10, None, 10_500, o)),
        [KillLeftovers, Drain]
    );
    assert_eq!(m.kill_deadline(), Some(10_000));
    assert_eq!(m.deadline(), Some(10_500 + KW));
}

#[test]
fn children_gone_only_counts_when_draining() {
    let mut m = running(settings(), 2);
    assert_eq!(go(&mut m, |m, o| m.children_gone(o)), []);
    m.exited(11, OK, 0, &mut Actions::new());
    assert_eq!(go(&mut m, |m, o| m.children_gone(o)), []);
    assert!(!m.is_done());
}

#[test]
fn a_stop_request_before_any_primary_exited_gives_128_plus_n() {
    let mut m = running(settings(), 1);
    m.stop_request(INT, 0, &mut Actions::new());
    m.exited(10, None, 1, &mut Actions::new());
    m.children_gone(&mut Actions::new());
    assert_eq!(m.exit_code(), 130);
}

#[test]
fn success_codes_make_dinit_exit_0() {
    let mut success = CodeSet::default();
    success.insert(143);
    let s = Settings {
        success,
        ..settings()
    };
    let mut m = running(s, 1);
    m.stop_request(TERM, 0, &mut Actions::new());
    m.exited(10, Some(ExitStatus::Signal(TERM)), 1, &mut Actions::new());
    assert_eq!(m.exit_code(), 0);
    let mut m = running(s, 1);
    m.exited(10, Some(ExitStatus::Code(142)), 1, &mut Actions::new());
    assert_eq!(m.exit_code(), 142);
}

#[test]
fn a_dropped_process_is_not_killed_again_after_everything_was() {
    // Review finding 10: its own SIGKILL, due after the teardown's, would
    // say "did not stop in time" a second time.
    let mut m = running(settings(), 3);
    m.drop_process(12, 1_000, &mut Actions::new());
    m.stop_request(TERM, 2_000, &mut Actions::new());
    assert_eq!(
        go(&mut m, |m, o| m.stop_request(TERM, 7_000, o)),
        [KillAll(Why::Signal(TERM))]
    );
    assert_eq!(m.deadline(), Some(7_000 + KW));
    assert_eq!(go(&mut m, |m, o| m.tick(11_000, o)), []);
    // Nor is one dropped after that (waiting its turn in reverse order)
    // sent anything.
    let mut m = running(reverse(), 2);
    m.stop_request(TERM, 0, &mut Actions::new());
    m.stop_request(TERM, 1, &mut Actions::new());
    assert_eq!(go(&mut m, |m, o| m.drop_process(10, 2, o)), []);
    assert_eq!(m.deadline(), Some(1 + KW));
}

#[test]
fn a_dropped_process_is_stopped_then_killed_alone() {
    let mut m = running(settings(), 3);
    assert_eq!(
        go(&mut m, |m, o| m.drop_process(12, 1_000, o)),
        [Stop { pid: 12, sig: TERM }]
    );
    assert_eq!(go(&mut m, |m, o| m.drop_process(12, 1_001, o)), []);
    assert!(m.accepting());
    assert_eq!(m.deadline(), Some(11_000));
    assert_eq!(go(&mut m, |m, o| m.tick(11_000, o)), [Kill { pid: 12 }]);
    assert_eq!(m.deadline(), None);
    // It has had its stop signal: a teardown does not send another.
    assert_eq!(
        go(&mut m, |m, o| m.exited(11, OK, 11_500, o)),
        [Stop { pid: 10, sig: TERM }, StopOrphans]
    );
}

fn reverse() -> Settings {
    Settings {
        order: StopOrder::Reverse,
        ..settings()
    }
}

#[test]
fn reverse_stops_the_last_started_first() {
    let mut m = Machine::new(reverse());
    m.begin(&mut Actions::new());
    m.started(10, 0);
    m.started(11, QUIT as u8);
    m.started(12, 0);
    assert_eq!(
        go(&mut m, |m, o| m.stop_request(TERM, 0, o)),
        [StopNext {
            pid: 12,
            sig: TERM,
            waiting: 2
        }]
    );
    // Orphans wait for every managed process.
    assert_eq!(m.sweep(1), Sweep::Nothing);
    assert_eq!(
        go(&mut m, |m, o| m.exited(12, None, 100, o)),
        [StopNext {
            pid: 11,
            sig: QUIT,
            waiting: 1
        }]
    );
    // One leaving out of turn just leaves the queue.
    assert_eq!(go(&mut m, |m, o| m.exited(10, None, 200, o)), []);
    assert_eq!(go(&mut m, |m, o| m.tick(9_999, o)), []);
    // One deadline: the first stop signal's.
    assert_eq!(m.deadline(), Some(10_000));
    assert_eq!(go(&mut m, |m, o| m.exited(11, None, 300, o)), [Drain]);
    assert_eq!(m.sweep(300), Sweep::Stop(TERM));
    assert_eq!(go(&mut m, |m, o| m.tick(10_000, o)), [KillLeftovers, Drain]);
}

#[test]
fn reverse_kills_everything_at_the_one_deadline_and_on_a_second_request() {
    for second in [false, true] {
        let mut m = running(reverse(), 3);
        m.stop_request(TERM, 0, &mut Actions::new());
        m.exited(12, None, 4_000, &mut Actions::new());
        let acts = if second {
            go(&mut m, |m, o| m.stop_request(INT, 5_000, o))
        } else {
            go(&mut m, |m, o| m.tick(10_000, o))
        };
        let why = if second {
            Why::Signal(INT)
        } else {
            Why::Timeout
        };
        assert_eq!(acts, [KillAll(why)]);
        assert_eq!(m.sweep(10_000), Sweep::Kill);
        // The one waiting never got its stop signal: SIGKILL was it.
        assert_eq!(go(&mut m, |m, o| m.exited(11, None, 10_001, o)), []);
        assert_eq!(
            go(&mut m, |m, o| m.exited(10, None, 10_002, o)),
            [KillLeftovers, Drain]
        );
    }
}

#[test]
fn reverse_after_a_primary_exit_and_with_a_drain_delay() {
    let mut m = running(reverse(), 3);
    // The primary (the last) exits on its own: the one before it next.
    assert_eq!(
        go(&mut m, |m, o| m.exited(12, OK, 0, o)),
        [StopNext {
            pid: 11,
            sig: TERM,
            waiting: 1
        }]
    );
    let s = Settings {
        prestop_timer_ms: 2_000,
        stop_signal: Some(QUIT),
        ..reverse()
    };
    let mut m = running(s, 2);
    assert_eq!(go(&mut m, |m, o| m.stop_request(TERM, 0, o)), []);
    assert_eq!(
        go(&mut m, |m, o| m.tick(2_000, o)),
        [StopNext {
            pid: 11,
            sig: QUIT,
            waiting: 1
        }]
    );
    assert_eq!(m.kill_deadline(), Some(12_000));
}

#[test]
fn reverse_with_a_stop_command_sweeps_the_orphans_when_it_starts() {
    let s = Settings {
        has_stop: true,
        ..reverse()
    };
    let mut m = running(s, 1);
    assert_eq!(
        go(&mut m, |m, o| m.stop_request(TERM, 0, o)),
        [StopNext {
            pid: 10,
            sig: TERM,
            waiting: 0
        }]
    );
    assert_eq!(
        go(&mut m, |m, o| m.exited(10, None, 10, o)),
        [SpawnStop, StopOrphans]
    );
    assert_eq!(m.sweep(10), Sweep::Stop(TERM));
}

#[test]
fn timeout_zero_kills_in_the_same_turn() {
    let s = Settings {
        timeout_ms: 0,
        ..settings()
    };
    let mut m = running(s, 1);
    m.stop_request(TERM, 5, &mut Actions::new());
    assert_eq!(go(&mut m, |m, o| m.tick(5, o)), [KillAll(Why::Timeout)]);
}

/// One loop turn: the events `turn` feeds into one buffer, and the tick;
/// then, as the loop does, more turns at once while something is due at
/// `now`. Every action performed, in order.
fn turns(
    m: &mut Machine,
    now: u64,
    turn: impl FnOnce(&mut Machine, &mut Actions),
) -> std::vec::Vec<Action> {
    let mut all = std::vec::Vec::new();
    let mut out = Actions::new();
    turn(m, &mut out);
    for _ in 0..8 {
        m.tick(now, &mut out);
        all.extend(out.iter().copied());
        if m.deadline().is_none_or(|d| d > now) {
            return all;
        }
        out.clear();
    }
    panic!("still something due after 8 turns: {m:?}");
}

/// How many of `acts` are `Stop`s to `pid`, and how many `Kill`s.
fn stops_and_kills(acts: &[Action], pid: i32) -> (usize, usize) {
    let stops = acts
        .iter()
        .filter(|a| matches!(a, Stop { pid: p, .. } if *p == pid))
        .count();
    let kills = acts
        .iter()
        .filter(|a| matches!(a, Kill { pid: p } if *p == pid))
        .count();
    (stops, kills)
}

#[test]
fn a_turn_full_of_drops_and_a_teardown_loses_no_action() {
    // Review finding 9: with -timeout 0, 200 dropped processes get their
    // stop signal and their SIGKILL in one turn, and a stop request the
    // rest's stop signals and the SIGKILL of everything.
    let s = Settings {
        timeout_ms: 0,
        ..settings()
    };
    let mut m = running(s, 256);
    let acts = turns(&mut m, 0, |m, out| {
        for pid in 10..10 + 200 {
            m.drop_process(pid, 0, out);
        }
        m.tick(0, out);
        m.stop_request(TERM, 0, out);
    });
    for pid in 10..10 + 256 {
        let want = if pid < 210 { (1, 1) } else { (1, 0) };
        assert_eq!(stops_and_kills(&acts, pid), want, "pid {pid}");
    }
    let tail: std::vec::Vec<_> = acts
        .iter()
        .filter(|a| !matches!(a, Stop { .. } | Kill { .. }))
        .collect();
    assert_eq!(tail, [&StopOrphans, &KillAll(Why::Timeout)]);
}

#[test]
fn a_turn_that_sees_more_processes_than_the_table_holds_owes_not_loses() {
    // Slots reused within one turn (a line's exec fails, another line
    // takes its place, and fails too): more stop signals and SIGKILLs than
    // the buffer holds. What does not fit goes out in the next turn, which
    // comes at once; nothing goes twice.
    let s = Settings {
        timeout_ms: 0,
        ..settings()
    };
    let mut m = running(s, 0);
    let acts = turns(&mut m, 0, |m, out| {
        for round in 0..3 {
            let first = 1_000 * (round + 1);
            for pid in first..first + 256 {
                assert!(m.started(pid, 0));
            }
            for pid in first..first + 256 {
                m.drop_process(pid, 0, out);
            }
            if round < 2 {
                for pid in first..first + 256 {
                    m.exited(pid, None, 0, out);
                }
            }
        }
    });
    for pid in (1_000..1_256).chain(2_000..2_256) {
        assert_eq!(stops_and_kills(&acts, pid), (1, 0), "pid {pid}");
    }
    for pid in 3_000..3_256 {
        assert_eq!(stops_and_kills(&acts, pid), (1, 1), "pid {pid}");
    }
    assert_eq!(acts.len(), 3 * 256 + 256);
    assert!(m.accepting());
    assert_eq!(m.deadline(), None);
}

mod properties {
    //! The machine against a model of the processes it speaks about,
    //! driven by random event sequences (STYLE §13).
    use super::*;
    use proptest::prelude::*;
    use std::collections::{BTreeMap, BTreeSet};
    use std::vec::Vec;

    #[derive(Clone, Debug)]
    enum Event {
        Request(i32),
        /// The managed process at this index (mod the count) exits; a
        /// primary one with this code.
        ManagedExit(usize, u8),
        HelperExit(usize, bool),
        /// A helper or managed spawn fails at once.
        SpawnFails(usize),
        Submit(u8),
        Drop(usize),
        Abort(u8),
        OrphanArrives,
        OrphansExit,
        Advance(u64),
    }

    fn event() -> impl Strategy<Value = Event> {
        prop_oneof![
            3 => prop_oneof![Just(TERM), Just(INT), Just(QUIT)].prop_map(Event::Request),
            4 => (0..8usize, any::<u8>()).prop_map(|(i, c)| Event::ManagedExit(i, c)),
            2 => (0..3usize, any::<bool>()).prop_map(|(i, ok)| Event::HelperExit(i, ok)),
            1 => (0..3usize).prop_map(Event::SpawnFails),
            1 => prop_oneof![Just(0u8), Just(QUIT as u8)].prop_map(Event::Submit),
            1 => (0..8usize).prop_map(Event::Drop),
            1 => prop_oneof![Just(1u8), Just(126), Just(127)].prop_map(Event::Abort),
            1 => Just(Event::OrphanArrives),
            1 => Just(Event::OrphansExit),
            4 => prop_oneof![0..50u64, 0..20_000u64].prop_map(Event::Advance),
        ]
    }

    fn settings_strategy() -> impl Strategy<Value = Settings> {
        (
            prop_oneof![Just(0u64), Just(1_000), Just(10_000)],
            prop_oneof![Just(0u64), Just(3_000)],
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
            prop_oneof![Just(None), Just(Some(QUIT))],
            any::<bool>(),
            any::<bool>(),
        )
            .prop_map(|(t, p, start, pre, stop, sig, rev, succ)| {
                let mut success = CodeSet::default();
                if succ {
                    success.insert(143);
                    success.insert(3);
                }
                Settings {
                    timeout_ms: t,
                    prestop_timer_ms: p,
                    has_start: start,
                    has_prestop: pre,
                    has_stop: stop,
                    stop_signal: sig,
                    order: if rev {
                        StopOrder::Reverse
                    } else {
                        StopOrder::Together
                    },
                    success,
                }
            })
    }

    /// The world the machine acts on: processes and what they got.
    #[derive(Default, Debug)]
    struct World {
        now: u64,
        next_pid: i32,
        /// Managed processes alive, in start order: pid → primary.
        managed: Vec<(i32, bool, u8)>,
        /// Helper commands alive: start, prestop, stop.
        helpers: [bool; 3],
        orphans: u32,
        /// Stop signals each pid got (managed), and the helpers'.
        stops: BTreeMap<i32, u32>,
        passed_to_start: u32,
        termed_prestop: u32,
        /// Pids that have been SIGKILLed (they die when asked).
        killed: BTreeSet<i32>,
        /// Every managed process was SIGKILLed (KillAll).
        all_killed: bool,
        /// Actions not about one managed process, in the whole run.
        one_offs: usize,
        /// What the exit code must be, decided by the first cause.
        first_cause: Option<Cause>,
        first_primary: Option<ExitStatus>,
        requests: u32,
        exited: bool,
        /// The drain-delay exception to "a second request kills".
        delay_skipped: bool,
    }

    struct Run {
        m: Machine,
        w: World,
        s: Settings,
        /// The SIGKILL deadline, once set.
        kill_at: Option<u64>,
        /// When dinit gives up on what outlived its SIGKILL, once set.
        give_up_at: Option<u64>,
    }

    impl Run {
        fn new(s: Settings) -> Run {
            let mut r = Run {
                m: Machine::new(s),
                w: World {
                    next_pid: 100,
                    ..World::default()
                },
                s,
                kill_at: None,
                give_up_at: None,
            };
            r.feed(|m, o| m.begin(o));
            r
        }

        /// Feed one event, perform its actions on the world, and check
        /// the invariants that hold after every step.
        fn feed(&mut self, f: impl FnOnce(&mut Machine, &mut Actions)) {
            let mut out = Actions::new();
            f(&mut self.m, &mut out);
            for a in out {
                self.perform(a);
            }
            self.check();
        }

        fn spawn_pid(&mut self) -> i32 {
            self.w.next_pid += 1;
            self.w.next_pid
        }

        fn perform(&mut self, a: Action) {
            assert!(!self.w.exited, "an action after Exit: {a:?}");
            if !matches!(a, Stop { .. } | StopNext { .. } | Kill { .. }) {
                self.w.one_offs += 1;
                assert!(self.w.one_offs <= ONE_OFF_MAX, "{:?}", self.w);
            }
            match a {
                SpawnStart => self.w.helpers[0] = true,
                Launch => {
                    for i in 0..3 {
                        let pid = self.spawn_pid();
                        assert!(self.m.started(pid, if i == 1 { QUIT as u8 } else { 0 }));
                        self.w.managed.push((pid, i == 2, 0));
                    }
                }
                SpawnPrestop => {
                    assert!(!self.w.helpers[1], "prestop started twice");
                    self.w.helpers[1] = true;
                }
                SpawnStop => {
                    assert!(!self.w.helpers[2], "stop started twice");
                    self.w.helpers[2] = true;
                }
                PassToStart(_) => self.w.passed_to_start += 1,
                Stop { pid, .. } | StopNext { pid, .. } => {
                    assert!(
                        self.w.managed.iter().any(|p| p.0 == pid),
                        "a stop signal to {pid}, not a managed process"
                    );
                    *self.w.stops.entry(pid).or_default() += 1;
                }
                Kill { pid } => {
                    assert!(
                        self.w.managed.iter().any(|p| p.0 == pid),
                        "a SIGKILL to {pid}, not a managed process"
                    );
                    // Once is enough ("did not stop in time" is logged).
                    assert!(!self.w.all_killed, "{pid} killed alone after all");
                    assert!(self.w.killed.insert(pid), "{pid} killed twice");
                }
                TermPrestop => self.w.termed_prestop += 1,
                KillAll(_) => self.w.all_killed = true,
                StopOrphans | KillOrphans | KillLeftovers | KillStop(_) => {}
                Drain => {
                    if self.w.managed.is_empty()
                        && !self.w.helpers.iter().any(|h| *h)
                        && self.w.orphans == 0
                    {
                        self.feed(|m, o| m.children_gone(o));
                    }
                }
                Exit => self.w.exited = true,
            }
        }

        fn check(&mut self) {
            // The SIGKILL deadline never moves later once set.
            if let Some(k) = self.m.kill_deadline() {
                if let Some(old) = self.kill_at {
                    assert!(k <= old, "deadline moved from {old} to {k}");
                }
                self.kill_at = Some(k);
            }
            // Nor does the moment dinit gives up on what outlived its
            // SIGKILL (SPEC §10: 5 s at most). The -stop command, which
            // runs after everything else on a clock of its own, is the
            // one exception: when it ends, what is left gets a new SIGKILL.
            match self.m.stage() {
                Some(Stage::Killed { give_up_at, .. }) => {
                    if let Some(old) = self.give_up_at {
                        assert!(
                            give_up_at <= old,
                            "give-up moved from {old} to {give_up_at}"
                        );
                    }
                    self.give_up_at = Some(give_up_at);
                }
                Some(Stage::StopCommand(_)) => self.give_up_at = None,
                _ => {}
            }
            // Every process gets its stop signal at most once.
            for (pid, n) in &self.w.stops {
                assert!(*n <= 1, "pid {pid} got {n} stop signals");
            }
            assert!(self.w.passed_to_start <= 1);
            assert!(self.w.termed_prestop <= 1);
            // Done exactly when Exit was performed.
            assert_eq!(self.m.is_done(), self.w.exited);
            // With -stoporder reverse, orphans get nothing while a
            // managed process is left (before the deadline).
            if self.s.order == StopOrder::Reverse
                && !self.w.managed.is_empty()
                && let Some(Stage::Grace { kill_at, .. }) = self.m.stage()
                && self.w.now < kill_at
            {
                assert_eq!(self.m.sweep(self.w.now), Sweep::Nothing);
            }
        }

        fn apply(&mut self, e: &Event) {
            let now = self.w.now;
            match *e {
                Event::Request(sig) => {
                    self.w.requests += 1;
                    let before = self.m.state();
                    if self.w.first_cause.is_none() {
                        self.w.first_cause = match before {
                            State::Starting => Some(Cause::StartInterrupted(sig)),
                            State::Running => Some(Cause::Request(sig)),
                            _ => None,
                        };
                    }
                    self.feed(|m, o| m.stop_request(sig, now, o));
                    self.check_request(before);
                }
                Event::ManagedExit(i, code) => {
                    if self.w.managed.is_empty() {
                        return;
                    }
                    let (pid, primary, _) = self.w.managed.remove(i % self.w.managed.len());
                    let st = if self.w.killed.contains(&pid) {
                        ExitStatus::Signal(9)
                    } else {
                        ExitStatus::Code(code)
                    };
                    if primary {
                        if self.w.first_primary.is_none() {
                            self.w.first_primary = Some(st);
                        }
                        if self.w.first_cause.is_none() && self.m.accepting() {
                            self.w.first_cause = Some(Cause::PrimaryExit);
                        }
                    }
                    self.feed(|m, o| m.exited(pid, primary.then_some(st), now, o));
                }
                Event::HelperExit(i, ok) => {
                    if !self.w.helpers[i] {
                        return;
                    }
                    self.w.helpers[i] = false;
                    if i == 0 && !ok && self.w.first_cause.is_none() {
                        self.w.first_cause = Some(Cause::StartFailed);
                    }
                    match i {
                        0 => self.feed(|m, o| m.start_exited(ok, now, o)),
                        1 => self.feed(|m, o| m.prestop_exited(now, o)),
                        _ => self.feed(|m, o| m.stop_exited(now, o)),
                    }
                }
                Event::SpawnFails(i) => {
                    // A helper that was just asked for could not start:
                    // the same event as its exit.
                    if self.w.helpers[i] {
                        self.apply(&Event::HelperExit(i, false));
                    }
                }
                Event::Submit(own) => {
                    if self.m.accepting() && self.w.managed.len() < 8 {
                        let pid = self.spawn_pid();
                        assert!(self.m.started(pid, own));
                        self.w.managed.push((pid, false, own));
                    }
                }
                Event::Drop(i) => {
                    if let Some(&(pid, primary, _)) =
                        self.w.managed.get(i % self.w.managed.len().max(1))
                        && !primary
                    {
                        self.feed(|m, o| m.drop_process(pid, now, o));
                    }
                }
                Event::Abort(code) => {
                    if self.m.accepting() {
                        if self.w.first_cause.is_none() {
                            self.w.first_cause = Some(Cause::Aborted(code));
                        }
                        self.feed(|m, o| m.abort(code, now, o));
                    }
                }
                Event::OrphanArrives => self.w.orphans += 1,
                Event::OrphansExit => {
                    self.w.orphans = 0;
                    // Nothing tells the machine of an orphan's exit
                    // unless it drains: the loop reaps and looks.
                    if matches!(self.m.step(), Some(Step::Draining))
                        && self.w.managed.is_empty()
                        && !self.w.helpers.iter().any(|h| *h)
                    {
                        self.feed(|m, o| m.children_gone(o));
                    }
                }
                Event::Advance(ms) => {
                    self.w.now += ms;
                    let now = self.w.now;
                    self.feed(|m, o| m.tick(now, o));
                    // A tick leaves nothing due: the loop never spins.
                    if let Some(d) = self.m.deadline() {
                        assert!(d > now, "due at {d} after a tick at {now}");
                    }
                }
            }
        }

        /// A stop request after the first kills at once (or skips the
        /// drain delay, once); the first one after a teardown that was
        /// not a request keeps the deadline.
        fn check_request(&mut self, before: State) {
            let State::Teardown(t) = before else { return };
            let after = self.m.state();
            if self.w.requests == 1 {
                assert_eq!(
                    self.m.kill_deadline(),
                    match t.stage {
                        Stage::Held { .. } => None,
                        Stage::Grace { kill_at, .. } => Some(kill_at),
                        Stage::Killed { at, .. } => Some(at),
                        Stage::StopCommand(clock) => Some(clock.kill_deadline()),
                    },
                    "the first request moved the deadline"
                );
                return;
            }
            let skip = matches!(t.cause, Cause::Request(_))
                && matches!(t.stage, Stage::Held { .. })
                && !self.s.has_prestop
                && self.w.requests == 2;
            if skip {
                self.w.delay_skipped = true;
                return;
            }
            match after {
                State::Done(_) => {}
                // A request leaves no stop command alive either.
                State::Teardown(Teardown {
                    stage: Stage::Killed { .. } | Stage::StopCommand(StopCommand::Killed { .. }),
                    ..
                }) => {
                    assert!(
                        self.m.kill_deadline() <= Some(self.w.now),
                        "killed in the future"
                    );
                }
                other => panic!("request #{} did not kill: {other:?}", self.w.requests),
            }
        }

        /// Let everything that is alive go, time pass, until the
        /// machine is done; it must get there.
        fn wind_down(&mut self) {
            for _ in 0..64 {
                if self.m.is_done() {
                    return;
                }
                if let Some(&(pid, primary, _)) = self.w.managed.first() {
                    let _ = (pid, primary);
                    self.apply(&Event::ManagedExit(0, 0));
                    continue;
                }
                if let Some(i) = self.w.helpers.iter().position(|h| *h) {
                    self.apply(&Event::HelperExit(i, true));
                    continue;
                }
                if self.w.orphans > 0 {
                    self.apply(&Event::OrphansExit);
                    continue;
                }
                match self.m.deadline() {
                    Some(d) => self.apply(&Event::Advance(d.saturating_sub(self.w.now))),
                    // Nothing alive, no deadline: only draining can be
                    // left, and the loop reaps then (ECHILD).
                    None => self.feed(|m, o| m.children_gone(o)),
                }
                // Running with nothing alive waits for a stop request:
                // a container whose processes all ended ends on its
                // primary's exit, which the model always gives.
                if matches!(self.m.state(), State::Running | State::Starting)
                    && self.w.managed.is_empty()
                    && !self.w.helpers.iter().any(|h| *h)
                {
                    self.apply(&Event::Request(TERM));
                }
            }
            panic!("never done: {:?}\n{:?}", self.m, self.w);
        }

        /// The exit code is the machine's alone: as the first cause
        /// and the first primary's status say.
        fn check_exit_code(&self) {
            let st = self.w.first_primary;
            let want = match (self.w.first_cause, st) {
                (Some(Cause::StartInterrupted(sig)), _) => (128 + sig) as u8,
                (Some(Cause::StartFailed), _) => 1,
                (Some(Cause::Aborted(c)), _) => c,
                (_, Some(st)) if self.s.success.contains(st.code()) => 0,
                (_, Some(st)) => st.code(),
                (Some(Cause::Request(sig)), None) => (128 + sig) as u8,
                _ => 1,
            };
            assert_eq!(self.m.exit_code(), want, "{:?}", self.w);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: 2_000,
            // A fixed seed in CI: the same sequences every run.
            rng_algorithm: proptest::test_runner::RngAlgorithm::ChaCha,
            failure_persistence: None,
            ..ProptestConfig::default()
        })]

        #[test]
        fn invariants_hold_and_every_run_ends(
            s in settings_strategy(),
            events in proptest::collection::vec(event(), 0..40),
        ) {
            let mut r = Run::new(s);
            for e in &events {
                if r.m.is_done() {
                    break;
                }
                r.apply(e);
            }
            r.wind_down();
            r.check_exit_code();
        }

        #[test]
        fn reverse_signals_only_the_last_started(
            n in 1..6usize,
            exits in proptest::collection::vec(0..6usize, 0..8),
        ) {
            let mut m = Machine::new(reverse());
            m.begin(&mut Actions::new());
            let mut alive: Vec<i32> = (0..n as i32).map(|i| 10 + i).collect();
            for &pid in &alive {
                m.started(pid, 0);
            }
            let mut out = Actions::new();
            m.stop_request(TERM, 0, &mut out);
            let mut signalled = BTreeSet::new();
            let mut check = |out: &Actions, alive: &Vec<i32>| {
                for a in out {
                    if let StopNext { pid, waiting, .. } = *a {
                        assert_eq!(Some(&pid), alive.last(), "not the last started");
                        assert_eq!(usize::from(waiting), alive.len() - 1);
                        assert!(signalled.insert(pid), "twice");
                    } else {
                        assert!(matches!(a, Drain | StopOrphans | SpawnStop), "{a:?}");
                    }
                }
            };
            check(&out, &alive);
            for i in exits {
                if alive.is_empty() {
                    break;
                }
                let pid = alive.remove(i % alive.len());
                let mut out = Actions::new();
                m.exited(pid, None, 1, &mut out);
                check(&out, &alive);
                prop_assert_eq!(m.sweep(1) == Sweep::Nothing, !alive.is_empty());
            }
        }
    }
}
