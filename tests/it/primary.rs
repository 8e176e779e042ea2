//! Who is primary (SPEC §3, §11, issue 15 item 2): `-r:primary` marks a
//! command; once any is marked exactly the marked ones are primary and the
//! last `-r` is no longer implied; the `-r:` suffix is a list of at most
//! one signal and `primary`, in any order; `-primary` makes every command
//! primary, marks or not; the socket refuses the mark; `-list` shows it.
//!
//! Nothing here proves a negative by sleeping: a command that must not end
//! the run exits first, its exit is seen in the log, and only then does
//! the test let the primary go (the `go` file), whose status must be
//! dinit's.
use crate::signals::{dinit, got_sigs, path, recorder};
use crate::socket::{submit, up};
use crate::util::*;
use std::fs;

const SIGQUIT: i32 = 3;
const SIGTERM: i32 = 15;

/// `/bin/sh FILE` for a script in `dir` that waits for the file `go` and
/// then exits with `code`.
fn exit_on_go(dir: &std::path::Path, name: &str, code: i32) -> Vec<String> {
    let body = format!("until [ -e go ]; do sleep 0.05; done\nexit {code}\n");
    let file = script(dir, name, &body);
    vec!["/bin/sh".into(), path(&file)]
}

/// The words of a group started by `flag`.
fn group(flag: &str, words: &[String]) -> Vec<String> {
    let mut v = vec![flag.to_string()];
    v.extend(words.iter().cloned());
    v
}

/// A marked first command is the primary: the unmarked last command
/// exiting first is only logged, and the marked one's status is dinit's.
#[test]
fn a_marked_command_is_the_primary_and_the_last_is_not() {
    let d = dinit("primary-mark");
    let dir = d.dir.clone();
    let first = exit_on_go(&dir, "first.sh", 5);
    let args = [
        group("-r:primary", &first),
        group("-r", &["/bin/sh".into(), "-c".into(), "exit 3".into()]),
    ];
    let mut d = d.args(args.concat()).spawn();
    d.wait_log("finished: [/bin/sh -c exit 3] with error: exit status 3");
    // The sentinel: only now may the primary go.
    assert!(
        d.is_running(),
        "dinit ended with the unmarked last command\n{}",
        d.stderr()
    );
    fs::write(dir.join("go"), "").unwrap();
    let out = d.wait();
    assert_eq!(out.code, 5, "{}", out.dump());
    let last = out.pid_of("finished: [/bin/sh -c exit 3] with error: exit status 3");
    assert!(
        !out.stderr.contains(&format!("pid {last} was primary")),
        "{}",
        out.dump()
    );
}

/// `-r:QUIT,primary` and `-r:primary,QUIT` both give a signal and the
/// mark; of several marked commands the first to exit decides; an
/// unmarked last command is torn down like any other.
#[test]
fn signal_and_primary_in_either_order() {
    let d = dinit("primary-sig");
    let dir = d.dir.clone();
    let a = recorder(&dir, "a", &["x3", "x15"]);
    let b = exit_on_go(&dir, "b.sh", 7);
    let c = recorder(&dir, "c", &["x3", "x15"]);
    let args = [
        vec!["-timeout".to_string(), "20".into()],
        group("-r:primary,QUIT", &a),
        group("-r:USR2,primary", &b),
        group("-r", &c),
    ];
    let mut d = d.args(args.concat()).spawn();
    d.wait_file("a.ready", "ready");
    d.wait_file("c.ready", "ready");
    fs::write(dir.join("go"), "").unwrap();
    let out = d.wait();
    assert_eq!(out.code, 7, "{}", out.dump());
    // a's own signal came with its mark; c, unmarked and last, got SIGTERM.
    assert_eq!(got_sigs(&dir, "a"), [SIGQUIT], "{}", out.dump());
    assert_eq!(got_sigs(&dir, "c"), [SIGTERM], "{}", out.dump());
    let b_pid = out.pid_of(&format!(
        "finished: [{}] with error: exit status 7",
        b.join(" ")
    ));
    assert!(
        out.stderr.contains(&format!("pid {b_pid} was primary")),
        "{}",
        out.dump()
    );
}

/// `-list` shows `primary yes` exactly for the primaries: the marked ones;
/// with `-primary` every one; without marks the last.
#[test]
fn list_shows_the_marks() {
    // (option words, the -r flags of three sleeps, primary yes/no of each)
    let table: &[(&[&str], [&str; 3], [&str; 3])] = &[
        (&[], ["-r", "-r", "-r"], ["no", "no", "yes"]),
        (&[], ["-r:primary", "-r", "-r"], ["yes", "no", "no"]),
        (
            &[],
            ["-r", "-r:QUIT,primary", "-r:primary"],
            ["no", "yes", "yes"],
        ),
        (
            &["-primary"],
            ["-r:primary", "-r", "-r"],
            ["yes", "yes", "yes"],
        ),
        (
            &["-primary=false"],
            ["-r", "-r:PRIMARY", "-r"],
            ["no", "yes", "no"],
        ),
    ];
    for (opts, flags, want) in table {
        let d = Dinit::new("primary-list");
        let sock = d.sock();
        let mut args: Vec<String> = vec!["-socket".into(), sock.clone()];
        args.extend(opts.iter().map(|s| s.to_string()));
        for (i, flag) in flags.iter().enumerate() {
            args.extend([flag.to_string(), "/bin/sleep".into(), format!("6{i}")]);
        }
        let mut d = up(d.args(&args));
        d.wait_log("started: [/bin/sleep 62]");
        let list = submit(&sock, &["-list"]);
        assert_eq!(list.code, 0, "{list:?}");
        for (i, yes) in want.iter().enumerate() {
            let line = list
                .stdout
                .lines()
                .find(|l| l.ends_with(&format!("cmd [/bin/sleep 6{i}]")))
                .unwrap_or_else(|| panic!("{args:?}: no line for sleep 6{i}\n{}", list.stdout));
            assert!(
                line.contains(&format!(" primary {yes} ")),
                "{args:?}: {line}\n{}",
                list.stdout
            );
        }
        d.signal(SIGTERM);
        let out = d.wait();
        // The first primary to exit decides: SIGTERM, or its own SIGQUIT.
        assert!([143, 131].contains(&out.code), "{}", out.dump());
    }
}

/// SPEC §11: a bad `-r:` list is a usage error (exit 2) naming the word,
/// or the starter; nothing starts.
#[test]
fn bad_lists_are_usage_errors() {
    let table: &[(&str, &str)] = &[
        ("-r:QUIT,prmary", "prmary"),
        ("-r:primary,NOPE", "NOPE"),
        ("-r:primary,primary", "-r:primary,primary"),
        ("-r:QUIT,TERM", "-r:QUIT,TERM"),
        ("-r:", "-r:"),
        ("-r:QUIT,", "-r:QUIT,"),
    ];
    for &(flag, word) in table {
        let d = dinit("primary-usage");
        let m = marker_cmd(&d.dir);
        assert_usage_error(d.args(m).args([flag, "/bin/true"]), word);
    }
}

/// `\-r:primary` is the literal word, not a mark: the last command stays
/// the primary.
#[test]
fn an_escaped_mark_is_a_word() {
    let out = dinit("primary-escape")
        .args(["-r", "/bin/echo", "\\-r:primary,QUIT"])
        .run();
    assert_eq!(out.code, 0, "{}", out.dump());
    assert_eq!(out.stdout, "-r:primary,QUIT\n", "{}", out.dump());
}

/// SPEC §11: a submitted process is never primary; `primary` on the
/// socket is refused with `error: ...`, the client exits 1 and nothing
/// starts. A signal alone is still fine there.
#[test]
fn the_socket_refuses_the_mark() {
    let d = Dinit::new("primary-socket");
    let sock = d.sock();
    let d = up(d.args(["-socket", &sock, "-r", "/bin/sleep", "60"]));
    for flag in ["-r:primary", "-r:QUIT,primary", "-r:PRIMARY,9"] {
        let c = submit(&sock, &[flag, "/bin/sleep", "61"]);
        assert_eq!(c.code, 1, "{flag}: {c:?}");
        assert!(
            c.stderr.contains("submitted processes are never primary"),
            "{flag}: {c:?}"
        );
    }
    let c = submit(&sock, &["-r:QUIT", "/bin/sleep", "62"]);
    assert_eq!(c.code, 0, "{c:?}");
    let list = submit(&sock, &["-list"]);
    assert_eq!(list.stdout.lines().count(), 2, "{}", list.stdout);
    assert!(!list.stdout.contains("sleep 61"), "{}", list.stdout);
    d.signal(SIGTERM);
    let out = d.wait();
    assert_eq!(out.code, 143, "{}", out.dump());
    assert_eq!(
        out.stderr.matches(" started: ").count(),
        2,
        "{}",
        out.dump()
    );
}
