//! Nothing escapes (SPEC §10, issue 9 item 2): before dinit exits, PID 1 or
//! not, every process still its child — orphans it adopted as child
//! subreaper or PID 1, and their children as they are reparented to it —
//! gets the stop signal and SIGCONT, SIGKILL after `-timeout`, and dinit
//! leaves only when it has no child left, with the primary's status. One
//! deadline for the whole teardown: the total time is about one timeout.
//!
//! The escapees are shell scripts in the test directory (dinit would expand
//! `$` in `-r` arguments): a double-forked daemon that traps SIGTERM (and
//! leaves a child of its own behind when it exits) and a setsid'd process
//! that ignores SIGTERM.
use crate::signals::{now, path, read_pid};
use crate::util::*;
use std::path::Path;
use std::time::{Duration, Instant};

const SIGTERM: i32 = 15;
/// `-timeout` of these tests, in seconds: long enough that one timeout plus
/// generous slack stays below two.
const TIMEOUT: u64 = 4;

/// Writes the escapees: `daemon.sh` double-forks a daemon that records a
/// SIGTERM in `daemon.term` and exits (its `sleep` child, in
/// `daemon-child.pid`, is orphaned then), and returns at once; the setsid'd
/// one ignores SIGTERM (`ignorer.pid`). Returns the shell lines that start
/// both and wait until all three pids are written.
fn escapees(dir: &Path) -> String {
    script(
        dir,
        "daemon.sh",
        // The child writes its own pid once it runs a fresh shell: from then
        // on SIGTERM kills it (a fork of the trapping shell that has not
        // exec'd yet would still have the daemon's handler).
        "( setsid sh -c 'trap \"echo term >> daemon.term; exit 0\" TERM\n\
         echo $$ > daemon.pid\n\
         sh -c \"echo \\$\\$ > daemon-child.pid; exec sleep 1000\" &\n\
         wait' & )\n",
    );
    "./daemon.sh\n\
     setsid sh -c 'trap \"\" TERM; echo $$ > ignorer.pid; exec sleep 40' &\n\
     until [ -s daemon.pid ] && [ -s daemon-child.pid ] && [ -s ignorer.pid ]; do sleep 0.05; done\n"
        .to_string()
}

/// The end of a primary that waits for SIGTERM and exits 3 on it (the trap
/// is set first thing in `primary.sh`).
const UNTIL_SIGTERM: &str = "while :; do sleep 0.2; done\n";

/// The end of a primary that exits 0 at once, writing the wall-clock time
/// to `exiting` first: a moment no later than the teardown's start (dinit
/// starts it when it reaps the primary), whenever the test thread runs.
const EXIT_STAMPED: &str = "date +%s.%N > exiting\nexit 0\n";

/// The time `EXIT_STAMPED` wrote.
fn exit_stamp(dir: &Path) -> f64 {
    let text = std::fs::read_to_string(dir.join("exiting")).unwrap_or_default();
    text.trim()
        .parse()
        .unwrap_or_else(|_| panic!("no time in `exiting`: {text:?}"))
}

/// dinit with `-timeout TIMEOUT` running `primary.sh`: SIGTERM trapped
/// (exit 3), the escapees, then `rest`.
fn spawn_with_escapees(d: Dinit, rest: &str) -> Running {
    let body = "trap 'exit 3' TERM\n".to_string() + &escapees(&d.dir) + rest;
    let primary = script(&d.dir, "primary.sh", &body);
    d.args(["-socket", "", "-timeout", &TIMEOUT.to_string()])
        .args(["-r", &path(&primary)])
        .spawn()
}

/// Wait until the three pid files are written; their host pids (only
/// meaningful when dinit is not PID 1).
fn escapee_pids(d: &mut Running) -> [i32; 3] {
    for f in ["daemon.pid", "daemon-child.pid", "ignorer.pid"] {
        d.wait_file(f, "\n");
    }
    ["daemon.pid", "daemon-child.pid", "ignorer.pid"].map(|f| read_pid(&d.dir, f))
}

/// The checks every case shares: the status, a total time of about one
/// timeout from `begun` (wall-clock seconds, taken just before the
/// teardown's start and never after it) to `ended` (when the test saw
/// dinit gone, never before it), the daemon stopped gracefully, and the
/// SIGKILL logged.
fn check(out: &Output, code: i32, begun: f64, ended: f64, dir: &Path) {
    let total = Duration::from_secs_f64((ended - begun).max(0.0));
    assert_eq!(out.code, code, "{}", out.dump());
    let t = Duration::from_secs(TIMEOUT);
    assert!(
        total > t.mul_f64(0.8),
        "dinit left after {total:?}, before the ignorer's timeout\n{}",
        out.dump()
    );
    assert!(
        total < t + Duration::from_secs(3),
        "dinit took {total:?}: more than one timeout\n{}",
        out.dump()
    );
    let term = std::fs::read_to_string(dir.join("daemon.term")).unwrap_or_default();
    assert_eq!(
        term,
        "term\n",
        "the daemon did not get SIGTERM\n{}",
        out.dump()
    );
    assert!(
        out.stderr.contains("sent SIGKILL to 1 orphaned process"),
        "{}",
        out.dump()
    );
}

/// Not PID 1, they are all gone once dinit has exited (dinit reaped them:
/// they were its children).
fn assert_gone(pids: &[i32], out: &Output) {
    let left: Vec<i32> = pids.iter().copied().filter(|&p| alive(p)).collect();
    assert!(left.is_empty(), "{left:?} outlived dinit\n{}", out.dump());
}

/// SPEC §10: after the primary's exit, not as PID 1 (child subreaper).
#[test]
fn escapees_are_stopped_after_a_primary_exit() {
    if skip_if_emulated(QEMU_SUBREAPER) {
        return;
    }
    let d = Dinit::new("escape-primary");
    let dir = d.dir.clone();
    let mut d = spawn_with_escapees(d, EXIT_STAMPED);
    let pids = escapee_pids(&mut d);
    let _guard = KillOnPanic(pids.to_vec());
    let out = d.wait();
    let ended = now();
    check(&out, 0, exit_stamp(&dir), ended, &dir);
    assert_gone(&pids, &out);
}

/// SPEC §10: after SIGTERM to dinit, not as PID 1: the daemon adopted
/// before gets SIGTERM with the primary; the ignorer, the primary's own
/// child, is adopted when the primary exits and still gets SIGTERM, then
/// SIGKILL at the same deadline.
#[test]
fn escapees_are_stopped_after_sigterm() {
    if skip_if_emulated(QEMU_SUBREAPER) {
        return;
    }
    let d = Dinit::new("escape-term");
    let dir = d.dir.clone();
    let mut d = spawn_with_escapees(d, UNTIL_SIGTERM);
    let pids = escapee_pids(&mut d);
    let _guard = KillOnPanic(pids.to_vec());
    let begun = now();
    d.signal(SIGTERM);
    let out = d.wait();
    let ended = now();
    check(&out, 3, begun, ended, &dir);
    assert_gone(&pids, &out);
    // Logged in the order they were sent: the managed process first,
    // then the daemon it had left (SPEC §11: orphans last).
    let msgs = out.messages();
    let managed = msgs.iter().position(|m| m == "sent SIGTERM to 1 process");
    let orphans = msgs
        .iter()
        .position(|m| m.starts_with("sent SIGTERM to ") && m.contains(" orphaned process"));
    assert!(
        matches!((managed, orphans), (Some(a), Some(b)) if a < b),
        "{}",
        out.dump()
    );
}

/// SPEC §10: the same as PID 1 (there the kernel would kill what is left
/// when dinit exits; what matters is the graceful SIGTERM and the time).
#[test]
fn escapees_are_stopped_as_pid1() {
    for sigterm in [false, true] {
        let d = Dinit::new("escape-pid1").as_pid1();
        let dir = d.dir.clone();
        let rest = if sigterm { UNTIL_SIGTERM } else { EXIT_STAMPED };
        let mut d = spawn_with_escapees(d, rest);
        escapee_pids(&mut d);
        let signalled = now();
        if sigterm {
            d.signal(SIGTERM);
        }
        let out = d.wait();
        let ended = now();
        let begun = if sigterm { signalled } else { exit_stamp(&dir) };
        check(&out, if sigterm { 3 } else { 0 }, begun, ended, &dir);
    }
}

/// SPEC §10: the child of a managed process that ignores SIGTERM is
/// adopted only when that process is SIGKILLed at the deadline; it is
/// killed at once then, not given a second timeout.
#[test]
fn late_arrival_after_the_deadline_is_killed_at_once() {
    if skip_if_emulated(QEMU_SUBREAPER) {
        return;
    }
    let d = Dinit::new("escape-late");
    let primary = script(
        &d.dir,
        "primary.sh",
        "trap '' TERM\n\
         setsid sh -c 'echo $$ > late.pid; exec sleep 40' &\n\
         until [ -s late.pid ]; do sleep 0.05; done\n\
         exec sleep 100\n",
    );
    let dir = d.dir.clone();
    let mut d = d
        .args(["-socket", "", "-timeout", &TIMEOUT.to_string()])
        .args(["-r", &path(&primary)])
        .spawn();
    d.wait_file("late.pid", "\n");
    let late = read_pid(&dir, "late.pid");
    let _guard = KillOnPanic(vec![late]);
    d.wait_log("started:");
    let t0 = Instant::now();
    d.signal(SIGTERM);
    let out = d.wait();
    let total = t0.elapsed();
    assert_eq!(out.code, 137, "{}", out.dump());
    assert!(
        total < Duration::from_secs(TIMEOUT + 3),
        "dinit took {total:?}\n{}",
        out.dump()
    );
    assert!(
        out.stderr.contains("sent SIGKILL to 1 orphaned process"),
        "{}",
        out.dump()
    );
    assert_gone(&[late], &out);
}
