//! Edge cases a hostile black-box run found (issue 11), and the client's
//! trust in its listener (SPEC §10, issue 9): each reproduces what used to
//! go wrong and checks what happens now.
//!
//! Tests that change uids (setpriv) or need a root client outside dinit's
//! PID namespace need root; without it they say so and return.
use crate::socket::{
    Client, client_cmd, error_reason, ok_pids, raw, run_bounded, started_count, submit, up, which,
};
use crate::util::*;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const SIGHUP: i32 = 1;
const SIGTERM: i32 = 15;
/// The uid the impostor, the unprivileged dinit and clients run as.
const UID: &str = "1000";

/// For a test that needs root: fail, saying why, when not root. `make
/// test` runs as root; a skip would hide what the test checks.
fn need_root(why: &str) {
    assert!(is_root(), "this test needs root: {why}");
}

/// A directory in `dir` that uid 1000 can write to, for its socket.
fn shared_dir(dir: &Path) -> PathBuf {
    let d = dir.join("shared");
    fs::create_dir(&d).unwrap();
    fs::set_permissions(&d, fs::Permissions::from_mode(0o777)).unwrap();
    d
}

/// `setpriv` arguments that run the rest as uid/gid 1000, no groups.
fn as_uid() -> Vec<String> {
    vec![
        format!("--reuid={UID}"),
        format!("--regid={UID}"),
        "--clear-groups".into(),
    ]
}

/// `dinit ARGS` as uid 1000 (through setpriv).
fn client_as_uid(args: &[&str]) -> Client {
    let b = bin();
    let mut all: Vec<String> = as_uid();
    all.push(b.to_str().unwrap().into());
    all.extend(args.iter().map(|s| s.to_string()));
    let all: Vec<&str> = all.iter().map(String::as_str).collect();
    run_bounded(client_cmd(&which("setpriv"), &all, &[]))
}

/// The message of one stderr line, which must be the only one.
fn one_line(c: &Client) -> &str {
    assert_eq!(c.stderr.lines().count(), 1, "not one line: {c:?}");
    c.stderr.trim_end()
}

// ---------------------------------------------------------------------------
// 1. Who is served, and whom the client trusts

/// Issue 11 (1): a root client outside dinit's PID namespace (the kernel
/// reports its pid as 0) is served: the uid decides, whatever the pid.
#[test]
fn root_client_outside_the_pid_namespace_is_served() {
    need_root("a root client outside the namespace of a root dinit");
    let d = Dinit::new("edge-outside").as_pid1();
    let sock = d.sock();
    let mut d = up(d.args(["-socket", &sock, "-r", "/bin/sleep", "120"]));
    // The host's client: not in dinit's namespace, so pid 0 over there.
    let c = submit(&sock, &["-r", "/bin/true"]);
    assert_eq!(c.code, 0, "{c:?}");
    let pid = ok_pids(&c.stdout)[0];
    d.wait_log(&format!("pid {pid} finished: [/bin/true]"));
    let c = run_bounded(client_cmd(
        &bin(),
        &["-socket", &sock, "-submit", "-list"],
        &[],
    ));
    assert_eq!(c.code, 0, "{c:?}");
    let list: Vec<&str> = c.stdout.lines().collect();
    assert!(
        list.len() == 1
            && list[0].contains(" primary yes ")
            && list[0].ends_with("[/bin/sleep 120]"),
        "{c:?}"
    );
    // And a raw client from the host, as socat would be.
    let reply = raw(&sock, b"-r /bin/true\n");
    assert_eq!(ok_pids(&reply).len(), 1, "{reply:?}");
    d.signal(SIGTERM);
    assert_eq!(d.wait().code, 143);
}

/// A python listener run as uid 1000 at `sock`: it accepts one client and
/// writes everything it receives (until the client closes) to `got`.
const IMPOSTOR: &str = r#"import socket, sys
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])
s.listen(4)
open(sys.argv[2] + ".ready", "w").close()
c, _ = s.accept()
c.settimeout(30)
got = b""
while True:
    x = c.recv(4096)
    if not x:
        break
    got += x
open(sys.argv[2], "wb").write(got)
"#;

/// Issue 9 (4), SPEC §10: another user's listener at the socket path gets
/// nothing from root's client, which exits 1 naming the socket and the
/// listener's uid.
#[test]
fn impostor_listener_gets_nothing() {
    need_root("the impostor runs as uid 1000 through setpriv");
    let dir = workdir("edge-impostor");
    let shared = shared_dir(&dir);
    let sock = shared.join("dinit.sock").display().to_string();
    let got = shared.join("got");
    let script = dir.join("impostor.py");
    fs::write(&script, IMPOSTOR).unwrap();
    let mut args = as_uid();
    args.extend([
        "/usr/bin/python3".into(),
        script.display().to_string(),
        sock.clone(),
        got.display().to_string(),
    ]);
    let mut impostor = Command::new(which("setpriv"))
        .args(&args)
        .env_clear()
        .spawn()
        .unwrap();
    wait_exists(&shared.join("got.ready"));

    let c = submit(&sock, &["-r", "/bin/touch", "/tmp/owned"]);
    assert_eq!(c.code, 1, "{c:?}");
    let msg = one_line(&c);
    assert!(
        msg.contains(&sock) && msg.contains("uid 1000") && msg.contains("not sending"),
        "{c:?}"
    );
    assert_eq!(c.stdout, "", "{c:?}");
    // The impostor saw the connection close with nothing sent.
    let st = wait_child(&mut impostor, "the impostor");
    assert!(st.success(), "impostor: {st:?}");
    assert_eq!(fs::read(&got).unwrap(), b"", "the impostor received bytes");
}

/// SPEC §10's rule, the trusted side: a uid-1000 client trusts its own
/// uid's dinit and root's; root's client trusts a uid-1000 dinit that is
/// PID 1 of its namespace, and not the same dinit seen from outside.
#[test]
fn client_trusts_own_uid_root_and_pid1() {
    need_root("dinit and clients run as uid 1000 through setpriv");
    // uid-1000 dinit as PID 1 of a new namespace (setpriv execs it there).
    let d = Dinit::new("edge-trust");
    let shared = shared_dir(&d.dir);
    let sock = shared.join("dinit.sock").display().to_string();
    let b = bin();
    let mut args = as_uid();
    args.extend([b.display().to_string(), "-socket".into(), sock.clone()]);
    args.extend(["-r", "/bin/sleep", "120"].map(String::from));
    let d = up(d.argv0(which("setpriv")).args(args).as_pid1());
    let dinit = d.pid();

    // Its own uid: trusted and served.
    let c = client_as_uid(&["-submit", "-socket", &sock, "-r", "/bin/sleep", "61"]);
    assert_eq!(c.code, 0, "{c:?}");
    // Root, from the host: the listener is uid 1000 and not PID 1 here.
    let c = submit(&sock, &["-r", "/bin/sleep", "62"]);
    assert_eq!(c.code, 1, "{c:?}");
    assert!(
        one_line(&c).contains("not sending") && c.stderr.contains("uid 1000"),
        "{c:?}"
    );
    // Root, inside dinit's PID namespace (docker exec -u 0): it is PID 1
    // there, so trusted, and the server serves root.
    let c = run_bounded(client_cmd(
        &which("nsenter"),
        &[
            "-t",
            &dinit.to_string(),
            "-p",
            b.to_str().unwrap(),
            "-submit",
            "-socket",
            &sock,
            "-r",
            "/bin/sleep",
            "63",
        ],
        &[],
    ));
    assert_eq!(c.code, 0, "{c:?}");
    assert_eq!(ok_pids(&c.stdout).len(), 1, "{c:?}");
    d.signal(SIGTERM);
    let out = d.wait();
    assert_eq!(out.code, 143, "{}", out.dump());
    assert!(out.stderr.contains("[/bin/sleep 61]"), "{}", out.dump());
    assert!(!out.stderr.contains("[/bin/sleep 62]"), "{}", out.dump());
    assert!(out.stderr.contains("[/bin/sleep 63]"), "{}", out.dump());

    // A uid-1000 client and root's dinit: trusted (root), so the line is
    // sent, and the server's own rule refuses it.
    let d = Dinit::new("edge-trust-root");
    let shared = shared_dir(&d.dir);
    let sock = shared.join("dinit.sock").display().to_string();
    let d = up(d.args(["-socket", &sock, "-r", "/bin/sleep", "120"]));
    fs::set_permissions(&sock, fs::Permissions::from_mode(0o666)).unwrap();
    let c = client_as_uid(&["-submit", "-socket", &sock, "-r", "/bin/sleep", "64"]);
    assert_eq!(c.code, 1, "{c:?}");
    assert_eq!(
        one_line(&c),
        "dinit-submit: error: permission denied",
        "{c:?}"
    );
    d.signal(SIGTERM);
    let out = d.wait();
    assert!(!out.stderr.contains("[/bin/sleep 64]"), "{}", out.dump());
}

// ---------------------------------------------------------------------------
// 2. A NUL byte in a socket line

/// Issue 11 (2): `-r /bin/echo a\0b` would log one thing and run another:
/// refused, nothing runs.
#[test]
fn nul_byte_in_a_socket_line_is_refused() {
    let d = Dinit::new("edge-nul");
    let sock = d.sock();
    let d = up(d.args(["-socket", &sock, "-r", "/bin/sleep", "120"]));
    for line in [
        &b"-r /bin/echo a\0b\n"[..],
        b"-r /bin/echo \"a\0\"\n",
        b"\0-list\n",
    ] {
        let reply = raw(&sock, line);
        assert_eq!(error_reason(&reply), "NUL byte in line", "{line:?}");
    }
    d.signal(SIGTERM);
    let out = d.wait();
    assert_eq!(started_count(&out.stderr), 1, "{}", out.dump());
    assert!(!out.stdout.contains('a'), "{}", out.dump());
}

// ---------------------------------------------------------------------------
// 3. `${...}` forms dinit does not implement

/// The forms SPEC §2 refuses, each named in the message.
const UNSUPPORTED: &[&str] = &[
    "${FOO-x}",
    "${FOO:=x}",
    "${#FOO}",
    "${FOO#b}",
    "${FOO/a/b}",
    "${}",
    "${FOO:-${BAR-x}}",
    "${FOO:-${BAR}",
];

/// Issue 11 (3), command line: a usage error naming the word, one line, exit
/// 2, nothing started; the message says how to pass it to a shell.
#[test]
fn unsupported_brace_forms_are_usage_errors() {
    for word in UNSUPPORTED {
        let d = Dinit::new("edge-brace");
        let m = marker_cmd(&d.dir);
        let log = d.dir.join("stderr");
        assert_usage_error(
            d.env("FOO", "bar")
                .args(["-socket", ""])
                .args(m)
                .args(["-r", "/bin/echo", word]),
            word,
        );
        let text = fs::read_to_string(log).unwrap();
        if !word.ends_with("${BAR}") {
            assert!(text.contains("$${"), "{word}: {text}");
        }
    }
    // The program name and the -start string are refused the same way.
    let d = Dinit::new("edge-brace-prog");
    let m = marker_cmd(&d.dir);
    assert_usage_error(
        d.args(["-socket", ""]).args(m).args(["-r", "${P-x}"]),
        "${P-x}",
    );
    let d = Dinit::new("edge-brace-start");
    let m = marker_cmd(&d.dir);
    assert_usage_error(
        d.args(["-socket", "", "-start", "/bin/echo ${#X}"]).args(m),
        "${#X}",
    );
}

/// Issue 11 (3): the default is expanded in turn, never half-parsed
/// (`${FOO:-${FOO}}` used to give `bar}`); `$${...}` reaches a shell.
#[test]
fn nested_defaults_expand() {
    let out = Dinit::new("edge-nested")
        .env("FOO", "bar")
        .env("EMPTY", "")
        .args(["-socket", "", "-r", "/bin/echo"])
        .args([
            "${FOO:-${FOO}}",
            "${X:-$FOO}",
            "${X:-${FOO}}",
            "${X:-${Y:-z}}",
            "${EMPTY:-<${FOO:-q}>}",
            "${FOO:-${X}}",
            "${X:-a}b}",
            "$${FOO-x}",
        ])
        .run();
    assert_eq!(out.code, 0, "{}", out.dump());
    assert_eq!(
        out.stdout,
        "bar bar bar z <bar> bar ab} ${FOO-x}\n",
        "{}",
        out.dump()
    );
    // A shell gets the form it implements.
    let out = Dinit::new("edge-shell")
        .args(["-socket", "", "-r", "/bin/sh", "-c", "echo $${FOO-unset}"])
        .run();
    assert_eq!(out.stdout, "unset\n", "{}", out.dump());
}

/// Issue 11 (3), socket: an error reply naming the word; nothing runs.
#[test]
fn unsupported_brace_forms_on_the_socket() {
    let d = Dinit::new("edge-brace-sock");
    let sock = d.sock();
    let mut d = up(d
        .env("FOO", "bar")
        .args(["-socket", &sock, "-r", "/bin/sleep", "120"]));
    for word in UNSUPPORTED {
        let reply = raw(&sock, format!("-r /bin/echo {word}\n").as_bytes());
        let reason = error_reason(&reply);
        assert!(reason.contains(word), "{word}: {reply:?}");
    }
    let reply = raw(&sock, b"-r /bin/echo ${X:-${FOO}}\n");
    let echo = ok_pids(&reply)[0];
    d.wait_log(&format!("pid {echo} finished: [/bin/echo bar]"));
    d.signal(SIGTERM);
    let out = d.wait();
    assert_eq!(started_count(&out.stderr), 2, "{}", out.dump());
    assert_eq!(out.stdout, "bar\n", "{}", out.dump());
}

// ---------------------------------------------------------------------------
// 4. A script whose interpreter is missing

/// A script in `dir` whose `#!` names /nonexistent/interp.
fn orphan_script(dir: &Path) -> String {
    let p = dir.join("orphan.sh");
    fs::write(&p, "#!/nonexistent/interp -x\necho hi\n").unwrap();
    fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
    p.display().to_string()
}

/// Issue 11 (4): the message names the script and the missing interpreter,
/// exit 127; lookup found the script, so the commands before it had
/// started and are torn down.
#[test]
fn missing_interpreter_is_named() {
    let d = Dinit::new("edge-interp");
    let script = orphan_script(&d.dir);
    let out = d.args(["-socket", "", "-r", &script]).run();
    assert_eq!(out.code, 127, "{}", out.dump());
    let want = format!("unable to start [{script}]: interpreter /nonexistent/interp not found");
    assert!(out.messages().contains(&want), "{}", out.dump());
    assert!(!out.stderr.contains("ENOENT"), "{}", out.dump());

    let d = Dinit::new("edge-interp-2");
    let script = orphan_script(&d.dir);
    let out = d
        .args(["-socket", "", "-timeout", "20"])
        .args(["-r", "/bin/sleep", "100", "-r", &script])
        .run();
    assert_eq!(out.code, 127, "{}", out.dump());
    let sleep = out.pid_of("started: [/bin/sleep 100]");
    let msgs = out.messages();
    let want = format!("unable to start [{script}]: interpreter /nonexistent/interp not found");
    assert!(msgs.contains(&want), "{}", out.dump());
    assert!(
        msgs.contains(&format!(
            "pid {sleep} finished: [/bin/sleep 100] with error: signal: terminated"
        )),
        "{}",
        out.dump()
    );
}

/// Issue 11 (4), socket: the same words in the reply (no empty
/// `(started:)`), and the client exits 1 with them.
#[test]
fn missing_interpreter_on_the_socket() {
    let d = Dinit::new("edge-interp-sock");
    let sock = d.sock();
    let script = orphan_script(&d.dir);
    let d = up(d.args(["-socket", &sock, "-r", "/bin/sleep", "120"]));
    let reply = raw(&sock, format!("-r {script}\n").as_bytes());
    assert_eq!(
        error_reason(&reply),
        format!("unable to start [{script}]: interpreter /nonexistent/interp not found")
    );
    let c = submit(&sock, &["-r", &script]);
    assert_eq!(c.code, 1, "{c:?}");
    assert!(
        one_line(&c).ends_with("interpreter /nonexistent/interp not found"),
        "{c:?}"
    );
    d.signal(SIGTERM);
    assert_eq!(d.wait().code, 143);
}

// ---------------------------------------------------------------------------
// 5. SIGTERM while the stop command runs

/// Issue 11 (5): a stop request kills the stop command, and the log says
/// so rather than "timed out". The primary exited on its own, so the first
/// SIGTERM only counts as the first one (the stop command keeps its grace
/// period, as the managed processes would); the second kills it.
#[test]
fn sigterm_during_stop_command_is_named() {
    let mut d = Dinit::new("edge-stop")
        .args(["-socket", "", "-timeout", "60", "-stop", "/bin/sleep 100"])
        .args(["-r", "/bin/true"])
        .spawn();
    d.wait_log("started: [/bin/sleep 100]");
    let stop = messages_of(&d.stderr())
        .iter()
        .find_map(|m| {
            m.strip_prefix("stop command pid ")?
                .strip_suffix(" started: [/bin/sleep 100]")?
                .parse()
                .ok()
        })
        .expect("stop command pid");
    d.signal(SIGTERM);
    d.wait_log("received SIGTERM, stopping");
    // Sentinels: two SIGHUPs, each sent once the one before it is
    // forwarded (to no process: only the stop command runs). A SIGKILL for
    // the stop command on the first SIGTERM would have gone out before
    // dinit dealt with them, and a SIGKILLed process stays marked until
    // it is gone (`not_killed`).
    for n in 1..=2 {
        d.signal(SIGHUP);
        d.wait_log_n("forwarded SIGHUP to 0 processes", n);
    }
    if let Err(seen) = not_killed(stop) {
        panic!(
            "the first SIGTERM killed the stop command: {seen}\n{}",
            d.stderr()
        );
    }
    assert!(!d.stderr().contains(" killed "), "{}", d.stderr());
    d.signal(SIGTERM);
    let out = d.wait();
    assert_eq!(out.code, 0, "{}", out.dump());
    let msgs = out.messages();
    let line = msgs
        .iter()
        .find(|m| m.starts_with("stop command pid ") && m.contains(" killed "))
        .unwrap_or_else(|| panic!("no kill line\n{}", out.dump()));
    assert!(
        line.ends_with("killed on SIGTERM received during teardown"),
        "{}",
        out.dump()
    );
    assert!(!out.stderr.contains("timed out"), "{}", out.dump());
    // Killed at once: well inside the 60 s it would have had.
    assert!(out.elapsed < Duration::from_secs(50), "{:?}", out.elapsed);
}

// ---------------------------------------------------------------------------
// 6. Out of descriptors

/// The lowest descriptor number `pid` has free: the next one it opens.
/// (Descriptors the test process leaked to dinit may sit higher up.)
fn lowest_free_fd(pid: i32) -> usize {
    let fds: Vec<usize> = fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_str().unwrap().parse().unwrap())
        .collect();
    (0..).find(|n| !fds.contains(n)).unwrap()
}

fn set_nofile(pid: i32, soft: usize) {
    let st = Command::new("prlimit")
        .args(["--pid", &pid.to_string(), &format!("--nofile={soft}:")])
        .status()
        .unwrap();
    assert!(st.success(), "prlimit {pid} {soft}");
}

/// Issue 11 (6): a spawn that finds no descriptors for its error pipe is
/// answered without an empty `(started:)`, and not logged as a fork failure.
#[test]
fn emfile_at_spawn_is_told_plainly() {
    let d = Dinit::new("edge-emfile");
    let sock = d.sock();
    let mut d = up(d.args(["-socket", &sock, "-r", "/bin/sleep", "120"]));
    let pid = d.pid();
    // Room for the client's connection and one more (so that the accept
    // after it finds nobody waiting, instead of EMFILE and making room by
    // dropping a client whose line is still on its way), but not for the
    // two ends of the error pipe.
    set_nofile(pid, lowest_free_fd(pid) + 2);
    let reply = raw(&sock, b"-r /bin/echo x\n");
    assert_eq!(
        error_reason(&reply),
        "unable to start [/bin/echo x]: too many open files (EMFILE)"
    );
    d.wait_log("unable to start [/bin/echo x]: too many open files (EMFILE)");
    set_nofile(pid, 1024);
    let reply = raw(&sock, b"-r /bin/echo y\n");
    ok_pids(&reply);
    d.signal(SIGTERM);
    let out = d.wait();
    assert_eq!(out.code, 143, "{}", out.dump());
    assert!(!out.stderr.contains("unable to fork"), "{}", out.dump());
    assert!(!out.stderr.contains("(started:"), "{}", out.dump());

    // At startup: exit 1, the same words.
    // fds 0-2, the signalfd and epoll take 0-4: none is left for the pipe.
    let out = Dinit::new("edge-emfile-start")
        .argv0(which("prlimit"))
        .args(["--nofile=5:", bin().to_str().unwrap()])
        .args(["-socket", "", "-r", "/bin/true"])
        .run();
    assert_eq!(out.code, 1, "{}", out.dump());
    assert!(
        out.messages()
            .contains(&"unable to start [/bin/true]: too many open files (EMFILE)".to_string()),
        "{}",
        out.dump()
    );
    assert!(!out.stderr.contains("unable to fork"), "{}", out.dump());
}

// ---------------------------------------------------------------------------
// 7. An empty program name

/// Issue 11 (7): `-r ""` (or a name that expands to nothing) is a usage
/// error saying so; on the socket an error reply.
#[test]
fn empty_program_name() {
    let d = Dinit::new("edge-empty");
    let m = marker_cmd(&d.dir);
    let log = d.dir.join("stderr");
    assert_usage_error(
        d.args(["-socket", ""]).args(m).args(["-r", ""]),
        "empty program name after -r",
    );
    assert!(!fs::read_to_string(log).unwrap().contains("not found"));
    let d = Dinit::new("edge-empty-var");
    let m = marker_cmd(&d.dir);
    assert_usage_error(
        d.env("EMPTY", "")
            .args(["-socket", ""])
            .args(m)
            .args(["-r", "$EMPTY", "x"]),
        "empty program name after -r: $EMPTY",
    );
    let d = Dinit::new("edge-empty-bare");
    assert_usage_error(d.args(["-socket", "", "-r"]), "-r needs a command");

    let d = Dinit::new("edge-empty-sock");
    let sock = d.sock();
    let d = up(d.args(["-socket", &sock, "-r", "/bin/sleep", "120"]));
    assert_eq!(
        error_reason(&raw(&sock, b"-r \"\" x\n")),
        "empty program name after -r"
    );
    assert_eq!(error_reason(&raw(&sock, b"-r\n")), "-r needs a command");
    d.signal(SIGTERM);
    let out = d.wait();
    assert_eq!(started_count(&out.stderr), 1, "{}", out.dump());
}

// ---------------------------------------------------------------------------
// 8. -submit and -version among the leading options

/// Issue 11 (8): `-submit` anywhere among the leading options, with
/// `-socket` before or after it and `-list` either side.
#[test]
fn submit_anywhere_among_the_leading_options() {
    let d = Dinit::new("edge-submit");
    let sock = d.sock();
    let mut d = up(d.args(["-socket", &sock, "-r", "/bin/sleep", "120"]));
    let client = |args: &[&str]| run_bounded(client_cmd(&bin(), args, &[]));
    for args in [
        &["-socket", &sock, "-submit", "-r", "/bin/sleep", "71"][..],
        &[
            "--socket=",
            "-socket",
            &sock,
            "--submit",
            "-r",
            "/bin/sleep",
            "72",
        ],
        &["-submit", "-socket", &sock, "-r", "/bin/sleep", "73"],
    ] {
        let c = client(args);
        assert_eq!(c.code, 0, "{args:?}: {c:?}");
        assert_eq!(ok_pids(&c.stdout).len(), 1, "{args:?}: {c:?}");
    }
    for args in [
        &["-socket", &sock, "-submit", "-list"][..],
        &["-list", "-socket", &sock, "-submit"],
        &["-submit", "-list", "-socket", &sock],
    ] {
        let c = client(args);
        assert_eq!(c.code, 0, "{args:?}: {c:?}");
        assert_eq!(c.stdout.lines().count(), 4, "{args:?}: {c:?}");
    }
    // The init role's other options mean nothing to the client: refused by
    // name, exit 2, nothing sent.
    let c = client(&[
        "-socket",
        &sock,
        "-timeout",
        "5",
        "-submit",
        "-r",
        "/bin/sleep",
        "74",
    ]);
    assert_eq!(c.code, 2, "{c:?}");
    assert!(one_line(&c).contains("-timeout"), "{c:?}");
    d.wait_log("[/bin/sleep 73]");
    d.signal(SIGTERM);
    let out = d.wait();
    assert_eq!(out.code, 143, "{}", out.dump());
    assert!(!out.stderr.contains("[/bin/sleep 74]"), "{}", out.dump());
}

/// Issue 11 (8): the leading options end at `-r` (so `-submit` after it is
/// an argument), and a value option's value is not an option (Go
/// semantics); `-version` anywhere among the options.
#[test]
fn leading_options_end_at_r_and_values_are_not_options() {
    let out = Dinit::new("edge-after-r")
        .args(["-socket", "", "-r", "/bin/echo", "-submit", "-version"])
        .run();
    assert_eq!(out.code, 0, "{}", out.dump());
    assert_eq!(out.stdout, "-submit -version\n", "{}", out.dump());

    // `-start`'s value is `-submit`: the init role, whose start command
    // `-submit` cannot be found (exit 1, as for any start failure).
    let d = Dinit::new("edge-start-value");
    let m = marker_cmd(&d.dir);
    let marker = d.dir.join("ran");
    let out = d.args(["-socket", "", "-start", "-submit"]).args(m).run();
    assert_eq!(out.code, 1, "{}", out.dump());
    assert!(
        out.stderr.contains("-submit: executable file not found"),
        "{}",
        out.dump()
    );
    assert!(!marker.exists());

    for args in [
        &["-timeout", "5", "-version"][..],
        &["-quiet", "--version", "-r", "/bin/false"],
        &["-socket", "/x", "-V"],
    ] {
        let out = Dinit::new("edge-version").args(args).run();
        assert_eq!(out.code, 0, "{args:?}\n{}", out.dump());
        assert!(out.stdout.starts_with("dinit "), "{args:?}\n{}", out.dump());
        assert_eq!(out.stdout.lines().count(), 1, "{args:?}\n{}", out.dump());
        assert_eq!(out.stderr, "", "{args:?}\n{}", out.dump());
    }
}
