//! `-stoporder reverse` (SPEC §11, issue 15): teardown stops the last
//! started process first, each one only once every process started after it
//! has exited; adopted orphans come after every managed process; there is
//! one SIGKILL deadline, `-timeout` after the first stop signal; a second
//! stop request kills at once. The children are the signal recorder of
//! `signals.rs` (and small scripts that stamp their exit with its `stamp`
//! mode), so the order is read from their own clocks.
use crate::signals::{dinit, got, got_sigs, path, python, r, recorder, wait_got};
use crate::util::*;
use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

const SIGTERM: i32 = 15;

/// A command that takes its SIGTERM slowly: it stamps `NAME.exit` half a
/// second after the signal, then exits 0. Until then it runs.
fn slow(dir: &Path, name: &str) -> Vec<String> {
    let rec = path(&dir.join("rec.py"));
    let py = python();
    let body = format!(
        "trap 'sleep 0.5; {py} {rec} stamp {name}.exit; exit 0' TERM\n\
         echo ready > {name}.ready\n\
         while :; do sleep 0.05; done\n"
    );
    let s = script(dir, &format!("{name}.sh"), &body);
    vec![path(&s)]
}

/// The time stamped into FILE.
fn stamp(dir: &Path, file: &str) -> f64 {
    fs::read_to_string(dir.join(file))
        .unwrap_or_else(|_| panic!("{file} missing"))
        .trim()
        .parse()
        .unwrap()
}

/// The time NAME got SIGTERM.
fn term_at(dir: &Path, name: &str, out: &Output) -> f64 {
    got(dir, name)
        .into_iter()
        .find(|(s, _)| *s == SIGTERM)
        .unwrap_or_else(|| panic!("{name} got no SIGTERM\n{}", out.dump()))
        .1
}

fn wait_ready(d: &mut Running, names: &[&str]) {
    for n in names {
        d.wait_file(&format!("{n}.ready"), "ready");
    }
}

/// The order is the reverse of the start order, each one waits until the
/// one after it has exited, and orphans come last; every step is logged.
#[test]
fn reverse_stops_the_last_started_first_and_orphans_last() {
    let d = dinit("order-reverse");
    let dir = d.dir.clone();
    let a = recorder(&dir, "a", &["x15"]);
    let b = slow(&dir, "b");
    let c = recorder(&dir, "c", &["x15"]);
    // A daemon's orphan: a recorder left behind by a command that exits.
    // Under qemu-user dinit cannot adopt it (the kernel refuses the child
    // subreaper role there), so that part is left out.
    let orphan = !skip_if_emulated("its orphan part (no child subreaper under qemu-user)");
    let rec = path(&dir.join("rec.py"));
    let body = if orphan {
        format!("{} {rec} rec orphan x15 &\nexit 0\n", python())
    } else {
        "exit 0\n".to_string()
    };
    let daemon = script(&dir, "daemon.sh", &body);
    let args = [
        vec![
            "-stoporder".into(),
            "reverse".into(),
            "-timeout".into(),
            "20".into(),
        ],
        r(&a),
        vec!["-r".into(), path(&daemon)],
        r(&b),
        r(&c),
    ];
    let mut d = d.args(args.concat()).spawn();
    // A failure must not leave the orphan behind: it is dinit's child.
    wait_ready(&mut d, &["a", "b", "c"]);
    if orphan {
        wait_ready(&mut d, &["orphan"]);
    }
    d.signal(SIGTERM);
    let out = d.wait();
    assert_eq!(out.code, 0, "{}", out.dump());
    for n in ["a", "c"] {
        assert_eq!(got_sigs(&dir, n), [SIGTERM], "{n}\n{}", out.dump());
    }
    let c_at = term_at(&dir, "c", &out);
    let b_exit = stamp(&dir, "b.exit");
    let a_at = term_at(&dir, "a", &out);
    assert!(c_at < b_exit, "b exited before c's turn\n{}", out.dump());
    // b had its signal after c and took half a second to leave; a's turn
    // came only then.
    assert!(
        a_at >= b_exit,
        "a was stopped before b exited\n{}",
        out.dump()
    );
    if orphan {
        assert_eq!(got_sigs(&dir, "orphan"), [SIGTERM], "{}", out.dump());
        let orphan_at = term_at(&dir, "orphan", &out);
        assert!(
            orphan_at >= a_at,
            "the orphan went before a\n{}",
            out.dump()
        );
        assert!(
            out.stderr.contains("sent SIGTERM to 1 orphaned process"),
            "{}",
            out.dump()
        );
    }
    let msgs = out.messages();
    let step = |name: &str, waiting: &str| {
        let pid = out.pid_of(&format!("started: [{name}]"));
        let want = format!("sent SIGTERM to pid {pid} [");
        assert!(
            msgs.iter()
                .any(|m| m.starts_with(&want) && m.ends_with(waiting)),
            "no step line for {name} ending {waiting:?}\n{}",
            out.dump()
        );
    };
    step(&c.join(" "), "; 2 processes wait behind it");
    step(&b.join(" "), "; 1 process waits behind it");
    step(&a.join(" "), "; 0 processes wait behind it");
}

/// One deadline: the last command ignores SIGTERM, so the ones before it
/// never get their turn; everything is SIGKILLed one `-timeout` after the
/// first stop signal, not a `-timeout` per process.
#[test]
fn reverse_has_one_deadline() {
    let d = dinit("order-deadline");
    let dir = d.dir.clone();
    let a = recorder(&dir, "a", &["15"]);
    let b = recorder(&dir, "b", &["x15"]);
    // Records SIGTERM and goes on: it leaves only by SIGKILL.
    let deaf = recorder(&dir, "deaf", &["15"]);
    let args = [
        vec![
            "-stoporder".into(),
            "reverse".into(),
            "-timeout".into(),
            "4".into(),
        ],
        r(&a),
        r(&b),
        r(&deaf),
    ];
    let mut d = d.args(args.concat()).spawn();
    wait_ready(&mut d, &["a", "b", "deaf"]);
    let t0 = Instant::now();
    d.signal(SIGTERM);
    let out = d.wait();
    let took = t0.elapsed();
    // Killed by SIGKILL: the primary's status is 137.
    assert_eq!(out.code, 137, "{}", out.dump());
    assert_eq!(got_sigs(&dir, "deaf"), [SIGTERM], "{}", out.dump());
    assert_eq!(got_sigs(&dir, "a"), Vec::<i32>::new(), "{}", out.dump());
    assert_eq!(got_sigs(&dir, "b"), Vec::<i32>::new(), "{}", out.dump());
    assert!(
        out.stderr.contains("killing 3 remaining processes"),
        "{}",
        out.dump()
    );
    // One -timeout (4 s), not one per process (12 s).
    assert!(
        took >= Duration::from_millis(3_900),
        "{took:?}\n{}",
        out.dump()
    );
    assert!(took < Duration::from_secs(8), "{took:?}\n{}", out.dump());
}

/// A second stop request kills at once, whoever's turn it is.
#[test]
fn reverse_second_request_kills_at_once() {
    let d = dinit("order-second");
    let dir = d.dir.clone();
    let a = recorder(&dir, "a", &["15"]);
    let deaf = recorder(&dir, "deaf", &["15"]);
    let args = [
        vec![
            "-stoporder".into(),
            "reverse".into(),
            "-timeout".into(),
            "60".into(),
        ],
        r(&a),
        r(&deaf),
    ];
    let mut d = d.args(args.concat()).spawn();
    wait_ready(&mut d, &["a", "deaf"]);
    d.signal(SIGTERM);
    // The sentinel: the last one has its stop signal, the turn is stuck.
    wait_got(&mut d, "deaf", SIGTERM);
    let t0 = Instant::now();
    d.signal(SIGTERM);
    let out = d.wait();
    assert_eq!(out.code, 137, "{}", out.dump());
    assert!(t0.elapsed() < Duration::from_secs(20), "{}", out.dump());
    assert_eq!(got_sigs(&dir, "a"), Vec::<i32>::new(), "{}", out.dump());
}

/// The variable works like the flag, and a primary exiting on its own
/// stops the rest in the same order.
#[test]
fn dinit_stoporder_and_a_primary_exit() {
    let d = dinit("order-env").env("DINIT_STOPORDER", "reverse");
    let dir = d.dir.clone();
    let a = recorder(&dir, "a", &["x15"]);
    let b = slow(&dir, "b");
    let primary = "until [ -e a.ready ] && [ -e b.ready ]; do sleep 0.05; done; exit 5";
    let args = [
        vec!["-timeout".into(), "20".into()],
        r(&a),
        r(&b),
        vec!["-r".into(), "/bin/sh".into(), "-c".into(), primary.into()],
    ];
    let out = d.args(args.concat()).spawn().wait();
    assert_eq!(out.code, 5, "{}", out.dump());
    let a_at = term_at(&dir, "a", &out);
    let b_exit = stamp(&dir, "b.exit");
    assert!(
        a_at >= b_exit,
        "a was stopped before b exited\n{}",
        out.dump()
    );
}

/// Anything else is a usage error naming the option.
#[test]
fn a_bad_stoporder_is_a_usage_error() {
    let out = dinit("order-bad")
        .args(["-stoporder", "backwards", "-r", "/bin/true"])
        .run();
    assert_eq!(out.code, 2, "{}", out.dump());
    assert!(
        out.stderr
            .contains("invalid value for -stoporder: backwards"),
        "{}",
        out.dump()
    );
    let out = dinit("order-bad-env")
        .env("DINIT_STOPORDER", "up")
        .args(["-r", "/bin/true"])
        .run();
    assert_eq!(out.code, 2, "{}", out.dump());
    assert!(
        out.stderr.contains("invalid value for DINIT_STOPORDER: up"),
        "{}",
        out.dump()
    );
}
