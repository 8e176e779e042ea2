//! Spawning as an event (SPEC §10 "no path can stall PID 1", §5 "all or
//! nothing"): a submitted command's lookup and exec happen in its child,
//! which reports through a pipe the loop watches. An exec the kernel takes
//! long over (here: delayed by strace's fault injection, as a hung FUSE or
//! NFS file system would) delays only its own start; signals, `-list` and
//! teardown go on. A line whose second command cannot start leaves nothing
//! of itself running.
use crate::signals::{path, recorder, wait_got};
use crate::socket::{error_reason, ok_pids, raw, submit, up};
use crate::util::*;
use std::fs;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const SIGHUP: i32 = 1;
const SIGTERM: i32 = 15;

/// SPEC §5: `-r sleep 30 -r ./noshebang` is refused as a whole: the reply
/// names the failure (with no list of what started), and the sleep that
/// did start is stopped, not left running for a retry to duplicate.
#[test]
fn a_line_starts_all_of_its_commands_or_none() {
    let d = Dinit::new("spawn-all-or-none");
    let sock = d.sock();
    let bad = d.dir.join("noshebang");
    fs::write(&bad, "not a script: no #! line\n").unwrap();
    fs::set_permissions(&bad, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let mut d = up(d.args(["-socket", &sock, "-r", "/bin/sleep", "120"]));
    let c = submit(
        &sock,
        &["-r", "/bin/sleep", "30", "-r", bad.to_str().unwrap()],
    );
    assert_eq!(c.code, 1, "{c:?}");
    assert!(
        c.stderr.contains("exec format error") && !c.stderr.contains("started"),
        "{c:?}"
    );
    d.wait_log("[/bin/sleep 30] with error: signal: terminated");
    let list = submit(&sock, &["-list"]);
    assert!(!list.stdout.contains("sleep 30"), "{list:?}");
    // A line that can start in full is answered with every pid.
    let reply = raw(&sock, b"-r /bin/sleep 31 -r sleep 32\n");
    let pids = ok_pids(&reply);
    assert_eq!(pids.len(), 2, "{reply:?}");
    let list = submit(&sock, &["-list"]);
    for pid in pids {
        assert!(
            list.stdout
                .contains(&format!("pid {pid} primary no running")),
            "{list:?}"
        );
    }
    // A program that is not found, looked up by its child.
    let reply = raw(&sock, b"-r /bin/sleep 33 -r no-such-program-xyz\n");
    assert_eq!(
        error_reason(&reply),
        "unable to start [no-such-program-xyz]: executable file not found"
    );
    d.wait_log("[/bin/sleep 33] with error: signal: terminated");
    d.signal(SIGTERM);
    assert_eq!(d.wait().code, 143);
}

/// A FIFO named as a program is refused (execve: EACCES) without anything
/// opening it for reading in dinit, so nothing blocks.
#[test]
fn a_fifo_named_as_a_program_blocks_nothing() {
    let d = Dinit::new("spawn-fifo");
    let sock = d.sock();
    let fifo = d.dir.join("prog");
    let c = std::ffi::CString::new(path(&fifo)).unwrap();
    // SAFETY: mkfifo reads the NUL-terminated path only.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o755) }, 0);
    let d = up(d.args(["-socket", &sock, "-r", "/bin/sleep", "120"]));
    let reply = raw(&sock, format!("-r {}\n", path(&fifo)).as_bytes());
    assert!(
        error_reason(&reply).contains("permission denied"),
        "{reply:?}"
    );
    assert!(submit(&sock, &["-list"]).stdout.contains("sleep 120"));
    d.signal(SIGTERM);
    assert_eq!(d.wait().code, 143);
}

/// strace attached to dinit (and so to every child it forks from now on),
/// delaying every execve by `secs`; killed when dropped.
struct DelayedExecs(Child);

impl DelayedExecs {
    fn attach(pid: i32, secs: u32, log: &std::path::Path) -> DelayedExecs {
        let guard = DelayedExecs(
            Command::new("strace")
                .args(["-f", "-qq", "-e", "trace=execve", "-o"])
                .arg(log)
                .arg("-e")
                .arg(format!("inject=execve:delay_enter={}", secs * 1_000_000))
                .args(["-p", &pid.to_string()])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("strace (scripts/setup.sh installs it for make test)"),
        );
        // Attached once the kernel names a tracer for dinit.
        let deadline = Instant::now() + WAIT;
        loop {
            let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
            if status_field(&status, "TracerPid").is_some_and(|t| t != "0") {
                return guard;
            }
            assert!(Instant::now() < deadline, "strace never attached to {pid}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for DelayedExecs {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// SPEC §10: while a submitted command's exec hangs (6 s here), a forwarded
/// signal reaches the others at once, `-list` is answered at once (showing
/// it as starting), and its client gets `ok PID` when the exec is done.
/// A teardown during such a hang ends at the deadline, not the hang's end.
#[test]
fn an_exec_that_hangs_delays_only_its_own_start() {
    // qemu-user does not let strace see the emulated program's syscalls.
    if skip_if_emulated("strace cannot delay an emulated execve") {
        return;
    }
    let d = Dinit::new("spawn-delay");
    let sock = d.sock();
    let dir = d.dir.clone();
    let main = recorder(&dir, "main", &["1"]);
    let mut args = vec![
        "-socket".to_string(),
        sock.clone(),
        "-timeout".into(),
        "1".into(),
    ];
    args.push("-r".into());
    args.extend(main);
    let mut d = d.args(args).spawn();
    d.wait_file("main.ready", "ready");
    let _strace = DelayedExecs::attach(d.pid(), 6, &dir.join("strace.log"));

    let slow_sock = sock.clone();
    let t0 = Instant::now();
    let slow = std::thread::spawn(move || {
        let c = submit(&slow_sock, &["-r", "/bin/sleep", "100"]);
        (c, t0.elapsed())
    });
    // The submission is in: wait until dinit has forked it (it is listed).
    let deadline = Instant::now() + WAIT;
    loop {
        let list = submit(&sock, &["-list"]);
        if list.stdout.contains("starting") {
            assert!(list.stdout.contains("cmd [/bin/sleep 100]"), "{list:?}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "never listed as starting: {list:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let t1 = Instant::now();
    d.signal(SIGHUP);
    wait_got(&mut d, "main", SIGHUP);
    let list = submit(&sock, &["-list"]);
    assert!(list.stdout.contains("starting"), "{list:?}");
    let quick = t1.elapsed();
    assert!(
        quick < Duration::from_secs(3),
        "a signal and -list took {quick:?} during a 6 s exec\n{}",
        d.stderr()
    );
    let (c, took) = slow.join().unwrap();
    assert_eq!(c.code, 0, "{c:?}");
    assert!(c.stdout.starts_with("ok "), "{c:?}");
    assert!(
        took >= Duration::from_secs(4),
        "answered before the exec: {took:?}"
    );

    // Another hung exec, and SIGTERM meanwhile: the deadline (1 s) ends it.
    let late_sock = sock.clone();
    let late = std::thread::spawn(move || submit(&late_sock, &["-r", "/bin/sleep", "101"]));
    let deadline = Instant::now() + WAIT;
    while !submit(&sock, &["-list"]).stdout.contains("sleep 101") {
        assert!(Instant::now() < deadline, "sleep 101 never listed");
        std::thread::sleep(Duration::from_millis(20));
    }
    let t2 = Instant::now();
    d.signal(SIGTERM);
    // The SIGKILL goes out at the deadline, not when the exec is done.
    // (How soon dinit can reap it then is strace's: a traced child's exit
    // reaches its parent once the tracer, asleep in its delay, lets go.)
    d.wait_log("killing 1 remaining process");
    let deadline = t2.elapsed();
    assert!(
        deadline < Duration::from_millis(4_500),
        "the SIGKILL came {deadline:?} after SIGTERM, with an exec hanging 6 s\n{}",
        d.stderr()
    );
    let out = d.wait();
    assert_eq!(out.code, 143, "{}", out.dump());
    // Its client is answered either way (the process was killed while its
    // exec hung: from outside that looks like a start and a kill).
    let c = late.join().unwrap();
    assert!(c.code == 0 || c.code == 1, "{c:?}");
}
