//! The tools the hostile tests stand on, each proved here before anything
//! depends on it.
//!
//! * `HungFs`: a FUSE file system that leaves some requests unanswered
//!   (`scripts/hungfs.py`, speaking the protocol on /dev/fuse), mounted for
//!   one test and always torn down: the server killed first (the kernel
//!   then fails every request still waiting, with ENOTCONN), then the
//!   processes left on it, then `umount -l`; on panic too (`Drop`). A
//!   process waiting for an answer sits in `request_wait_answer`: in S
//!   while any signal may interrupt the wait, in D once a fatal one came
//!   and the server already has the request (fs/fuse/dev.c): a SIGKILL
//!   cannot free it, only the answer or the server's death can.
//! * `util::not_killed`: tells an undisturbed sleeper from a process that
//!   was sent SIGKILL, with no pause between the kill and the look.
//!
//! A process that may be stuck on the mount is never waited for without
//! a bound, and never before the guard has killed the server: a blocking
//! wait there would hold the test, and the guard's teardown, forever.
use crate::signals::python;
use crate::util::*;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

const SIGKILL: i32 = 9;

/// The server: one Python file, run with the real python3.
const SERVER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/hungfs.py");

/// A hung file system mounted at `dir` for one test (see the module
/// comment): `ok` (a script, every request answered), `prog` (OPEN never
/// answered), `hang` (LOOKUP never answered), `flushhang` (FLUSH never
/// answered).
pub struct HungFs {
    /// The mount point.
    pub dir: PathBuf,
    server: Option<Child>,
    /// The server's stderr: a line `hung OP NAME pid PID` per request it
    /// leaves unanswered.
    log: PathBuf,
    /// Processes to SIGKILL at teardown, once the server is gone.
    tracked: Vec<i32>,
}

impl HungFs {
    /// Mount one at `parent/hung` and wait, bounded by `WAIT`, until it is
    /// live (INIT answered, the mount in /proc/self/mountinfo). Needs root
    /// and /dev/fuse: without them the test fails, saying so.
    pub fn mount(parent: &Path) -> HungFs {
        assert!(is_root(), "a FUSE mount needs root: run the tests as root");
        assert!(
            Path::new("/dev/fuse").exists(),
            "/dev/fuse is missing: load the fuse module"
        );
        let dir = parent.join("hung");
        fs::create_dir_all(&dir).unwrap();
        let out = parent.join("hungfs.out");
        let log = parent.join("hungfs.log");
        let server = Command::new(python())
            .arg(SERVER)
            .arg(&dir)
            .stdin(Stdio::null())
            .stdout(fs::File::create(&out).unwrap())
            .stderr(fs::File::create(&log).unwrap())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {SERVER}: {e}"));
        // From here on, Drop tears down whatever happens.
        let mut hung = HungFs {
            dir,
            server: Some(server),
            log,
            tracked: Vec::new(),
        };
        let mount_point = hung.dir.to_str().unwrap().to_string();
        let deadline = Instant::now() + WAIT;
        loop {
            let ready = fs::read_to_string(&out)
                .unwrap_or_default()
                .contains("ready");
            if ready && mounts_under(&hung.dir).contains(&mount_point) {
                return hung;
            }
            if let Some(st) = hung.server.as_mut().unwrap().try_wait().unwrap() {
                panic!(
                    "hungfs exited ({st}) before its mount was live:\n{}",
                    fs::read_to_string(&hung.log).unwrap_or_default()
                );
            }
            assert!(
                Instant::now() < deadline,
                "hungfs did not get {mount_point} live within {WAIT:?}"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The path of `name` on the mount, as a string for command lines.
    pub fn path(&self, name: &str) -> String {
        self.dir.join(name).to_str().unwrap().to_string()
    }

    pub fn server_pid(&self) -> Option<i32> {
        self.server.as_ref().map(|c| c.id() as i32)
    }

    /// The requests left unanswered so far: (operation, name, the caller's
    /// pid as the kernel gave it, in the server's PID namespace: the
    /// host's).
    pub fn hung(&self) -> Vec<(String, String, i32)> {
        fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| {
                let w: Vec<&str> = l.split(' ').collect();
                match w[..] {
                    ["hung", op, name, "pid", pid] => {
                        Some((op.to_string(), name.to_string(), pid.parse().ok()?))
                    }
                    _ => None,
                }
            })
            .collect()
    }

    /// Wait (bounded by `WAIT`) until the server has left `op` on `name`
    /// unanswered; the caller's pid.
    pub fn wait_hung(&self, op: &str, name: &str) -> i32 {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(&(_, _, pid)) = self.hung().iter().find(|h| h.0 == op && h.1 == name) {
                return pid;
            }
            assert!(
                Instant::now() < deadline,
                "no {op} of {name} reached hungfs within {WAIT:?}; it left {:?}",
                self.hung()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// SIGKILL `pid` at teardown, after the server (a process the test
    /// started that would otherwise outlive it).
    pub fn track(&mut self, pid: i32) {
        self.tracked.push(pid);
    }

    /// Tear down now (again: nothing). The server first: its death fails
    /// every request still waiting. Then the tracked processes and any
    /// that still hold a file, a working directory or a root on the mount
    /// (only this test's processes can: the directory is its own), then
    /// `umount -l`.
    pub fn teardown(&mut self) {
        let Some(mut server) = self.server.take() else {
            return;
        };
        let _ = server.kill();
        // The server only reads and writes /dev/fuse: SIGKILL ends it.
        let _ = server.wait();
        let mut left = std::mem::take(&mut self.tracked);
        left.extend(holders_of(&self.dir));
        for pid in left {
            if alive(pid) {
                // SAFETY: kill takes two integers and touches no memory.
                unsafe { libc::kill(pid, SIGKILL) };
            }
        }
        unmount_under(&self.dir);
    }
}

impl Drop for HungFs {
    fn drop(&mut self) {
        self.teardown();
    }
}

/// Processes with an open file, working directory or root at or below
/// `dir` (reading those links never touches the file system they name).
fn holders_of(dir: &Path) -> Vec<i32> {
    let me = std::process::id() as i32;
    let under = |link: PathBuf| fs::read_link(link).is_ok_and(|p| p.starts_with(dir));
    fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| pid != me)
        .filter(|&pid| {
            let base = PathBuf::from(format!("/proc/{pid}"));
            under(base.join("cwd"))
                || under(base.join("root"))
                || fs::read_dir(base.join("fd"))
                    .into_iter()
                    .flatten()
                    .flatten()
                    .any(|fd| under(fd.path()))
        })
        .collect()
}

/// Where `pid` sleeps in the kernel: /proc/PID/wchan, or the top of
/// /proc/PID/stack when wchan says nothing.
pub fn wchan(pid: i32) -> String {
    let w = fs::read_to_string(format!("/proc/{pid}/wchan")).unwrap_or_default();
    if !w.is_empty() && w != "0" {
        return w;
    }
    fs::read_to_string(format!("/proc/{pid}/stack"))
        .unwrap_or_default()
        .lines()
        .next()
        .unwrap_or("")
        .to_string()
}

/// Whether `pid` waits for a FUSE server's answer: `request_wait_answer`
/// is its wchan or in its kernel stack.
pub fn in_fuse_wait(pid: i32) -> bool {
    wchan(pid).contains("request_wait_answer")
        || fs::read_to_string(format!("/proc/{pid}/stack"))
            .is_ok_and(|s| s.contains("request_wait_answer"))
}

/// Wait (bounded by `WAIT`) until `pid` waits for a FUSE answer in one of
/// the states `states` (S, D); the state seen.
pub fn wait_fuse_state(pid: i32, states: &[char]) -> char {
    let deadline = Instant::now() + WAIT;
    loop {
        let state = proc_state(pid);
        if states.contains(&state) && in_fuse_wait(pid) {
            return state;
        }
        assert!(
            Instant::now() < deadline,
            "pid {pid} never waited for FUSE in state {states:?}: state {state}, wchan {:?}",
            wchan(pid)
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Run `cmd` on the file system (stdout and stderr in files under `dir`),
/// bounded by `WAIT`; on timeout tear the file system down first, so that
/// the kill and the wait that follow cannot hang.
fn run_on(hung: &mut HungFs, mut cmd: Command, dir: &Path) -> Output {
    let (out, err) = (dir.join("cmd.out"), dir.join("cmd.err"));
    cmd.stdin(Stdio::null())
        .stdout(fs::File::create(&out).unwrap())
        .stderr(fs::File::create(&err).unwrap());
    let start = Instant::now();
    let mut child = cmd.spawn().unwrap();
    let code = wait_bounded(&mut child, hung, &format!("{cmd:?}"));
    Output {
        code,
        stdout: fs::read_to_string(&out).unwrap_or_default(),
        stderr: fs::read_to_string(&err).unwrap_or_default(),
        elapsed: start.elapsed(),
    }
}

/// Wait for `child` (bounded by `WAIT`): its exit code, or 128+N for
/// signal N. On timeout the file system goes first, then the child, and
/// the test fails.
pub fn wait_bounded(child: &mut Child, hung: &mut HungFs, what: &str) -> i32 {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            return code_of(st);
        }
        if Instant::now() > deadline {
            hung.teardown();
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} did not exit within {WAIT:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The control files work: a listing, attributes, a read, an exec of the
/// `#!/bin/sh` script `ok`; nothing is left unanswered.
#[test]
fn hungfs_answers_the_control_requests() {
    let dir = workdir("hungfs-ok");
    let mut hung = HungFs::mount(&dir);
    let mut ls = Command::new("ls");
    ls.arg(&hung.dir);
    let out = run_on(&mut hung, ls, &dir);
    assert_eq!(out.code, 0, "{}", out.dump());
    let names: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(names, ["flushhang", "hang", "ok", "prog"], "{}", out.dump());
    // LOOKUP and GETATTR of prog and flushhang are answered; only their
    // OPEN and FLUSH are not.
    let mut stat = Command::new("stat");
    stat.args(["-c", "%n %F %a %s"])
        .args(["ok", "prog", "flushhang"].map(|n| hung.path(n)));
    let out = run_on(&mut hung, stat, &dir);
    assert_eq!(out.code, 0, "{}", out.dump());
    let want = ["ok regular file 755 30", "prog regular file 755 20"];
    for (line, w) in out.stdout.lines().zip(want) {
        assert!(line.ends_with(w), "{line:?} is not {w:?}\n{}", out.dump());
    }
    let ok = Command::new(hung.path("ok"));
    let out = run_on(&mut hung, ok, &dir);
    assert_eq!(out.code, 0, "{}", out.dump());
    assert_eq!(out.stdout, "hungfs ok \n", "{}", out.dump());
    let mut cat = Command::new("cat");
    cat.arg(hung.path("ok"));
    let out = run_on(&mut hung, cat, &dir);
    assert!(out.stdout.starts_with("#!/bin/sh\n"), "{}", out.dump());
    assert_eq!(hung.hung(), [], "requests left unanswered");
}

/// `cat prog`: its OPEN is never answered. cat waits in the kernel, stays
/// there after SIGKILL (D) and leaves once the server is killed.
#[test]
fn hungfs_open_of_prog_waits_until_the_server_dies() {
    waits_until_the_server_dies("hungfs-open", "cat", "OPEN", "prog");
}

/// `stat hang`: its LOOKUP is never answered; the same.
#[test]
fn hungfs_lookup_of_hang_waits_until_the_server_dies() {
    waits_until_the_server_dies("hungfs-lookup", "stat", "LOOKUP", "hang");
}

fn waits_until_the_server_dies(name: &str, prog: &str, op: &str, file: &str) {
    let dir = workdir(name);
    let mut hung = HungFs::mount(&dir);
    let path = hung.path(file);
    let (mut child, pid) = spawn_on(&mut hung, prog, &[&path]);
    assert_eq!(hung.wait_hung(op, file), pid, "the caller the kernel named");
    // Interruptible while no signal came.
    wait_fuse_state(pid, &['S', 'D']);
    // Meanwhile the rest of the file system answers (lookups in one
    // directory run in parallel: FUSE_PARALLEL_DIROPS).
    let ok = Command::new(hung.path("ok"));
    let out = run_on(&mut hung, ok, &workdir(name));
    assert_eq!(out.stdout, "hungfs ok \n", "{}", out.dump());
    // SIGKILL cannot free it: the server has the request.
    // SAFETY: kill takes two integers and touches no memory.
    unsafe { libc::kill(pid, SIGKILL) };
    wait_fuse_state(pid, &['D']);
    assert!(child.try_wait().unwrap().is_none(), "{prog} left the wait");
    hung.teardown();
    let code = wait_bounded(&mut child, &mut hung, prog);
    assert_eq!(code, 128 + SIGKILL, "{prog} ended otherwise");
}

/// A process holding `flushhang` open and SIGKILLed stays in D (its exit
/// closes the file, and that FLUSH is never answered) until the server is
/// killed: the "process stuck in the kernel after SIGKILL" case.
#[test]
fn hungfs_flush_holds_a_sigkilled_process_in_d_state() {
    let dir = workdir("hungfs-flush");
    let mut hung = HungFs::mount(&dir);
    let (mut child, pid) = hold_flushhang(&mut hung);
    assert_eq!(
        hung.hung(),
        [],
        "opening flushhang left something unanswered"
    );
    // SAFETY: kill takes two integers and touches no memory.
    unsafe { libc::kill(pid, SIGKILL) };
    assert_eq!(hung.wait_hung("FLUSH", "flushhang"), pid);
    wait_fuse_state(pid, &['D']);
    assert!(child.try_wait().unwrap().is_none(), "it left the wait");
    hung.teardown();
    assert_eq!(wait_bounded(&mut child, &mut hung, "sleep"), 128 + SIGKILL);
}

/// `sleep 1000` with `flushhang` open as fd 3 (`sh -c 'exec ... 3<FILE'`:
/// the shell opens it and becomes sleep, so no other process holds it and
/// closes it). Waits, bounded, until it is so; the child and its pid.
pub fn hold_flushhang(hung: &mut HungFs) -> (Child, i32) {
    let file = hung.path("flushhang");
    let holder = format!("exec /bin/sleep 1000 3< {file}");
    let (child, pid) = spawn_on(hung, "/bin/sh", &["-c", &holder]);
    wait_holding(pid, &file);
    (child, pid)
}

/// Start `prog ARGS` (no stdin, output dropped), to be SIGKILLed at
/// teardown after the server; the child and its pid.
fn spawn_on(hung: &mut HungFs, prog: &str, args: &[&str]) -> (Child, i32) {
    let child = Command::new(prog)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {prog}: {e}"));
    let pid = child.id() as i32;
    hung.track(pid);
    (child, pid)
}

/// Wait (bounded by `WAIT`) until `pid` runs sleep with `file` as fd 3.
pub fn wait_holding(pid: i32, file: &str) {
    let deadline = Instant::now() + WAIT;
    loop {
        let comm = fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        let fd3 = fs::read_link(format!("/proc/{pid}/fd/3")).unwrap_or_default();
        if comm.trim() == "sleep" && fd3 == Path::new(file) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "pid {pid} never ran sleep holding {file}: {comm:?}, fd 3 {fd3:?}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

const ON_PURPOSE: &str = "a test failing with its file system hung (on purpose)";

/// The guard tears down when a test panics with its file system hung: the
/// server is gone, so are a process stuck in a LOOKUP (tracked) and one
/// holding `flushhang` (found by its open file), and the mount.
#[test]
fn hungfs_guard_tears_down_on_panic() {
    let dir = workdir("hungfs-panic");
    let children: Mutex<Vec<Child>> = Mutex::new(Vec::new());
    let server = Mutex::new(None);
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut hung = HungFs::mount(&dir);
        *server.lock().unwrap() = hung.server_pid();
        let path = hung.path("hang");
        let (stuck, _) = spawn_on(&mut hung, "stat", &[&path]);
        children.lock().unwrap().push(stuck);
        hung.wait_hung("LOOKUP", "hang");
        let (holder, pid) = hold_flushhang(&mut hung);
        // Found by its open file, not tracked.
        hung.tracked.retain(|&p| p != pid);
        children.lock().unwrap().push(holder);
        std::panic::panic_any(ON_PURPOSE);
    }));
    // That panic, not another one on the way.
    let why = match &result {
        Err(payload) => payload
            .downcast_ref::<&str>()
            .copied()
            .unwrap_or("another panic"),
        Ok(()) => "no panic",
    };
    assert_eq!(why, ON_PURPOSE);
    let server = server.lock().unwrap().expect("the server's pid");
    assert!(!alive(server), "the server {server} outlived the guard");
    let mount_point = dir.join("hung");
    assert_eq!(mounts_under(&mount_point), Vec::<String>::new());
    for mut child in children.into_inner().unwrap() {
        // Bounded: with the server gone nothing waits for it any more.
        wait_child(&mut child, "a process on the torn-down file system");
    }
}

/// `not_killed` sees a SIGKILL at once, with no pause between the kill
/// and the look (repeated: a race would show).
#[test]
fn not_killed_sees_a_sigkill_at_once() {
    for round in 0..50 {
        let mut child = Command::new("/bin/sleep").arg("1000").spawn().unwrap();
        let pid = child.id() as i32;
        let deadline = Instant::now() + WAIT;
        while let Err(seen) = not_killed(pid) {
            assert!(Instant::now() < deadline, "round {round}: {seen}");
            std::thread::sleep(Duration::from_millis(1));
        }
        // SAFETY: kill takes two integers and touches no memory.
        unsafe { libc::kill(pid, SIGKILL) };
        let seen = not_killed(pid);
        let _ = child.wait();
        assert!(
            seen.is_err(),
            "round {round}: a SIGKILLed sleep looked untouched"
        );
    }
}
