//! The black-box harness: runs the built dinit binary and nothing else.
//!
//! * The binary is `CARGO_BIN_EXE_dinit` (the musl build of the profile under
//!   test; `make test` uses release), or `$DINIT_BIN` to test another build
//!   (the aarch64 one under qemu, say).
//! * Every test gets a fresh directory (`/tmp/dinit-it-UID/PID/NAME-N`, as
//!   short wherever the checkout lives) for its socket, its scripts and
//!   dinit's captured stdout/stderr (files, not pipes, so a test can watch
//!   the log while dinit runs and nothing can block).
//! * A clean environment (`PATH` only, plus what the test adds).
//! * Every wait has a hard, generous bound; a timeout kills dinit and fails
//!   with its status, stdout and stderr.
//! * `as_pid1()` runs dinit as PID 1 of a new PID namespace through
//!   `unshare --pid --fork --mount-proc`.
//! * The harness never calls `waitpid(-1)`: it waits only for its own child.
#![allow(dead_code)]

use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// How long any single wait may take before the test fails. Generous: the
/// machines have two busy cores.
pub const WAIT: Duration = Duration::from_secs(30);

/// The `PATH` every test gives dinit (and so its children): SPEC §2's
/// default, spelled out so tests can check what children see.
pub const PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

pub fn bin() -> PathBuf {
    match std::env::var_os("DINIT_BIN") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => PathBuf::from(env!("CARGO_BIN_EXE_dinit")),
    }
}

pub fn is_root() -> bool {
    // SAFETY: getuid has no preconditions.
    unsafe { libc::getuid() == 0 }
}

/// The directory holding this test run's directories:
/// `/tmp/dinit-it-UID/PID`. Not the target directory: socket paths (108
/// bytes at most) and logged commands (cut at 120 bytes) must not depend on
/// how deep the checkout lives. Directories of earlier runs whose process is
/// gone are removed the first time.
fn run_root() -> &'static Path {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        // SAFETY: getuid has no preconditions.
        let base = PathBuf::from(format!("/tmp/dinit-it-{}", unsafe { libc::getuid() }));
        for entry in fs::read_dir(&base).into_iter().flatten().flatten() {
            let alive = entry
                .file_name()
                .to_str()
                .and_then(|s| s.parse::<u32>().ok())
                .is_some_and(|pid| Path::new(&format!("/proc/{pid}")).exists());
            if !alive {
                // A killed run may have left a mount there (a hung file
                // system's, whose server died with it): detach it first,
                // so that removing the tree never walks into it.
                unmount_under(&entry.path());
                let _ = fs::remove_dir_all(entry.path());
            }
        }
        base.join(std::process::id().to_string())
    })
}

/// A fresh, empty directory for one test.
pub fn workdir(name: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let n = N.fetch_add(1, Ordering::SeqCst);
    let dir = run_root().join(format!("{name}-{n}"));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// Write an executable shell script into `dir` and return its path.
pub fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    let p = dir.join(name);
    let mut f = fs::File::create(&p).unwrap();
    writeln!(f, "#!/bin/sh").unwrap();
    f.write_all(body.as_bytes()).unwrap();
    drop(f);
    fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
    p
}

pub struct Dinit {
    pub dir: PathBuf,
    args: Vec<String>,
    env: Vec<(String, String)>,
    pid1: bool,
    stdin: Option<Vec<u8>>,
    argv0: Option<PathBuf>,
    wrapper: Vec<String>,
}

impl Dinit {
    /// dinit with `-socket ""` unless the test sets a socket itself.
    pub fn new(name: &str) -> Dinit {
        Dinit {
            dir: workdir(name),
            args: Vec::new(),
            env: vec![("PATH".into(), PATH.into())],
            pid1: false,
            stdin: None,
            argv0: None,
            wrapper: Vec::new(),
        }
    }

    pub fn args<I: IntoIterator<Item = S>, S: AsRef<str>>(mut self, args: I) -> Self {
        self.args
            .extend(args.into_iter().map(|s| s.as_ref().to_string()));
        self
    }

    pub fn env(mut self, k: &str, v: &str) -> Self {
        self.env.retain(|(n, _)| n != k);
        self.env.push((k.into(), v.into()));
        self
    }

    pub fn stdin(mut self, data: &[u8]) -> Self {
        self.stdin = Some(data.to_vec());
        self
    }

    /// Run the binary through this path (a symlink, for the submit role).
    pub fn argv0(mut self, path: PathBuf) -> Self {
        self.argv0 = Some(path);
        self
    }

    /// Run dinit through a wrapper command that execs it (`setpriv`,
    /// `prlimit`, ...): the words come before the binary, and dinit keeps
    /// the wrapper's pid.
    pub fn under<I: IntoIterator<Item = S>, S: AsRef<str>>(mut self, wrapper: I) -> Self {
        self.wrapper
            .extend(wrapper.into_iter().map(|s| s.as_ref().to_string()));
        self
    }

    /// Run dinit as PID 1 of a new PID namespace.
    #[allow(clippy::wrong_self_convention)] // a builder step, named after the role
    pub fn as_pid1(mut self) -> Self {
        self.pid1 = true;
        self
    }

    /// The socket path inside this test's directory.
    pub fn sock(&self) -> String {
        self.dir.join("dinit.sock").to_string_lossy().into_owned()
    }

    pub fn command(&self) -> Command {
        let exe = self.argv0.clone().unwrap_or_else(bin);
        let mut cmd = if self.pid1 {
            let mut c = Command::new("unshare");
            c.args(["--pid", "--fork", "--mount-proc", "--kill-child"]);
            if !is_root() {
                c.args(["--user", "--map-root-user"]);
            }
            c.arg(&exe);
            c
        } else if let Some((first, rest)) = self.wrapper.split_first() {
            let mut c = Command::new(first);
            c.args(rest).arg(&exe);
            c
        } else {
            Command::new(&exe)
        };
        cmd.args(&self.args);
        cmd.env_clear();
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd.current_dir(&self.dir);
        cmd
    }

    pub fn spawn(self) -> Running {
        self.spawn_with(|_| {})
    }

    /// `spawn`, with `adjust` changing the command last (a stderr that is
    /// not the `stderr` file, a `pre_exec`, ...).
    pub fn spawn_with(self, adjust: impl FnOnce(&mut Command)) -> Running {
        let mut cmd = self.command();
        let out = fs::File::create(self.dir.join("stdout")).unwrap();
        let err = fs::File::create(self.dir.join("stderr")).unwrap();
        cmd.stdout(out).stderr(err);
        cmd.stdin(if self.stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
        adjust(&mut cmd);
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {:?}: {e}", bin()));
        if let Some(data) = &self.stdin {
            let mut si = child.stdin.take().unwrap();
            si.write_all(data).unwrap();
        }
        Running {
            child,
            dir: self.dir,
            pid1: self.pid1,
        }
    }

    /// Run to completion (bounded by `WAIT`).
    pub fn run(self) -> Output {
        self.spawn().wait()
    }
}

#[derive(Debug)]
pub struct Output {
    /// Exit code, or 128+N when the process was killed by signal N.
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Output {
    pub fn dump(&self) -> String {
        format!(
            "code {}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }

    /// Log lines (stderr) without their time stamps.
    pub fn messages(&self) -> Vec<String> {
        messages_of(&self.stderr)
    }

    /// The log lines for which `is` holds, at least one and no two in the
    /// same wall-clock second (their stamps differ): what SPEC §6 promises
    /// of rate-limited summaries. Fails the test, naming `what`, otherwise.
    pub fn one_a_second(&self, what: &str, is: impl Fn(&str) -> bool) -> Vec<&str> {
        let lines: Vec<&str> = self.stderr.lines().filter(|l| is(l)).collect();
        assert!(!lines.is_empty(), "no {what} line\n{}", self.dump());
        let mut seconds: Vec<&str> = lines.iter().map(|l| &l[..19]).collect();
        seconds.dedup();
        assert_eq!(
            seconds.len(),
            lines.len(),
            "two {what} lines in one second\n{}",
            self.dump()
        );
        lines
    }

    /// N from the message `pid N <rest>`; fails the test, showing
    /// everything dinit wrote, when there is none.
    pub fn pid_of(&self, rest: &str) -> i32 {
        find_pid(&self.messages(), rest)
            .unwrap_or_else(|| panic!("no `pid N {rest}` line\n{}", self.dump()))
    }
}

/// The messages of a log text, without their time stamps.
pub fn messages_of(log: &str) -> Vec<String> {
    log.lines()
        .map(|l| {
            l.get(20..)
                .unwrap_or(l)
                .trim_start_matches("dinit: ")
                .to_string()
        })
        .collect()
}

/// N from the message `pid N <rest>` (exactly `rest` after the pid).
pub fn find_pid(msgs: &[String], rest: &str) -> Option<i32> {
    msgs.iter().find_map(|m| {
        let (num, after) = m.strip_prefix("pid ")?.split_once(' ')?;
        (after == rest).then(|| num.parse().ok()).flatten()
    })
}

pub struct Running {
    pub child: Child,
    pub dir: PathBuf,
    pid1: bool,
}

/// A test that fails while dinit still runs leaves nothing behind: dinit
/// (or `unshare` with dinit under it) and all it runs are killed, as
/// `KillOnPanic` does for other processes. A passing test has waited for
/// dinit or let it go on purpose: nothing is killed then.
impl Drop for Running {
    fn drop(&mut self) {
        if std::thread::panicking() && matches!(self.child.try_wait(), Ok(None)) {
            kill_tree(self.child.id() as i32);
            let _ = self.child.wait();
        }
    }
}

impl Running {
    /// The pid of dinit itself (as seen from the test), also when it runs
    /// as PID 1 under `unshare`.
    pub fn pid(&self) -> i32 {
        let outer = self.child.id() as i32;
        if !self.pid1 {
            return outer;
        }
        let deadline = Instant::now() + WAIT;
        loop {
            let children = fs::read_to_string(format!("/proc/{outer}/task/{outer}/children"))
                .unwrap_or_default();
            if let Some(p) = children.split_whitespace().next() {
                return p.parse().unwrap();
            }
            assert!(Instant::now() < deadline, "unshare never started dinit");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    pub fn signal(&self, sig: i32) {
        // SAFETY: kill has no memory-safety preconditions.
        let r = unsafe { libc::kill(self.pid(), sig) };
        assert_eq!(r, 0, "kill({}, {sig}) failed", self.pid());
    }

    pub fn stderr(&self) -> String {
        fs::read_to_string(self.dir.join("stderr")).unwrap_or_default()
    }

    pub fn stdout(&self) -> String {
        fs::read_to_string(self.dir.join("stdout")).unwrap_or_default()
    }

    /// Wait until `what` appears in dinit's stderr (or `file` in the test
    /// directory exists and contains it, with `wait_file`).
    pub fn wait_log(&mut self, what: &str) {
        self.wait_log_n(what, 1);
    }

    /// Wait until `what` appears `n` times in dinit's stderr.
    pub fn wait_log_n(&mut self, what: &str, n: usize) {
        let deadline = Instant::now() + WAIT;
        while self.stderr().matches(what).count() < n {
            if let Ok(Some(_)) = self.child.try_wait() {
                panic!("dinit exited before logging {what:?}\n{}", self.stderr());
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what:?} in the log:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Wait until the file `name` in the test directory contains `what`.
    pub fn wait_file(&mut self, name: &str, what: &str) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let text = fs::read_to_string(self.dir.join(name)).unwrap_or_default();
            if text.contains(what) {
                return text;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what:?} in {name}: {text:?}\nlog:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Wait for dinit to exit (bounded by `WAIT`).
    pub fn wait(self) -> Output {
        self.wait_for(WAIT)
    }

    pub fn wait_for(mut self, limit: Duration) -> Output {
        let start = Instant::now();
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                let code = code_of(st);
                return Output {
                    code,
                    stdout: self.stdout(),
                    stderr: self.stderr(),
                    elapsed: start.elapsed(),
                };
            }
            if start.elapsed() > limit {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!(
                    "dinit did not exit within {limit:?}\n--- stdout\n{}--- stderr\n{}",
                    self.stdout(),
                    self.stderr()
                );
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

/// The end of a run where a command that ignores SIGTERM was SIGKILLed
/// once `-timeout 1s` had passed: `took` (from a moment no later than the
/// teardown's start to dinit's exit) is about 1 s at least and well below
/// the 10 s default, and the kill is logged.
pub fn assert_killed_after_1s_timeout(out: &Output, took: Duration) {
    assert!(
        took >= Duration::from_millis(900),
        "killed before the grace period: {took:?}\n{}",
        out.dump()
    );
    // Generous: the default would be 10 s.
    assert!(
        took < Duration::from_secs(9),
        "-timeout 1s not honoured: {took:?}\n{}",
        out.dump()
    );
    assert!(
        out.stderr.contains("with error: signal: killed"),
        "{}",
        out.dump()
    );
}

/// `-r /bin/sh -c 'touch <dir>/ran'`: a first command whose only effect is a
/// marker file, to prove that nothing was started.
pub fn marker_cmd(dir: &Path) -> Vec<String> {
    vec![
        "-r".into(),
        "/bin/sh".into(),
        "-c".into(),
        format!("touch {}", dir.join("ran").display()),
    ]
}

/// A usage error: exit 2, exactly one stderr line naming `word`, nothing on
/// stdout, and the marker file `ran` in the test directory (made by
/// `marker_cmd`, or by a `-start` command the test gives) never appeared.
pub fn assert_usage_error(d: Dinit, word: &str) {
    let marker = d.dir.join("ran");
    let out = d.run();
    assert_eq!(out.code, 2, "{}", out.dump());
    assert_eq!(
        out.stderr.lines().count(),
        1,
        "not one line\n{}",
        out.dump()
    );
    assert!(
        out.stderr.contains(word),
        "message does not name {word:?}\n{}",
        out.dump()
    );
    assert!(out.stdout.is_empty(), "{}", out.dump());
    assert!(
        !marker.exists(),
        "a command ran despite the usage error\n{}",
        out.dump()
    );
}

/// The state letter of host pid `pid` from /proc/PID/stat (R, S, T, Z,
/// ...; '?' when it is gone).
pub fn proc_state(pid: i32) -> char {
    fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit(')')
                .next()?
                .split_whitespace()
                .next()?
                .chars()
                .next()
        })
        .unwrap_or('?')
}

/// Whether `pid` provably has not been sent SIGKILL: it is asleep (state
/// S), no SIGKILL is pending for it (SigPnd, ShdPnd) and it is not exiting
/// (PF_EXITING). A SIGKILL sent by kill(2) is pending in the shared set
/// from the moment kill returns until the process is reaped, and wakes it:
/// no moment of the way from there to its end looks like a sleeper with
/// nothing pending. So this, checked after a sentinel that dinit handled
/// later than it would have sent a SIGKILL, proves that it did not send
/// one; `Err` says what was seen instead.
pub fn not_killed(pid: i32) -> Result<(), String> {
    const SIGKILL_BIT: u64 = 1 << (9 - 1);
    const PF_EXITING: u64 = 0x4;
    let status = fs::read_to_string(format!("/proc/{pid}/status"))
        .map_err(|e| format!("pid {pid} is gone ({e})"))?;
    for set in ["SigPnd", "ShdPnd"] {
        let mask = status_field(&status, set)
            .and_then(|m| u64::from_str_radix(m, 16).ok())
            .ok_or(format!("no {set} in /proc/{pid}/status"))?;
        if mask & SIGKILL_BIT != 0 {
            return Err(format!("pid {pid} has SIGKILL pending ({set} {mask:x})"));
        }
    }
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let state = fields.first().copied().unwrap_or("?");
    let flags: u64 = fields.get(6).and_then(|f| f.parse().ok()).unwrap_or(0);
    if state != "S" || flags & PF_EXITING != 0 {
        return Err(format!(
            "pid {pid} is not an undisturbed sleeper: state {state}, flags {flags:#x}"
        ));
    }
    Ok(())
}

/// Whether `pid` is alive (not a zombie and not gone).
pub fn alive(pid: i32) -> bool {
    !matches!(proc_state(pid), 'Z' | 'X' | '?')
}

/// The value of `name:` in a /proc/PID/status text, trimmed.
pub fn status_field<'a>(status: &'a str, name: &str) -> Option<&'a str> {
    status
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
        .map(str::trim)
}

/// The descriptor numbers `pid` has open.
pub fn fds_of(pid: i32) -> std::collections::BTreeSet<u64> {
    fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .collect()
}

/// Wait until `pid` has exactly the descriptors `want` open (a client's
/// connection is closed a moment after the client has read its reply).
pub fn wait_fds(pid: i32, want: &std::collections::BTreeSet<u64>) {
    let deadline = Instant::now() + WAIT;
    while fds_of(pid) != *want {
        assert!(
            Instant::now() < deadline,
            "fds {:?}, not {want:?}",
            fds_of(pid)
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Make `from` descriptor number `to` in the child, without
/// close-on-exec (for `pre_exec`; only async-signal-safe calls).
pub fn dup_to(from: std::os::fd::RawFd, to: std::os::fd::RawFd) -> std::io::Result<()> {
    // SAFETY: dup2 and fcntl take integers.
    unsafe {
        if from == to {
            libc::fcntl(to, libc::F_SETFD, 0);
        } else if libc::dup2(from, to) < 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// An exit status as a shell reports it: the exit code, or 128+N when
/// signal N killed the process.
pub fn code_of(st: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    st.code().unwrap_or_else(|| 128 + st.signal().unwrap_or(0))
}

/// The parent of `pid` (`PPid` in /proc/PID/status); `None` once it is
/// gone.
pub fn ppid(pid: i32) -> Option<i32> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status_field(&status, "PPid")?.parse().ok()
}

/// Creates the file when dropped: a command waiting for it ends even when
/// the test fails first, so no process outlives a failed test.
pub struct Release(pub PathBuf);

impl Drop for Release {
    fn drop(&mut self) {
        let _ = fs::write(&self.0, "");
    }
}

/// SIGKILLs these (host) pids and everything under them when dropped
/// while the test fails: processes that are nobody's child of the harness
/// (their parent gone, or an escapee dinit should have stopped), or dinit
/// with all it runs, must not outlive a failed test. A passing test has
/// seen them gone, and their pids may be another test's by then: nothing
/// is killed.
pub struct KillOnPanic(pub Vec<i32>);

impl Drop for KillOnPanic {
    fn drop(&mut self) {
        if std::thread::panicking() {
            for &pid in &self.0 {
                if alive(pid) {
                    kill_tree(pid);
                }
            }
        }
    }
}

/// SIGKILL `pid` and its descendants, each stopped first so that it forks
/// no more while its children are found.
fn kill_tree(pid: i32) {
    // SAFETY: kill takes two integers and touches no memory.
    unsafe { libc::kill(pid, libc::SIGSTOP) };
    let kids: Vec<i32> = fs::read_dir(format!("/proc/{pid}/task"))
        .into_iter()
        .flatten()
        .flatten()
        .flat_map(|t| {
            fs::read_to_string(t.path().join("children"))
                .unwrap_or_default()
                .split_whitespace()
                .filter_map(|c| c.parse().ok())
                .collect::<Vec<i32>>()
        })
        .collect();
    for k in kids {
        kill_tree(k);
    }
    // SAFETY: as above.
    unsafe { libc::kill(pid, libc::SIGKILL) };
}

/// Wait until `path` exists (bounded by `WAIT`).
pub fn wait_exists(path: &Path) {
    let deadline = Instant::now() + WAIT;
    while !path.exists() {
        assert!(
            Instant::now() < deadline,
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Wait until `pid` is gone or a zombie (bounded by `WAIT`).
pub fn wait_gone(pid: i32) {
    let deadline = Instant::now() + WAIT;
    while alive(pid) {
        assert!(Instant::now() < deadline, "pid {pid} still alive");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A scratch root in `dir/root` holding only what a `FROM scratch` image
/// with dinit and busybox would: `/dinit` (a copy of the binary under
/// test), `/bin/busybox` (Debian's busybox-static) with a symlink per
/// applet, and empty `/proc`, `/tmp` and `/dev`. Run it with `scratch_spawn`.
pub fn scratch_root(dir: &Path) -> PathBuf {
    let root = dir.join("root");
    for sub in ["bin", "proc", "tmp", "dev"] {
        fs::create_dir_all(root.join(sub)).unwrap();
    }
    fs::set_permissions(root.join("tmp"), fs::Permissions::from_mode(0o1777)).unwrap();
    // Container runtimes provide /dev/null, and busybox sh needs it for the
    // stdin of background jobs. A plain file stands in when mknod is not
    // allowed (not root).
    let null = root.join("dev/null");
    let made = Command::new("mknod")
        .arg(&null)
        .args(["-m", "666", "c", "1", "3"])
        .status();
    if !made.is_ok_and(|s| s.success()) {
        fs::write(&null, "").unwrap();
        fs::set_permissions(&null, fs::Permissions::from_mode(0o666)).unwrap();
    }
    install_dinit_and_busybox(&root);
    root
}

/// Run `/dinit ARGS` as PID 1 of a new PID and mount namespace whose root
/// is `root` (from `scratch_root`), with `PATH=/bin` only. Its stdout and
/// stderr go to `dir/stdout` and `dir/stderr`, so `Running`'s log helpers
/// work with `dir` (and `wait_file` with paths like `root/tmp/x`).
pub fn scratch_spawn(root: &Path, dir: &Path, args: &[&str]) -> Running {
    let mut cmd = Command::new("unshare");
    cmd.args(["--pid", "--fork", "--mount-proc", "--kill-child"]);
    if !is_root() {
        cmd.args(["--user", "--map-root-user"]);
    }
    cmd.arg(format!("--root={}", root.display()))
        .arg("/dinit")
        .args(args);
    cmd.env_clear().env("PATH", "/bin").current_dir(dir);
    cmd.stdin(Stdio::null());
    cmd.stdout(fs::File::create(dir.join("stdout")).unwrap());
    cmd.stderr(fs::File::create(dir.join("stderr")).unwrap());
    let child = cmd.spawn().expect("cannot run unshare");
    Running {
        child,
        dir: dir.to_path_buf(),
        pid1: true,
    }
}

/// Whether the binary under test runs under qemu-user: `DINIT_BIN_EMULATED`
/// set to anything but empty or `0` (`make it-arm`, with binfmt_misc
/// registered by `scripts/setup.sh`).
pub fn emulated() -> bool {
    std::env::var_os("DINIT_BIN_EMULATED").is_some_and(|v| !v.is_empty() && v != "0")
}

/// For a test that cannot work under qemu-user: when the binary under test
/// is emulated, record the skip (`record_skip`) and return true, so the
/// test's first line can be `if skip_if_emulated("why") { return; }`. This
/// is the one way a test may skip: emulation is the one thing the CI
/// machine cannot change; anything else a test needs and does not find
/// (root, a program, an engine) fails it.
pub fn skip_if_emulated(reason: &str) -> bool {
    if !emulated() {
        return false;
    }
    record_skip(&format!("under qemu-user: {reason}"));
    true
}

/// Say that the running test skips (part of) its checks, and why: the line
/// `SKIPPED: TEST: WHY` goes straight to fd 2, past the test harness's
/// capture, and `TEST<TAB>WHY` is appended to the file `$DINIT_SKIP_LOG`
/// names, when set. `make test` starts a fresh file per run and ends with a
/// summary of it (`scripts/skips.py`: how many, why, which), so a skip
/// cannot scroll away. A skip that cannot be recorded fails the test.
pub fn record_skip(why: &str) {
    let name = std::thread::current()
        .name()
        .unwrap_or("this test")
        .to_string();
    let line = format!("SKIPPED: {name}: {why}\n");
    // SAFETY: the pointer and length describe `line`, alive for the call.
    let _ = unsafe { libc::write(2, line.as_ptr().cast(), line.len()) };
    let Some(log) = std::env::var_os("DINIT_SKIP_LOG").filter(|p| !p.is_empty()) else {
        return;
    };
    let record = format!("{name}\t{}\n", why.replace(['\t', '\n'], " "));
    // One write with O_APPEND: lines of parallel tests never interleave.
    let written = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log)
        .and_then(|mut f| f.write_all(record.as_bytes()));
    if let Err(e) = written {
        panic!(
            "cannot record the skip in {}: {e}",
            Path::new(&log).display()
        );
    }
}

/// Why a test is skipped under qemu-user (`skip_if_emulated`).
pub const QEMU_EXE: &str = "/proc/PID/exe of the emulated dinit is \
    /usr/bin/qemu-aarch64-static (binfmt_misc), not the dinit binary";
pub const QEMU_SUBREAPER: &str = "PR_SET_CHILD_SUBREAPER fails with EINVAL under \
    qemu-user (dinit warns and goes on), so orphans are not reparented to dinit \
    when it is not PID 1";
pub const QEMU_RT_SIGNALS: &str = "qemu-user shifts real-time signal numbers by \
    two (host SIGRTMIN+0 reaches the emulated dinit as signal 32), so the log \
    names them differently; delivery itself works";
pub const QEMU_SIGNAL_32: &str = "qemu-user keeps host signal 32 for itself, so \
    the emulated dinit cannot reset the SIG_IGN on it that the (musl) test \
    harness's posix_spawn leaves, and its children inherit it";

/// Put `/dinit` (the binary under test, 0755) and busybox-static with a
/// symlink per applet in `/bin` into a root file system being built.
pub fn install_dinit_and_busybox(root: &Path) {
    install_busybox(root);
    fs::copy(bin(), root.join("dinit")).unwrap();
    fs::set_permissions(root.join("dinit"), fs::Permissions::from_mode(0o755)).unwrap();
}

/// Put busybox-static with a symlink per applet in `/bin` into a root file
/// system being built.
pub fn install_busybox(root: &Path) {
    let busybox = Path::new("/bin/busybox");
    assert!(
        busybox.exists(),
        "/bin/busybox is missing: install busybox-static"
    );
    fs::create_dir_all(root.join("bin")).unwrap();
    fs::copy(busybox, root.join("bin/busybox")).unwrap();
    let list = Command::new(busybox)
        .arg("--list")
        .output()
        .expect("busybox --list");
    assert!(list.status.success(), "busybox --list failed");
    for applet in String::from_utf8_lossy(&list.stdout).split_whitespace() {
        if applet != "busybox" && !applet.contains('/') {
            std::os::unix::fs::symlink("busybox", root.join("bin").join(applet)).unwrap();
        }
    }
}

/// Wait for `child` (not dinit's harness child: any process a test spawned)
/// to exit, bounded by `WAIT`; on timeout kill it and fail saying `what`.
pub fn wait_child(child: &mut Child, what: &str) -> std::process::ExitStatus {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            return st;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} did not exit within {WAIT:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Run `cmd` to its end with stdin from /dev/null and stdout and stderr in
/// fresh files under `dir` (so nothing can block on a pipe). An error says
/// why it could not be run, or that it was still running after `limit` (it
/// is killed then).
pub fn run_within(mut cmd: Command, dir: &Path, limit: Duration) -> Result<Output, String> {
    static N: AtomicUsize = AtomicUsize::new(0);
    let n = N.fetch_add(1, Ordering::SeqCst);
    let (out_path, err_path) = (
        dir.join(format!("cmd-{n}.out")),
        dir.join(format!("cmd-{n}.err")),
    );
    let file =
        |p: &Path| fs::File::create(p).map_err(|e| format!("cannot create {}: {e}", p.display()));
    cmd.stdin(Stdio::null())
        .stdout(file(&out_path)?)
        .stderr(file(&err_path)?);
    let what = format!(
        "{:?} {:?}",
        cmd.get_program(),
        cmd.get_args().collect::<Vec<_>>()
    );
    let start = Instant::now();
    let mut child = cmd.spawn().map_err(|e| format!("cannot run {what}: {e}"))?;
    let st = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!(
                "{what} did not exit within {limit:?}\n--- stdout\n{}--- stderr\n{}",
                fs::read_to_string(&out_path).unwrap_or_default(),
                fs::read_to_string(&err_path).unwrap_or_default()
            ));
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    Ok(Output {
        code: code_of(st),
        stdout: fs::read_to_string(&out_path).unwrap_or_default(),
        stderr: fs::read_to_string(&err_path).unwrap_or_default(),
        elapsed: start.elapsed(),
    })
}

/// `run_within` bounded by `WAIT`; a command that cannot be run or does not
/// exit in time fails the test.
pub fn run_cmd(cmd: Command, dir: &Path) -> Output {
    run_within(cmd, dir, WAIT).unwrap_or_else(|e| panic!("{e}"))
}

/// Whether `prog` is in one of the directories of this process's `PATH`.
pub fn on_path(prog: &str) -> bool {
    std::env::var("PATH")
        .unwrap_or_default()
        .split(':')
        .any(|d| Path::new(d).join(prog).exists())
}

/// Now in UTC as `date -u +FORMAT` prints it (`%Y/%m/%d %H:%M:%S` is the
/// format of dinit's stamps).
pub fn utc(format: &str) -> String {
    let out = Command::new("date")
        .arg("-u")
        .arg(format!("+{format}"))
        .output()
        .expect("date");
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// Whether `line` starts with `YYYY/MM/DD HH:MM:SS dinit: ` and goes on
/// after it (a text line, or the bytes of a log from there on).
pub fn has_stamp(line: impl AsRef<[u8]>) -> bool {
    let b = line.as_ref();
    let shape = b"####/##/## ##:##:## dinit: ";
    b.len() > shape.len()
        && shape.iter().zip(b).all(|(&s, &c)| {
            if s == b'#' {
                c.is_ascii_digit()
            } else {
                s == c
            }
        })
}

/// The mount points at or below `dir` in this process's mount namespace.
pub fn mounts_under(dir: &Path) -> Vec<String> {
    let prefix = dir.to_str().unwrap().to_string();
    fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(unescape_mount)
        .filter(|m| *m == prefix || m.starts_with(&format!("{prefix}/")))
        .collect()
}

/// Unmount (lazily, `umount -l`) every mount at or below `dir`, deepest
/// first.
pub fn unmount_under(dir: &Path) {
    for _ in 0..10 {
        let mut points = mounts_under(dir);
        if points.is_empty() {
            return;
        }
        points.sort_by_key(|p| std::cmp::Reverse(p.len()));
        for p in points {
            let c = std::ffi::CString::new(p).unwrap();
            // SAFETY: `c` is a NUL-terminated path that outlives the call.
            unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) };
        }
    }
}

/// A mount point as /proc/self/mountinfo writes it (`\040` for a space...).
pub fn unescape_mount(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            out.push((b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0'));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
