//! Stop signals for multi-process containers (SPEC §9, issue 10): a
//! command's own `-r:SIG`, `-stopsignal` (sent at teardown and itself a stop
//! request), `-rewrite`, the drain delay of `-prestoptimer` without
//! `-prestop`, `-pdeathsig`, and the usage errors. Children that must say
//! what they got are the signal recorder of `signals.rs`.
use crate::signals::{
    dinit, got, got_sigs, kill, now, path, r, read_pid, recorder, wait_got, wait_got_n,
};
use crate::socket::submit;
use crate::util::*;
use std::fs;
use std::time::{Duration, Instant};

const SIGHUP: i32 = 1;
const SIGINT: i32 = 2;
const SIGQUIT: i32 = 3;
const SIGUSR1: i32 = 10;
const SIGUSR2: i32 = 12;
const SIGTERM: i32 = 15;
const SIGCONT: i32 = 18;
const SIGWINCH: i32 = 28;
const SIGPWR: i32 = 30;
const SIGRTMIN: i32 = 34;

/// `-r:SIG` followed by these words.
fn r_sig(sig: &str, words: &[String]) -> Vec<String> {
    let mut v = vec![format!("-r:{sig}")];
    v.extend(words.iter().cloned());
    v
}

/// A primary that exits with `code` once every recorder in `names` is
/// ready (no `$` in it: dinit would expand it).
fn primary_when_ready(names: &[&str], code: i32) -> Vec<String> {
    let tests: Vec<String> = names.iter().map(|n| format!("[ -e {n}.ready ]")).collect();
    let body = format!(
        "until {}; do sleep 0.05; done; exit {code}",
        tests.join(" && ")
    );
    vec!["-r".into(), "/bin/sh".into(), "-c".into(), body]
}

/// SPEC §9 `-r:SIG`: after the primary's exit each command gets its own
/// stop signal, the others SIGTERM, each logged once.
#[test]
fn own_stop_signals_after_a_primary_exit() {
    let d = dinit("own-after-primary");
    let a = recorder(&d.dir, "a", &["x3", "x15"]);
    let b = recorder(&d.dir, "b", &["x3", "x15"]);
    let dir = d.dir.clone();
    let args = [
        vec!["-timeout".into(), "20".into()],
        r_sig("QUIT", &a),
        r(&b),
        primary_when_ready(&["a", "b"], 4),
    ];
    let out = d.args(args.concat()).spawn().wait();
    assert_eq!(out.code, 4, "{}", out.dump());
    assert_eq!(got_sigs(&dir, "a"), [SIGQUIT], "{}", out.dump());
    assert_eq!(got_sigs(&dir, "b"), [SIGTERM], "{}", out.dump());
    assert!(
        out.stderr.contains("sent SIGQUIT to 1 process\n")
            && out.stderr.contains("sent SIGTERM to 1 process\n"),
        "{}",
        out.dump()
    );
    assert!(!out.stderr.contains("killing"), "{}", out.dump());
}

/// SPEC §9: a command's own signal wins whatever started the teardown;
/// the others get the received SIGTERM or SIGINT, as before.
#[test]
fn own_stop_signals_after_sigterm_and_sigint() {
    for (sig, name) in [(SIGTERM, "SIGTERM"), (SIGINT, "SIGINT")] {
        let d = dinit("own-after-term");
        let a = recorder(&d.dir, "a", &["x2", "x3", "x15"]);
        let b = recorder(&d.dir, "b", &["x2", "x3", "x15"]);
        let dir = d.dir.clone();
        let args = [vec!["-timeout".into(), "20".into()], r_sig("3", &a), r(&b)];
        let mut d = d.args(args.concat()).spawn();
        d.wait_file("a.ready", "ready");
        d.wait_file("b.ready", "ready");
        d.signal(sig);
        let out = d.wait();
        assert_eq!(out.code, 0, "{}", out.dump());
        assert_eq!(got_sigs(&dir, "a"), [SIGQUIT], "{}", out.dump());
        assert_eq!(got_sigs(&dir, "b"), [sig], "{}", out.dump());
        assert!(
            out.stderr.contains(&format!("sent {name} to 1 process\n")),
            "{}",
            out.dump()
        );
    }
}

/// SPEC §9: `-r:SIG` on the socket; `-list` keeps its documented format
/// (the signal is not part of the command); an unknown signal is an error
/// reply and starts nothing.
#[test]
fn submitted_own_stop_signal() {
    let d = dinit("own-submitted");
    let sock = d.sock();
    let main = recorder(&d.dir, "main", &["x15"]);
    let sub = recorder(&d.dir, "sub", &["x3", "x15"]);
    let dir = d.dir.clone();
    let mut d = d
        .args(["-socket", &sock, "-timeout", "20"])
        .args(r(&main))
        .spawn();
    d.wait_file("main.ready", "ready");
    let mut words = vec!["-r:QUIT".to_string()];
    words.extend(sub.iter().cloned());
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    let c = submit(&sock, &words);
    assert_eq!(c.code, 0, "{c:?}");
    let pid: i32 = c
        .stdout
        .trim()
        .strip_prefix("ok ")
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("{c:?}"));
    d.wait_file("sub.ready", "ready");
    let list = submit(&sock, &["-list"]);
    assert_eq!(list.code, 0, "{list:?}");
    let line = list
        .stdout
        .lines()
        .find(|l| l.starts_with(&format!("pid {pid} ")))
        .unwrap_or_else(|| panic!("{list:?}"));
    let want = format!("cmd [{}]", sub.join(" "));
    assert!(
        line.starts_with(&format!("pid {pid} primary no running ")) && line.ends_with(&want),
        "{line:?}"
    );
    let bad = submit(&sock, &["-r:NOPE", "/bin/true"]);
    assert_eq!(bad.code, 1, "{bad:?}");
    assert!(
        bad.stderr.contains("unknown word in the -r: list") && bad.stderr.contains(": NOPE"),
        "{bad:?}"
    );
    d.signal(SIGTERM);
    let out = d.wait();
    assert_eq!(out.code, 0, "{}", out.dump());
    assert_eq!(got_sigs(&dir, "sub"), [SIGQUIT], "{}", out.dump());
    assert_eq!(got_sigs(&dir, "main"), [SIGTERM], "{}", out.dump());
    assert!(!out.stderr.contains("/bin/true"), "{}", out.dump());
}

/// SPEC §9: `\-r:SIG` is the literal word `-r:SIG`, on the command line
/// and on the socket.
#[test]
fn escaped_run_flag_with_a_signal_is_literal() {
    let out = dinit("escaped-r-sig")
        .args(["-r", "/bin/echo", "\\-r:QUIT", "\\-r", "-rx"])
        .run();
    assert_eq!(out.code, 0, "{}", out.dump());
    assert_eq!(out.stdout, "-r:QUIT -r -rx\n", "{}", out.dump());
}

/// `-stopsignal QUIT`, then SIGQUIT to dinit: a stop request, and what
/// teardown sends; not forwarded.
fn check_stop_signal_received(d: Dinit) {
    let rec = recorder(&d.dir, "main", &["x3", "x15"]);
    let dir = d.dir.clone();
    let mut d = d
        .args(["-stopsignal", "SIGQUIT", "-timeout", "20"])
        .args(r(&rec))
        .spawn();
    d.wait_file("main.ready", "ready");
    d.signal(SIGQUIT);
    let out = d.wait();
    assert_eq!(out.code, 0, "{}", out.dump());
    assert_eq!(got_sigs(&dir, "main"), [SIGQUIT], "{}", out.dump());
    assert!(
        out.stderr.contains("received SIGQUIT, stopping")
            && out.stderr.contains("sent SIGQUIT to 1 process"),
        "{}",
        out.dump()
    );
    assert!(!out.stderr.contains("forwarded"), "{}", out.dump());
}

/// SPEC §9: receiving the `-stopsignal` is a stop request.
#[test]
fn stop_signal_received_is_a_stop_request() {
    check_stop_signal_received(dinit("stopsignal-received"));
}

/// SPEC §9: the same as PID 1, where an image's `STOPSIGNAL SIGQUIT` lands.
#[test]
fn stop_signal_received_is_a_stop_request_as_pid1() {
    check_stop_signal_received(dinit("stopsignal-received-pid1").as_pid1());
}

/// SPEC §9: the `-stopsignal` replaces SIGTERM at teardown, after a
/// primary's exit and after SIGTERM (which still is a stop request); a
/// command's own signal still wins over it. `DINIT_STOPSIGNAL` works too.
#[test]
fn stop_signal_replaces_sigterm_at_teardown() {
    // After a primary's exit, from the environment.
    let d = dinit("stopsignal-primary").env("DINIT_STOPSIGNAL", "quit");
    let a = recorder(&d.dir, "a", &["x3", "x15"]);
    let dir = d.dir.clone();
    let args = [r(&a), primary_when_ready(&["a"], 5)];
    let out = d.args(args.concat()).spawn().wait();
    assert_eq!(out.code, 5, "{}", out.dump());
    assert_eq!(got_sigs(&dir, "a"), [SIGQUIT], "{}", out.dump());

    // After SIGTERM; b's own USR1 wins.
    let d = dinit("stopsignal-term");
    let a = recorder(&d.dir, "a", &["x3", "x10", "x15"]);
    let b = recorder(&d.dir, "b", &["x3", "x10", "x15"]);
    let dir = d.dir.clone();
    let args = [
        vec!["-stopsignal".into(), "3".into()],
        r_sig("usr1", &b),
        r(&a),
    ];
    let mut d = d.args(args.concat()).spawn();
    d.wait_file("a.ready", "ready");
    d.wait_file("b.ready", "ready");
    d.signal(SIGTERM);
    let out = d.wait();
    assert_eq!(out.code, 0, "{}", out.dump());
    assert_eq!(got_sigs(&dir, "a"), [SIGQUIT], "{}", out.dump());
    assert_eq!(got_sigs(&dir, "b"), [SIGUSR1], "{}", out.dump());
    assert!(
        out.stderr.contains("received SIGTERM, stopping"),
        "{}",
        out.dump()
    );
}

/// SPEC §9 `-rewrite`: a forwarded signal goes out as TO, or not at all
/// with TO 0; the others are forwarded unchanged.
#[test]
fn rewrite_and_drop() {
    let d = dinit("rewrite").args(["-rewrite", "HUP:USR1", "-rewrite=WINCH:0"]);
    let rec = recorder(&d.dir, "main", &["1", "10", "12", "28", "30", "x15"]);
    let mut d = d.args(r(&rec)).spawn();
    d.wait_file("main.ready", "ready");
    d.signal(SIGHUP);
    wait_got(&mut d, "main", SIGUSR1);
    d.wait_log("forwarded SIGHUP as SIGUSR1 to 1 process");
    d.signal(SIGUSR2);
    wait_got(&mut d, "main", SIGUSR2);
    // A sentinel with a higher number: dinit reads pending signals lowest
    // first, so once it arrives a forwarded SIGWINCH would have too.
    d.signal(SIGWINCH);
    d.signal(SIGPWR);
    wait_got(&mut d, "main", SIGPWR);
    d.wait_log("dropped SIGWINCH (-rewrite)");
    assert_eq!(
        got_sigs(&d.dir, "main"),
        [SIGUSR1, SIGUSR2, SIGPWR],
        "{}",
        d.stderr()
    );
    d.signal(SIGTERM);
    let out = d.wait();
    assert_eq!(out.code, 0, "{}", out.dump());

    // DINIT_REWRITE, a comma-separated list.
    let d = dinit("rewrite-env").env("DINIT_REWRITE", "HUP:USR2, WINCH:0");
    let rec = recorder(&d.dir, "main", &["1", "12", "28", "x15"]);
    let mut d = d.args(r(&rec)).spawn();
    d.wait_file("main.ready", "ready");
    d.signal(SIGHUP);
    wait_got(&mut d, "main", SIGUSR2);
    d.signal(SIGTERM);
    let dir = d.dir.clone();
    let out = d.wait();
    assert_eq!(out.code, 0, "{}", out.dump());
    assert_eq!(got_sigs(&dir, "main"), [SIGUSR2, SIGTERM], "{}", out.dump());
}

/// SPEC §9: `-prestoptimer D` without `-prestop` holds the stop signal back
/// for D after SIGTERM, then sends it; the grace period starts then.
#[test]
fn drain_delay_holds_the_stop_signal_back() {
    let d = dinit("drain-delay").args(["-prestoptimer", "2", "-timeout", "20"]);
    let rec = recorder(&d.dir, "main", &["x15"]);
    let dir = d.dir.clone();
    let mut d = d.args(r(&rec)).spawn();
    d.wait_file("main.ready", "ready");
    let t0 = now();
    d.signal(SIGTERM);
    let out = d.wait();
    assert_eq!(out.code, 0, "{}", out.dump());
    let got = got(&dir, "main");
    assert_eq!(got.len(), 1, "{got:?}\n{}", out.dump());
    let (sig, t1) = got[0];
    assert_eq!(sig, SIGTERM);
    // Not before the delay (10 ms for the wall clock against dinit's
    // monotonic milliseconds); well before delay + timeout (22 s).
    assert!(t1 - t0 >= 1.99, "the signal came after {:.3}s", t1 - t0);
    assert!(t1 - t0 < 12.0, "the signal came after {:.3}s", t1 - t0);
    assert!(!out.stderr.contains("prestop"), "{}", out.dump());
}

/// SPEC §9: a second stop request during the drain delay skips it (the
/// signal goes out at once, with the full grace period); a third one
/// kills, as any second request during the grace period does.
#[test]
fn second_stop_request_skips_the_drain_delay() {
    let d = dinit("drain-skip").args(["-prestoptimer", "60", "-timeout", "60"]);
    // Records SIGTERM and SIGRTMIN (the sentinel), exits on neither.
    let rec = recorder(&d.dir, "main", &["15", "34"]);
    let dir = d.dir.clone();
    let mut d = d.args(r(&rec)).spawn();
    d.wait_file("main.ready", "ready");
    let t0 = Instant::now();
    d.signal(SIGTERM);
    d.wait_log("received SIGTERM, stopping");
    // The drain delay holds the SIGTERM back: a sentinel forwarded after
    // dinit dealt with the request arrives alone. (The recorder takes
    // pending signals lowest first: a SIGTERM sent before the sentinel
    // would be recorded before it.)
    d.signal(SIGRTMIN);
    wait_got(&mut d, "main", SIGRTMIN);
    assert_eq!(got_sigs(&dir, "main"), [SIGRTMIN], "{}", d.stderr());
    d.signal(SIGINT);
    wait_got(&mut d, "main", SIGTERM);
    // The second request sends the stop signal and does not kill: a second
    // sentinel still reaches the recorder (a SIGKILL sent with the SIGTERM
    // would have ended it before).
    d.signal(SIGRTMIN);
    wait_got_n(&mut d, "main", SIGRTMIN, 2);
    d.signal(SIGTERM);
    let out = d.wait();
    assert_eq!(out.code, 137, "{}", out.dump());
    assert!(
        t0.elapsed() < Duration::from_secs(30),
        "{:?}\n{}",
        t0.elapsed(),
        out.dump()
    );
    assert_eq!(
        got_sigs(&dir, "main"),
        [SIGRTMIN, SIGTERM, SIGRTMIN],
        "{}",
        out.dump()
    );
    assert!(
        out.stderr.contains("killing 1 remaining process"),
        "{}",
        out.dump()
    );
}

/// SPEC §9: every stop signal, a command's own too, is followed by SIGCONT
/// and, after `-timeout`, SIGKILL for a process that ignores it.
#[test]
fn own_stop_signal_ignored_is_followed_by_cont_then_kill() {
    let d = dinit("own-ignored");
    // Records QUIT and CONT, exits on neither.
    let a = recorder(&d.dir, "a", &["3", "18"]);
    let dir = d.dir.clone();
    let args = [
        vec!["-timeout".into(), "1".into()],
        r_sig("SIGQUIT", &a),
        primary_when_ready(&["a"], 6),
    ];
    let out = d.args(args.concat()).spawn().wait();
    assert_eq!(out.code, 6, "{}", out.dump());
    let got = got(&dir, "a");
    let sigs: Vec<i32> = got.iter().map(|g| g.0).collect();
    assert_eq!(sigs, [SIGQUIT, SIGCONT], "{}", out.dump());
    assert!(
        out.stderr.contains("killing 1 remaining process"),
        "{}",
        out.dump()
    );
    let pid = out.pid_of(&format!(
        "finished: [{}] with error: signal: killed",
        a.join(" ")
    ));
    assert!(!alive(pid));
    assert!(
        out.elapsed >= Duration::from_millis(900),
        "killed after {:?}",
        out.elapsed
    );
}

/// SPEC §9: unknown signal names, rewriting what cannot be rewritten and
/// an unknown `-r:SIG` are usage errors naming the option; nothing starts.
#[test]
fn stop_signal_usage_errors() {
    let table: &[(&[&str], &str)] = &[
        (&["-stopsignal", "NOPE"], "-stopsignal"),
        (&["-stopsignal", "KILL"], "-stopsignal"),
        (&["-stopsignal", "CHLD"], "-stopsignal"),
        (&["-pdeathsig", "RTMIN+31"], "-pdeathsig"),
        (&["-rewrite", "TERM:USR1"], "-rewrite"),
        (&["-rewrite", "INT:0"], "-rewrite"),
        (&["-rewrite", "CHLD:HUP"], "-rewrite"),
        (&["-rewrite", "KILL:HUP"], "-rewrite"),
        (&["-rewrite", "STOP:CONT"], "-rewrite"),
        (&["-rewrite", "HUP:NOPE"], "-rewrite"),
        (
            &["-stopsignal", "QUIT", "-rewrite", "QUIT:HUP"],
            "-stopsignal",
        ),
    ];
    for &(opts, word) in table {
        let d = dinit("stopsig-usage").args(opts);
        let m = marker_cmd(&d.dir);
        assert_usage_error(d.args(m).args(["-r", "/bin/true"]), word);
    }
    let d = dinit("stopsig-usage-env").env("DINIT_REWRITE", "HUP:USR1,TERM:0");
    let m = marker_cmd(&d.dir);
    assert_usage_error(d.args(m), "DINIT_REWRITE");
    let d = dinit("stopsig-usage-r");
    let m = marker_cmd(&d.dir);
    assert_usage_error(d.args(m).args(["-r:NOPE", "/bin/true"]), "NOPE");
}

/// dinit started by a shell that waits for `go` in the test directory and
/// then exits; dinit's pid is in `dinit.pid`.
fn under_a_parent(d: Dinit) -> Running {
    let parent = script(
        &d.dir,
        "parent.sh",
        "\"$DINIT_EXE\" \"$@\" &\necho $! > dinit.pid\nuntil [ -e go ]; do sleep 0.05; done\n",
    );
    d.argv0(parent).env("DINIT_EXE", &path(&bin())).spawn()
}

/// SPEC §9 `-pdeathsig`: when dinit's parent exits, the kernel sends SIG,
/// and SIGTERM then tears down like a received one.
#[test]
fn pdeathsig_tears_down_when_the_parent_exits() {
    let d = dinit("pdeathsig").args(["-pdeathsig", "TERM"]);
    let rec = recorder(&d.dir, "main", &["x15"]);
    let dir = d.dir.clone();
    let mut d = under_a_parent(d.args(r(&rec)));
    d.wait_file("main.ready", "ready");
    let pid = read_pid(&dir, "dinit.pid");
    let _guard = KillOnPanic(vec![pid, read_pid(&dir, "main.pid")]);
    assert!(alive(pid));
    fs::write(dir.join("go"), "").unwrap();
    let log = d.wait_file("stderr", "goodbye");
    wait_gone(pid);
    assert_eq!(got_sigs(&dir, "main"), [SIGTERM], "{log}");
    assert!(log.contains("received SIGTERM, stopping"), "{log}");
    let _ = d.wait();
}

/// SPEC §9: a `-pdeathsig` that is no stop request is forwarded like any
/// received signal, and dinit carries on.
#[test]
fn pdeathsig_forwarded_when_not_a_stop_request() {
    let d = dinit("pdeathsig-hup").env("DINIT_PDEATHSIG", "HUP");
    let rec = recorder(&d.dir, "main", &["1", "x15"]);
    let dir = d.dir.clone();
    let mut d = under_a_parent(d.args(r(&rec)));
    d.wait_file("main.ready", "ready");
    let pid = read_pid(&dir, "dinit.pid");
    let _guard = KillOnPanic(vec![pid, read_pid(&dir, "main.pid")]);
    fs::write(dir.join("go"), "").unwrap();
    d.wait_file("main.got", &format!("{SIGHUP} "));
    d.wait_file("stderr", "forwarded SIGHUP to 1 process");
    assert!(alive(pid), "dinit stopped\n{}", d.stderr());
    assert!(kill(pid, SIGTERM));
    d.wait_file("stderr", "goodbye");
    wait_gone(pid);
    assert_eq!(got_sigs(&dir, "main"), [SIGHUP, SIGTERM]);
    let _ = d.wait();
}

/// SPEC §9 `-pdeathsig` as PID 1: the parent outside the namespace
/// (`unshare`) can die too. `unshare --kill-child` asked for SIGKILL, which
/// would end dinit and everything with it at once; dinit's own -pdeathsig
/// TERM replaces it, so the child gets a graceful teardown.
#[test]
fn pdeathsig_as_pid1_replaces_a_harder_one() {
    let d = dinit("pdeathsig-pid1")
        .as_pid1()
        .args(["-pdeathsig", "TERM", "-timeout", "20"]);
    let rec = recorder(&d.dir, "main", &["x15"]);
    let dir = d.dir.clone();
    let mut d = d.args(r(&rec)).spawn();
    d.wait_file("main.ready", "ready");
    let pid = d.pid();
    let _guard = KillOnPanic(vec![pid]);
    d.child.kill().unwrap();
    let _ = d.child.wait();
    let log = d.wait_file("stderr", "goodbye");
    wait_gone(pid);
    assert_eq!(got_sigs(&dir, "main"), [SIGTERM], "{log}");
    assert!(log.contains("received SIGTERM, stopping"), "{log}");
}
