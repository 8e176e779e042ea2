//! Real programs under dinit in the engines (issue 15): nginx + php-fpm
//! under HTTP load across graceful stops, and PostgreSQL 15 stopped with an
//! open session, in Docker and Podman (the harness of engines.rs).
//!
//! * The root file system is Debian bookworm (minbase) with nginx-light,
//!   php8.2-fpm and postgresql-15, made by `scripts/realapps-rootfs.sh`
//!   (mmdebstrap from the mirror apt uses, about a minute; cached under
//!   `target/realapps`, keyed by the package list). A build that fails
//!   fails every test here, naming the step: never a skip.
//! * Each engine imports it once per run and builds `tests/realapps/`'s
//!   Dockerfile on top (`FROM` the import, the dinit under test, the
//!   programs' configuration; STOPSIGNAL and ENTRYPOINT are the README's
//!   recipe). The images go with the engine's storage when the run ends.
//! * The web containers share the host's network (`--network host`) and
//!   nginx listens on a free port of 127.0.0.1; the load comes from
//!   `scripts/httpload.py`, bounded in count and time. PostgreSQL has no
//!   network (`--network none`) and is reached through its socket.
//! * Every container is removed when its test ends, passed or failed (the
//!   `Case` guard).
use crate::engines::{Case, ENGINE_WAIT, Kind, QEMU_ENGINES, logged_span, tail};
use crate::util::*;
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The imported root file system and the image built on it.
const ROOTFS_IMAGE: &str = "localhost/dinit-realapps:rootfs";
const APP_IMAGE: &str = "localhost/dinit-realapps:app";

/// Building the root file system: a minute from the mirror, at most 15 min
/// by the script's own bound, after at most 16 min waiting for another
/// run's build to end.
const ROOTFS_WAIT: Duration = Duration::from_secs(35 * 60);

/// Importing 550 MB into an engine, building the image: each bounded, more
/// than `ENGINE_WAIT`.
const BUILD_WAIT: Duration = Duration::from_secs(10 * 60);

/// Graceful stops per web test (issue 15: at least 5).
const STOPS: usize = 5;

/// Concurrent clients of the load (php-fpm's pool has as many workers).
const CLIENTS: usize = 8;

const POSTGRES: &str = "/usr/lib/postgresql/15/bin/postgres";
const PSQL: &str = "/usr/lib/postgresql/15/bin/psql";
const PG_ISREADY: &str = "/usr/lib/postgresql/15/bin/pg_isready";
const PG_CONFIG: &str = "config_file=/etc/postgresql/15/main/postgresql.conf";
const PG_SOCKET_DIR: &str = "/run/postgresql";

/// Rows inserted before the stop, counted after the restart.
const ROWS: u32 = 1000;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `tests/realapps`: the image's Dockerfile and the programs' configuration.
fn config_dir() -> PathBuf {
    repo().join("tests/realapps")
}

/// The root file system tarball, built (or found in the cache) once per
/// test run; every test fails with the script's message if it cannot be.
fn rootfs() -> PathBuf {
    static TAR: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    TAR.get_or_init(|| {
        let dir = workdir("realapps-rootfs");
        let mut cmd = Command::new("bash");
        cmd.arg(repo().join("scripts/realapps-rootfs.sh"))
            .arg(repo().join("target/realapps"))
            .env_clear()
            .env("PATH", PATH);
        let out =
            run_within(cmd, &dir, ROOTFS_WAIT).map_err(|e| format!("root file system: {e}"))?;
        if out.code != 0 {
            return Err(format!(
                "root file system: scripts/realapps-rootfs.sh failed\n{}",
                out.dump()
            ));
        }
        let tar = PathBuf::from(out.stdout.trim());
        if !tar.is_file() {
            return Err(format!("root file system: no tarball at {}", tar.display()));
        }
        Ok(tar)
    })
    .clone()
    .unwrap_or_else(|e| panic!("{e}"))
}

/// Import the root file system into `t`'s engine and build `APP_IMAGE` on
/// it, once per engine and run (the other tests of that engine wait).
fn app_image(t: &Case, kind: Kind) {
    static BUILT: Mutex<[Option<Result<(), String>>; 2]> = Mutex::new([None, None]);
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    let slot = &mut built[kind as usize];
    if slot.is_none() {
        *slot = Some(build_app_image(t, kind));
    }
    if let Some(Err(e)) = slot {
        panic!("{}: {e}", kind.name());
    }
}

fn build_app_image(t: &Case, kind: Kind) -> Result<(), String> {
    let tar = rootfs();
    let step = |what: &str, args: &[&str]| -> Result<(), String> {
        let out = run_within(t.command(args), &t.dir, BUILD_WAIT)
            .map_err(|e| format!("step '{what}': {e}"))?;
        if out.code != 0 {
            return Err(format!("step '{what}' failed\n{}", tail(&out.dump(), 30)));
        }
        Ok(())
    };
    step(
        "import the root file system",
        &["import", tar.to_str().unwrap(), ROOTFS_IMAGE],
    )?;
    let ctx = workdir(&format!("{}-realapps-image", kind.name()));
    for entry in fs::read_dir(config_dir()).unwrap() {
        let entry = entry.unwrap();
        fs::copy(entry.path(), ctx.join(entry.file_name())).unwrap();
    }
    fs::copy(bin(), ctx.join("dinit")).unwrap();
    // RUN steps need no network: none is given.
    step(
        "build the image",
        &[
            "build",
            "--network",
            "none",
            "-q",
            "-t",
            APP_IMAGE,
            ctx.to_str().unwrap(),
        ],
    )
}

/// The words of the JSON array after `key` in a Dockerfile (`ENTRYPOINT`),
/// continuation lines joined.
fn exec_form(dockerfile: &str, key: &str) -> Vec<String> {
    let joined = dockerfile.replace("\\\n", " ");
    let line = joined
        .lines()
        .find_map(|l| l.trim().strip_prefix(key))
        .unwrap_or_else(|| panic!("no {key} in the Dockerfile"));
    let body = line.trim();
    assert!(
        body.starts_with('[') && body.ends_with(']'),
        "{key} is not in exec form: {body}"
    );
    crate::json::Json::parse(body.as_bytes())
        .items()
        .iter()
        .map(|w| w.as_str().expect("a string").to_string())
        .collect()
}

/// The tested recipe's lines: STOPSIGNAL and ENTRYPOINT of
/// tests/realapps/Dockerfile, white space squeezed.
fn recipe_lines() -> String {
    let dockerfile = fs::read_to_string(config_dir().join("Dockerfile")).unwrap();
    let from = dockerfile
        .find("\nSTOPSIGNAL ")
        .expect("STOPSIGNAL in the Dockerfile");
    squeeze(&dockerfile[from..])
}

fn squeeze(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The README's nginx + php-fpm recipe and examples/Dockerfile.nginx-php-fpm
/// are the one these tests run (STOPSIGNAL and ENTRYPOINT, word for word).
#[test]
fn readme_and_example_carry_the_tested_recipe() {
    let recipe = recipe_lines();
    for doc in ["README.md", "examples/Dockerfile.nginx-php-fpm"] {
        let text = fs::read_to_string(repo().join(doc)).unwrap();
        assert!(
            squeeze(&text).contains(&recipe),
            "{doc} does not carry the tested recipe (tests/realapps/Dockerfile):\n{recipe}"
        );
    }
}

/// A free TCP port on 127.0.0.1 (the kernel's pick; released at once, so
/// another process could take it first: nginx then fails to start and the
/// test says so).
fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// `scripts/httpload.py` against 127.0.0.1:`port`, driven through its
/// stdin; killed (by pid) when dropped.
struct Load {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    seen: Vec<String>,
}

/// One stop's counts, from the load's `summary` line.
#[derive(Debug, Default)]
struct Counts {
    inflight: u64,
    lost: u64,
    bad_gateway: u64,
    line: String,
}

impl Load {
    fn start(port: u16) -> Load {
        let mut child = Command::new("python3")
            .arg(repo().join("scripts/httpload.py"))
            .args([
                "--port",
                &port.to_string(),
                "--clients",
                &CLIENTS.to_string(),
            ])
            .args(["--ready-seconds", "60", "--max-seconds", "150"])
            .env_clear()
            .env("PATH", PATH)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("cannot run python3 scripts/httpload.py");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stdin = child.stdin.take();
        Load {
            child,
            stdin,
            lines: rx,
            seen: Vec::new(),
        }
    }

    /// The next line it prints (bounded), or why there is none.
    fn line(&mut self, limit: Duration) -> Result<String, String> {
        match self.lines.recv_timeout(limit) {
            Ok(l) => {
                self.seen.push(l.clone());
                Ok(l)
            }
            Err(e) => Err(format!(
                "no line from httpload.py within {limit:?} ({e}); it said: {:?}",
                self.seen
            )),
        }
    }

    fn say(&mut self, word: &str) {
        let stdin = self.stdin.as_mut().unwrap();
        writeln!(stdin, "{word}").unwrap();
        stdin.flush().unwrap();
    }

    /// `end`: the counts once every request under way has its result.
    fn end(&mut self) -> Result<Counts, String> {
        self.say("end");
        drop(self.stdin.take());
        loop {
            let line = self.line(Duration::from_secs(60))?;
            if let Some(rest) = line.strip_prefix("summary ") {
                let get = |k: &str| -> u64 {
                    rest.split_whitespace()
                        .find_map(|w| w.strip_prefix(&format!("{k}=")))
                        .and_then(|v| v.parse().ok())
                        .unwrap_or_else(|| panic!("no {k}= in {line:?}"))
                };
                return Ok(Counts {
                    inflight: get("inflight"),
                    lost: get("lost"),
                    bad_gateway: get("502"),
                    line: rest.to_string(),
                });
            }
        }
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Write past libtest's output capture, so the counts show in the output
/// of a passing `cargo test` too.
fn report(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// Issue 15 item 3: the nginx + php-fpm container under load (`CLIENTS`
/// clients on a 200 ms PHP page) through `STOPS` cycles of start, load,
/// `stop -t 30`; each stop's requests counted by the load client.
///
/// With the README recipe as the image has it (`-stoporder reverse`):
/// nothing in flight at a stop is lost, no 502 at all, every exit status 0,
/// nothing killed. With `together` (the recipe without `-stoporder`) the
/// counts are only printed: php-fpm, on Debian's defaults, drops requests
/// nginx is still waiting for, some of the time.
fn web_under_load(kind: Kind, reverse: bool) {
    let mode = if reverse { "reverse" } else { "together" };
    let mut t = Case::new(kind, &format!("web-{mode}"));
    app_image(&t, kind);
    let port = free_port();
    let site = fs::read_to_string(config_dir().join("site.conf")).unwrap();
    assert_eq!(site.matches("listen 127.0.0.1:80 ").count(), 1);
    let site = site.replace("listen 127.0.0.1:80 ", &format!("listen 127.0.0.1:{port} "));
    let site_file = t.dir.join("site.conf");
    fs::write(&site_file, site).unwrap();
    let mount = format!(
        "{}:/etc/nginx/sites-enabled/default:ro",
        site_file.display()
    );

    let c = t.container();
    let mut argv: Vec<String> = ["run", "-d", "--name", &c, "--network", "host", "-v", &mount]
        .map(String::from)
        .to_vec();
    if reverse {
        // The image's own ENTRYPOINT: the README recipe.
        argv.push(APP_IMAGE.into());
    } else {
        let dockerfile = fs::read_to_string(config_dir().join("Dockerfile")).unwrap();
        let mut words = exec_form(&dockerfile, "ENTRYPOINT");
        let at = words
            .iter()
            .position(|w| w == "-stoporder")
            .expect("-stoporder in the recipe");
        words.drain(at..at + 2);
        argv.extend(["--entrypoint".into(), words.remove(0), APP_IMAGE.into()]);
        argv.extend(words);
    }

    let mut all = Counts::default();
    for n in 1..=STOPS {
        let out = if n == 1 {
            t.cli(&argv.iter().map(String::as_str).collect::<Vec<_>>())
        } else {
            t.cli(&["start", &c])
        };
        assert_eq!(out.code, 0, "cannot start {c}\n{}", out.dump());
        let mut load = Load::start(port);
        wait_warm(&t, &c, &mut load, n);
        load.say("mark");
        assert_eq!(load.line(WAIT).as_deref(), Ok("marked"));
        let took = t.stop(&c, "30");
        let counts = load.end().unwrap_or_else(|e| panic!("stop {n}: {e}"));
        drop(load);
        let code = t.wait_exit(&c);
        let logs = t.logs(&c);
        report(&format!(
            "realapps: {} {mode}: stop {n}/{STOPS} took {:.1} s, exit {code}: {}",
            kind.name(),
            took.as_secs_f64(),
            counts.line
        ));
        assert_eq!(code, 0, "stop {n}\n{}", logs.dump());
        assert!(
            counts.inflight > 0,
            "stop {n}: no request was in flight at the stop: {}",
            counts.line
        );
        if reverse {
            assert!(
                counts.lost == 0 && counts.bad_gateway == 0,
                "stop {n} lost requests: {}\n{}",
                counts.line,
                logs.dump()
            );
            assert!(!logs.stderr.contains("killing"), "{}", logs.dump());
        }
        all.inflight += counts.inflight;
        all.lost += counts.lost;
        all.bad_gateway += counts.bad_gateway;
    }
    report(&format!(
        "realapps: {} {mode}: {STOPS} stops under load: {} requests in flight at the stops, {} lost, {} answered 502",
        kind.name(),
        all.inflight,
        all.lost,
        all.bad_gateway
    ));
}

/// Until the load says `warm`; fails the test at once, with the
/// container's log, when the container exits first (bounded).
fn wait_warm(t: &Case, c: &str, load: &mut Load, n: usize) {
    let start = Instant::now();
    loop {
        match load.line(Duration::from_secs(1)) {
            Ok(l) if l == "warm" => return,
            Ok(l) => panic!(
                "stop {n}: the load never got going: {l}\n{}",
                t.logs(c).dump()
            ),
            Err(_) => {}
        }
        let st = t.cli(&["inspect", "--format", "{{.State.Status}}", c]);
        if st.code != 0 || st.stdout.trim() == "exited" || start.elapsed() > ENGINE_WAIT {
            panic!(
                "stop {n}: {c} is {} and the load never got going\n{}",
                st.stdout.trim(),
                t.logs(c).dump()
            );
        }
    }
}

fn web_reverse_loses_nothing(kind: Kind) {
    web_under_load(kind, true);
}

fn web_together_counts(kind: Kind) {
    web_under_load(kind, false);
}

/// `psql` in the container (as its user, postgres) with `args`.
fn psql(t: &Case, c: &str, args: &[&str]) -> Output {
    t.exec(
        c,
        &[&[PSQL, "-h", PG_SOCKET_DIR, "-X", "-A", "-t"][..], args].concat(),
    )
}

/// Until postgres in `c` accepts connections (bounded).
fn wait_postgres(t: &Case, c: &str) {
    let start = Instant::now();
    loop {
        let out = t.exec(c, &[PG_ISREADY, "-h", PG_SOCKET_DIR]);
        if out.code == 0 {
            return;
        }
        if start.elapsed() > ENGINE_WAIT {
            panic!("postgres not ready\n{}\n{}", out.dump(), t.logs(c).dump());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Until `sql` answers `want` (bounded).
fn wait_answer(t: &Case, c: &str, sql: &str, want: &str) {
    let start = Instant::now();
    loop {
        let out = psql(t, c, &["-c", sql]);
        if out.code == 0 && out.stdout.trim() == want {
            return;
        }
        if start.elapsed() > ENGINE_WAIT {
            panic!(
                "{sql:?} never answered {want:?}\n{}\n{}",
                out.dump(),
                t.logs(c).dump()
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Issue 15 item 3: PostgreSQL 15 with two open sessions, each in a
/// two-minute `pg_sleep`: one submitted to dinit (`-submit` through
/// `exec`, a managed process), one from a plain `exec -d` (a client dinit
/// neither started nor signals, as a remote one would be). `stop -t 30`
/// (SIGTERM, or SIGINT with `--stop-signal INT`) ends the container within
/// a few seconds with 0, nothing killed: postgres got SIGINT, its fast
/// shutdown, which ends the sessions, where SIGTERM ("smart") would wait
/// for them. The next `start` of the same container finds a cleanly shut
/// down cluster (no recovery) with every row.
///
/// `init_drop_in`: the engine's `--init` with dinit as its init, postgres
/// the one command, `--stop-signal INT`; otherwise `-r:INT` under dinit as
/// ENTRYPOINT and the engines' default stop signal, SIGTERM.
fn postgres_stop(kind: Kind, init_drop_in: bool) {
    let mut t = Case::new(kind, if init_drop_in { "pg-init" } else { "pg" });
    app_image(&t, kind);
    let c = t.container();
    let bin = bin();
    let mut argv: Vec<&str> = vec![
        "run",
        "-d",
        "--name",
        &c,
        "--network",
        "none",
        "--user",
        "postgres",
    ];
    let init = if init_drop_in {
        argv.extend(["--init", "--stop-signal", "INT"]);
        if kind == Kind::Podman {
            argv.extend(["--init-path", bin.to_str().unwrap()]);
        }
        argv.extend(["--entrypoint", POSTGRES, APP_IMAGE, "-c", PG_CONFIG]);
        kind.init_path()
    } else {
        argv.extend(["--stop-signal", "TERM", "--entrypoint", "/dinit", APP_IMAGE]);
        argv.extend(["-timeout", "25s", "-r:INT", POSTGRES, "-c", PG_CONFIG]);
        "/dinit"
    };
    let out = t.cli(&argv);
    assert_eq!(out.code, 0, "cannot start {c}\n{}", out.dump());
    wait_postgres(&t, &c);

    let sql =
        format!("create table kept (n int); insert into kept select generate_series(1, {ROWS})");
    let out = psql(&t, &c, &["-c", &sql]);
    assert_eq!(out.code, 0, "{}", out.dump());
    let sleep = "select pg_sleep(120)";
    let out = t.exec(
        &c,
        &[
            init,
            "-submit",
            "-r",
            PSQL,
            "-h",
            PG_SOCKET_DIR,
            "-c",
            sleep,
        ],
    );
    assert_eq!(out.code, 0, "{}", out.dump());
    let out = t.cli(&["exec", "-d", &c, PSQL, "-h", PG_SOCKET_DIR, "-c", sleep]);
    assert_eq!(out.code, 0, "{}", out.dump());
    wait_answer(
        &t,
        &c,
        "select count(*) from pg_stat_activity where wait_event = 'PgSleep'",
        "2",
    );

    let took = t.stop(&c, "30");
    let logs = t.logs(&c);
    let code = t.wait_exit(&c);
    report(&format!(
        "realapps: {} postgres{}: stop with 2 open sessions took {:.1} s, exit {code}",
        kind.name(),
        if init_drop_in { " (--init)" } else { "" },
        took.as_secs_f64()
    ));
    assert_eq!(code, 0, "{}", logs.dump());
    let received = if init_drop_in {
        "received SIGINT, stopping"
    } else {
        "received SIGTERM, stopping"
    };
    let span = logged_span(&logs, received, "all processes exited, goodbye!");
    assert!(span <= 4, "teardown took {span} s\n{}", logs.dump());
    assert!(!logs.stderr.contains("killing"), "{}", logs.dump());
    assert!(
        logs.stderr.contains("received fast shutdown request"),
        "postgres did not get SIGINT\n{}",
        logs.dump()
    );
    // Bounded well below `-timeout 25s` and `stop -t 30`: with SIGTERM
    // postgres would still wait for the sessions then.
    assert!(
        took < Duration::from_secs(15),
        "stop took {took:?}\n{}",
        logs.dump()
    );

    let out = t.cli(&["start", &c]);
    assert_eq!(out.code, 0, "{}", out.dump());
    wait_postgres(&t, &c);
    let out = psql(&t, &c, &["-c", "select count(*) from kept"]);
    assert_eq!(out.stdout.trim(), ROWS.to_string(), "{}", out.dump());
    let logs = t.logs(&c);
    assert!(
        !logs
            .stderr
            .contains("database system was not properly shut down"),
        "recovery after the restart\n{}",
        logs.dump()
    );
    assert!(
        logs.stderr
            .matches("database system was shut down at")
            .count()
            >= 2,
        "the restart did not find a cleanly shut down cluster\n{}",
        logs.dump()
    );
}

fn postgres_int_with_open_sessions(kind: Kind) {
    postgres_stop(kind, false);
}

fn postgres_init_drop_in(kind: Kind) {
    postgres_stop(kind, true);
}

// `realapps::docker::NAME` and `realapps::podman::NAME`, skipped by name
// under qemu-user like every engine test.
crate::engines::engine_tests! {
    web_reverse_loses_nothing,
    web_together_counts,
    postgres_int_with_open_sessions,
    postgres_init_drop_in,
}
