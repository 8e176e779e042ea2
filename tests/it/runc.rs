//! dinit under a real OCI runtime (Debian's `runc`, as root): the way Docker,
//! containerd and Kubernetes start it. Each test builds a bundle in its own
//! directory whose root file system holds only `/dinit` (a copy of the
//! binary under test), a `/dinit-submit` symlink to it and busybox-static,
//! then drives it with `runc run`, `runc kill`, `runc exec` and `runc state`.
//! SPEC §1 (a `FROM scratch` image), §3 (exit status, teardown), §4
//! (reaping as PID 1), §5 (`-submit` through `docker exec`).
//!
//! * The root is read-only with a tmpfs on `/tmp` (Kubernetes'
//!   `readOnlyRootFilesystem` with an `emptyDir`), and the test directory's
//!   `shared/` is bind-mounted read-write at `/shared`: the container's
//!   scripts live there and write what they saw there.
//! * Container ids are unique per test; a drop guard always runs
//!   `runc delete -f`, so a failing test leaves no container behind.
//! * `runc run` runs in the foreground: its exit status is the container's.
use crate::util::*;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Docker's default capability set: what `docker run` grants a container.
const CAPS: &str = r#"["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"]"#;

/// Fail, saying why, unless this test can run: as root (runc needs it
/// here), with runc and busybox installed (`scripts/setup.sh` installs
/// them). A missing root file system is a failure, never a skip.
fn need_runc() {
    assert!(is_root(), "the runc tests need root: run them as root");
    assert!(
        Path::new("/usr/sbin/runc").exists() || on_path("runc"),
        "runc is missing: run scripts/setup.sh (Debian package runc)"
    );
    assert!(
        Path::new("/bin/busybox").exists(),
        "/bin/busybox is missing: run scripts/setup.sh (Debian package busybox-static)"
    );
}

/// A JSON string literal.
fn json_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The bundle's config.json: `args` as the container's process, a
/// read-only root, tmpfs `/tmp`, `shared` bind-mounted at `/shared`.
fn config(args: &[&str], shared: &Path) -> String {
    let args: Vec<String> = args.iter().map(|a| json_str(a)).collect();
    let args = args.join(", ");
    let shared = json_str(shared.to_str().unwrap());
    format!(
        r#"{{
  "ociVersion": "1.0.2",
  "process": {{
    "terminal": false,
    "user": {{ "uid": 0, "gid": 0 }},
    "args": [{args}],
    "env": ["PATH=/bin", "HOME=/"],
    "cwd": "/",
    "capabilities": {{ "bounding": {CAPS}, "effective": {CAPS}, "permitted": {CAPS} }},
    "rlimits": [{{ "type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024 }}],
    "noNewPrivileges": true
  }},
  "root": {{ "path": "rootfs", "readonly": true }},
  "hostname": "dinit-it",
  "mounts": [
    {{ "destination": "/proc", "type": "proc", "source": "proc" }},
    {{ "destination": "/dev", "type": "tmpfs", "source": "tmpfs",
       "options": ["nosuid", "strictatime", "mode=755", "size=65536k"] }},
    {{ "destination": "/dev/pts", "type": "devpts", "source": "devpts",
       "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"] }},
    {{ "destination": "/dev/shm", "type": "tmpfs", "source": "shm",
       "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"] }},
    {{ "destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
       "options": ["nosuid", "nodev", "mode=1777", "size=65536k"] }},
    {{ "destination": "/shared", "type": "bind", "source": {shared},
       "options": ["rbind", "rw"] }}
  ],
  "linux": {{
    "namespaces": [
      {{ "type": "pid" }}, {{ "type": "ipc" }}, {{ "type": "uts" }},
      {{ "type": "mount" }}, {{ "type": "network" }}
    ],
    "maskedPaths": ["/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
      "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
      "/sys/firmware"],
    "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
      "/proc/sysrq-trigger"]
  }}
}}
"#
    )
}

/// A bundle, and the container made from it once `run` is called.
struct Container {
    id: String,
    /// The bundle directory: config.json, rootfs/, shared/, and the
    /// foreground `runc run`'s stdout and stderr (dinit's log).
    dir: PathBuf,
    run: Option<Child>,
}

impl Container {
    /// A bundle whose container runs `/dinit ARGS`. `scripts` are written
    /// executable into `shared/` (so `/shared/NAME` inside), each body
    /// after a `#!/bin/sh` line.
    fn new(name: &str, args: &[&str], scripts: &[(&str, &str)]) -> Container {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::SeqCst);
        let dir = workdir(&format!("runc-{name}"));
        let id = format!("dinit-it-{}-{n}-{name}", std::process::id());
        let rootfs = dir.join("rootfs");
        for sub in ["bin", "proc", "dev", "sys", "tmp", "shared"] {
            fs::create_dir_all(rootfs.join(sub)).unwrap();
        }
        install_dinit_and_busybox(&rootfs);
        std::os::unix::fs::symlink("dinit", rootfs.join("dinit-submit")).unwrap();
        let shared = dir.join("shared");
        fs::create_dir_all(&shared).unwrap();
        fs::set_permissions(&shared, fs::Permissions::from_mode(0o777)).unwrap();
        for (name, body) in scripts {
            script(&shared, name, body);
        }
        let mut argv = vec!["/dinit"];
        argv.extend_from_slice(args);
        fs::write(dir.join("config.json"), config(&argv, &shared)).unwrap();
        Container { id, dir, run: None }
    }

    /// Start `runc run` in the foreground (its stdout and stderr go to
    /// files in the bundle directory).
    fn run(&mut self) {
        let child = Command::new("runc")
            .args(["run", "--bundle"])
            .arg(&self.dir)
            .arg(&self.id)
            .stdin(Stdio::null())
            .stdout(fs::File::create(self.dir.join("stdout")).unwrap())
            .stderr(fs::File::create(self.dir.join("stderr")).unwrap())
            .spawn()
            .expect("cannot run runc");
        self.run = Some(child);
    }

    /// `run`, then wait for the container to exit: its status, the
    /// container's stdout and stderr (dinit's log).
    fn run_to_end(&mut self) -> Output {
        self.run();
        self.wait_for(WAIT)
    }

    fn log(&self) -> String {
        fs::read_to_string(self.dir.join("stderr")).unwrap_or_default()
    }

    fn shared(&self, name: &str) -> PathBuf {
        self.dir.join("shared").join(name)
    }

    /// Wait until `shared/NAME` exists and contains `what`; return it.
    fn wait_file(&mut self, name: &str, what: &str) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let text = fs::read_to_string(self.shared(name)).unwrap_or_default();
            if text.contains(what) {
                return text;
            }
            if let Some(Ok(Some(st))) = self.run.as_mut().map(|c| c.try_wait()) {
                panic!(
                    "the container exited ({st}) before {name} held {what:?}\n{}",
                    self.log()
                );
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what:?} in {name}: {text:?}\nlog:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Wait (bounded by `limit`) for the foreground `runc run` to exit.
    fn wait_for(&mut self, limit: Duration) -> Output {
        let start = Instant::now();
        let child = self.run.as_mut().expect("container not started");
        loop {
            if let Some(st) = child.try_wait().unwrap() {
                let code = code_of(st);
                self.run = None;
                return Output {
                    code,
                    stdout: fs::read_to_string(self.dir.join("stdout")).unwrap_or_default(),
                    stderr: self.log(),
                    elapsed: start.elapsed(),
                };
            }
            if start.elapsed() > limit {
                panic!(
                    "container {} did not exit within {limit:?}\n--- stdout\n{}--- stderr\n{}",
                    self.id,
                    fs::read_to_string(self.dir.join("stdout")).unwrap_or_default(),
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// `runc ARGS...` for this container (bounded by `WAIT`). `{id}` in an
    /// argument is replaced by the container id.
    fn runc(&self, args: &[&str]) -> Output {
        runc_cmd(&self.dir, &self.id, args)
    }

    /// The host pid of the container's PID 1 once `runc state` says it is
    /// running.
    fn init_pid(&self) -> i32 {
        let deadline = Instant::now() + WAIT;
        loop {
            let out = self.runc(&["state", "{id}"]);
            if out.code == 0 && out.stdout.contains("\"running\"") {
                return json_int(&out.stdout, "pid").expect("pid in runc state");
            }
            assert!(
                Instant::now() < deadline,
                "container never running: {}\nlog:\n{}",
                out.dump(),
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        let _ = runc_cmd(&self.dir, &self.id, &["delete", "-f", "{id}"]);
        if let Some(mut child) = self.run.take() {
            let deadline = Instant::now() + WAIT;
            while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Run `runc ARGS` (with `{id}` replaced), bounded by `WAIT`; output in
/// files under `dir`, so nothing can block on a pipe.
fn runc_cmd(dir: &Path, id: &str, args: &[&str]) -> Output {
    let mut cmd = Command::new("runc");
    cmd.args(args.iter().map(|a| a.replace("{id}", id)));
    run_cmd(cmd, dir)
}

/// The number after `"key":` in a JSON text (runc state's `pid`).
fn json_int(json: &str, key: &str) -> Option<i32> {
    let at = json.find(&format!("\"{key}\""))?;
    let rest = json[at + key.len() + 2..].trim_start().strip_prefix(':')?;
    let digits: String = rest
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    digits.parse().ok()
}

/// Host pids of the children of host pid `pid`, zombies included.
fn children(pid: i32) -> Vec<i32> {
    fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

/// SPEC §1, §3: dinit is PID 1 of the container, the parent of its
/// commands, and the primary's exit status is the container's.
#[test]
fn runc_dinit_is_pid1_and_primary_status_is_the_containers() {
    need_runc();
    let mut c = Container::new(
        "status",
        &["-r", "/bin/sleep", "1000", "-r", "/shared/primary.sh"],
        &[(
            "primary.sh",
            "echo \"$$ $PPID\" > /shared/ids\ntr '\\0' ' ' < /proc/1/cmdline > /shared/cmdline\nexit 7\n",
        )],
    );
    let out = c.run_to_end();
    assert_eq!(
        out.code,
        7,
        "runc run's status is not the primary's\n{}",
        out.dump()
    );
    let ids = fs::read_to_string(c.shared("ids")).unwrap();
    let ppid = ids.split_whitespace().nth(1);
    assert_eq!(
        ppid,
        Some("1"),
        "the primary's parent is not PID 1: {ids:?}"
    );
    let cmdline = fs::read_to_string(c.shared("cmdline")).unwrap();
    // Under qemu-user (binfmt_misc) PID 1's command line starts with the
    // emulator's path, then dinit's own.
    let cmdline = match cmdline.split_once(" /dinit ") {
        Some((emu, rest)) if emulated() && emu.contains("qemu") => format!("/dinit {rest}"),
        _ => cmdline,
    };
    assert!(
        cmdline.starts_with("/dinit -r /bin/sleep 1000 -r /shared/primary.sh"),
        "PID 1 is not dinit: {cmdline:?}"
    );
    assert!(
        out.stderr.contains("started: [/shared/primary.sh]"),
        "{}",
        out.dump()
    );

    // A primary killed by a signal: 128+N.
    let mut c = Container::new(
        "status-signal",
        &["-r", "/shared/primary.sh"],
        &[("primary.sh", "kill -KILL $$\n")],
    );
    let out = c.run_to_end();
    assert_eq!(out.code, 137, "{}", out.dump());
}

/// SPEC §3: `runc kill ID TERM` (what `docker stop` sends) reaches a child
/// that traps it, and the container stops as soon as the child is done,
/// far inside dinit's timeout, with the child's status.
#[test]
fn runc_kill_term_reaches_a_trapping_child() {
    need_runc();
    let mut c = Container::new(
        "term-trap",
        &["-timeout", "60", "-r", "/shared/trap.sh"],
        &[(
            "trap.sh",
            "trap 'echo term >> /shared/got; kill $child; exit 0' TERM\n\
             sleep 1000 &\nchild=$!\necho ready > /shared/ready\nwait\n",
        )],
    );
    c.run();
    c.wait_file("ready", "ready");
    let kill = c.runc(&["kill", "{id}", "TERM"]);
    assert_eq!(kill.code, 0, "{}", kill.dump());
    let out = c.wait_for(Duration::from_secs(30));
    assert_eq!(out.code, 0, "{}", out.dump());
    // Promptly: not the 60 s timeout.
    assert!(
        out.elapsed < Duration::from_secs(20),
        "took {:?}\n{}",
        out.elapsed,
        out.dump()
    );
    assert_eq!(
        fs::read_to_string(c.shared("got")).unwrap(),
        "term\n",
        "{}",
        out.dump()
    );
}

/// SPEC §3: a child that ignores SIGTERM is SIGKILLed once `-timeout`
/// has passed; the container's status says so (137).
#[test]
fn runc_kill_term_child_ignoring_it_is_killed_after_timeout() {
    need_runc();
    let mut c = Container::new(
        "term-ignored",
        &["-timeout", "1", "-r", "/shared/deaf.sh"],
        &[(
            "deaf.sh",
            "trap '' TERM\necho ready > /shared/ready\nexec sleep 1000\n",
        )],
    );
    c.run();
    c.wait_file("ready", "ready");
    let sent = Instant::now();
    let kill = c.runc(&["kill", "{id}", "TERM"]);
    assert_eq!(kill.code, 0, "{}", kill.dump());
    let out = c.wait_for(Duration::from_secs(30));
    let took = sent.elapsed();
    assert_eq!(out.code, 137, "{}", out.dump());
    assert!(
        took >= Duration::from_millis(900),
        "killed after {took:?}, before the 1 s timeout\n{}",
        out.dump()
    );
    assert!(
        took < Duration::from_secs(15),
        "took {took:?} for a 1 s timeout\n{}",
        out.dump()
    );
}

/// SPEC §5: `runc exec ID /dinit -submit -r ...` (what `docker exec` does)
/// starts a child of PID 1; `-submit -list` shows it; the `dinit-submit`
/// symlink works without `-r`; submitted processes are torn down with the
/// rest and never become primary.
#[test]
fn runc_exec_submit_starts_a_child_of_pid1() {
    need_runc();
    let mut c = Container::new(
        "submit",
        &["-timeout", "20", "-r", "/shared/primary.sh"],
        &[(
            "primary.sh",
            "echo ready > /shared/ready\nexec sleep 1000\n",
        )],
    );
    c.run();
    c.wait_file("ready", "ready");
    let ok = c.runc(&[
        "exec",
        "{id}",
        "/dinit",
        "-submit",
        "-r",
        "/bin/sleep",
        "30",
    ]);
    assert_eq!(ok.code, 0, "{}\nlog:\n{}", ok.dump(), c.log());
    let pid: i32 = ok
        .stdout
        .trim()
        .strip_prefix("ok ")
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or_else(|| panic!("no `ok PID`: {}", ok.dump()));
    let status = c.runc(&["exec", "{id}", "/bin/cat", &format!("/proc/{pid}/status")]);
    assert_eq!(status.code, 0, "{}", status.dump());
    assert!(
        status.stdout.lines().any(|l| l == "PPid:\t1"),
        "the submitted process is not a child of PID 1\n{}",
        status.stdout
    );

    let sym = c.runc(&["exec", "{id}", "/dinit-submit", "/bin/sleep", "31"]);
    assert_eq!(sym.code, 0, "{}\nlog:\n{}", sym.dump(), c.log());
    assert!(sym.stdout.starts_with("ok "), "{}", sym.dump());

    let list = c.runc(&["exec", "{id}", "/dinit", "-submit", "-list"]);
    assert_eq!(list.code, 0, "{}", list.dump());
    let line = list
        .stdout
        .lines()
        .find(|l| l.contains("/bin/sleep 30"))
        .unwrap_or_else(|| panic!("-list does not show the child\n{}", list.dump()));
    assert!(
        line.starts_with(&format!("pid {pid} ")) && line.contains("primary no"),
        "-list line does not show pid {pid} as not primary: {line:?}"
    );
    assert!(list.stdout.contains("/bin/sleep 31"), "{}", list.dump());
    assert!(
        list.stdout
            .lines()
            .any(|l| l.contains("primary yes") && l.contains("[/shared/primary.sh]")),
        "{}",
        list.dump()
    );

    let kill = c.runc(&["kill", "{id}", "TERM"]);
    assert_eq!(kill.code, 0, "{}", kill.dump());
    let out = c.wait_for(Duration::from_secs(30));
    // The primary (sleep 1000) died of the forwarded SIGTERM.
    assert_eq!(out.code, 143, "{}", out.dump());
    assert!(
        out.stderr.contains("started: [/bin/sleep 30]"),
        "{}",
        out.dump()
    );
}

/// SPEC §4: as PID 1 of the container dinit reaps the orphans of a
/// double-forking child: none stays a zombie.
#[test]
fn runc_double_fork_zombies_are_reaped() {
    need_runc();
    let mut c = Container::new(
        "zombies",
        &["-r", "/shared/forker.sh"],
        &[(
            "forker.sh",
            "i=0\nwhile [ $i -lt 100 ]; do\n  ( /bin/true & )\n  ( /bin/sleep 0.2 & )\n  i=$((i+1))\ndone\n\
             ( /bin/sleep 2 & echo $! > /shared/orphan )\n\
             echo ready > /shared/ready\nexec sleep 1000\n",
        )],
    );
    c.run();
    c.wait_file("ready", "ready");
    let init = c.init_pid();
    // The one orphan known by pid: while it sleeps, its parent is PID 1.
    let orphan: i32 = c.wait_file("orphan", "\n").trim().parse().unwrap();
    let st = c.runc(&[
        "exec",
        "{id}",
        "/bin/cat",
        &format!("/proc/{orphan}/status"),
    ]);
    if st.code == 0 {
        assert!(
            st.stdout.lines().any(|l| l == "PPid:\t1"),
            "orphan {orphan} not reparented to PID 1\n{}",
            st.stdout
        );
    }
    // After a moment every orphan is gone, not a zombie: dinit's only
    // child left is the primary.
    let deadline = Instant::now() + WAIT;
    loop {
        let kids = children(init);
        let zombies: Vec<i32> = kids
            .iter()
            .copied()
            .filter(|&p| proc_state(p) == 'Z')
            .collect();
        if kids.len() == 1 && zombies.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "dinit (host pid {init}) still has children {kids:?}, zombies {zombies:?}\nlog:\n{}",
            c.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // The same seen from inside: no process of the container is a zombie.
    let ps = c.runc(&[
        "exec",
        "{id}",
        "/bin/sh",
        "-c",
        "cat /proc/[0-9]*/stat 2>/dev/null",
    ]);
    assert_eq!(ps.code, 0, "{}", ps.dump());
    let zombies: Vec<&str> = ps
        .stdout
        .lines()
        .filter(|l| {
            l.rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .starts_with('Z')
        })
        .collect();
    assert!(zombies.is_empty(), "zombies in the container: {zombies:?}");

    let kill = c.runc(&["kill", "{id}", "TERM"]);
    assert_eq!(kill.code, 0, "{}", kill.dump());
    let out = c.wait_for(Duration::from_secs(30));
    assert_eq!(out.code, 143, "{}", out.dump());
}
