//! Every option from the environment (SPEC §2, issue 16 item 5): the
//! engines' `--init` and Compose's `init: true` pass no options, so every
//! option that takes effect in the init role has a `DINIT_*` variable. A
//! flag beats its variable, which beats the default; a bad value in a
//! variable is a usage error naming the variable.
//!
//! The children are shell scripts (files, so dinit expands no `$` in
//! them) that write what they see into the test directory.
use crate::socket::{client_cmd, run_bounded};
use crate::util::*;
use std::fs;
use std::time::{Duration, Instant};

const SIGHUP: i32 = 1;
const SIGUSR2: i32 = 12;

/// One run with every variable set and no option at all, each variable's
/// effect seen from outside:
/// * `DINIT_START`, `DINIT_PRESTOP`, `DINIT_STOP`: their scripts write
///   `start`, `prestop`, `stop` into `events`, in that order;
/// * `DINIT_SOCKET`: the socket is there (the client finds it through the
///   same variable), and `-list` shows both commands
/// * `DINIT_PRIMARY`: both `primary yes`, and the first to exit decides;
/// * `DINIT_SUCCESS=7,143`: that one exits 7, dinit exits 0 (without the
///   variables the last command, SIGKILLed, would be the primary: 137);
/// * `DINIT_REWRITE=HUP:USR1`: a SIGHUP to dinit reaches `a` as SIGUSR1;
/// * `DINIT_STOPSIGNAL=USR2`: a SIGUSR2 to dinit is a stop request (the
///   prestop runs, which only a stop request does) and teardown sends
///   SIGUSR2, on which `a` exits 7 (`b` ignores SIGUSR1 and SIGUSR2);
/// * `DINIT_PRESTOPTIMER=0.5`: that SIGUSR2 comes half a second after
///   the prestop started;
/// * `DINIT_TIMEOUT=1`: `b`, which ignores SIGUSR2, is SIGKILLed about a
///   second later (the default would be 10 s);
/// * `DINIT_PGROUP=1`: `a` leads its own process group;
/// * `DINIT_MAXPROC=1`: `a` sees `GOMAXPROCS` set to a whole number;
/// * `DINIT_QUIET=1`: no info line, only the kill warning;
/// * `DINIT_PDEATHSIG=TERM`: accepted; dinit's parent (this test) lives
///   on, so nothing comes of it here (`stopsignals.rs` sees it act).
#[test]
fn every_variable_at_once() {
    let d = Dinit::new("vars-all");
    let dir = d.dir.clone();
    let sock = d.sock();
    let stamp = "date +%s.%N";
    script(&dir, "start.sh", "echo start >> events\n");
    script(
        &dir,
        "prestop.sh",
        &format!("echo prestop >> events\n{stamp} > prestop.at\n"),
    );
    script(&dir, "stop.sh", "echo stop >> events\n");
    let a = script(
        &dir,
        "a.sh",
        &format!(
            "echo $$ > a.pid\n\
             cut -d' ' -f5 /proc/$$/stat > a.pgid\n\
             echo \"GOMAXPROCS=$GOMAXPROCS\" > a.env\n\
             trap 'echo USR1 >> a.got' USR1\n\
             trap '{stamp} > usr2.at; exit 7' USR2\n\
             echo ready > a.ready\n\
             while :; do sleep 0.05; done\n"
        ),
    );
    let b = script(
        &dir,
        "b.sh",
        "echo $$ > b.pid\ntrap '' USR1 USR2 TERM\necho ready > b.ready\nwhile :; do sleep 0.05; done\n",
    );
    let path = |p: &std::path::Path| p.to_str().unwrap().to_string();
    let vars = [
        ("DINIT_TIMEOUT", "1".to_string()),
        ("DINIT_PRIMARY", "true".into()),
        ("DINIT_START", path(&dir.join("start.sh"))),
        ("DINIT_PRESTOP", path(&dir.join("prestop.sh"))),
        ("DINIT_PRESTOPTIMER", "0.5".into()),
        ("DINIT_STOP", path(&dir.join("stop.sh"))),
        ("DINIT_MAXPROC", "1".into()),
        ("DINIT_SOCKET", sock.clone()),
        ("DINIT_PGROUP", "1".into()),
        ("DINIT_QUIET", "1".into()),
        ("DINIT_SUCCESS", "7,143".into()),
        ("DINIT_STOPSIGNAL", "USR2".into()),
        ("DINIT_REWRITE", "HUP:USR1".into()),
        ("DINIT_PDEATHSIG", "TERM".into()),
    ];
    let mut d = d.args(["-r", "/bin/sh", &path(&a), "-r", "/bin/sh", &path(&b)]);
    for (k, v) in &vars {
        d = d.env(k, v);
    }
    let mut d = d.spawn();
    d.wait_file("a.ready", "ready");
    d.wait_file("b.ready", "ready");
    let a_pid = crate::signals::read_pid(&dir, "a.pid");
    let b_pid = crate::signals::read_pid(&dir, "b.pid");
    let _guard = KillOnPanic(vec![a_pid, b_pid]);

    // DINIT_SOCKET, for dinit and for the client; DINIT_PRIMARY.
    assert!(std::path::Path::new(&sock).exists(), "no socket at {sock}");
    let list = run_bounded(client_cmd(
        &bin(),
        &["-submit", "-list"],
        &[("DINIT_SOCKET", &sock)],
    ));
    assert_eq!(list.code, 0, "{list:?}");
    assert_eq!(list.stdout.matches(" primary yes ").count(), 2, "{list:?}");

    // DINIT_REWRITE: SIGHUP goes out as SIGUSR1.
    d.signal(SIGHUP);
    d.wait_file("a.got", "USR1");

    // DINIT_STOPSIGNAL: SIGUSR2 is a stop request.
    let stopped = Instant::now();
    d.signal(SIGUSR2);
    let out = d.wait();
    let took = stopped.elapsed();

    // DINIT_PRIMARY + DINIT_SUCCESS: a's 7 is dinit's, and a success.
    assert_eq!(out.code, 0, "{}", out.dump());
    // DINIT_START, DINIT_PRESTOP, DINIT_STOP, in order.
    let events = fs::read_to_string(dir.join("events")).unwrap_or_default();
    assert_eq!(events, "start\nprestop\nstop\n", "{}", out.dump());
    // DINIT_PRESTOPTIMER: the stop signal half a second after prestop.
    let at = |f: &str| -> f64 {
        fs::read_to_string(dir.join(f))
            .unwrap_or_else(|e| panic!("{f}: {e}\n{}", out.dump()))
            .trim()
            .parse()
            .unwrap()
    };
    let delay = at("usr2.at") - at("prestop.at");
    assert!(
        (0.45..5.0).contains(&delay),
        "SIGUSR2 {delay:.3} s after prestop\n{}",
        out.dump()
    );
    // DINIT_TIMEOUT: b, deaf to SIGUSR2, killed ~1 s after it, not 10 s.
    assert!(
        took >= Duration::from_millis(1400) && took < Duration::from_secs(9),
        "teardown took {took:?}\n{}",
        out.dump()
    );
    assert!(!alive(b_pid), "{}", out.dump());
    // DINIT_QUIET: the kill warning, no info line.
    assert!(
        out.stderr.contains("killing 1 remaining process"),
        "{}",
        out.dump()
    );
    for info in [" started: ", "finished", "goodbye", "forwarded", "received"] {
        assert!(
            !out.stderr.contains(info),
            "{info:?} under DINIT_QUIET\n{}",
            out.dump()
        );
    }
    // DINIT_PGROUP: a leads its own group.
    let pgid = fs::read_to_string(dir.join("a.pgid")).unwrap();
    assert_eq!(pgid.trim(), a_pid.to_string(), "{}", out.dump());
    // DINIT_MAXPROC: GOMAXPROCS is a whole number of at least 1.
    let env = fs::read_to_string(dir.join("a.env")).unwrap();
    let n: u32 = env
        .trim()
        .strip_prefix("GOMAXPROCS=")
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{env:?}\n{}", out.dump()));
    assert!(n >= 1, "{env}");
    // DINIT_SOCKET: removed on exit.
    assert!(!std::path::Path::new(&sock).exists(), "{sock} left behind");
}

/// A flag beats its variable: `-success 4` replaces `DINIT_SUCCESS=3`
/// (so exit 3 is no success), `-primary=false` undoes `DINIT_PRIMARY`, and
/// `-maxproc 0` leaves `GOMAXPROCS` unset whatever `DINIT_MAXPROC` says.
/// Without the flags, the variables apply.
#[test]
fn a_flag_beats_its_variable() {
    let env = [
        ("DINIT_SUCCESS", "3"),
        ("DINIT_PRIMARY", "1"),
        ("DINIT_MAXPROC", "2"),
    ];
    // (flags, exit status)
    let table: &[(&[&str], i32)] = &[
        (&[], 0),
        (&["-success", "4"], 3),
        (&["-primary=false"], 9),
        (&["-maxproc", "0"], 0),
    ];
    for &(flags, code) in table {
        let mut d = Dinit::new("vars-flag");
        for (k, v) in env {
            d = d.env(k, v);
        }
        let dir = d.dir.clone();
        // The first command exits 3 once the last has recorded
        // GOMAXPROCS; the last exits 9 a little later.
        script(
            &dir,
            "first.sh",
            "until [ -e env ]; do sleep 0.02; done\nexit 3\n",
        );
        script(
            &dir,
            "last.sh",
            "echo \"GOMAXPROCS=$GOMAXPROCS\" > env\nsleep 0.5\nexit 9\n",
        );
        let first = dir.join("first.sh");
        let last = dir.join("last.sh");
        let out = d
            .args(["-socket", ""])
            .args(flags)
            .args(["-r", "/bin/sh", first.to_str().unwrap()])
            .args(["-r", "/bin/sh", last.to_str().unwrap()])
            .run();
        assert_eq!(out.code, code, "{flags:?}\n{}", out.dump());
        let seen = fs::read_to_string(dir.join("env")).unwrap_or_default();
        let n = seen.trim().strip_prefix("GOMAXPROCS=");
        if flags.first() == Some(&"-maxproc") {
            assert_eq!(n, Some(""), "{flags:?}\n{}", out.dump());
        } else {
            let n: u32 = n.and_then(|n| n.parse().ok()).unwrap_or(0);
            assert!(n >= 1, "{flags:?}: {seen:?}\n{}", out.dump());
        }
    }
}

/// A bad value in any variable is a usage error: exit 2, one line naming
/// the variable (and saying what was expected), nothing started.
#[test]
fn bad_variables_are_usage_errors() {
    let table: &[(&str, &str)] = &[
        ("DINIT_TIMEOUT", "soon"),
        ("DINIT_PRIMARY", "yes"),
        ("DINIT_PRESTOPTIMER", "-1"),
        ("DINIT_MAXPROC", "-1"),
        ("DINIT_MAXPROC", "half"),
        ("DINIT_PGROUP", "on"),
        ("DINIT_QUIET", "2"),
        ("DINIT_SUCCESS", "256"),
        ("DINIT_SUCCESS", "0,x"),
        ("DINIT_STOPSIGNAL", "KILL"),
        ("DINIT_REWRITE", "TERM:0"),
        ("DINIT_PDEATHSIG", "NOPE"),
    ];
    for &(var, value) in table {
        let d = Dinit::new("vars-bad").env(var, value).args(["-socket", ""]);
        let m = marker_cmd(&d.dir);
        let dir = d.dir.clone();
        assert_usage_error(d.args(m), &format!("invalid value for {var}: "));
        let log = fs::read_to_string(dir.join("stderr")).unwrap();
        assert!(
            log.contains(" (") && log.trim_end().ends_with(')'),
            "{var}={value}: {log}"
        );
    }
}
