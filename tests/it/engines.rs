//! dinit under the engines its users run: Docker Engine (Debian's `docker.io`,
//! dockerd with its own containerd) and Podman (Debian's `podman`), as root,
//! offline, with their default seccomp profiles. SPEC §1 (a `FROM scratch`
//! image), §2 (ENTRYPOINT + CMD, `$` expansion), §3 (exit status, `stop`,
//! `-timeout`), §4 (`kill`, a terminal's signals), §5 (`exec` + `-submit`,
//! `--read-only`, `--user`), §6 (`logs`), §8 (`--init`), §9 (`STOPSIGNAL`),
//! and `examples/kubernetes.yaml` under `podman play kube`.
//!
//! * One [`Engine`] per engine and test binary owns everything that engine
//!   writes: a directory `/tmp/dinit-engines-UID/PID/KIND` (short, for the
//!   108-byte socket path) holding dockerd's data-root, exec-root, socket
//!   and pidfile, or podman's containers.conf, storage.conf, graphroot and
//!   runroot; plus the few files the engines put elsewhere whatever they
//!   are told (`Kind::host_paths`), removed again when this run created
//!   them. (Its log goes to a test directory, kept after the run like the
//!   tests' own.) Its `Drop` stops the engine: containers removed, dockerd
//!   stopped by pid (SIGTERM, then SIGKILL), whatever still runs from the
//!   directory killed, its mounts unmounted, the directory removed.
//! * Statics are never dropped, so the engines live in `SLOTS` behind an
//!   `atexit` handler that drops them when libtest has finished, whether
//!   the tests passed or failed (a failing test unwinds; its `Case` guard
//!   removes its containers on the way). A run that was killed instead
//!   leaves its directory: the next run finds it (its owner pid is gone)
//!   and tears it down the same way, before starting its own engines.
//! * An engine that cannot start fails every test that needs it, with the
//!   last lines of its log: these tests never skip, except by name under
//!   qemu-user (`make it-arm`, `QEMU_ENGINES`).
//! * Each engine loads the release's image archive (`dist/dinit-VERSION-
//!   oci.tar`, which `make it` makes first) and builds the test images from
//!   it as a user would: `FROM scratch` and `COPY --from=dinit:VERSION-ARCH
//!   / /` (this machine's platform), plus busybox-static and a stand-in app,
//!   shaped like `examples/Dockerfile.scratch`. So the dinit in them is the
//!   release binary; `run --init` injects the binary under test.
//! * Tests run in parallel: container names are unique, each test has its
//!   own directory (mounted at `/shared`, with the test's scripts), and
//!   every engine command is bounded by `ENGINE_WAIT`.
use crate::release::Platform;
use crate::util::*;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Once};
use std::time::{Duration, Instant};

/// Why the engine tests are skipped under `make it-arm`.
pub(crate) const QEMU_ENGINES: &str = "the images are built for this x86_64 host: the \
    aarch64 dinit in them would run through the host's qemu-user binfmt \
    handler, which changes what these tests check (PID 1's command line, \
    the child-subreaper role); `make it` runs them against the x86_64 binary";

/// The bound on every engine command and on what a container is waited
/// for. More than `WAIT`: a command that creates a container mounts an
/// overlay and runs runc, and the machines are busy; but a bound, so that a
/// hung engine fails the test instead of holding up CI.
pub(crate) const ENGINE_WAIT: Duration = Duration::from_secs(90);

/// The images every engine builds (`build_images`).
const IMAGE: &str = "localhost/dinit-it:dinit";
const BUSYBOX: &str = "localhost/dinit-it:busybox";
const STOPSIGNAL: &str = "localhost/dinit-it:stopsignal";

#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Kind {
    Docker,
    Podman,
}

impl Kind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::Docker => "docker",
            Kind::Podman => "podman",
        }
    }

    /// What each engine creates outside the directory it is given, however
    /// it is configured: dockerd its trust key and plugin and containerd
    /// shim socket directories; podman (containers/image) a blob-info cache
    /// and short-name lock for root. Parents come before children; teardown
    /// removes those this run created, files first, directories only when
    /// empty. (Podman's runc also keeps its state in runc's default
    /// `/run/runc`, which stays: every runc user shares it, runc.rs too.)
    fn host_paths(self) -> &'static [&'static str] {
        match self {
            Kind::Docker => &[
                "/etc/docker",
                "/etc/docker/key.json",
                "/run/docker",
                "/run/docker/plugins",
                "/run/containerd",
                "/run/containerd/s",
            ],
            Kind::Podman => &[
                "/var/lib/containers",
                "/var/lib/containers/cache",
                "/var/lib/containers/cache/blob-info-cache-v1.boltdb",
                "/var/cache/containers",
                "/var/cache/containers/short-name-aliases.conf.lock",
            ],
        }
    }

    /// Where `run --init` puts the engine's init inside the container.
    pub(crate) fn init_path(self) -> &'static str {
        match self {
            Kind::Docker => "/sbin/docker-init",
            Kind::Podman => "/run/podman-init",
        }
    }

    /// The engine's client for the engine whose directory is `dir`, with a
    /// clean environment: nothing from the caller's DOCKER_HOST,
    /// DOCKER_CONFIG or CONTAINERS_* can redirect it.
    fn cli(self, dir: &Path) -> Command {
        let mut cmd = Command::new(self.name());
        cmd.env_clear().env("PATH", PATH);
        match self {
            Kind::Docker => {
                cmd.env("DOCKER_CONFIG", dir.join("client"))
                    // dockerd 20.10 has no BuildKit here: the classic builder.
                    .env("DOCKER_BUILDKIT", "0")
                    .arg("-H")
                    .arg(format!("unix://{}", dir.join("docker.sock").display()));
            }
            Kind::Podman => {
                cmd.env("HOME", dir.join("home"))
                    .env("TMPDIR", dir.join("tmp"))
                    .env("CONTAINERS_CONF", dir.join("containers.conf"))
                    .env("CONTAINERS_STORAGE_CONF", dir.join("storage.conf"))
                    .env("CONTAINERS_REGISTRIES_CONF", dir.join("registries.conf"));
            }
        }
        cmd
    }

    /// Flags for `run` that make the root file system read-only and leave
    /// `/tmp` read-only too (podman's `--read-only` alone mounts a tmpfs
    /// on `/tmp`).
    fn read_only(self) -> &'static [&'static str] {
        match self {
            Kind::Docker => &["--read-only"],
            Kind::Podman => &["--read-only", "--read-only-tmpfs=false"],
        }
    }

    /// Flag sets for `run` with a read-only root and a writable `/tmp`.
    fn read_only_with_tmp(self) -> &'static [&'static [&'static str]] {
        match self {
            Kind::Docker => &[&["--read-only", "--tmpfs", "/tmp"]],
            Kind::Podman => &[&["--read-only", "--tmpfs", "/tmp"], &["--read-only"]],
        }
    }
}

/// A running engine and everything it owns (see the module comment).
struct Engine {
    kind: Kind,
    /// `/tmp/dinit-engines-UID/PID/KIND`.
    dir: PathBuf,
    /// dockerd's log, podman's event log: in a test directory
    /// (`/tmp/dinit-it-UID/PID/KIND-engine-N`), kept after the run like the
    /// tests' own.
    log: PathBuf,
    /// dockerd (podman has no daemon).
    daemon: Option<Child>,
}

/// The started engines (or why one could not start), dropped at exit.
enum Slot {
    Idle,
    Up(Arc<Engine>),
    Failed(String),
}

static SLOTS: Mutex<[Slot; 2]> = Mutex::new([Slot::Idle, Slot::Idle]);

fn slots() -> MutexGuard<'static, [Slot; 2]> {
    SLOTS.lock().unwrap_or_else(|e| e.into_inner())
}

/// Drops the engines once libtest is done (from `exit`).
extern "C" fn stop_engines() {
    let taken = std::mem::replace(&mut *slots(), [Slot::Idle, Slot::Idle]);
    drop(taken);
}

/// The engine of `kind`, started on first use (and the stale directories of
/// killed earlier runs torn down first); fails the test with the engine's
/// log when it cannot start.
fn engine(kind: Kind) -> Arc<Engine> {
    static FIRST: Once = Once::new();
    let mut slots = slots();
    FIRST.call_once(|| {
        hold_engine_lock();
        sweep_stale();
        // SAFETY: stop_engines is an extern "C" fn that takes no arguments;
        // atexit only records the pointer.
        let r = unsafe { libc::atexit(stop_engines) };
        assert_eq!(r, 0, "atexit failed");
    });
    let slot = &mut slots[kind as usize];
    if let Slot::Idle = slot {
        *slot = match Engine::start(kind) {
            Ok(e) => Slot::Up(Arc::new(e)),
            Err(why) => Slot::Failed(why),
        };
    }
    match slot {
        Slot::Up(e) => e.clone(),
        Slot::Failed(why) => panic!("{} cannot start: {why}", kind.name()),
        Slot::Idle => unreachable!(),
    }
}

/// One test binary at a time drives the engines on this machine: two
/// dockerds share `/run/containerd` and the other host paths, and one
/// run's teardown would remove what the other still uses. The lock is
/// taken before the first engine starts and held until the process exits
/// (the kernel releases it however the process ends); a second run waits
/// for it, bounded, and says so.
fn hold_engine_lock() {
    use std::os::unix::io::AsRawFd;
    static LOCK: std::sync::OnceLock<fs::File> = std::sync::OnceLock::new();
    const LOCK_WAIT: Duration = Duration::from_secs(45 * 60);
    let path = PathBuf::from(format!("{}.lock", state_base().display()));
    let file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .unwrap_or_else(|e| panic!("cannot open {}: {e}", path.display()));
    let start = Instant::now();
    let mut said = false;
    // SAFETY: flock takes an open descriptor of `file`, which lives on.
    while unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
        if !said {
            eprintln!(
                "engines: another test run holds {}; waiting for it",
                path.display()
            );
            said = true;
        }
        assert!(
            start.elapsed() < LOCK_WAIT,
            "{} still held after {LOCK_WAIT:?}",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    let _ = LOCK.set(file);
}

/// `/tmp/dinit-engines-UID`: fixed, so that a later run finds what a killed
/// one left.
fn state_base() -> PathBuf {
    // SAFETY: getuid has no preconditions.
    PathBuf::from(format!("/tmp/dinit-engines-{}", unsafe { libc::getuid() }))
}

/// Tear down the engine directories of earlier runs whose test process is
/// gone.
fn sweep_stale() {
    let me = std::process::id();
    for entry in fs::read_dir(state_base()).into_iter().flatten().flatten() {
        let owner = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<i32>().ok());
        if owner.is_some_and(|pid| pid as u32 == me || alive(pid)) {
            continue;
        }
        for kind in [Kind::Docker, Kind::Podman] {
            let dir = entry.path().join(kind.name());
            if dir.exists() {
                eprintln!(
                    "engines: tearing down {} left by a killed run",
                    dir.display()
                );
                teardown(kind, &dir, None);
            }
        }
        let _ = fs::remove_dir(entry.path());
    }
}

impl Engine {
    fn start(kind: Kind) -> Result<Engine, String> {
        if !is_root() {
            return Err(
                "the engine tests need root (dockerd, rootful podman): run them as root".into(),
            );
        }
        let needs: &[(&str, &str)] = match kind {
            Kind::Docker => &[("dockerd", "docker.io"), ("docker", "docker.io")],
            Kind::Podman => &[("podman", "podman"), ("catatonit", "catatonit")],
        };
        for (prog, package) in needs {
            if !on_path(prog) {
                return Err(format!(
                    "{prog} is missing: run scripts/setup.sh test (Debian package {package})"
                ));
            }
        }
        let dir = state_base()
            .join(std::process::id().to_string())
            .join(kind.name());
        teardown(kind, &dir, None);
        fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let created: Vec<&str> = kind
            .host_paths()
            .iter()
            .copied()
            .filter(|p| !Path::new(p).exists())
            .collect();
        fs::write(dir.join("created"), created.join("\n")).unwrap();
        // From here on, Drop cleans up whatever happens.
        let log = workdir(&format!("{}-engine", kind.name())).join(match kind {
            Kind::Docker => "dockerd.log",
            Kind::Podman => "events.log",
        });
        let mut e = Engine {
            kind,
            dir,
            log,
            daemon: None,
        };
        match kind {
            Kind::Docker => e.start_dockerd()?,
            Kind::Podman => e.configure_podman()?,
        }
        e.build_images()?;
        Ok(e)
    }

    /// Start dockerd on a socket and state of its own, with no networking,
    /// and `bin()` as what `run --init` injects; wait until it serves.
    fn start_dockerd(&mut self) -> Result<(), String> {
        let d = self.dir.clone();
        let p = |name: &str| d.join(name).into_os_string();
        // Its own (empty) daemon.json: the machine's /etc/docker/daemon.json
        // could contradict these flags.
        fs::write(d.join("daemon.json"), "{}\n").unwrap();
        let log = fs::File::create(&self.log).unwrap();
        let child = Command::new("dockerd")
            .arg("--config-file")
            .arg(p("daemon.json"))
            .arg("--data-root")
            .arg(p("data"))
            .arg("--exec-root")
            .arg(p("exec"))
            .arg("--pidfile")
            .arg(p("docker.pid"))
            .arg("-H")
            .arg(format!("unix://{}", d.join("docker.sock").display()))
            .args([
                "--iptables=false",
                "--ip6tables=false",
                "--ip-forward=false",
                "--ip-masq=false",
            ])
            .args(["--bridge=none", "--storage-driver=overlay2"])
            // Kept apart should it share a system containerd.
            .args([
                "--containerd-namespace",
                "dinit-it",
                "--containerd-plugins-namespace",
                "dinit-it-plugins",
            ])
            .arg("--init-path")
            .arg(bin())
            .env_clear()
            .env("PATH", PATH)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("cannot run dockerd: {e}"))?;
        self.daemon = Some(child);
        let sock = d.join("docker.sock");
        let start = Instant::now();
        loop {
            if let Some(st) = self.daemon.as_mut().unwrap().try_wait().unwrap() {
                return Err(format!("dockerd exited ({st}); {}", self.log_tail()));
            }
            // dockerd creates the socket when its API is up.
            if UnixStream::connect(&sock).is_ok() {
                break;
            }
            if start.elapsed() > ENGINE_WAIT {
                return Err(format!(
                    "dockerd not serving {} after {ENGINE_WAIT:?}; {}",
                    sock.display(),
                    self.log_tail()
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let v = self.cli_within(&["version", "--format", "{{.Server.Version}}"])?;
        if v.code != 0 {
            return Err(format!(
                "docker version failed\n{}\n{}",
                v.dump(),
                self.log_tail()
            ));
        }
        Ok(())
    }

    /// Give podman a configuration whose every path is under the engine's
    /// directory, and check that it works.
    fn configure_podman(&self) -> Result<(), String> {
        let (d, log) = (self.dir.display(), self.log.display());
        for sub in ["home", "tmp", "cni", "netconf"] {
            fs::create_dir_all(self.dir.join(sub)).unwrap();
        }
        // Podman raises nofile and nproc to its own defaults, which needs
        // CAP_SYS_RESOURCE (root here lacks it): give the current hard
        // limits instead, which never raises anything; nproc at most
        // pid_max, above which podman's runc fails the same way.
        let hard = |r| {
            let mut l = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            // SAFETY: getrlimit writes one rlimit into `l`, which lives on.
            assert_eq!(unsafe { libc::getrlimit(r, &mut l) }, 0);
            l.rlim_max
        };
        let pid_max: u64 = fs::read_to_string("/proc/sys/kernel/pid_max")
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(32768);
        let nofile = hard(libc::RLIMIT_NOFILE).min(1 << 20);
        let nproc = hard(libc::RLIMIT_NPROC).min(pid_max);
        let conf = format!(
            r#"# Written by tests/it/engines.rs: podman keeps everything under {d}.
[containers]
default_ulimits = ["nofile={nofile}:{nofile}", "nproc={nproc}:{nproc}"]

[network]
# Every container runs with --network none: no plugins, no firewall rules.
network_backend = "cni"
cni_plugin_dirs = ["{d}/cni"]
network_config_dir = "{d}/netconf"

[engine]
# No systemd here.
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "{log}"
tmp_dir = "{d}/libpod"
static_dir = "{d}/storage/libpod"
volume_path = "{d}/storage/volumes"
image_copy_tmp_dir = "{d}/tmp"
# File locks under tmp_dir, not a shared segment in /dev/shm.
lock_type = "file"
"#
        );
        fs::write(self.dir.join("containers.conf"), conf).unwrap();
        let storage = format!(
            "[storage]\ndriver = \"overlay\"\ngraphroot = \"{d}/storage\"\nrunroot = \"{d}/run\"\n"
        );
        fs::write(self.dir.join("storage.conf"), storage).unwrap();
        fs::write(
            self.dir.join("registries.conf"),
            "unqualified-search-registries = []\n",
        )
        .unwrap();
        let info = self.cli_within(&["info"])?;
        if info.code != 0 {
            return Err(format!("podman info failed\n{}", tail(&info.dump(), 30)));
        }
        Ok(())
    }

    /// Load the release's image archive, then build the three test images:
    /// two from it (`COPY --from` the host platform's tag), one of busybox
    /// alone.
    fn build_images(&self) -> Result<(), String> {
        let archive = crate::release::archive();
        let load = self.cli_within(&["load", "-i", archive.to_str().unwrap()])?;
        if load.code != 0 {
            return Err(format!(
                "cannot load {}\n{}",
                archive.display(),
                tail(&load.dump(), 30)
            ));
        }
        let release = Platform::host().tag();
        let images = self.dir.join("images");
        for (tag, dockerfile, with_dinit) in [
            (IMAGE, DINIT_DOCKERFILE, true),
            (BUSYBOX, BUSYBOX_DOCKERFILE, false),
            (STOPSIGNAL, STOPSIGNAL_DOCKERFILE, true),
        ] {
            let ctx = images.join(tag.rsplit(':').next().unwrap());
            let root = ctx.join("rootfs");
            install_busybox(&root);
            if with_dinit {
                // /dinit, /dinit-submit and /tmp come from the release image.
                script(&root, "myapp", MYAPP);
            } else {
                fs::create_dir_all(root.join("tmp")).unwrap();
                fs::set_permissions(root.join("tmp"), fs::Permissions::from_mode(0o1777)).unwrap();
            }
            fs::write(
                ctx.join("Dockerfile"),
                dockerfile.replace("RELEASE_IMAGE", &release),
            )
            .unwrap();
            let ctx = ctx.to_str().unwrap();
            let out = self.cli_within(&["build", "-q", "-t", tag, ctx])?;
            if out.code != 0 {
                return Err(format!("cannot build {tag}\n{}", tail(&out.dump(), 30)));
            }
        }
        Ok(())
    }

    /// The engine's client.
    fn cli(&self) -> Command {
        self.kind.cli(&self.dir)
    }

    fn cli_within(&self, args: &[&str]) -> Result<Output, String> {
        let mut cmd = self.cli();
        cmd.args(args);
        run_within(cmd, &self.dir, ENGINE_WAIT)
    }

    fn log_tail(&self) -> String {
        let log = fs::read_to_string(&self.log).unwrap_or_default();
        format!("last lines of {}:\n{}", self.log.display(), tail(&log, 20))
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        teardown(self.kind, &self.dir, self.daemon.take());
    }
}

/// Stop the engine whose directory is `dir` and remove all it left: used by
/// `Drop` and for the directories of killed runs. Never panics (it runs
/// from `exit`).
fn teardown(kind: Kind, dir: &Path, daemon: Option<Child>) {
    if !dir.exists() {
        return;
    }
    let cli = |args: &[&str]| {
        let mut cmd = kind.cli(dir);
        cmd.args(args);
        run_within(cmd, dir, ENGINE_WAIT).ok()
    };
    match kind {
        Kind::Docker => {
            if dir.join("docker.sock").exists()
                && let Some(ps) = cli(&["ps", "-aq"])
            {
                let ids: Vec<&str> = ps.stdout.split_whitespace().collect();
                if !ids.is_empty() {
                    cli(&[&["rm", "-f"][..], &ids].concat());
                }
            }
            stop_dockerd(dir, daemon);
        }
        Kind::Podman => {
            if dir.join("containers.conf").exists() {
                cli(&["pod", "rm", "-a", "-f", "-t", "0"]);
                cli(&["rm", "-a", "-f", "-t", "0"]);
            }
        }
    }
    kill_processes_of(dir);
    unmount_under(dir);
    let created = fs::read_to_string(dir.join("created")).unwrap_or_default();
    for path in created.lines().rev().filter(|l| !l.is_empty()) {
        let p = Path::new(path);
        let _ = if p.is_dir() {
            fs::remove_dir(p)
        } else {
            fs::remove_file(p)
        };
    }
    let _ = fs::remove_dir_all(dir);
    if let Some(parent) = dir.parent() {
        let _ = fs::remove_dir(parent);
    }
}

/// SIGTERM the dockerd of `dir` (our child, or else the pid in its pidfile
/// when that process still runs from `dir`), SIGKILL it if it has not gone
/// after `WAIT`. dockerd stops the containerd it started.
fn stop_dockerd(dir: &Path, daemon: Option<Child>) {
    let pid = match &daemon {
        Some(c) => c.id() as i32,
        None => match fs::read_to_string(dir.join("docker.pid")).map(|s| s.trim().parse()) {
            Ok(Ok(pid)) if mentions(pid, dir) => pid,
            _ => return,
        },
    };
    let mut daemon = daemon;
    let mut gone = || match &mut daemon {
        Some(c) => !matches!(c.try_wait(), Ok(None)),
        None => !alive(pid),
    };
    // SAFETY: kill has no memory-safety preconditions.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    let start = Instant::now();
    while !gone() && start.elapsed() < WAIT {
        std::thread::sleep(Duration::from_millis(20));
    }
    if !gone() {
        // SAFETY: as above.
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
    if let Some(mut c) = daemon {
        let _ = c.wait();
    }
}

/// Whether the command line of `pid` mentions `dir`.
fn mentions(pid: i32, dir: &Path) -> bool {
    let needle = dir.as_os_str().as_bytes();
    fs::read(format!("/proc/{pid}/cmdline"))
        .is_ok_and(|c| c.windows(needle.len()).any(|w| w == needle))
}

/// SIGKILL every process whose command line mentions `dir` (dockerd,
/// containerd, shims, conmon, ...) and all their descendants (the
/// containers), until none is left (bounded by `WAIT`).
fn kill_processes_of(dir: &Path) {
    let start = Instant::now();
    loop {
        let mut parents: Vec<(i32, i32)> = Vec::new();
        let mut doomed: Vec<i32> = Vec::new();
        for entry in fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|s| s.parse::<i32>().ok())
            else {
                continue;
            };
            if mentions(pid, dir) {
                doomed.push(pid);
            }
            let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
            if let Some(ppid) = status_field(&status, "PPid").and_then(|p| p.parse().ok()) {
                parents.push((pid, ppid));
            }
        }
        doomed.retain(|&p| p != std::process::id() as i32);
        if doomed.is_empty() || start.elapsed() > WAIT {
            return;
        }
        let mut i = 0;
        while i < doomed.len() {
            let p = doomed[i];
            for &(c, _) in parents.iter().filter(|&&(_, pp)| pp == p) {
                if !doomed.contains(&c) {
                    doomed.push(c);
                }
            }
            i += 1;
        }
        for p in doomed {
            // SAFETY: kill has no memory-safety preconditions.
            unsafe { libc::kill(p, libc::SIGKILL) };
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The last `n` lines of `text`.
pub(crate) fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// `examples/Dockerfile.scratch`'s final stage (`/dinit`, the
/// `/dinit-submit` symlink and an empty `/tmp` of mode 1777, all from the
/// release image, and the app with the same ENTRYPOINT), plus busybox for
/// the tests' scripts. A CMD, so that `run IMAGE ARGS` has something to
/// replace. (RELEASE_IMAGE: the host platform's tag from the archive.)
const DINIT_DOCKERFILE: &str = r#"FROM scratch
COPY --from=RELEASE_IMAGE / /
COPY rootfs/ /
ENTRYPOINT ["/dinit", "-timeout", "8s", "-r", "/myapp", "-listen", ":${PORT:-8080}"]
CMD ["-name", "default"]
"#;

/// No dinit: for `run --init`, which injects the engine's init.
const BUSYBOX_DOCKERFILE: &str = r#"FROM scratch
COPY rootfs/ /
CMD ["sh"]
"#;

/// A server whose graceful stop is SIGQUIT (nginx, php-fpm): the image's
/// STOPSIGNAL reaches dinit, `-stopsignal` passes it to every child. The
/// ENTRYPOINT ends with `-r`, so `run IMAGE CMD...` names the program.
const STOPSIGNAL_DOCKERFILE: &str = r#"FROM scratch
COPY --from=RELEASE_IMAGE / /
COPY rootfs/ /
STOPSIGNAL SIGQUIT
ENTRYPOINT ["/dinit", "-stopsignal", "QUIT", "-timeout", "5s", "-r"]
CMD ["/myapp", "-listen", ":8080"]
"#;

/// `/myapp` of the images: a busybox stand-in for the app of
/// examples/Dockerfile.scratch and examples/kubernetes.yaml. It serves (a
/// sleep) until a signal kills it, like a server with no handler of its
/// own; `-drain` (the manifest's `-prestop`) takes its readiness away.
/// `MYAPP_EXIT=N` makes it exit N at once (one-shot runs).
const MYAPP: &str = r#"# Stand-in for the examples' app (tests/it/engines.rs).
if [ "$1" = -drain ]; then
    rm -f /tmp/ready
    echo "myapp: draining"
    exit 0
fi
echo "myapp: serving: $*"
if [ -n "$MYAPP_EXIT" ]; then exit "$MYAPP_EXIT"; fi
: > /tmp/ready 2>/dev/null
exec sleep 2147483647
"#;

/// One test against one engine: its directory (mounted at `/shared` in its
/// containers, mode 0777 for `--user`), and the containers it started,
/// removed when it ends, passed or failed.
pub(crate) struct Case {
    e: Arc<Engine>,
    pub(crate) dir: PathBuf,
    shared: PathBuf,
    name: String,
    containers: Vec<String>,
}

impl Case {
    pub(crate) fn new(kind: Kind, name: &str) -> Case {
        let e = engine(kind);
        let dir = workdir(&format!("{}-{name}", kind.name()));
        let shared = dir.join("shared");
        fs::create_dir_all(&shared).unwrap();
        fs::set_permissions(&shared, fs::Permissions::from_mode(0o777)).unwrap();
        Case {
            e,
            dir,
            shared,
            name: name.into(),
            containers: Vec::new(),
        }
    }

    /// Write `/shared/NAME` (after a `#!/bin/sh` line); returns its path in
    /// the container.
    fn script(&self, name: &str, body: &str) -> String {
        script(&self.shared, name, body);
        format!("/shared/{name}")
    }

    /// A fresh, unique container name, removed when the test ends.
    pub(crate) fn container(&mut self) -> String {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::SeqCst);
        let c = format!("dinit-it-{}-{n}-{}", std::process::id(), self.name);
        self.containers.push(c.clone());
        c
    }

    /// The engine's client with `args`.
    pub(crate) fn command(&self, args: &[&str]) -> Command {
        let mut cmd = self.e.cli();
        cmd.args(args);
        cmd
    }

    /// Run the engine's client with `args` (bounded by `ENGINE_WAIT`).
    pub(crate) fn cli(&self, args: &[&str]) -> Output {
        run_within(self.command(args), &self.dir, ENGINE_WAIT).unwrap_or_else(|e| panic!("{e}"))
    }

    /// `run` with no network and `/shared`, then `opts`, then `args` (the
    /// image and what follows it).
    fn run_args(&self, opts: &[&str], args: &[&str]) -> Vec<String> {
        let vol = format!("{}:/shared", self.shared.display());
        let mut v: Vec<String> = ["run", "--network", "none", "-v", &vol]
            .map(String::from)
            .to_vec();
        v.extend(opts.iter().chain(args).map(|s| s.to_string()));
        v
    }

    /// `run --rm` in the foreground: the client's status is the container's.
    fn run(&mut self, opts: &[&str], args: &[&str]) -> Output {
        let c = self.container();
        let opts = [&["--rm", "--name", &c][..], opts].concat();
        let argv = self.run_args(&opts, args);
        self.cli(&argv.iter().map(String::as_str).collect::<Vec<_>>())
    }

    /// `run -d`: a detached container, by name.
    fn start(&mut self, opts: &[&str], args: &[&str]) -> String {
        let c = self.container();
        let opts = [&["-d", "--name", &c][..], opts].concat();
        let argv = self.run_args(&opts, args);
        let out = self.cli(&argv.iter().map(String::as_str).collect::<Vec<_>>());
        assert_eq!(out.code, 0, "cannot start a container\n{}", out.dump());
        c
    }

    /// `/shared/NAME` once it contains `what` (bounded by `ENGINE_WAIT`; a
    /// container `c` that exits before fails the test at once).
    fn wait_shared(&self, c: &str, name: &str, what: &str) -> String {
        let start = Instant::now();
        let mut checked = Instant::now();
        loop {
            let text = fs::read_to_string(self.shared.join(name)).unwrap_or_default();
            if text.contains(what) {
                return text;
            }
            if checked.elapsed() > Duration::from_secs(1) {
                checked = Instant::now();
                let st = self.cli(&["inspect", "--format", "{{.State.Status}}", c]);
                if st.code != 0 || st.stdout.trim() == "exited" {
                    panic!(
                        "{c} is {} before {name} held {what:?}\n{}",
                        st.stdout.trim(),
                        self.logs(c).dump()
                    );
                }
            }
            if start.elapsed() > ENGINE_WAIT {
                panic!(
                    "timed out waiting for {what:?} in {name}: {text:?}\n{}",
                    self.logs(c).dump()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `wait C`: the container's exit status.
    pub(crate) fn wait_exit(&self, c: &str) -> i32 {
        let out = self.cli(&["wait", c]);
        assert_eq!(out.code, 0, "{}", out.dump());
        out.stdout
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("no status from wait: {}", out.dump()))
    }

    /// `logs C`: its stdout, and dinit's log on stderr.
    pub(crate) fn logs(&self, c: &str) -> Output {
        self.cli(&["logs", c])
    }

    /// `exec C ARGS...`.
    pub(crate) fn exec(&self, c: &str, args: &[&str]) -> Output {
        self.cli(&[&["exec", c][..], args].concat())
    }

    /// `stop -t T C`, asserted to succeed; how long it took.
    pub(crate) fn stop(&self, c: &str, t: &str) -> Duration {
        let out = self.cli(&["stop", "-t", t, c]);
        assert_eq!(out.code, 0, "{}", out.dump());
        out.elapsed
    }

    /// `stop -t T C` of a container whose processes all end on the stop
    /// signal: it exits with `code`, and at once by dinit's own stamps
    /// (not the engine's command time): at most 4 s (so less than 5 s)
    /// from the line `received` to the goodbye, nothing killed. Returns
    /// `logs C`.
    fn stop_at_once(&self, c: &str, t: &str, code: i32, received: &str) -> Output {
        self.stop(c, t);
        let logs = self.logs(c);
        assert_eq!(self.wait_exit(c), code, "{}", logs.dump());
        let took = logged_span(&logs, received, "all processes exited, goodbye!");
        assert!(took <= 4, "teardown took {took} s\n{}", logs.dump());
        assert!(!logs.stderr.contains("killing"), "{}", logs.dump());
        logs
    }
}

impl Drop for Case {
    fn drop(&mut self) {
        if !self.containers.is_empty() {
            let args = [
                &["rm", "-f"][..],
                &self
                    .containers
                    .iter()
                    .map(String::as_str)
                    .collect::<Vec<_>>(),
            ]
            .concat();
            let _ = run_within(self.command(&args), &self.dir, ENGINE_WAIT);
        }
    }
}

/// `ok PID` from a submit reply.
fn ok_pid(out: &Output) -> i32 {
    out.stdout
        .trim()
        .strip_prefix("ok ")
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or_else(|| panic!("no `ok PID`: {}", out.dump()))
}

/// Fails the test, showing all of `out`, unless dinit's log (its stderr)
/// has each of `lines`.
fn assert_logged(out: &Output, lines: &[&str]) {
    for line in lines {
        assert!(
            out.stderr.contains(line),
            "no {line:?} in the log\n{}",
            out.dump()
        );
    }
}

/// The seconds of a `HH:MM:SS` in a log line's stamp (`YYYY/MM/DD HH:MM:SS`).
fn stamp_secs(line: &str) -> u32 {
    let hms = line
        .get(11..19)
        .unwrap_or_else(|| panic!("no stamp: {line:?}"));
    hms.split(':')
        .fold(0, |acc, f| acc * 60 + f.parse::<u32>().unwrap())
}

/// Whole seconds from log line `a` to the later log line `b`, by their
/// stamps (across midnight too). The stamps have 1 s resolution: D seconds
/// read as the whole part of D or one more, so a reading of N proves
/// D < N + 1.
fn stamp_span(a: &str, b: &str) -> u32 {
    (stamp_secs(b) + 86400 - stamp_secs(a)) % 86400
}

/// `stamp_span` from the first line of dinit's log (the stderr of `logs`)
/// that contains `from` to the first line after it that contains `to`:
/// dinit's own measure of how long that took, whatever the engine's
/// commands cost. Fails the test, showing `logs`, when either is missing.
pub(crate) fn logged_span(logs: &Output, from: &str, to: &str) -> u32 {
    let lines: Vec<&str> = logs.stderr.lines().collect();
    let i = lines
        .iter()
        .position(|l| l.contains(from))
        .unwrap_or_else(|| panic!("no {from:?} in the log\n{}", logs.dump()));
    let j = (i + 1..lines.len())
        .find(|&j| lines[j].contains(to))
        .unwrap_or_else(|| panic!("no {to:?} after {from:?} in the log\n{}", logs.dump()));
    stamp_span(lines[i], lines[j])
}

/// A script that says it is ready, then waits for a signal to end it.
const READY_SLEEP: &str = "echo ready > /shared/ready\nexec sleep 1000\n";

/// Generates `engines::docker::NAME` and `engines::podman::NAME` for each
/// scenario `NAME(kind)`.
macro_rules! engine_tests {
    ($($scenario:ident),* $(,)?) => {
        mod docker {
            $(#[test]
            fn $scenario() {
                if !crate::util::skip_if_emulated(super::QEMU_ENGINES) {
                    super::$scenario(super::Kind::Docker);
                }
            })*
        }
        mod podman {
            $(#[test]
            fn $scenario() {
                if !crate::util::skip_if_emulated(super::QEMU_ENGINES) {
                    super::$scenario(super::Kind::Podman);
                }
            })*
        }
    };
}

/// For realapps.rs's scenarios too.
pub(crate) use engine_tests;

engine_tests! {
    exit_status_is_the_primarys,
    run_args_extend_the_last_command,
    kill_hup_reaches_every_child,
    stop_reaches_a_term_trapping_child,
    stop_deaf_child_killed_by_dinit_after_timeout,
    exec_submit_starts_a_child_of_pid1,
    exec_submit_as_the_containers_user,
    read_only_root_runs_without_the_socket,
    read_only_root_with_writable_tmp_has_the_socket,
    logs_show_dinits_lines,
    tty_ctrl_backslash_resize_and_ctrl_c,
    init_drop_in_runs_a_plain_image,
    stopsignal_quit_image_stops_gracefully,
    seccomp_default_profile_stays_on,
    release_image_runs_on_each_platform,
    copy_from_release_image_carries_dinit,
    example_dockerfile_scratch_builds_for_each_platform,
}

/// SPEC §3: the primary's exit status is the container's: `exit 3` is 3, a
/// primary killed by SIGKILL is 137 (128 + 9).
fn exit_status_is_the_primarys(kind: Kind) {
    let mut t = Case::new(kind, "status");
    let out = t.run(
        &["--entrypoint", "/dinit"],
        &[IMAGE, "-r", "/bin/sh", "-c", "exit 3"],
    );
    assert_eq!(out.code, 3, "{}", out.dump());
    assert_logged(&out, &["with error: exit status 3"]);

    let killed = t.script("killed.sh", "kill -KILL $$\n");
    let out = t.run(&["--entrypoint", "/dinit"], &[IMAGE, "-r", &killed]);
    assert_eq!(out.code, 137, "{}", out.dump());
    assert_logged(
        &out,
        &["finished: [/shared/killed.sh] with error: signal: killed"],
    );
}

/// SPEC §2: `run IMAGE ARGS` replaces the image's CMD, and the CMD extends
/// the ENTRYPOINT's last `-r` command, the primary; dinit expands
/// `${PORT:-8080}` in the exec-form ENTRYPOINT, which the engine does not.
fn run_args_extend_the_last_command(kind: Kind) {
    let mut t = Case::new(kind, "args");
    let out = t.run(&["-e", "MYAPP_EXIT=0"], &[IMAGE]);
    assert_eq!(out.code, 0, "{}", out.dump());
    assert_eq!(
        out.stdout,
        "myapp: serving: -listen :8080 -name default\n",
        "{}",
        out.dump()
    );

    let out = t.run(
        &["-e", "MYAPP_EXIT=4", "-e", "PORT=9090"],
        &[IMAGE, "-verbose", "x y"],
    );
    assert_eq!(out.code, 4, "{}", out.dump());
    assert_eq!(
        out.stdout,
        "myapp: serving: -listen :9090 -verbose x y\n",
        "{}",
        out.dump()
    );
    assert_logged(&out, &["started: [/myapp -listen :9090 -verbose x y]"]);
}

/// SPEC §4: `kill -s HUP C` reaches dinit, which passes it to every child,
/// primary or not, and goes on; `stop` then ends the container.
fn kill_hup_reaches_every_child(kind: Kind) {
    let mut t = Case::new(kind, "hup");
    let rec = t.script(
        "rec.sh",
        "trap 'echo HUP >> /shared/$1.got' HUP\necho ready > /shared/$1.ready\n\
         while :; do sleep 1 & wait $!; done\n",
    );
    let c = t.start(
        &["--entrypoint", "/dinit"],
        &[IMAGE, "-r", &rec, "worker", "-r", &rec, "primary"],
    );
    t.wait_shared(&c, "worker.ready", "ready");
    t.wait_shared(&c, "primary.ready", "ready");
    let kill = t.cli(&["kill", "-s", "HUP", &c]);
    assert_eq!(kill.code, 0, "{}", kill.dump());
    t.wait_shared(&c, "worker.got", "HUP");
    t.wait_shared(&c, "primary.got", "HUP");
    t.stop(&c, "10");
    assert_eq!(t.wait_exit(&c), 143);
    let log = t.logs(&c).stderr;
    assert!(log.contains("forwarded SIGHUP to 2 processes"), "{log}");
}

/// SPEC §3: `stop` sends SIGTERM to dinit, which passes it on; a child that
/// traps it (and then dies of it) ends the container with 143 at once, far
/// inside `stop -t 10` (the engine's SIGKILL would give 137) and dinit's
/// `-timeout 20s`: by dinit's own stamps, not the engine's command time.
fn stop_reaches_a_term_trapping_child(kind: Kind) {
    let mut t = Case::new(kind, "stop");
    let trap = t.script(
        "trap.sh",
        "trap 'echo TERM >> /shared/got; trap - TERM; kill -TERM $$' TERM\n\
         echo ready > /shared/ready\nwhile :; do sleep 1 & wait $!; done\n",
    );
    let c = t.start(
        &["--entrypoint", "/dinit"],
        &[IMAGE, "-timeout", "20s", "-r", &trap],
    );
    t.wait_shared(&c, "ready", "ready");
    t.stop_at_once(&c, "10", 143, "received SIGTERM, stopping");
    assert_eq!(fs::read_to_string(t.shared.join("got")).unwrap(), "TERM\n");
}

/// SPEC §3: a child that ignores SIGTERM is SIGKILLed by dinit once
/// `-timeout 1s` has passed, long before the engine's own SIGKILL
/// (`stop -t 30`); dinit then exits by itself with the primary's 137. That
/// dinit, not the engine, killed is in its log (an engine's SIGKILL of
/// PID 1 leaves no `killing` or goodbye line); when is measured by dinit's
/// stamps, not by how long the engine's `stop` took.
fn stop_deaf_child_killed_by_dinit_after_timeout(kind: Kind) {
    let mut t = Case::new(kind, "deaf");
    let deaf = t.script(
        "deaf.sh",
        "trap '' TERM\necho ready > /shared/ready\nexec sleep 1000\n",
    );
    let c = t.start(
        &["--entrypoint", "/dinit"],
        &[IMAGE, "-timeout", "1s", "-r", &deaf],
    );
    t.wait_shared(&c, "ready", "ready");
    let took = t.stop(&c, "30");
    let logs = t.logs(&c);
    assert_eq!(t.wait_exit(&c), 137, "{}", logs.dump());
    // Not before the timeout: `stop` returned after the container ended,
    // which was at least the 1 s timeout after dinit got the SIGTERM `stop`
    // sent (a slow engine only makes this longer).
    assert!(
        took >= Duration::from_millis(800),
        "stop took {took:?} for a 1 s timeout\n{}",
        logs.dump()
    );
    // Soon after it, by dinit's own clock: far from the engine's 30 s.
    let killed = logged_span(
        &logs,
        "received SIGTERM, stopping",
        "killing 1 remaining process",
    );
    assert!(
        killed <= 5,
        "killed {killed} s after the SIGTERM, for a 1 s timeout\n{}",
        logs.dump()
    );
    assert_logged(
        &logs,
        &[
            "received SIGTERM, stopping",
            "killing 1 remaining process",
            "finished: [/shared/deaf.sh] with error: signal: killed",
            "all processes exited, goodbye!",
        ],
    );
}

/// `exec C /dinit -submit -r ...` starts a child of PID 1 with the uid
/// `uid`; `/dinit-submit -list` lists it beside the primary.
fn submit_and_list(t: &Case, c: &str, uid: u32) {
    let ok = t.exec(c, &["/dinit", "-submit", "-r", "/bin/sleep", "30"]);
    assert_eq!(ok.code, 0, "{}\n{}", ok.dump(), t.logs(c).dump());
    let pid = ok_pid(&ok);
    let status = t.exec(c, &["cat", &format!("/proc/{pid}/status")]);
    assert_eq!(status.code, 0, "{}", status.dump());
    assert_eq!(
        status_field(&status.stdout, "PPid"),
        Some("1"),
        "{}",
        status.stdout
    );
    let uids = status_field(&status.stdout, "Uid").unwrap_or("");
    assert_eq!(
        uids.split_whitespace().next(),
        Some(uid.to_string().as_str()),
        "{}",
        status.stdout
    );
    let list = t.exec(c, &["/dinit-submit", "-list"]);
    assert_eq!(list.code, 0, "{}", list.dump());
    assert!(
        list.stdout
            .lines()
            .any(|l| l.starts_with(&format!("pid {pid} primary no "))
                && l.ends_with("[/bin/sleep 30]")),
        "{}",
        list.dump()
    );
    assert!(
        list.stdout
            .lines()
            .any(|l| l.contains("primary yes") && l.ends_with("[/shared/wait.sh]")),
        "{}",
        list.dump()
    );
}

/// SPEC §5: the socket through `exec`, as root.
fn exec_submit_starts_a_child_of_pid1(kind: Kind) {
    let mut t = Case::new(kind, "submit");
    let wait = t.script("wait.sh", READY_SLEEP);
    let c = t.start(&["--entrypoint", "/dinit"], &[IMAGE, "-r", &wait]);
    t.wait_shared(&c, "ready", "ready");
    submit_and_list(&t, &c, 0);
    t.stop(&c, "10");
    assert_eq!(t.wait_exit(&c), 143);
    assert_logged(&t.logs(&c), &["started: [/bin/sleep 30]"]);
}

/// SPEC §5: in a `--user 1000:1000` container, `exec` runs as that user,
/// dinit's own, and is served; root (`exec -u 0`) is served too.
fn exec_submit_as_the_containers_user(kind: Kind) {
    let mut t = Case::new(kind, "user");
    let wait = t.script("wait.sh", READY_SLEEP);
    let c = t.start(
        &["--user", "1000:1000", "--entrypoint", "/dinit"],
        &[IMAGE, "-r", &wait],
    );
    t.wait_shared(&c, "ready", "ready");
    submit_and_list(&t, &c, 1000);
    let root = t.cli(&["exec", "-u", "0", &c, "/dinit-submit", "-list"]);
    assert_eq!(root.code, 0, "{}", root.dump());
    assert!(root.stdout.contains("[/bin/sleep 30]"), "{}", root.dump());
}

/// SPEC §5: with a read-only root (and `/tmp`), dinit warns once and runs
/// without the socket: the primary runs and its status comes back, and a
/// client fails at once with one line.
fn read_only_root_runs_without_the_socket(kind: Kind) {
    let mut t = Case::new(kind, "ro");
    let wait = t.script(
        "wait.sh",
        "echo ready > /shared/ready\nwhile [ ! -e /shared/release ]; do sleep 0.05; done\nexit 5\n",
    );
    let opts = [kind.read_only(), &["--entrypoint", "/dinit"]].concat();
    let c = t.start(&opts, &[IMAGE, "-r", &wait]);
    t.wait_shared(&c, "ready", "ready");
    // The client timed inside the container (/proc/uptime, 10 ms steps, on
    // stdout), without the engine's own `exec` overhead.
    let timed = "read a _ < /proc/uptime; /dinit -submit -list; s=$?; \
                 read b _ < /proc/uptime; echo \"$a $b\"; exit $s";
    let list = t.exec(&c, &["sh", "-c", timed]);
    assert_eq!(list.code, 1, "{}", list.dump());
    assert_eq!(
        list.stderr.lines().count(),
        1,
        "not one line: {}",
        list.dump()
    );
    // It failed to connect (no socket), not waiting for a reply ...
    assert!(
        list.stderr
            .contains("nobody is listening on /tmp/dinit.sock"),
        "{}",
        list.dump()
    );
    // ... and at once: well inside the client's 10 s wait for a reply.
    let uptimes: Vec<f64> = list
        .stdout
        .split_whitespace()
        .map(|w| w.parse().unwrap_or_else(|_| panic!("{}", list.dump())))
        .collect();
    assert_eq!(uptimes.len(), 2, "{}", list.dump());
    let took = uptimes[1] - uptimes[0];
    assert!(took < 8.0, "the client took {took:.2} s\n{}", list.dump());
    fs::write(t.shared.join("release"), "").unwrap();
    assert_eq!(t.wait_exit(&c), 5, "{}", t.logs(&c).dump());
    let log = t.logs(&c).stderr;
    let warnings: Vec<&str> = log.lines().filter(|l| l.contains("socket")).collect();
    assert_eq!(warnings.len(), 1, "{log}");
    assert!(warnings[0].contains("running without the socket"), "{log}");
}

/// SPEC §5: a read-only root with a writable `/tmp` (`--tmpfs /tmp`, or
/// podman's own tmpfs) keeps the socket.
fn read_only_root_with_writable_tmp_has_the_socket(kind: Kind) {
    let mut t = Case::new(kind, "ro-tmp");
    let wait = t.script("wait.sh", READY_SLEEP);
    for flags in kind.read_only_with_tmp() {
        let _ = fs::remove_file(t.shared.join("ready"));
        let opts = [flags, &["--entrypoint", "/dinit"][..]].concat();
        let c = t.start(&opts, &[IMAGE, "-r", &wait]);
        t.wait_shared(&c, "ready", "ready");
        let root_ro = t.exec(&c, &["touch", "/probe"]);
        assert_ne!(root_ro.code, 0, "{flags:?}: the root is writable");
        let list = t.exec(&c, &["/dinit", "-submit", "-list"]);
        assert_eq!(list.code, 0, "{flags:?}: {}", list.dump());
        assert!(list.stdout.contains("[/shared/wait.sh]"), "{}", list.dump());
        t.stop(&c, "10");
        assert!(
            !t.logs(&c).stderr.contains("socket"),
            "{}",
            t.logs(&c).dump()
        );
    }
}

/// SPEC §6: `logs C` has dinit's lines on stderr, each
/// `YYYY/MM/DD HH:MM:SS dinit: MESSAGE` in UTC, ending with the goodbye.
fn logs_show_dinits_lines(kind: Kind) {
    let mut t = Case::new(kind, "logs");
    let before = utc("%Y/%m/%d %H:%M:%S");
    let c = t.container();
    let argv = t.run_args(&["--name", &c, "-e", "MYAPP_EXIT=0"], &[IMAGE]);
    let run = t.cli(&argv.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(run.code, 0, "{}", run.dump());
    let after = utc("%Y/%m/%d %H:%M:%S");
    let logs = t.logs(&c);
    let app = "myapp: serving: -listen :8080 -name default\n";
    assert_eq!(logs.stdout, app, "{}", logs.dump());
    for l in logs.stderr.lines() {
        assert!(has_stamp(l), "not a log line: {l:?}");
        let stamp = &l[..19];
        assert!(
            before.as_str() <= stamp && stamp <= after.as_str(),
            "{stamp} is not between {before} and {after} (UTC)"
        );
    }
    let msgs = messages_of(&logs.stderr);
    let cmd = "[/myapp -listen :8080 -name default]";
    let pid =
        find_pid(&msgs, &format!("started: {cmd}")).unwrap_or_else(|| panic!("{}", logs.dump()));
    assert!(
        msgs.contains(&format!("pid {pid} finished: {cmd}")),
        "{}",
        logs.dump()
    );
    let last = msgs.last().map(String::as_str);
    assert_eq!(
        last,
        Some("all processes exited, goodbye!"),
        "{}",
        logs.dump()
    );
}

/// A tmux server of its own, running one command in a terminal.
struct Tmux {
    sock: PathBuf,
    dir: PathBuf,
}

impl Tmux {
    /// Run `cmd` in an 80x24 terminal; its exit status goes to
    /// `DIR/status`.
    fn start(dir: &Path, cmd: &Command) -> Tmux {
        let quote =
            |s: &std::ffi::OsStr| format!("'{}'", s.to_str().unwrap().replace('\'', r"'\''"));
        let mut line = String::from("env -i");
        for (k, v) in cmd.get_envs() {
            line += &format!(" {}={}", k.to_str().unwrap(), quote(v.unwrap_or_default()));
        }
        line += &format!(" {}", quote(cmd.get_program()));
        for a in cmd.get_args() {
            line += &format!(" {}", quote(a));
        }
        let sh = script(
            dir,
            "terminal.sh",
            &format!("{line}\necho $? > {}/status\n", dir.display()),
        );
        let t = Tmux {
            sock: dir.join("tmux.sock"),
            dir: dir.to_path_buf(),
        };
        let sh = sh.to_str().unwrap();
        // The pane stays when the command has exited, to be looked at.
        let conf = dir.join("tmux.conf");
        fs::write(&conf, "set -g remain-on-exit on\n").unwrap();
        let conf = conf.to_str().unwrap();
        let out = t.tmux(&[
            "-f",
            conf,
            "new-session",
            "-d",
            "-s",
            "t",
            "-x",
            "80",
            "-y",
            "24",
            sh,
        ]);
        assert_eq!(out.code, 0, "cannot start tmux: {}", out.dump());
        t
    }

    fn tmux(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new("tmux");
        cmd.arg("-S").arg(&self.sock).args(args);
        cmd.env_clear().env("PATH", PATH).env("TERM", "xterm");
        run_cmd(cmd, &self.dir)
    }

    /// Type `keys` (tmux key names: `C-c`, `C-\`).
    fn keys(&self, keys: &str) {
        let out = self.tmux(&["send-keys", "-t", "t", keys]);
        assert_eq!(out.code, 0, "{}", out.dump());
    }

    fn resize(&self, cols: u32, rows: u32) {
        let out = self.tmux(&[
            "resize-window",
            "-t",
            "t",
            "-x",
            &cols.to_string(),
            "-y",
            &rows.to_string(),
        ]);
        assert_eq!(out.code, 0, "{}", out.dump());
    }

    /// What the terminal shows.
    fn screen(&self) -> String {
        self.tmux(&["capture-pane", "-p", "-t", "t"]).stdout
    }

    /// The command's exit status once it has exited (bounded by
    /// `ENGINE_WAIT`).
    fn status(&self) -> i32 {
        let start = Instant::now();
        loop {
            let status = fs::read_to_string(self.dir.join("status")).unwrap_or_default();
            if let Ok(code) = status.trim().parse() {
                return code;
            }
            assert!(
                start.elapsed() < ENGINE_WAIT,
                "still running:\n{}",
                self.screen()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let mut cmd = Command::new("tmux");
        cmd.arg("-S").arg(&self.sock).arg("kill-server");
        let _ = run_within(cmd, &self.dir, WAIT);
    }
}

/// SPEC §4 with `run -it`: the children share dinit's terminal and its
/// process group, so Ctrl-\ and a resize (SIGQUIT, SIGWINCH from the
/// terminal) reach them, and dinit forwards its own copy; Ctrl-C (SIGINT)
/// ends the primary and the container with 130.
fn tty_ctrl_backslash_resize_and_ctrl_c(kind: Kind) {
    let mut t = Case::new(kind, "tty");
    let rec = t.script(
        "tty.sh",
        "trap 'echo QUIT >> /shared/got' QUIT\n\
         trap 'echo \"WINCH $(stty size)\" >> /shared/got' WINCH\n\
         echo ready > /shared/ready\n\
         while :; do sleep 1 & wait $!; done\n",
    );
    let c = t.container();
    let argv = t.run_args(
        &["-it", "--rm", "--name", &c, "--entrypoint", "/dinit"],
        &[IMAGE, "-r", &rec],
    );
    let term = Tmux::start(
        &t.dir,
        &t.command(&argv.iter().map(String::as_str).collect::<Vec<_>>()),
    );
    t.wait_shared(&c, "ready", "ready");
    term.keys(r"C-\");
    t.wait_shared(&c, "got", "QUIT");
    term.resize(100, 30);
    t.wait_shared(&c, "got", "WINCH 30 100");
    term.keys("C-c");
    let status = term.status();
    let screen = term.screen();
    assert_eq!(status, 130, "{screen}");
    assert!(
        screen.contains("dinit: received SIGINT, stopping"),
        "{screen}"
    );
}

/// SPEC §8: the engine's `--init` with dinit as its init, in a plain
/// busybox image without dinit: the engine calls `INIT -- CMD...`; the
/// words reach the program verbatim (`$$` is the shell's), the status is
/// the program's, `stop` gives 143, and the socket works through the
/// engine's mount point.
fn init_drop_in_runs_a_plain_image(kind: Kind) {
    let mut t = Case::new(kind, "init");
    let bin = bin();
    let init: Vec<&str> = match kind {
        // dockerd runs with --init-path bin().
        Kind::Docker => vec!["--init"],
        Kind::Podman => vec!["--init", "--init-path", bin.to_str().unwrap()],
    };
    let out = t.run(&init, &[BUSYBOX, "sh", "-c", "echo \"[$$]\"; exit 3"]);
    assert_eq!(out.code, 3, "{}", out.dump());
    let shell_pid = out
        .stdout
        .trim()
        .trim_start_matches('[')
        .trim_end_matches(']');
    assert!(
        !shell_pid.is_empty() && shell_pid.bytes().all(|b| b.is_ascii_digit()),
        "`$$` did not reach the shell verbatim: {}",
        out.dump()
    );

    let wait = t.script("wait.sh", READY_SLEEP);
    let c = t.start(&init, &[BUSYBOX, &wait]);
    t.wait_shared(&c, "ready", "ready");
    let cmdline = t.exec(&c, &["cat", "/proc/1/cmdline"]);
    assert_eq!(
        cmdline.stdout,
        format!("{}\0--\0/shared/wait.sh\0", kind.init_path()),
        "{}",
        cmdline.dump()
    );
    let list = t.exec(&c, &[kind.init_path(), "-submit", "-list"]);
    assert_eq!(list.code, 0, "{}", list.dump());
    assert!(
        list.stdout
            .lines()
            .any(|l| l.contains("primary yes") && l.ends_with("[/shared/wait.sh]")),
        "{}",
        list.dump()
    );
    // At once: inside dinit's default 10 s timeout (which would end in
    // `killing`) and the engine's `-t 10` (which would give 137).
    t.stop_at_once(&c, "10", 143, "received SIGTERM, stopping");
}

/// SPEC §9: an image with `STOPSIGNAL SIGQUIT` and `-stopsignal QUIT`: the
/// engine's `stop` sends SIGQUIT, which dinit takes as a stop request and
/// passes to its children; one that finishes gracefully on it (and would
/// record a SIGTERM) ends the container with its own 0, at once (by dinit's
/// stamps: before the image's `-timeout 5s` could have run out).
fn stopsignal_quit_image_stops_gracefully(kind: Kind) {
    let mut t = Case::new(kind, "stopsignal");
    let quit = t.script(
        "quit.sh",
        "trap 'echo QUIT >> /shared/got; exit 0' QUIT\ntrap 'echo TERM >> /shared/got; exit 1' TERM\n\
         echo ready > /shared/ready\nwhile :; do sleep 1 & wait $!; done\n",
    );
    let c = t.start(&[], &[STOPSIGNAL, &quit]);
    t.wait_shared(&c, "ready", "ready");
    let logs = t.stop_at_once(&c, "10", 0, "received SIGQUIT, stopping");
    assert_eq!(
        fs::read_to_string(t.shared.join("got")).unwrap(),
        "QUIT\n",
        "{}",
        logs.dump()
    );
}

/// The engines' default seccomp profiles stay on (no test turns them off):
/// dinit runs as PID 1 under a seccomp filter (mode 2).
fn seccomp_default_profile_stays_on(kind: Kind) {
    let mut t = Case::new(kind, "seccomp");
    let out = t.run(
        &["--entrypoint", "/dinit"],
        &[IMAGE, "-r", "/bin/grep", "^Seccomp:", "/proc/1/status"],
    );
    assert_eq!(out.code, 0, "{}", out.dump());
    assert_eq!(
        out.stdout.split_whitespace().collect::<Vec<_>>(),
        ["Seccomp:", "2"],
        "{}",
        out.dump()
    );
}

/// The release's image archive as `load` put it into the engine: every
/// platform's tag, with the archive's image ID (its config's digest),
/// `ENTRYPOINT ["/dinit"]` and the version label, and it runs (arm64
/// through the host's qemu-user binfmt handler): `-version` is the plain
/// binary's own line; as PID 1, dinit starts `/dinit-submit -list`, which
/// reaches its socket in the image's `/tmp` and lists itself as the
/// primary; and the container's status is the primary's (2, a second
/// dinit's usage error).
fn release_image_runs_on_each_platform(kind: Kind) {
    let mut t = Case::new(kind, "release");
    let ids = crate::release::image_ids();
    for p in &crate::release::PLATFORMS {
        let tag = p.tag();
        let inspect = t.cli(&[
            "image",
            "inspect",
            "--format",
            "{{.Id}} {{.Os}}/{{.Architecture}} {{json .Config.Entrypoint}} \
             {{index .Config.Labels \"org.opencontainers.image.version\"}}",
            &tag,
        ]);
        assert_eq!(inspect.code, 0, "{tag} not loaded\n{}", inspect.dump());
        let id = format!("sha256:{}", ids[&tag]);
        let want = format!(
            "{} {}/{} [\"/dinit\"] {}",
            id.trim_start_matches(match kind {
                Kind::Docker => "",
                Kind::Podman => "sha256:",
            }),
            p.os,
            p.architecture,
            crate::release::VERSION
        );
        assert_eq!(inspect.stdout.trim(), want, "{}", inspect.dump());

        let native = Command::new(p.binary()).arg("-version").output().unwrap();
        let native = String::from_utf8_lossy(&native.stdout);
        assert!(native.contains(&p.target()), "{native}");
        let version = t.run(&[], &[&tag, "-version"]);
        assert_eq!(version.code, 0, "{}", version.dump());
        assert_eq!(version.stdout, native, "{}", version.dump());

        let list = t.run(&[], &[&tag, "-r", "/dinit-submit", "-list"]);
        assert_eq!(list.code, 0, "{tag}\n{}", list.dump());
        assert!(
            list.stdout
                .lines()
                .any(|l| l.contains("primary yes") && l.ends_with("[/dinit-submit -list]")),
            "{tag}\n{}",
            list.dump()
        );

        let usage = t.run(&[], &[&tag, "-r", "/dinit", "-no-such-option"]);
        assert_eq!(usage.code, 2, "{tag}\n{}", usage.dump());
        assert!(
            usage.stderr.contains("-no-such-option"),
            "{tag}\n{}",
            usage.dump()
        );
    }
}

/// The test images are built as the README says (`FROM scratch`, `COPY
/// --from=dinit:VERSION-ARCH / /`): their `/dinit` is the release binary
/// byte for byte, `/dinit-submit` a symlink to it, and `/tmp` keeps mode
/// 1777.
fn copy_from_release_image_carries_dinit(kind: Kind) {
    let mut t = Case::new(kind, "copy-from");
    let release = crate::release::Platform::host().binary();
    let sum = Command::new("sha256sum").arg(&release).output().unwrap();
    let sum = String::from_utf8_lossy(&sum.stdout);
    let sum = sum.split_whitespace().next().expect("no sha256sum");
    for image in [IMAGE, STOPSIGNAL] {
        let out = t.run(
            &["--entrypoint", "/bin/sh"],
            &[
                image,
                "-c",
                "sha256sum /dinit; readlink /dinit-submit; stat -c %a /tmp",
            ],
        );
        assert_eq!(
            out.stdout,
            format!("{sum}  /dinit\ndinit\n1777\n"),
            "{image}: not {}\n{}",
            release.display(),
            out.dump()
        );
        assert_eq!(out.code, 0, "{}", out.dump());
    }
}

/// `examples/Dockerfile.scratch` as it is, built for each platform: the
/// `TARGETARCH` stage picks that platform's release tag (podman sets it from
/// `--platform`; Docker's classic builder sets none and takes it as a build
/// argument, as the example says), so the image's `/dinit` is that
/// platform's release binary (its `-version` line, arm64 through qemu-user)
/// under the example's ENTRYPOINT.
fn example_dockerfile_scratch_builds_for_each_platform(kind: Kind) {
    let mut t = Case::new(kind, "example");
    let ctx = t.dir.join("context");
    fs::create_dir_all(&ctx).unwrap();
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/Dockerfile.scratch");
    fs::copy(&example, ctx.join("Dockerfile")).unwrap();
    // Never run here: the tests run /dinit -version.
    script(&ctx, "myapp", "exit 0\n");
    for p in &crate::release::PLATFORMS {
        let tag = format!("localhost/dinit-it:example-{}", p.suffix);
        let pick = match kind {
            Kind::Docker => [
                "--build-arg".into(),
                format!("TARGETARCH={}", p.architecture),
            ],
            Kind::Podman => {
                let variant = p.variant.map(|v| format!("/{v}")).unwrap_or_default();
                [
                    "--platform".into(),
                    format!("{}/{}{variant}", p.os, p.architecture),
                ]
            }
        };
        let build = t.cli(&[
            "build",
            "-q",
            "-t",
            &tag,
            &pick[0],
            &pick[1],
            ctx.to_str().unwrap(),
        ]);
        assert_eq!(build.code, 0, "{}: {}", p.suffix, build.dump());
        let entrypoint = t.cli(&[
            "image",
            "inspect",
            "--format",
            "{{json .Config.Entrypoint}}",
            &tag,
        ]);
        assert_eq!(
            entrypoint.stdout.trim(),
            r#"["/dinit","-timeout","8s","-r","/myapp","-listen",":${PORT:-8080}"]"#,
            "{}",
            entrypoint.dump()
        );
        let native = Command::new(p.binary()).arg("-version").output().unwrap();
        let version = t.run(&["--entrypoint", "/dinit"], &[&tag, "-version"]);
        assert_eq!(version.code, 0, "{}", version.dump());
        assert_eq!(
            version.stdout,
            String::from_utf8_lossy(&native.stdout),
            "{}: not {}\n{}",
            p.suffix,
            p.binary().display(),
            version.dump()
        );
    }
}

/// The kube tests share one pod name (the manifest's).
static KUBE: Mutex<()> = Mutex::new(());

/// Removes the pod when the test ends.
struct Pod<'a>(&'a Case, &'a str);

impl Drop for Pod<'_> {
    fn drop(&mut self) {
        let _ = run_within(
            self.0.command(&["pod", "rm", "-f", "-t", "0", self.1]),
            &self.0.dir,
            ENGINE_WAIT,
        );
    }
}

/// `examples/kubernetes.yaml`, with only its image replaced by the test
/// image (and, with `shared_pid`, `shareProcessNamespace: true` added),
/// under `podman play kube`: it comes up with its read-only root, non-root
/// user and emptyDir `/tmp` (the socket works), a daemonized process is
/// adopted by dinit, and on stop the sequence the manifest documents
/// happens: SIGTERM, `-prestop` at once, SIGTERM to the app after
/// `-prestoptimer` 5 s, the app's status (143, a success by `-success 143`:
/// 0), the leftover stopped by dinit, all well inside the grace period
/// (by dinit's stamps: well before prestoptimer + timeout, 20 s, when
/// dinit would kill a leftover, and the grace period, 30 s).
fn kube_example(shared_pid: bool) {
    let t = Case::new(
        Kind::Podman,
        if shared_pid {
            "kube-shared-pid"
        } else {
            "kube"
        },
    );
    let _one_pod = KUBE.lock().unwrap_or_else(|e| e.into_inner());
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/kubernetes.yaml");
    let yaml = fs::read_to_string(&example).unwrap();
    let image = "image: registry.example.com/myapp:1.0";
    assert_eq!(
        yaml.matches(image).count(),
        1,
        "the example's image line changed"
    );
    let mut yaml = yaml.replace(image, &format!("image: {IMAGE}"));
    if shared_pid {
        assert_eq!(yaml.matches("\nspec:\n").count(), 1);
        yaml = yaml.replace("\nspec:\n", "\nspec:\n  shareProcessNamespace: true\n");
    }
    let grace = yaml
        .lines()
        .find_map(|l| l.trim().strip_prefix("terminationGracePeriodSeconds:"))
        .map(|s| s.trim().to_string())
        .expect("terminationGracePeriodSeconds in the example");
    let file = t.dir.join("kubernetes.yaml");
    fs::write(&file, yaml).unwrap();
    let (pod, c) = ("myapp", "myapp-myapp");
    let _pod = Pod(&t, pod);
    let play = t.cli(&["play", "kube", "--network", "none", file.to_str().unwrap()]);
    assert_eq!(play.code, 0, "{}", play.dump());

    // Up, with the socket in the emptyDir, as uid 65532 on a read-only root.
    let start = Instant::now();
    let list = loop {
        let list = t.exec(c, &["/dinit", "-submit", "-list"]);
        if list.code == 0 || start.elapsed() > ENGINE_WAIT {
            break list;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(list.code, 0, "{}\n{}", list.dump(), t.logs(c).dump());
    assert!(
        list.stdout.contains("primary yes") && list.stdout.contains("[/myapp -listen :8080]"),
        "{}",
        list.dump()
    );
    assert_eq!(t.exec(c, &["id", "-u"]).stdout, "65532\n");
    assert_ne!(
        t.exec(c, &["touch", "/probe"]).code,
        0,
        "the root file system is writable"
    );
    let pid1 = t.exec(c, &["cat", "/proc/1/cmdline"]).stdout;
    if shared_pid {
        assert!(
            pid1.starts_with("/catatonit\0"),
            "PID 1 is not the pod's catatonit: {pid1:?}"
        );
    } else {
        assert!(pid1.starts_with("/dinit\0"), "PID 1 is not dinit: {pid1:?}");
    }

    // A daemonized worker (its parent exits at once): dinit adopts it.
    let mounts = t.cli(&[
        "inspect",
        "--format",
        "{{range .Mounts}}{{.Destination}}={{.Source}} {{end}}",
        c,
    ]);
    let tmp = mounts
        .stdout
        .split_whitespace()
        .find_map(|m| m.strip_prefix("/tmp="))
        .unwrap_or_else(|| panic!("no /tmp volume: {}", mounts.dump()));
    let tmp = PathBuf::from(tmp);
    script(
        &tmp,
        "worker.sh",
        "trap 'echo TERM > /tmp/worker.got; exit 0' TERM\necho up > /tmp/worker.up\n\
         while :; do sleep 1 & wait $!; done\n",
    );
    script(&tmp, "daemon.sh", "/bin/sh /tmp/worker.sh &\n");
    let ok = t.exec(c, &["/dinit-submit", "/bin/sh", "/tmp/daemon.sh"]);
    assert_eq!(ok.code, 0, "{}", ok.dump());
    wait_exists(&tmp.join("worker.up"));

    // Podman 4.3 does not take the grace period from the manifest: pass it.
    // It also stops a pod's containers all at once, the infra container
    // too; with a shared PID namespace that is PID 1 (catatonit), whose
    // exit kills every process in the pod. So there the app's container is
    // stopped first, as the kubelet does (containers, then the sandbox).
    let stop = if shared_pid {
        t.cli(&["stop", "-t", &grace, c])
    } else {
        t.cli(&["pod", "stop", "-t", &grace, pod])
    };
    assert_eq!(stop.code, 0, "{}", stop.dump());
    let logs = t.logs(c);
    let status = t.cli(&["inspect", "--format", "{{.State.ExitCode}}", c]);
    assert_eq!(status.stdout.trim(), "0", "{}", logs.dump());
    // Not before prestoptimer: `stop` sent the SIGTERM after it started and
    // returned after the container ended (a slow engine only adds to this).
    assert!(
        stop.elapsed >= Duration::from_millis(4500),
        "stopped in {:?}: not prestoptimer (5 s) + the app's own shutdown\n{}",
        stop.elapsed,
        logs.dump()
    );
    // In order, each once.
    let sequence = [
        "received SIGTERM, stopping",
        "prestop command pid ",
        "prestop command pid ",
        "sent SIGTERM to ",
        "finished: [/myapp -listen :8080] with error: signal: terminated",
        "all processes exited, goodbye!",
    ];
    let lines: Vec<&str> = logs.stderr.lines().collect();
    let mut at = Vec::new();
    let mut from = 0;
    for want in sequence {
        let i = (from..lines.len())
            .find(|&i| lines[i].contains(want))
            .unwrap_or_else(|| panic!("no {want:?} after line {from}\n{}", logs.dump()));
        at.push(i);
        from = i + 1;
    }
    assert!(
        lines[at[1]].ends_with("started: [/myapp -drain]"),
        "{}",
        logs.dump()
    );
    assert!(lines[at[2]].ends_with(" finished"), "{}", logs.dump());
    // The stop signal is held back prestoptimer = 5 s (whole-second stamps).
    let held = stamp_span(lines[at[0]], lines[at[3]]);
    assert!(
        (4..=7).contains(&held),
        "SIGTERM held {held} s, not 5\n{}",
        logs.dump()
    );
    // Then the app's own shutdown, at once: all done well before 20 s.
    let took = stamp_span(lines[at[0]], lines[at[5]]);
    assert!(
        took <= 12,
        "stopped {took} s after the SIGTERM: not prestoptimer (5 s) + the app's own shutdown\n{}",
        logs.dump()
    );
    assert!(!logs.stderr.contains("killing"), "{}", logs.dump());
    assert!(logs.stdout.contains("myapp: draining"), "{}", logs.dump());
    assert_eq!(
        fs::read_to_string(tmp.join("worker.got")).unwrap_or_default(),
        "TERM\n",
        "dinit did not stop the daemonized worker\n{}",
        logs.dump()
    );
}

/// examples/kubernetes.yaml: dinit is PID 1 of the container.
#[test]
fn kube_example_pod() {
    if !skip_if_emulated(QEMU_ENGINES) {
        kube_example(false);
    }
}

/// examples/kubernetes.yaml with `shareProcessNamespace: true`: the pod's
/// catatonit is PID 1, dinit a child subreaper, and it behaves the same,
/// nothing left behind (SPEC §10).
#[test]
fn kube_example_pod_shared_pid_namespace() {
    if !skip_if_emulated(QEMU_ENGINES) {
        kube_example(true);
    }
}

/// SPEC §7: dockerd runs with `--init-path` = the dinit under test
/// (`start_dockerd`), reads its `--version` line, and `docker info` shows
/// dinit's commit as the init's; dockerd logs no "unknown output format"
/// for it (it reads the line for `docker version` at start too).
#[test]
fn docker_info_shows_dinits_commit() {
    if skip_if_emulated(QEMU_ENGINES) {
        return;
    }
    let e = engine(Kind::Docker);
    let version = Command::new(bin()).arg("--version").output().unwrap();
    let line = String::from_utf8_lossy(&version.stdout)
        .trim_end()
        .to_string();
    let (_, commit) = crate::basic::version_parts(&line);
    let info = e
        .cli_within(&["info", "--format", "{{.InitBinary}} {{.InitCommit.ID}}"])
        .unwrap_or_else(|why| panic!("docker info: {why}"));
    assert_eq!(info.code, 0, "{}", info.dump());
    assert_eq!(
        info.stdout.trim(),
        format!("{} {commit}", bin().display()),
        "dinit says {line:?}\n{}",
        e.log_tail()
    );
    let log = fs::read_to_string(&e.log).unwrap_or_default();
    assert!(
        !log.contains("unknown output format"),
        "dockerd could not read {line:?}\n{}",
        e.log_tail()
    );
}

/// SPEC §11, issue 16: `podman run --preserve-fds 1 --init --init-path
/// dinit`: the fd 3 podman is given reaches the container's command
/// through dinit, as it does through catatonit (dinit used to make it
/// close-on-exec: `sh: 3: Bad file descriptor`).
#[test]
fn podman_preserve_fds_reach_the_command() {
    use std::os::unix::io::AsRawFd;
    use std::os::unix::process::CommandExt;
    if skip_if_emulated(QEMU_ENGINES) {
        return;
    }
    let mut t = Case::new(Kind::Podman, "preserve-fds");
    let (rd, wr) = std::io::pipe().unwrap();
    let (wr_fd, rd_fd) = (wr.as_raw_fd(), rd.as_raw_fd());
    let c = t.container();
    let bin = bin();
    let opts = [
        "--rm",
        "--name",
        &c,
        "--preserve-fds",
        "1",
        "--init",
        "--init-path",
        bin.to_str().unwrap(),
    ];
    let argv = t.run_args(&opts, &[BUSYBOX, "sh", "-c", "echo through-dinit >&3"]);
    let mut cmd = t.command(&argv.iter().map(String::as_str).collect::<Vec<_>>());
    // SAFETY: only dup2 or fcntl runs between fork and exec (fd 3 for
    // podman).
    unsafe {
        cmd.pre_exec(move || dup_to(wr_fd, 3));
    }
    let out = run_within(cmd, &t.dir, ENGINE_WAIT).unwrap_or_else(|e| panic!("{e}"));
    drop(wr);
    // What the container wrote is in the pipe by now; read it without
    // waiting for every writer (conmon) to be gone.
    // SAFETY: fcntl and read on our own descriptor, into a live buffer.
    let got = unsafe {
        libc::fcntl(rd_fd, libc::F_SETFL, libc::O_NONBLOCK);
        let mut buf = [0u8; 64];
        let n = libc::read(rd_fd, buf.as_mut_ptr().cast(), buf.len());
        String::from_utf8_lossy(&buf[..n.max(0) as usize]).into_owned()
    };
    assert_eq!(out.code, 0, "{}", out.dump());
    assert_eq!(got, "through-dinit\n", "{}", out.dump());
    drop(rd);
}
