//! The engines' `--init` form, `dinit [OPTIONS] -- CMD [ARGS...]`: SPEC §8.
//!
//! The words after `--` are one primary command passed on verbatim, so the
//! shell bodies here are written as a shell wants them (`$$` is the shell's
//! pid, `$0` its first argument), unlike in `-r` arguments.
use crate::util::*;
use std::time::Instant;

const SIGKILL: i32 = 9;
const SIGTERM: i32 = 15;

/// `-start "touch DIR/ran"`: the start command runs before any command
/// does, so a missing marker shows that nothing was started (the `-r`
/// `marker_cmd` cannot share a command line with `--`).
fn start_marker(d: &Dinit) -> [String; 2] {
    [
        "-start".into(),
        format!("touch {}", d.dir.join("ran").display()),
    ]
}

/// SPEC §8: `$$`, `$NAME`, `${NAME}`, `\-r`, `-r`, `--` and `\--` after `--`
/// reach the program exactly as given, the program name included; the log
/// line shows them as given too.
#[test]
fn words_reach_the_program_verbatim() {
    let words = [
        "$$", "$HOME", "${X}", "$X", "${X:-d}", "${X", "$", "\\-r", "-r", "--", "\\--", "-h",
        "-quiet", "a b",
    ];
    let out = Dinit::new("dd-verbatim")
        .env("HOME", "/home/dinit-test")
        .env("X", "expanded")
        .args([
            "-socket",
            "",
            "--",
            "/bin/sh",
            "-c",
            "printf '[%s]\\n' \"$0\" \"$@\"",
        ])
        .args(["sh0"])
        .args(words)
        .run();
    assert_eq!(out.code, 0, "{}", out.dump());
    let want: String = ["sh0"]
        .iter()
        .chain(&words)
        .map(|w| format!("[{w}]\n"))
        .collect();
    assert_eq!(out.stdout, want, "{}", out.dump());
    let started = out
        .messages()
        .into_iter()
        .filter(|m| m.contains(" started: "))
        .collect::<Vec<_>>();
    assert_eq!(
        started.len(),
        1,
        "-r after -- started a command\n{}",
        out.dump()
    );
    assert!(
        started[0].contains("sh0 $$ $HOME ${X} $X"),
        "{}",
        out.dump()
    );

    // The program word is not expanded either: `$P` is looked up as is.
    let out = Dinit::new("dd-verbatim-prog")
        .env("P", "/bin/echo")
        .args(["-socket", "", "--", "$P", "x"])
        .run();
    assert_eq!(out.code, 127, "{}", out.dump());
    assert!(out.stderr.contains("$P"), "{}", out.dump());
    assert!(out.stdout.is_empty(), "{}", out.dump());
}

/// SPEC §8: the engines pass `sh -c 'echo $$'` meaning the shell's `$$`;
/// as PID 1 the shell is dinit's child and prints its own pid.
#[test]
fn shell_dollar_dollar_as_pid1() {
    let out = Dinit::new("dd-pid1-shell")
        .as_pid1()
        .args(["-socket", "", "--", "/bin/sh", "-c", "echo $$"])
        .run();
    assert_eq!(out.code, 0, "{}", out.dump());
    let pid: i32 = out
        .stdout
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("not a pid: {:?}\n{}", out.stdout, out.dump()));
    assert!(pid > 1, "{}", out.dump());
}

/// SPEC §8, §3: as PID 1 the `--` command is the primary and its exit status
/// is dinit's: a code as is, a signal as 128+N, the forwarded SIGTERM as
/// 143. `-primary` changes nothing for one command; `-quiet` still works.
#[test]
fn exit_status_passes_through_as_pid1() {
    let cases: &[(&[&str], i32)] = &[
        (&["--", "/bin/sh", "-c", "exit 3"], 3),
        (&["--", "/bin/sh", "-c", "exit 0"], 0),
        (&["--", "/bin/sh", "-c", "exit 255"], 255),
        (&["--", "/bin/sh", "-c", "kill -KILL $$"], 128 + SIGKILL),
        (&["-primary", "--", "/bin/sh", "-c", "exit 4"], 4),
        (&["-success", "3", "--", "/bin/sh", "-c", "exit 3"], 0),
    ];
    for &(args, code) in cases {
        let out = Dinit::new("dd-status")
            .as_pid1()
            .args(["-socket", ""])
            .args(args)
            .run();
        assert_eq!(out.code, code, "{args:?}\n{}", out.dump());
        assert!(
            out.stderr.contains("all processes exited, goodbye!"),
            "{args:?}\n{}",
            out.dump()
        );
    }
    let out = Dinit::new("dd-quiet")
        .as_pid1()
        .args(["-socket", "", "-quiet", "--", "/bin/sh", "-c", "exit 5"])
        .run();
    assert_eq!(out.code, 5, "{}", out.dump());
    assert!(out.stderr.is_empty(), "{}", out.dump());

    // SIGTERM to dinit reaches the command, which dies of it: 143.
    let d = Dinit::new("dd-term").as_pid1();
    let ready = d.dir.join("ready");
    let mut r = d
        .args(["-socket", "", "--", "/bin/sh", "-c"])
        .args([format!("touch {}; exec sleep 60", ready.display())])
        .spawn();
    wait_exists(&ready);
    r.wait_log(" started: ");
    r.signal(SIGTERM);
    let out = r.wait();
    assert_eq!(out.code, 128 + SIGTERM, "{}", out.dump());
}

/// SPEC §8 with §2 `-timeout`: a command ignoring SIGTERM is SIGKILLed
/// about the timeout after dinit got SIGTERM, not after the 10 s default.
#[test]
fn timeout_before_dashdash_is_used() {
    let d = Dinit::new("dd-timeout");
    let ready = d.dir.join("ready");
    let r = d
        .args(["-socket", "", "-timeout", "1s", "--", "/bin/sh", "-c"])
        .args([format!(
            "trap '' TERM; touch {}; exec sleep 60",
            ready.display()
        )])
        .spawn();
    wait_exists(&ready);
    // Before the signal, so never after the teardown's start.
    let t0 = Instant::now();
    r.signal(SIGTERM);
    let out = r.wait();
    assert_eq!(out.code, 128 + SIGKILL, "{}", out.dump());
    assert_killed_after_1s_timeout(&out, t0.elapsed());
}

/// SPEC §8, §5: the socket works with the `--` form: `-submit -list` shows
/// the `--` command as the primary, with its words as given, and a
/// submitted `-r` command is still expanded by the server (`\--` and `--`
/// are literal arguments there).
#[test]
fn socket_with_dashdash() {
    let d = Dinit::new("dd-socket").env("X", "from-dinit");
    let sock = d.sock();
    let mut r = d
        .args([
            "-socket",
            &sock,
            "--",
            "/bin/sh",
            "-c",
            "exec sleep 60",
            "$X",
        ])
        .spawn();
    r.wait_log(" started: ");
    let list = Dinit::new("dd-socket-list")
        .args(["-submit", "-socket", &sock, "-list"])
        .run();
    assert_eq!(list.code, 0, "{}", list.dump());
    let lines: Vec<&str> = list.stdout.lines().collect();
    assert_eq!(lines.len(), 1, "{}", list.dump());
    assert!(lines[0].contains("primary yes"), "{}", list.dump());
    assert!(
        lines[0].ends_with("cmd [/bin/sh -c exec sleep 60 $X]"),
        "{}",
        list.dump()
    );

    let sub = Dinit::new("dd-socket-submit")
        .env("X", "from-client")
        .args(["-submit", "-socket", &sock, "-r", "/bin/echo", "$X", "$$"])
        .args(["\\--", "--", "\\-r"])
        .run();
    assert_eq!(sub.code, 0, "{}", sub.dump());
    assert!(sub.stdout.starts_with("ok "), "{}", sub.dump());
    r.wait_file("stdout", "from-dinit $ -- -- -r\n");

    r.signal(SIGTERM);
    let out = r.wait();
    assert_eq!(out.code, 128 + SIGTERM, "{}", out.dump());
}

/// SPEC §8 with §2 Program lookup: the verbatim program is looked up in
/// `$PATH` before anything starts; 127 and 126 name it.
#[test]
fn program_lookup_before_anything_starts() {
    let out = Dinit::new("dd-path")
        .args(["-socket", "", "--", "echo", "found", "in", "PATH"])
        .run();
    assert_eq!(out.code, 0, "{}", out.dump());
    assert_eq!(out.stdout, "found in PATH\n", "{}", out.dump());

    for prog in ["no-such-program-xyz", "/no/such/dir/prog", "-version"] {
        let d = Dinit::new("dd-notfound");
        let marker = d.dir.join("ran");
        let start = start_marker(&d);
        let out = d.args(["-socket", ""]).args(start).args(["--", prog]).run();
        assert_eq!(out.code, 127, "{prog}\n{}", out.dump());
        assert!(out.stderr.contains(prog), "{prog}\n{}", out.dump());
        assert!(out.stdout.is_empty(), "{prog}\n{}", out.dump());
        assert!(!marker.exists(), "{prog}: the start command ran");
    }

    let d = Dinit::new("dd-noexec");
    let prog = d.dir.join("noexec.sh");
    std::fs::write(&prog, "#!/bin/sh\nexit 0\n").unwrap();
    let marker = d.dir.join("ran");
    let start = start_marker(&d);
    let out = d
        .args(["-socket", ""])
        .args(start)
        .args(["--", prog.to_str().unwrap()])
        .run();
    assert_eq!(out.code, 126, "{}", out.dump());
    assert!(out.stderr.contains("noexec.sh"), "{}", out.dump());
    assert!(!marker.exists(), "the start command ran");
}

/// SPEC §1, §8: help and roles are chosen from the words before `--` only:
/// after it they are the command's arguments (or its program name).
#[test]
fn help_and_roles_after_dashdash_are_arguments() {
    let out = Dinit::new("dd-roles")
        .args(["-socket", "", "--", "/bin/echo"])
        .args([
            "-h", "-help", "--help", "-version", "-V", "-submit", "-list",
        ])
        .run();
    assert_eq!(out.code, 0, "{}", out.dump());
    assert_eq!(
        out.stdout,
        "-h -help --help -version -V -submit -list\n",
        "{}",
        out.dump()
    );
    for prog in ["-h", "--help", "-submit", "-V"] {
        let out = Dinit::new("dd-role-prog")
            .args(["-socket", "", "--", prog, "-list"])
            .run();
        assert_eq!(out.code, 127, "{prog}\n{}", out.dump());
        assert!(out.stdout.is_empty(), "{prog}\n{}", out.dump());
        assert!(
            out.stderr
                .contains(&format!("{prog}: executable file not found")),
            "{prog}\n{}",
            out.dump()
        );
    }
    // Before `--`, -h is still help.
    let out = Dinit::new("dd-help").args(["-h", "--", "/bin/true"]).run();
    assert_eq!(out.code, 0, "{}", out.dump());
    assert!(out.stdout.contains("-- CMD [ARGS...]"), "{}", out.dump());
}

/// SPEC §8: `--` with nothing after it, and `-r` groups mixed with `--`,
/// are usage errors (exit 2, one line, nothing started).
#[test]
fn usage_errors() {
    for opts in [&[][..], &["-quiet", "-timeout", "5"]] {
        let d = Dinit::new("dd-alone");
        let start = start_marker(&d);
        assert_usage_error(
            d.args(["-socket", ""]).args(start).args(opts).args(["--"]),
            "no command after --",
        );
    }
    // A `-r` before `--`, wherever the `--` stands in the groups.
    for tail in [
        &["--", "/bin/true"][..],
        &["a", "--"],
        &["-r", "/bin/true", "--", "x"],
    ] {
        let d = Dinit::new("dd-mixed");
        let m = marker_cmd(&d.dir);
        assert_usage_error(
            d.args(["-socket", ""]).args(m).args(tail),
            "-r and -- do not mix",
        );
    }
    // A value option right before `--` lacks its value, as before `-r`.
    let d = Dinit::new("dd-needs-value");
    let start = start_marker(&d);
    assert_usage_error(
        d.args(["-socket", ""])
            .args(start)
            .args(["-timeout", "--", "/bin/true"]),
        "-timeout",
    );
    // Options before `--` are checked as usual.
    let d = Dinit::new("dd-unknown");
    let start = start_marker(&d);
    assert_usage_error(
        d.args(["-socket", ""])
            .args(start)
            .args(["-bogus", "--", "/bin/true"]),
        "-bogus",
    );
}

/// The escape this dinit chose (README, "Decisions SPEC leaves open"): in a
/// `-r` group `\--` is a literal `--` argument, as `\-r` is a literal `-r`.
#[test]
fn escaped_dashdash_in_r_group() {
    let out = Dinit::new("dd-escaped")
        .args(["-socket", "", "-r", "/bin/echo", "a", "\\--", "b", "\\-r"])
        .args(["\\\\--"])
        .run();
    assert_eq!(out.code, 0, "{}", out.dump());
    assert_eq!(out.stdout, "a -- b -r \\\\--\n", "{}", out.dump());
}
