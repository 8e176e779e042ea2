//! Operating a running container (issue 16; SPEC §5 `-signal` and `-wait`,
//! §11 inherited descriptors and `LISTEN_PID`): what `docker exec C /dinit
//! -submit ...` and socket activation must do, driven through the binary
//! under test as client and server.
//!
//! * `-signal SIG TARGET...` reaches every managed process a target names
//!   and nothing else: not dinit, not its helper commands, not a pid it
//!   does not manage. What must NOT have been signalled is proved with a
//!   sentinel: a later signal that must arrive after it, to the same
//!   recorder.
//! * `-wait -r CMD` runs CMD with the client's stdin, stdout and stderr
//!   and gives back its status; signals to the client reach the job; a
//!   client killed leaves its job a SIGHUP; waiting clients are bounded;
//!   passed descriptors never stay in dinit (each test that passes some
//!   ends by seeing the pipe's other end at end of file, or counts
//!   dinit's descriptors under a small limit).
//! * Descriptors dinit inherits go to the primary only, with the same
//!   numbers, and dinit closes its copies; `LISTEN_PID` is rewritten for
//!   the primary and removed for the others only when it named dinit;
//!   `systemd-socket-activate` serves through dinit.
//!
//! Shell bodies go into script files, never `-r` arguments, because dinit
//! expands `$` in arguments.
use crate::signals::{got_sigs, python, read_pid, recorder, wait_got};
use crate::socket::{
    client_cmd, error_reason, finish_client, ok_pids, raw, read_reply, read_to_end_bounded, submit,
    up,
};
use crate::util::*;
use std::fs;
use std::io::Write;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const SIGHUP: i32 = 1;
const SIGINT: i32 = 2;
const SIGQUIT: i32 = 3;
const SIGUSR1: i32 = 10;
const SIGUSR2: i32 = 12;
const SIGTERM: i32 = 15;
const SIGWINCH: i32 = 28;

// ---------------------------------------------------------------------------
// Helpers

/// dinit with its socket in the test directory and `ARGS`, started, its
/// first command up; killed (with all it runs) if the test fails.
fn operate(name: &str, args: &[&str]) -> (Running, String, PathBuf) {
    let d = Dinit::new(name);
    let sock = d.sock();
    let dir = d.dir.clone();
    let r = up(d.args(["-socket", &sock]).args(args));
    (r, sock, dir)
}

fn s(p: &Path) -> &str {
    p.to_str().expect("test paths are UTF-8")
}

/// An executable named `name` in `dir` that runs the signal recorder
/// (signals.rs) as recorder `name`, taking `sigs` (`x` before a number:
/// exit 0 on it): a program whose last path component is `name`, for
/// matching by name.
fn named_recorder(dir: &Path, name: &str, sigs: &[&str]) -> PathBuf {
    let words = recorder(dir, name, sigs);
    script(dir, name, &format!("exec {}\n", words.join(" ")))
}

/// `dinit -submit -socket SOCK ARGS...` with stdin from `stdin` (bytes,
/// then end of file), stdout and stderr captured; not waited for.
fn spawn_client(sock: &str, args: &[&str], stdin: Option<&[u8]>) -> Child {
    let mut all = vec!["-submit", "-socket", sock];
    all.extend_from_slice(args);
    let mut cmd = client_cmd(&bin(), &all, &[]);
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("cannot run the client");
    if let Some(data) = stdin {
        let mut si = child.stdin.take().unwrap();
        si.write_all(data).unwrap();
    }
    child
}

/// `kill(pid, sig)`, asserted.
fn kill(pid: i32, sig: i32) {
    assert!(crate::signals::kill(pid, sig), "kill({pid}, {sig}) failed");
}

/// The lines `-list` gives, as (pid, the rest).
fn list(sock: &str) -> Vec<(i32, String)> {
    let c = submit(sock, &["-list"]);
    assert_eq!(c.code, 0, "{c:?}");
    c.stdout
        .lines()
        .map(|l| {
            let rest = l.strip_prefix("pid ").unwrap_or_else(|| panic!("{l:?}"));
            let (pid, rest) = rest.split_once(' ').unwrap();
            (pid.parse().unwrap(), rest.to_string())
        })
        .collect()
}

/// A pipe: (read end, write end), both close-on-exec.
fn pipe() -> (OwnedFd, OwnedFd) {
    let mut fds = [0; 2];
    // SAFETY: pipe2 writes two descriptors into `fds`.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    // SAFETY: both were just opened and are owned by nothing else.
    unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) }
}

/// Whether every writer of the pipe whose read end is `rd` is gone (a
/// read sees end of file), waiting for that up to `WAIT`.
fn writers_gone_within(rd: &OwnedFd) -> bool {
    // SAFETY: fcntl on our own descriptor.
    unsafe {
        let fl = libc::fcntl(rd.as_raw_fd(), libc::F_GETFL);
        libc::fcntl(rd.as_raw_fd(), libc::F_SETFL, fl | libc::O_NONBLOCK);
    }
    let deadline = Instant::now() + WAIT;
    loop {
        let mut b = [0u8; 64];
        // SAFETY: reads into a live buffer of its length.
        let n = unsafe { libc::read(rd.as_raw_fd(), b.as_mut_ptr().cast(), b.len()) };
        if n == 0 {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        if n < 0 {
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// `sendmsg` of `bytes` with `fds` attached (SCM_RIGHTS), as a hostile or
/// hand-made client would.
fn send_with_fds(stream: &UnixStream, bytes: &[u8], fds: &[RawFd]) {
    let payload = std::mem::size_of_val(fds);
    // SAFETY: CMSG_SPACE is arithmetic.
    let space = unsafe { libc::CMSG_SPACE(payload as u32) } as usize;
    let mut control = vec![0u64; space.div_ceil(8)];
    let mut iov = libc::iovec {
        iov_base: bytes.as_ptr() as *mut _,
        iov_len: bytes.len(),
    };
    // SAFETY: a zeroed msghdr is a valid empty one.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = space as _;
    // SAFETY: the control buffer holds one header and `payload` bytes of
    // data (CMSG_SPACE); the macros point inside it.
    unsafe {
        let c = libc::CMSG_FIRSTHDR(&msg);
        (*c).cmsg_level = libc::SOL_SOCKET;
        (*c).cmsg_type = libc::SCM_RIGHTS;
        (*c).cmsg_len = libc::CMSG_LEN(payload as u32) as _;
        std::ptr::copy_nonoverlapping(fds.as_ptr(), libc::CMSG_DATA(c).cast(), fds.len());
        let n = libc::sendmsg(stream.as_raw_fd(), &msg, 0);
        assert_eq!(n, bytes.len() as isize, "sendmsg failed");
    }
}

/// The `pipe:[INODE]` (or `socket:[INODE]`) name of one of our descriptors.
fn fd_link(fd: RawFd) -> String {
    fs::read_link(format!("/proc/self/fd/{fd}"))
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

/// What `pid`'s descriptors point at.
fn fd_links(pid: i32) -> Vec<String> {
    fs::read_dir(format!("/proc/{pid}/fd"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| fs::read_link(e.path()).ok())
        .map(|p| p.to_string_lossy().into_owned())
        .collect()
}

// ---------------------------------------------------------------------------
// -signal

/// SPEC §5: `-signal HUP NAME` reaches every managed process whose program
/// is NAME (the last path component), one started through the socket too,
/// and no other; the client prints the server's `ok PID...` and exits 0.
#[test]
fn signal_by_name_reaches_every_match_and_only_them() {
    let d = Dinit::new("op-signame");
    let dir = d.dir.clone();
    let alpha = named_recorder(&dir, "alpha", &["1", "10"]);
    let beta = named_recorder(&dir, "beta", &["1", "10"]);
    let sock = d.sock();
    let mut r = up(d.args(["-socket", &sock, "-r", s(&alpha), "-r", s(&beta)]));
    wait_exists(&dir.join("alpha.ready"));
    wait_exists(&dir.join("beta.ready"));
    // A second alpha, another path with the same last component, through
    // the socket, recording as alpha2.
    fs::create_dir(dir.join("sub")).unwrap();
    let words = recorder(&dir, "alpha2", &["1", "10"]);
    let alpha2 = script(
        &dir.join("sub"),
        "alpha",
        &format!("exec {}\n", words.join(" ")),
    );
    let c = submit(&sock, &["-r", s(&alpha2)]);
    assert_eq!(c.code, 0, "{c:?}");
    wait_exists(&dir.join("alpha2.ready"));
    let alphas = [read_pid(&dir, "alpha.pid"), ok_pids(&c.stdout)[0]];

    let c = submit(&sock, &["-signal", "HUP", "alpha"]);
    assert_eq!(c.code, 0, "{c:?}");
    assert_eq!(c.stderr, "", "{c:?}");
    let mut pids = ok_pids(&c.stdout);
    pids.sort();
    let mut want = alphas.to_vec();
    want.sort();
    assert_eq!(pids, want, "-signal HUP alpha named the wrong pids: {c:?}");
    wait_got(&mut r, "alpha", SIGHUP);
    wait_got(&mut r, "alpha2", SIGHUP);

    // The sentinel: beta's next signal comes after any HUP it could have
    // got; it must be the first thing beta saw.
    let c = submit(&sock, &["-signal", "USR1", "beta"]);
    assert_eq!(c.code, 0, "{c:?}");
    wait_got(&mut r, "beta", SIGUSR1);
    assert_eq!(got_sigs(&dir, "beta"), [SIGUSR1], "beta got alpha's HUP");

    r.signal(SIGTERM);
    r.wait();
}

/// SPEC §5: a target is a pid as `-list` shows it; several targets signal
/// each process once; one target that matches nothing refuses the whole
/// request (all or nothing: the process the other target names gets
/// nothing, proved by a sentinel).
#[test]
fn signal_by_pid_and_all_or_nothing() {
    let d = Dinit::new("op-sigpid");
    let dir = d.dir.clone();
    let alpha = named_recorder(&dir, "alpha", &["1", "10", "12"]);
    let sock = d.sock();
    let mut r = up(d.args(["-socket", &sock, "-r", s(&alpha)]));
    wait_exists(&dir.join("alpha.ready"));
    let pid = read_pid(&dir, "alpha.pid");
    assert_eq!(list(&sock)[0].0, pid, "-list shows the pid -signal takes");

    let c = submit(&sock, &["-signal", "SIGUSR1", &pid.to_string(), "alpha"]);
    assert_eq!(c.code, 0, "{c:?}");
    assert_eq!(ok_pids(&c.stdout), [pid], "one process, signalled once");
    wait_got(&mut r, "alpha", SIGUSR1);

    // `alpha nosuch`: refused, naming nosuch; alpha gets nothing.
    let c = submit(&sock, &["-signal", "HUP", "alpha", "nosuch"]);
    assert_eq!(c.code, 1, "{c:?}");
    assert_eq!(c.stdout, "", "{c:?}");
    assert_eq!(
        c.stderr, "dinit-submit: error: no managed process matches nosuch\n",
        "{c:?}"
    );
    // The same on the wire, and by number.
    let reply = raw(&sock, b"-signal 1 alpha 999999\n");
    assert_eq!(
        error_reason(&reply),
        "no managed process matches 999999",
        "{reply:?}"
    );
    let c = submit(&sock, &["-signal", "USR2", "alpha"]);
    assert_eq!(c.code, 0, "{c:?}");
    wait_got(&mut r, "alpha", SIGUSR2);
    assert_eq!(
        got_sigs(&dir, "alpha"),
        [SIGUSR1, SIGUSR2],
        "a refused -signal reached alpha"
    );
    r.signal(SIGTERM);
    r.wait();
}

/// SPEC §5: never dinit, never a pid it does not manage. Each target is
/// refused with the same reply, and nothing is sent: the sentinel (a
/// signal that must come after any wrongly sent one) is the first thing
/// each recorder sees. Not PID 1: dinit's own pid, a process of the test's
/// (outside dinit's tree, recording), a pid that does not exist, 0. As PID
/// 1: `1`, which is dinit itself there (a HUP it took would be forwarded
/// to its recorder).
#[test]
fn signal_to_unmanaged_pids_is_refused() {
    for pid1 in [false, true] {
        let mut d = Dinit::new("op-sigunmanaged");
        if pid1 {
            d = d.as_pid1();
        }
        let dir = d.dir.clone();
        let alpha = named_recorder(&dir, "alpha", &["1", "10"]);
        let sock = d.sock();
        let mut r = up(d.args(["-socket", &sock, "-r", s(&alpha)]));
        let mut guard = KillOnPanic(vec![r.child.id() as i32]);
        wait_exists(&dir.join("alpha.ready"));
        let mut targets = vec!["1".to_string()];
        let mut outsider = None;
        if !pid1 {
            let mut words = recorder(&dir, "outsider", &["1", "10", "15"]);
            let prog = words.remove(0);
            let child = Command::new(prog)
                .args(&words)
                .current_dir(&dir)
                .stdin(Stdio::null())
                .spawn()
                .unwrap();
            guard.0.push(child.id() as i32);
            wait_exists(&dir.join("outsider.ready"));
            targets = vec![
                r.pid().to_string(),
                child.id().to_string(),
                "2147483646".into(),
                "0".into(),
            ];
            outsider = Some(child);
        }
        for target in &targets {
            let c = submit(&sock, &["-signal", "HUP", target]);
            assert_eq!(c.code, 1, "{target}: {c:?}");
            assert_eq!(
                c.stderr,
                format!("dinit-submit: error: no managed process matches {target}\n"),
                "{target}: {c:?}"
            );
            let reply = raw(&sock, format!("-signal TERM {target}\n").as_bytes());
            assert_eq!(
                error_reason(&reply),
                format!("no managed process matches {target}")
            );
        }
        let c = submit(&sock, &["-signal", "USR1", "alpha"]);
        assert_eq!(c.code, 0, "{c:?}");
        wait_got(&mut r, "alpha", SIGUSR1);
        assert_eq!(
            got_sigs(&dir, "alpha"),
            [SIGUSR1],
            "dinit got a signal and forwarded it"
        );
        if let Some(mut child) = outsider {
            kill(child.id() as i32, SIGUSR1);
            wait_got(&mut r, "outsider", SIGUSR1);
            assert_eq!(
                got_sigs(&dir, "outsider"),
                [SIGUSR1],
                "dinit signalled a stranger"
            );
            let _ = child.kill();
            let _ = child.wait();
        }
        assert!(r.is_running());
        r.signal(SIGTERM);
        r.wait();
    }
}

/// SPEC §5: dinit's helper commands are not managed processes: a
/// `-prestop` command running (held by `-prestoptimer`) is refused by pid
/// and by name, and gets nothing (its recorder's sentinel, sent by the
/// test directly, is the first signal it sees).
#[test]
fn signal_never_reaches_helper_commands() {
    let d = Dinit::new("op-sighelper");
    let dir = d.dir.clone();
    let helper = named_recorder(&dir, "helper", &["1", "10"]);
    let alpha = named_recorder(&dir, "alpha", &["x15"]);
    let sock = d.sock();
    let mut r = up(d.args([
        "-socket",
        &sock,
        "-prestop",
        s(&helper),
        "-prestoptimer",
        "60",
        "-timeout",
        "5s",
        "-r",
        s(&alpha),
    ]));
    wait_exists(&dir.join("alpha.ready"));
    r.signal(SIGTERM);
    wait_exists(&dir.join("helper.ready"));
    let helper_pid = read_pid(&dir, "helper.pid").to_string();
    for target in [helper_pid.as_str(), "helper"] {
        let reply = raw(&sock, format!("-signal HUP {target}\n").as_bytes());
        assert_eq!(
            error_reason(&reply),
            format!("no managed process matches {target}"),
            "{reply:?}"
        );
    }
    kill(read_pid(&dir, "helper.pid"), SIGUSR1);
    wait_got(&mut r, "helper", SIGUSR1);
    assert_eq!(
        got_sigs(&dir, "helper"),
        [SIGUSR1],
        "-signal reached the prestop"
    );
    // A second SIGTERM while a -prestop runs kills at once (README, "A
    // second stop request"): the primary's SIGKILL is dinit's status.
    r.signal(SIGTERM);
    let out = r.wait();
    assert_eq!(out.code, 137, "alpha killed at once\n{}", out.dump());
}

/// SPEC §5: the client checks what it can before connecting: an unknown
/// signal, no target, a target that looks like an option are usage
/// errors (exit 2, one line, nothing sent — there is no server at all).
#[test]
fn signal_usage_errors_before_connecting() {
    let dir = workdir("op-sigusage");
    let sock = dir.join("nobody.sock");
    let sock = s(&sock);
    let table: &[(&[&str], &str)] = &[
        (&["-signal", "BOGUS", "x"], "unknown signal: BOGUS"),
        (
            &["-signal", "HUP"],
            "-signal needs a signal and at least one target",
        ),
        (&["-signal"], "option needs a value: -signal"),
        (
            &["-signal", "HUP", "nginx", "-x"],
            "a target is a pid or a program name: -x",
        ),
        (&["-signal", "HUP", "-x"], "unknown option"),
        (
            &["-list", "-signal", "HUP", "x"],
            "use only one of -list, -wait and -signal",
        ),
    ];
    for (args, want) in table {
        let c = submit(sock, args);
        assert_eq!(c.code, 2, "{args:?}: {c:?}");
        assert_eq!(c.stdout, "", "{args:?}: {c:?}");
        assert_eq!(c.stderr.lines().count(), 1, "{args:?}: {c:?}");
        assert!(c.stderr.contains(want), "{args:?}: {c:?}");
    }
}

// ---------------------------------------------------------------------------
// -wait

/// SPEC §5: the job's stdout and stderr are the client's, its exit status
/// the client's exit code (128+N for a signal); the client adds nothing of
/// its own; the job is dinit's child, logged like any.
#[test]
fn wait_relays_output_and_exit_status() {
    let (mut r, sock, dir) = operate("op-waitout", &["-r", "/bin/sleep", "1000"]);
    let job = script(&dir, "job.sh", "echo out; echo err >&2; exit 7\n");
    let c = finish_client(
        spawn_client(&sock, &["-wait", "-r", s(&job), "a b"], None),
        "wait client",
    );
    assert_eq!(
        (c.code, c.stdout.as_str(), c.stderr.as_str()),
        (7, "out\n", "err\n")
    );
    let selfkill = script(&dir, "selfkill.sh", "kill -TERM $$\n");
    let c = finish_client(
        spawn_client(&sock, &["-wait", "-r", s(&selfkill)], None),
        "wait client",
    );
    assert_eq!(
        (c.code, c.stdout.as_str(), c.stderr.as_str()),
        (143, "", "")
    );
    let c = finish_client(
        spawn_client(&sock, &["-wait", "-r", "/bin/true"], None),
        "wait client",
    );
    assert_eq!((c.code, c.stdout.as_str(), c.stderr.as_str()), (0, "", ""));
    // A program that is not there: dinit's error, exit 1, nothing started.
    let c = finish_client(
        spawn_client(&sock, &["-wait", "-r", "/no/such/program"], None),
        "wait client",
    );
    assert_eq!(c.code, 1, "{c:?}");
    assert!(c.stderr.starts_with("dinit-submit: error: "), "{c:?}");
    r.wait_log(&format!("started: [{} a b]", s(&job)));
    r.signal(SIGTERM);
    let out = r.wait();
    assert!(
        out.stderr.contains(&format!(
            "finished: [{} a b] with error: exit status 7",
            s(&job)
        )),
        "{}",
        out.dump()
    );
}

/// SPEC §5: the job reads the client's stdin (`cat` echoes it back through
/// the client's stdout) and sees end of file when the client's input ends.
#[test]
fn wait_passes_stdin() {
    let (r, sock, _dir) = operate("op-waitin", &["-r", "/bin/sleep", "1000"]);
    let input: Vec<u8> = (0..2000)
        .map(|i| format!("line {i}\n"))
        .collect::<String>()
        .into_bytes();
    let c = finish_client(
        spawn_client(&sock, &["-wait", "-r", "/bin/cat"], Some(&input)),
        "wait client",
    );
    assert_eq!(c.code, 0, "{c:?}");
    assert_eq!(
        c.stdout.as_bytes(),
        &input[..],
        "cat's output is not its input"
    );
    r.signal(SIGTERM);
    r.wait();
}

/// SPEC §5: a waiting job is a managed process: `-list` shows it (not
/// primary), and `-signal` by its name reaches it.
#[test]
fn wait_job_is_listed_and_signalled() {
    let (r, sock, dir) = operate("op-waitlist", &["-r", "/bin/sleep", "1000"]);
    let job = named_recorder(&dir, "waitjob", &["x10"]);
    let client = spawn_client(&sock, &["-wait", "-r", s(&job)], None);
    let _cguard = KillOnPanic(vec![client.id() as i32]);
    wait_exists(&dir.join("waitjob.ready"));
    let pid = read_pid(&dir, "waitjob.pid");
    let entry = list(&sock).into_iter().find(|(p, _)| *p == pid);
    let entry = entry.unwrap_or_else(|| panic!("the job {pid} is not listed"));
    assert!(entry.1.starts_with("primary no "), "{entry:?}");
    let c = submit(&sock, &["-signal", "USR1", "waitjob"]);
    assert_eq!((c.code, ok_pids(&c.stdout)), (0, vec![pid]), "{c:?}");
    let c = finish_client(client, "wait client");
    assert_eq!(c.code, 0, "the recorder exits 0 on USR1: {c:?}");
    r.signal(SIGTERM);
    r.wait();
}

/// SPEC §5: while it waits, the client passes INT, TERM, HUP, QUIT, USR1,
/// USR2 and WINCH on to the job, in the order they came; the job's exit
/// (on the last, INT) ends the client with its status.
#[test]
fn wait_forwards_signals_to_the_job() {
    let (mut r, sock, dir) = operate("op-waitsig", &["-r", "/bin/sleep", "1000"]);
    let job = named_recorder(&dir, "fwd", &["1", "3", "10", "12", "15", "28", "x2"]);
    let client = spawn_client(&sock, &["-wait", "-r", s(&job)], None);
    let cpid = client.id() as i32;
    let _cguard = KillOnPanic(vec![cpid]);
    wait_exists(&dir.join("fwd.ready"));
    let order = [SIGUSR1, SIGWINCH, SIGHUP, SIGQUIT, SIGUSR2, SIGTERM, SIGINT];
    for sig in order {
        kill(cpid, sig);
        wait_got(&mut r, "fwd", sig);
    }
    let c = finish_client(client, "wait client");
    assert_eq!(c.code, 0, "{c:?}");
    assert_eq!(c.stderr, "", "{c:?}");
    assert_eq!(
        got_sigs(&dir, "fwd"),
        order,
        "forwarded out of order or twice"
    );
    r.signal(SIGTERM);
    r.wait();
}

/// SPEC §5: a client that goes away (SIGKILL: it can forward nothing)
/// leaves its job a SIGHUP, as a closed terminal would; a job that
/// survives it runs on as an ordinary submitted process (listed, stopped
/// with the container).
#[test]
fn killed_client_leaves_its_job_a_sighup() {
    let (mut r, sock, dir) = operate("op-waitkill", &["-r", "/bin/sleep", "1000"]);
    let job = named_recorder(&dir, "orphan", &["1", "x15"]);
    let mut client = spawn_client(&sock, &["-wait", "-r", s(&job)], None);
    wait_exists(&dir.join("orphan.ready"));
    let pid = read_pid(&dir, "orphan.pid");
    client.kill().unwrap();
    wait_child(&mut client, "the killed client");
    wait_got(&mut r, "orphan", SIGHUP);
    assert!(
        list(&sock).iter().any(|(p, _)| *p == pid),
        "the job is no longer managed"
    );
    r.signal(SIGTERM);
    let out = r.wait();
    assert_eq!(
        got_sigs(&dir, "orphan"),
        [SIGHUP, SIGTERM],
        "{}",
        out.dump()
    );
}

/// SPEC §5: waiting clients are bounded, and one over the bound is
/// refused before anything starts (its marker never appears; a later plain
/// `-r`, whose marker does, is the sentinel); the waiting ones never lock
/// out a plain client; when the container stops, each waiting client
/// exits with its job's status (143).
#[test]
fn waiting_clients_are_bounded() {
    const TRIES: usize = 64;
    let (r, sock, dir) = operate("op-waitbound", &["-r", "/bin/sleep", "1000"]);
    let mut guard = KillOnPanic(vec![r.pid()]);
    let hold = script(&dir, "hold.sh", "touch \"marker-$1\"\nexec sleep 1000\n");
    let mut clients = Vec::new();
    let mut refused = None;
    for i in 0..TRIES {
        let mut c = spawn_client(&sock, &["-wait", "-r", s(&hold), &i.to_string()], None);
        guard.0.push(c.id() as i32);
        let marker = dir.join(format!("marker-{i}"));
        let deadline = Instant::now() + WAIT;
        let exited = loop {
            if marker.exists() {
                break false;
            }
            if let Ok(Some(_)) = c.try_wait() {
                break true;
            }
            assert!(
                Instant::now() < deadline,
                "client {i}: neither started nor refused"
            );
            std::thread::sleep(Duration::from_millis(10));
        };
        if exited {
            let got = finish_client(c, "the refused client");
            assert_eq!(got.code, 1, "client {i}: {got:?}");
            assert!(got.stderr.starts_with("dinit-submit: error: "), "{got:?}");
            refused = Some(i);
            break;
        }
        clients.push(c);
    }
    let bound = refused.unwrap_or_else(|| panic!("{TRIES} waiting clients, none refused"));
    assert!(bound >= 1, "not even one waiting client");
    // Plain clients are still served, and the sentinel proves the refused
    // one started nothing.
    let c = submit(&sock, &["-r", s(&hold), "sentinel"]);
    assert_eq!(c.code, 0, "a plain client was locked out: {c:?}");
    wait_exists(&dir.join("marker-sentinel"));
    assert!(
        !dir.join(format!("marker-{bound}")).exists(),
        "the refused -wait started its job"
    );
    assert_eq!(
        list(&sock).len(),
        bound + 2,
        "primary, {bound} jobs, sentinel"
    );
    r.signal(SIGTERM);
    for (i, c) in clients.into_iter().enumerate() {
        let got = finish_client(c, "a waiting client");
        assert_eq!(got.code, 143, "client {i}: {got:?}");
    }
    r.wait();
}

/// SPEC §5: `-wait` with more than one `-r` group is refused by the
/// client before it connects (exit 2) and by the server (nothing starts).
#[test]
fn wait_takes_exactly_one_group() {
    let (r, sock, dir) = operate("op-waitgroups", &["-r", "/bin/sleep", "1000"]);
    let mark = script(&dir, "mark.sh", "touch \"marker-$1\"\n");
    let c = submit(&sock, &["-wait", "-r", s(&mark), "a", "-r", s(&mark), "b"]);
    assert_eq!(c.code, 2, "{c:?}");
    assert!(
        c.stderr.contains("-wait takes exactly one -r group"),
        "{c:?}"
    );
    let mut stream = UnixStream::connect(&sock).unwrap();
    let (_rds, wrs): (Vec<_>, Vec<_>) = (0..3).map(|_| pipe()).unzip();
    let fds: Vec<RawFd> = wrs.iter().map(|w| w.as_raw_fd()).collect();
    let line = format!("-wait -r {m} c -r {m} d\n", m = s(&mark));
    send_with_fds(&stream, line.as_bytes(), &fds);
    let reply = read_reply(&mut stream);
    error_reason(&reply);
    let c = submit(&sock, &["-r", s(&mark), "sentinel"]);
    assert_eq!(c.code, 0, "{c:?}");
    wait_exists(&dir.join("marker-sentinel"));
    for m in ["a", "b", "c", "d"] {
        assert!(!dir.join(format!("marker-{m}")).exists(), "{m} started");
    }
    r.signal(SIGTERM);
    r.wait();
}

/// SPEC §5: `-wait` without passed descriptors is refused (nothing
/// starts); more descriptors than stdin, stdout and stderr are refused and
/// none of them stays open in dinit; descriptors sent with a line that
/// does not take any (`-list`, `-r`) are closed too.
#[test]
fn passed_descriptors_are_checked_and_never_kept() {
    let (r, sock, dir) = operate("op-fds", &["-r", "/bin/sleep", "1000"]);
    let mark = script(&dir, "mark.sh", "touch \"marker-$1\"\n");
    // No descriptors at all.
    let reply = raw(&sock, format!("-wait -r {} nofds\n", s(&mark)).as_bytes());
    error_reason(&reply);
    // Each case: a line and how many pipes' write ends go with it.
    let cases = [
        (format!("-wait -r {} toomany\n", s(&mark)), 10, false),
        (format!("-wait -r {} four\n", s(&mark)), 4, false),
        ("-list\n".to_string(), 3, true),
        (format!("-r {} plain\n", s(&mark)), 3, true),
        (format!("-wait -r {} two\n", s(&mark)), 2, false),
    ];
    for (line, n, ok) in cases {
        let (rds, wrs): (Vec<_>, Vec<_>) = (0..n).map(|_| pipe()).unzip();
        let fds: Vec<RawFd> = wrs.iter().map(|w| w.as_raw_fd()).collect();
        let mut stream = UnixStream::connect(&sock).unwrap();
        send_with_fds(&stream, line.as_bytes(), &fds);
        let reply = read_reply(&mut stream);
        if ok {
            assert!(!reply.starts_with("error"), "{line:?}: {reply:?}");
        } else {
            error_reason(&reply);
        }
        drop(wrs);
        for (i, rd) in rds.iter().enumerate() {
            assert!(
                writers_gone_within(rd),
                "{line:?}: dinit kept passed descriptor {i} of {n}"
            );
        }
    }
    let c = submit(&sock, &["-r", s(&mark), "sentinel"]);
    assert_eq!(c.code, 0, "{c:?}");
    wait_exists(&dir.join("marker-sentinel"));
    for m in ["nofds", "toomany", "four", "two"] {
        assert!(!dir.join(format!("marker-{m}")).exists(), "{m} started");
    }
    assert!(dir.join("marker-plain").exists());
    r.signal(SIGTERM);
    r.wait();
}

/// Issue 16: descriptors passed with `-wait` are closed in dinit once the
/// job has them: under RLIMIT_NOFILE 24, 100 jobs in a row all run, and
/// dinit ends with the descriptors it started with.
#[test]
fn no_descriptor_leaks_under_an_fd_limit() {
    let d = Dinit::new("op-fdlimit");
    let sock = d.sock();
    let r = up(d.under(["prlimit", "--nofile=24:24", "--"]).args([
        "-socket",
        &sock,
        "-r",
        "/bin/sleep",
        "1000",
    ]));
    let dinit = r.pid();
    let base = fds_of(dinit);
    for i in 0..100 {
        let c = finish_client(
            spawn_client(&sock, &["-wait", "-r", "/bin/echo", &i.to_string()], None),
            "wait client",
        );
        assert_eq!(
            (c.code, c.stdout.trim()),
            (0, i.to_string().as_str()),
            "job {i}: {c:?}"
        );
    }
    // dinit ends with the descriptors it started with.
    wait_fds(dinit, &base);
    r.signal(SIGTERM);
    r.wait();
}

// ---------------------------------------------------------------------------
// Inherited descriptors, LISTEN_PID

/// A script that writes `NAME.fds`: its pid, which of fds 3 and 4 it has
/// open (looked up with `test -e`, which opens nothing, before the script
/// opens anything), and its LISTEN_* variables; with `-w` it writes its
/// name into fds 3 and 4. Then, unless it is the `start` command, it waits
/// for the file `release`.
fn fd_reporter(dir: &Path) -> PathBuf {
    script(
        dir,
        "report.sh",
        "name=$1\n\
         has=\n\
         for n in 3 4; do if [ -e /proc/$$/fd/$n ]; then has=\"$has fd=$n\"; fi; done\n\
         if [ \"$2\" = -w ]; then echo \"$name\" >&3; echo \"$name\" >&4; fi\n\
         { echo \"pid=$$\"; for f in $has; do echo \"$f\"; done; env | grep '^LISTEN_'; } > \"$name.tmp\"\n\
         mv \"$name.tmp\" \"$name.fds\"\n\
         [ \"$name\" = start ] && exit 0\n\
         while [ ! -e release ]; do sleep 0.05; done\n",
    )
}

/// What a reporter wrote: its pid, the fds of 3 and 4 it had, its LISTEN_*
/// variables.
fn reported(dir: &Path, name: &str) -> (i32, Vec<i32>, Vec<String>) {
    let text = fs::read_to_string(dir.join(format!("{name}.fds"))).unwrap();
    let mut pid = 0;
    let mut fds = Vec::new();
    let mut vars = Vec::new();
    for l in text.lines() {
        if let Some(p) = l.strip_prefix("pid=") {
            pid = p.parse().unwrap();
        } else if let Some(n) = l.strip_prefix("fd=") {
            fds.push(n.parse().unwrap());
        } else if l.starts_with("LISTEN_") {
            vars.push(l.to_string());
        }
    }
    (pid, fds, vars)
}

/// dinit with fds 3 and 4 inherited (write ends of two pipes), env `env`
/// and a wrapper `under` (empty for none); a `-start` reporter, a
/// non-primary reporter `other`, the primary reporter `primary`; then a
/// reporter submitted through the socket. Returns the reports and the
/// pipes' read ends, and what each pipe gave.
struct Inherit {
    dir: PathBuf,
    reports: Vec<(String, i32, Vec<i32>, Vec<String>)>,
    /// What the pipes on fds 3 and 4 carried.
    carried: [String; 2],
    /// Whether dinit, after the primary started, still had either pipe.
    dinit_kept: bool,
}

fn inherit_case(name: &str, env: &[(&str, &str)], under: &[&str]) -> Inherit {
    let mut d = Dinit::new(name);
    let dir = d.dir.clone();
    let sock = d.sock();
    let rep = fd_reporter(&dir);
    let rep = s(&rep).to_string();
    for (k, v) in env {
        d = d.env(k, v);
    }
    if !under.is_empty() {
        d = d.under(under);
    }
    let start = format!("/bin/sh {rep} start");
    let d = d.args([
        "-socket", &sock, "-start", &start, "-r", "/bin/sh", &rep, "other", "-r", "/bin/sh", &rep,
        "primary", "-w",
    ]);
    let pipes = [pipe(), pipe()];
    let links = [
        fd_link(pipes[0].1.as_raw_fd()),
        fd_link(pipes[1].1.as_raw_fd()),
    ];
    let (w3, w4) = (pipes[0].1.as_raw_fd(), pipes[1].1.as_raw_fd());
    let mut r = d.spawn_with(|cmd| {
        // SAFETY: only dup2 and fcntl run between fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                // 4 first: when w3 is 4, dup2(w3, 3) must not lose it.
                let tmp = libc::fcntl(w3, libc::F_DUPFD_CLOEXEC, 10);
                dup_to(w4, 4)?;
                dup_to(tmp, 3)
            });
        }
    });
    let [(rd3, w3), (rd4, w4)] = pipes;
    drop((w3, w4));
    let release = Release(dir.join("release"));
    r.wait_file("primary.fds", "pid=");
    r.wait_file("other.fds", "pid=");
    // The primary has exec'd: dinit's copies are to be gone.
    let dinit = r.pid();
    let deadline = Instant::now() + WAIT;
    let mut dinit_kept = true;
    while Instant::now() < deadline {
        let have = fd_links(dinit);
        if !links.iter().any(|l| have.contains(l)) {
            dinit_kept = false;
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let c = submit(&sock, &["-r", "/bin/sh", &rep, "submitted"]);
    assert_eq!(c.code, 0, "{c:?}");
    r.wait_file("submitted.fds", "pid=");
    drop(release);
    let out = r.wait();
    assert_eq!(out.code, 0, "{}", out.dump());
    let carried = [
        read_to_end_bounded(fs::File::from(rd3), "the pipe on fd 3"),
        read_to_end_bounded(fs::File::from(rd4), "the pipe on fd 4"),
    ];
    let reports = ["start", "other", "primary", "submitted"]
        .iter()
        .map(|n| {
            let (pid, fds, vars) = reported(&dir, n);
            (n.to_string(), pid, fds, vars)
        })
        .collect();
    Inherit {
        dir,
        reports,
        carried,
        dinit_kept,
    }
}

impl Inherit {
    fn get(&self, name: &str) -> &(String, i32, Vec<i32>, Vec<String>) {
        self.reports.iter().find(|r| r.0 == name).unwrap()
    }

    /// The primary has fds 3 and 4 and wrote into both pipes; no other
    /// process has either; dinit closed its copies.
    fn assert_primary_only(&self) {
        let (_, _, fds, _) = self.get("primary");
        assert!(fds.contains(&3) && fds.contains(&4), "primary: {fds:?}");
        assert_eq!(self.carried, ["primary\n", "primary\n"]);
        for n in ["start", "other", "submitted"] {
            let (_, _, fds, _) = self.get(n);
            assert!(
                !fds.contains(&3) && !fds.contains(&4),
                "{n} got an inherited descriptor: {fds:?} ({})",
                self.dir.display()
            );
        }
        assert!(
            !self.dinit_kept,
            "dinit kept its copies after the primary started"
        );
    }
}

/// SPEC §11 (`podman run --preserve-fds`, a parent's pipe): inherited
/// descriptors go to the primary with their numbers, to no other process
/// (`-start`, another `-r`, a submitted one), and dinit closes its copies.
/// Without `LISTEN_PID` no environment changes.
#[test]
fn inherited_descriptors_go_to_the_primary_only() {
    let got = inherit_case("op-inherit", &[("LISTEN_FDS", "2")], &[]);
    got.assert_primary_only();
    for n in ["start", "other", "primary", "submitted"] {
        assert_eq!(got.get(n).3, ["LISTEN_FDS=2"], "{n}");
    }
}

/// SPEC §11: when `LISTEN_PID` is dinit's own pid (socket activation
/// meant for dinit), the primary gets `LISTEN_PID=<its own pid>` and
/// `LISTEN_FDS`/`LISTEN_FDNAMES` as they were; every other process gets
/// none of the three.
#[test]
fn listen_pid_rewritten_for_the_primary_removed_for_others() {
    // sh sets LISTEN_PID to its own pid and execs dinit, which keeps it.
    let wrapper = [
        "sh",
        "-c",
        "export LISTEN_PID=$$ LISTEN_FDS=2 LISTEN_FDNAMES=a:b; exec \"$0\" \"$@\"",
    ];
    let got = inherit_case("op-listenpid", &[], &wrapper);
    got.assert_primary_only();
    let (_, pid, _, vars) = got.get("primary");
    let mut vars = vars.clone();
    vars.sort();
    assert_eq!(
        vars,
        [
            "LISTEN_FDNAMES=a:b".to_string(),
            "LISTEN_FDS=2".to_string(),
            format!("LISTEN_PID={pid}")
        ]
    );
    for n in ["start", "other", "submitted"] {
        assert!(got.get(n).3.is_empty(), "{n}: {:?}", got.get(n).3);
    }
}

/// SPEC §11: a `LISTEN_PID` that is not dinit's was not meant for it:
/// every environment keeps it as it was (the descriptors still go to the
/// primary only).
#[test]
fn listen_pid_of_another_process_is_left_alone() {
    let got = inherit_case(
        "op-listenother",
        &[("LISTEN_PID", "1"), ("LISTEN_FDS", "2")],
        &[],
    );
    got.assert_primary_only();
    for n in ["start", "other", "primary", "submitted"] {
        let mut v = got.get(n).3.clone();
        v.sort();
        assert_eq!(v, ["LISTEN_FDS=2", "LISTEN_PID=1"], "{n}");
    }
}

/// SPEC §11, issue 16: `systemd-socket-activate -l SOCKET dinit -- server`
/// works as with catatonit: the server, dinit's primary, accepts on fd 3
/// and sees `LISTEN_PID` equal to its own pid and `LISTEN_FDS=1`.
#[test]
fn systemd_socket_activate_serves_through_dinit() {
    assert!(
        on_path("systemd-socket-activate"),
        "systemd-socket-activate is missing: run scripts/setup.sh test (Debian package systemd)"
    );
    let dir = workdir("op-activate");
    let listen = dir.join("web.sock");
    let server = "import os, socket\n\
                  s = socket.socket(fileno=3)\n\
                  c, _ = s.accept()\n\
                  c.sendall(('pid=%d LISTEN_PID=%s LISTEN_FDS=%s\\n' % (os.getpid(), \
                  os.environ.get('LISTEN_PID'), os.environ.get('LISTEN_FDS'))).encode())\n";
    let mut cmd = Command::new("systemd-socket-activate");
    cmd.args(["-l", s(&listen), "-E", "PATH"])
        .arg(bin())
        .args(["-socket", "", "--", python(), "-c", server])
        .env_clear()
        .env("PATH", PATH)
        .current_dir(&dir)
        .stdin(Stdio::null())
        .stdout(fs::File::create(dir.join("stdout")).unwrap())
        .stderr(fs::File::create(dir.join("stderr")).unwrap());
    let mut child = cmd.spawn().expect("cannot run systemd-socket-activate");
    let _guard = KillOnPanic(vec![child.id() as i32]);
    wait_exists(&listen);
    let mut conn = UnixStream::connect(&listen).unwrap();
    let reply = read_reply(&mut conn);
    let st = wait_child(&mut child, "systemd-socket-activate with dinit");
    let log = fs::read_to_string(dir.join("stderr")).unwrap_or_default();
    let fields: Vec<&str> = reply.split_whitespace().collect();
    assert_eq!(fields.len(), 3, "reply {reply:?}\nlog:\n{log}");
    let pid = fields[0].strip_prefix("pid=").unwrap();
    assert_eq!(
        fields[1],
        format!("LISTEN_PID={pid}"),
        "the server was not told the socket is its own\nlog:\n{log}"
    );
    assert_eq!(fields[2], "LISTEN_FDS=1", "{reply:?}");
    assert!(
        st.success(),
        "dinit exits with the server's 0: {st}\nlog:\n{log}"
    );
    assert!(log.contains("all processes exited, goodbye!"), "{log}");
}

/// SPEC §5: more clients than may wait, waiting over and over, while
/// `-list` clients come and go: each gets its own job's status, or the
/// refusal of one over the bound; no client is taken for gone while it
/// waits (a connection's number is reused all the time here, while fork
/// children hold copies of dinit's descriptors for a moment), and no job
/// gets a SIGHUP.
#[test]
fn concurrent_waiting_clients_each_get_their_own_status() {
    const CLIENTS: usize = 12;
    const ROUNDS: usize = 20;
    let (r, sock, dir) = operate("op-waitmany", &["-r", "/bin/sleep", "1000"]);
    let job = script(&dir, "job.sh", "exit \"$1\"\n");
    let job = s(&job).to_string();
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let lists = {
        let (sock, done) = (sock.clone(), done.clone());
        std::thread::spawn(move || {
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                let reply = raw(&sock, b"-list\n");
                assert!(reply.starts_with("pid "), "{reply:?}");
            }
        })
    };
    let waiters: Vec<_> = (0..CLIENTS)
        .map(|i| {
            let (sock, job) = (sock.clone(), job.clone());
            std::thread::spawn(move || {
                let mut waited = 0;
                for round in 0..ROUNDS {
                    let code = (i * ROUNDS + round) % 100 + 1;
                    let args = ["-wait", "-r", &job, &code.to_string()];
                    let c = finish_client(spawn_client(&sock, &args, None), "wait client");
                    if c.code == 1 && c.stderr.contains("too many waiting clients") {
                        continue;
                    }
                    assert_eq!((c.code, c.stderr.as_str()), (code as i32, ""), "{c:?}");
                    waited += 1;
                }
                waited
            })
        })
        .collect();
    let waited: usize = waiters
        .into_iter()
        .map(|t| t.join().expect("a waiting client got another status"))
        .sum();
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    lists.join().expect("a -list client was not served");
    assert!(waited > 0, "every -wait was refused");
    r.signal(SIGTERM);
    let out = r.wait();
    assert!(!out.stderr.contains("went away"), "{}", out.dump());
}
