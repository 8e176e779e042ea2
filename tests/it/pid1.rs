//! dinit as PID 1 of a PID namespace (and as a subreaper when it is not):
//! reaping, exit status under a storm of orphans, leftovers, and a scratch
//! root holding only dinit and busybox. SPEC §1, §3, §4.
use crate::util::*;
use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

/// Log lines about reaped orphans.
fn orphan_lines(out: &Output) -> usize {
    out.messages()
        .iter()
        .filter(|m| m.contains("orphan"))
        .count()
}

/// Host pids of processes whose command line is exactly `argv`.
fn pids_with_cmdline(argv: &[&str]) -> Vec<i32> {
    let want: Vec<u8> = argv.iter().flat_map(|a| a.bytes().chain([0])).collect();
    fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| c == want))
        .collect()
}

/// The parent pid of `pid` from /proc, if it still exists.
/// SPEC §1, §4: dinit runs as PID 1 and is the parent of its commands.
#[test]
fn dinit_is_pid1() {
    if skip_if_emulated(QEMU_EXE) {
        return;
    }
    let out = Dinit::new("pid1-is-1")
        .as_pid1()
        .args([
            "-socket",
            "",
            "-r",
            "/bin/sh",
            "-c",
            "echo $$PPID; tr '\\0' '\\n' < /proc/1/cmdline; exit 9",
        ])
        .run();
    assert_eq!(out.code, 9, "{}", out.dump());
    let mut lines = out.stdout.lines();
    assert_eq!(
        lines.next(),
        Some("1"),
        "the child's parent is not PID 1\n{}",
        out.dump()
    );
    // PID 1's command line is dinit's (after a `qemu-*-static` word when
    // DINIT_BIN is a foreign build run through binfmt).
    let bin = bin();
    assert!(
        lines.any(|w| w == bin.to_str().unwrap()),
        "PID 1 is not dinit\n{}",
        out.dump()
    );
    assert!(
        out.stderr.contains("all processes exited, goodbye!"),
        "{}",
        out.dump()
    );
}

/// SPEC §4: as PID 1, a burst of hundreds of orphans is reaped (no zombie
/// stays in the namespace) and logged in a handful of lines.
#[test]
fn orphan_burst_is_reaped() {
    let d = Dinit::new("pid1-burst");
    // 300 orphans: 150 double-forked `true`s that exit at once, and 150
    // readers of a FIFO, orphaned when the spawner exits, that all exit in
    // the same instant when the checker opens and closes the write end.
    let spawner = script(
        &d.dir,
        "spawner.sh",
        r#"mkfifo f
i=0
while [ $i -lt 150 ]; do
  (read x < f) &
  (/bin/true &)
  i=$((i+1))
done
echo done > spawned
exit 0
"#,
    );
    // The primary releases the readers, then watches the namespace until no
    // zombie and no orphan is left (bounded), and reports what it saw last.
    let checker = script(
        &d.dir,
        "checker.sh",
        r#"until [ -e spawned ]; do sleep 0.05; done
sleep 0.2
i=0
while [ $i -lt 400 ]; do
  exec 3<>f
  exec 3>&-
  z=$(cat /proc/[0-9]*/stat 2>/dev/null | grep -c ') Z ')
  s=$(cat /proc/[0-9]*/comm 2>/dev/null | grep -cx spawner.sh)
  [ "$z" = 0 ] && [ "$s" = 0 ] && break
  sleep 0.05
  i=$((i+1))
done
echo "zombies=$z orphans=$s" > result
"#,
    );
    let dir = d.dir.clone();
    let out = d
        .as_pid1()
        .args([
            "-socket",
            "",
            "-r",
            spawner.to_str().unwrap(),
            "-r",
            checker.to_str().unwrap(),
        ])
        .spawn()
        .wait_for(Duration::from_secs(120));
    assert_eq!(out.code, 0, "{}", out.dump());
    let result = fs::read_to_string(dir.join("result")).unwrap_or_default();
    assert_eq!(
        result.trim(),
        "zombies=0 orphans=0",
        "orphans were not reaped\n{}",
        out.dump()
    );
    let n = orphan_lines(&out);
    assert!(n >= 1, "reaping orphans is not logged\n{}", out.dump());
    assert!(
        n <= 20,
        "{n} log lines about orphans: not rate-limited\n{}",
        out.dump()
    );
}

/// SPEC §3 Exit status: the primary's status holds when orphans exit in the
/// same instant (their SIGCHLDs merge with the primary's).
#[test]
fn primary_status_with_simultaneous_orphans() {
    // Readers blocked on a FIFO get EOF when the primary's exit closes the
    // write end: they die together with it. Children of the primary first,
    // then double-forked ones (already dinit's children when it exits).
    let fifo = |reader: &str| {
        format!(
            r#"mkfifo f
i=0
while [ $i -lt 200 ]; do
  {reader}
  true &
  i=$((i+1))
done
sleep 0.3
exec 3>f
exit 7
"#
        )
    };
    let variants = [
        fifo("(read x < f) &"),
        fifo("( (read x < f) & )"),
        "i=0\nwhile [ $i -lt 300 ]; do\n  /bin/true &\n  i=$((i+1))\ndone\nexit 7\n".to_string(),
    ];
    for round in 0..6 {
        let d = Dinit::new("pid1-status-storm");
        let prog = script(&d.dir, "primary.sh", &variants[round % variants.len()]);
        let out = d
            .as_pid1()
            .args(["-socket", "", "-r", prog.to_str().unwrap()])
            .run();
        assert_eq!(out.code, 7, "round {round}\n{}", out.dump());
        let pid = out.pid_of(&format!("started: [{}]", prog.display()));
        assert_eq!(
            out.pid_of(&format!(
                "finished: [{}] with error: exit status 7",
                prog.display()
            )),
            pid,
            "{}",
            out.dump()
        );
    }
}

/// SPEC §4: not as PID 1, dinit is a child subreaper: an orphan of its
/// child is reparented to dinit and reaped when it exits.
#[test]
fn subreaper_reaps_orphans_when_not_pid1() {
    if skip_if_emulated(QEMU_SUBREAPER) {
        return;
    }
    let d = Dinit::new("subreaper");
    let prog = script(
        &d.dir,
        "primary.sh",
        "(sleep 1 & echo $! > orphan.pid)\nuntil [ -e done ]; do sleep 0.05; done\n",
    );
    let done = Release(d.dir.join("done"));
    let mut r = d
        .args(["-socket", "", "-r", prog.to_str().unwrap()])
        .spawn();
    let dinit = r.pid();
    let orphan: i32 = r.wait_file("orphan.pid", "\n").trim().parse().unwrap();
    let deadline = Instant::now() + WAIT;
    let mut last = None;
    loop {
        match ppid(orphan) {
            Some(p) if p == dinit => break,
            Some(p) => last = Some(p),
            None => panic!(
                "orphan {orphan} exited without being reparented to dinit ({dinit}); last parent {last:?}\n{}",
                r.stderr()
            ),
        }
        assert!(
            Instant::now() < deadline,
            "orphan {orphan} never reparented to dinit ({dinit}); parent {last:?}\n{}",
            r.stderr()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    // After it exits, it is reaped: /proc/PID disappears, no zombie stays.
    let deadline = Instant::now() + WAIT;
    while Path::new(&format!("/proc/{orphan}")).exists() {
        assert!(r.is_running(), "dinit exited early\n{}", r.stderr());
        assert!(
            Instant::now() < deadline,
            "orphan {orphan} left as a zombie: {:?}",
            alive(orphan)
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    drop(done);
    let out = r.wait();
    assert_eq!(out.code, 0, "{}", out.dump());
    assert!(
        orphan_lines(&out) >= 1,
        "reaping the orphan is not logged\n{}",
        out.dump()
    );
}

/// SPEC §3: as PID 1, leftover daemonized processes get SIGTERM before dinit
/// exits, and dinit exits as soon as they are gone.
#[test]
fn leftovers_get_sigterm_as_pid1() {
    let d = Dinit::new("pid1-leftover-term");
    let prog = script(
        &d.dir,
        "primary.sh",
        r#"(trap 'echo term > termed; exit 0' TERM; echo ready > ready; while :; do sleep 0.05; done) &
until [ -e ready ]; do sleep 0.05; done
exit 4
"#,
    );
    let dir = d.dir.clone();
    let out = d
        .as_pid1()
        .args([
            "-socket",
            "",
            "-timeout",
            "20",
            "-r",
            prog.to_str().unwrap(),
        ])
        .run();
    assert_eq!(out.code, 4, "{}", out.dump());
    let termed = fs::read_to_string(dir.join("termed")).unwrap_or_default();
    assert_eq!(
        termed,
        "term\n",
        "the leftover never got SIGTERM\n{}",
        out.dump()
    );
    // Generous: the leftover exits at once; only a missed exit would make
    // dinit sit out the 20s timeout.
    assert!(
        out.elapsed < Duration::from_secs(15),
        "dinit waited {:?} for a leftover that was gone",
        out.elapsed
    );
}

/// SPEC §3: as PID 1, a leftover that ignores SIGTERM does not keep dinit
/// past the timeout; the kernel kills it when dinit is gone.
#[test]
fn leftover_ignoring_sigterm_bounded_by_timeout() {
    let d = Dinit::new("pid1-leftover-stubborn");
    let prog = script(
        &d.dir,
        "primary.sh",
        r#"(trap '' TERM; echo ready > ready; exec sleep 987.25) &
until [ -e ready ]; do sleep 0.05; done
exit 3
"#,
    );
    let out = d
        .as_pid1()
        .args(["-socket", "", "-timeout", "1", "-r", prog.to_str().unwrap()])
        .run();
    assert_eq!(out.code, 3, "{}", out.dump());
    assert!(
        out.elapsed >= Duration::from_millis(900),
        "the leftover got no grace period: {:?}",
        out.elapsed
    );
    let deadline = Instant::now() + WAIT;
    loop {
        let left: Vec<i32> = pids_with_cmdline(&["sleep", "987.25"])
            .into_iter()
            .filter(|&p| alive(p))
            .collect();
        if left.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "leftover {left:?} survived dinit"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// SPEC §1, §4: in a scratch root holding only dinit and busybox, dinit runs
/// as PID 1, passes a signal on, reaps an orphan and exits with the
/// primary's status.
#[test]
fn scratch_root_pid1() {
    let dir = workdir("scratch");
    let root = scratch_root(&dir);
    script(
        &root,
        "primary.sh",
        r#"echo $PPID > /tmp/ppid
(sleep 0.5 & echo $! > /tmp/orphan)
o=$(cat /tmp/orphan)
awk '/^PPid:/ { print $2 }' /proc/$o/status > /tmp/orphan-ppid
i=0
while [ -e /proc/$o ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done
if [ -e /proc/$o ]; then cat /proc/$o/stat > /tmp/reaped; else echo reaped > /tmp/reaped; fi
trap 'echo hup > /tmp/hup; exit 5' HUP
echo ready > /tmp/ready
while :; do sleep 0.05; done
"#,
    );
    let mut r = scratch_spawn(&root, &dir, &["-socket", "", "-r", "/primary.sh"]);
    r.wait_file("root/tmp/ready", "ready");
    r.signal(libc::SIGHUP);
    let out = r.wait();
    let read = |name: &str| fs::read_to_string(root.join("tmp").join(name)).unwrap_or_default();
    assert_eq!(out.code, 5, "{}", out.dump());
    assert_eq!(
        read("ppid").trim(),
        "1",
        "dinit is not PID 1\n{}",
        out.dump()
    );
    assert_eq!(
        read("orphan-ppid").trim(),
        "1",
        "the orphan was not reparented to dinit\n{}",
        out.dump()
    );
    assert_eq!(
        read("reaped").trim(),
        "reaped",
        "the orphan was not reaped\n{}",
        out.dump()
    );
    assert_eq!(
        read("hup"),
        "hup\n",
        "SIGHUP was not passed on\n{}",
        out.dump()
    );
    assert!(
        out.stderr.contains("all processes exited, goodbye!"),
        "{}",
        out.dump()
    );
}

/// SPEC §10 "dinit knows which processes are its own": as PID 1 of a PID
/// namespace whose `/proc` is still the parent's (`unshare --pid --fork`
/// without `--mount-proc`), dinit says so once and never reads that
/// `/proc`'s list of children, whose pids would name host processes: every
/// pid it signals is one of its own (strace shows every `kill`).
#[test]
fn a_proc_of_another_pid_namespace_is_not_trusted() {
    if skip_if_emulated(QEMU_EXE) {
        return;
    }
    let d = Dinit::new("pid1-foreign-proc");
    let trace = d.dir.join("trace");
    // An orphan that outlives the primary: the teardown has to deal with it.
    let out = d
        .under([
            "strace",
            "-f",
            "-qq",
            "-e",
            "trace=kill,open,openat",
            "-o",
            trace.to_str().unwrap(),
            "unshare",
            "--pid",
            "--fork",
        ])
        .args(["-socket", "", "-timeout", "2"])
        .args([
            "-r",
            "/bin/sh",
            "-c",
            "(setsid sleep 60 &) ; sleep 0.5; exit 3",
        ])
        .run();
    assert_eq!(out.code, 3, "{}", out.dump());
    assert!(
        out.stderr
            .contains("/proc belongs to another PID namespace"),
        "{}",
        out.dump()
    );
    let trace = fs::read_to_string(&trace).unwrap();
    assert!(
        !trace.contains("/children"),
        "read a foreign /proc:\n{trace}"
    );
    // Inside the namespace the primary is pid 2; -1 is the namespace-wide
    // SIGKILL of a PID 1 at the deadline. Nothing else.
    for line in trace.lines().filter(|l| l.contains(" kill(")) {
        let target = line.split("kill(").nth(1).and_then(|r| r.split(',').next());
        assert!(
            matches!(target, Some("-1" | "2" | "-2")),
            "a kill of a pid that is not dinit's: {line}\n{trace}"
        );
    }
}
