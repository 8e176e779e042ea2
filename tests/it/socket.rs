//! The control socket and the submit role: SPEC §5, issue 3.
//!
//! The socket is driven two ways: raw `UnixStream`s from the test (to send
//! exactly the bytes a hostile client would) and the dinit binary in its
//! submit role (`dinit -submit`, or a `dinit-submit` symlink in the test
//! directory). Every dinit gets its own socket path (`Dinit::sock`); the
//! default-path test runs in its own mount namespace with a private `/tmp`.
//! Shell bodies go into script files, never `-r` arguments, because dinit
//! expands `$` in arguments.
use crate::util::*;
use std::fs;
use std::io::{ErrorKind, Read, Write};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const SIGHUP: i32 = 1;
const SIGTERM: i32 = 15;
/// The longest line the server takes, newline included (SPEC §5).
const LINE_MAX: usize = 512;

// ---------------------------------------------------------------------------
// Helpers

/// Start dinit and wait until its first command has started (the socket,
/// when it can be had, exists before that).
pub(crate) fn up(d: Dinit) -> Running {
    let mut r = d.spawn();
    r.wait_log(" started: ");
    r
}

/// Send `bytes` on a fresh connection and return everything the server
/// answers before it closes (bounded by `WAIT`).
pub(crate) fn raw(sock: &str, bytes: &[u8]) -> String {
    let mut s = UnixStream::connect(sock).unwrap_or_else(|e| panic!("connect {sock}: {e}"));
    // The server may close before taking every byte (a line too long).
    let _ = s.write_all(bytes);
    read_reply(&mut s)
}

/// Read until the server closes (bounded by `WAIT`).
pub(crate) fn read_reply(s: &mut UnixStream) -> String {
    s.set_read_timeout(Some(WAIT)).unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                panic!(
                    "the server did not close within {WAIT:?}; got {:?}",
                    String::from_utf8_lossy(&out)
                )
            }
            // A reset after the reply (the server closed with our bytes
            // unread) ends the reply too.
            Err(_) => break,
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The pids of an `ok PID [PID...]` reply, which must be its only line.
pub(crate) fn ok_pids(reply: &str) -> Vec<i32> {
    let line = reply
        .strip_suffix('\n')
        .unwrap_or_else(|| panic!("reply without its newline: {reply:?}"));
    assert!(!line.contains('\n'), "more than one reply line: {reply:?}");
    let rest = line
        .strip_prefix("ok ")
        .unwrap_or_else(|| panic!("not an ok reply: {reply:?}"));
    rest.split(' ')
        .map(|p| p.parse().unwrap_or_else(|_| panic!("bad pid in {reply:?}")))
        .collect()
}

/// The reason of an `error: REASON` reply, which must be its only line.
pub(crate) fn error_reason(reply: &str) -> String {
    let line = reply
        .strip_suffix('\n')
        .unwrap_or_else(|| panic!("reply without its newline: {reply:?}"));
    assert!(!line.contains('\n'), "more than one reply line: {reply:?}");
    line.strip_prefix("error: ")
        .unwrap_or_else(|| panic!("not an error reply: {reply:?}"))
        .to_string()
}

/// What a client run gave.
#[derive(Debug)]
pub(crate) struct Client {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

/// Run a client to completion (bounded by `WAIT`), stdin empty.
pub(crate) fn run_bounded(mut cmd: Command) -> Client {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    finish_client(child, &format!("client {cmd:?}"))
}

/// Everything a pipe gives until every writer is gone, bounded by `WAIT`:
/// a pipe still open after its client exited is held by someone else (a
/// job, or dinit's leaked copy), which fails the test.
pub(crate) fn read_to_end_bounded(mut pipe: impl Read + Send + 'static, what: &str) -> String {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = pipe.read_to_end(&mut s);
        let _ = tx.send(s);
    });
    let bytes = rx.recv_timeout(WAIT).unwrap_or_else(|_| {
        panic!("{what} still has a writer {WAIT:?} later (a leaked descriptor?)")
    });
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Wait for a client spawned by `spawn_client`; its code and output.
pub(crate) fn finish_client(mut child: Child, what: &str) -> Client {
    let status = wait_child(&mut child, what);
    let stdout = read_to_end_bounded(child.stdout.take().unwrap(), "the client's stdout");
    let stderr = read_to_end_bounded(child.stderr.take().unwrap(), "the client's stderr");
    let code = code_of(status);
    Client {
        code,
        stdout,
        stderr,
    }
}

/// `exe ARGS` with a clean environment (`PATH` plus `env`).
pub(crate) fn client_cmd(exe: &Path, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut c = Command::new(exe);
    c.args(args).env_clear().env("PATH", PATH);
    for (k, v) in env {
        c.env(k, v);
    }
    c
}

/// `dinit -submit -socket SOCK ARGS...`
pub(crate) fn submit(sock: &str, args: &[&str]) -> Client {
    let mut all = vec!["-submit", "-socket", sock];
    all.extend_from_slice(args);
    run_bounded(client_cmd(&bin(), &all, &[]))
}

/// The same, run as uid/gid 65534 with no supplementary groups.
pub(crate) fn submit_as_nobody(sock: &str, args: &[&str]) -> Client {
    let b = bin();
    let mut all = vec![
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        b.to_str().unwrap(),
        "-submit",
        "-socket",
        sock,
    ];
    all.extend_from_slice(args);
    run_bounded(client_cmd(&which("setpriv"), &all, &[]))
}

/// A `dinit-submit` symlink to the binary under test, in `dir`.
fn submit_link(dir: &Path) -> PathBuf {
    let link = dir.join("dinit-submit");
    std::os::unix::fs::symlink(bin(), &link).unwrap();
    link
}

/// The full path of a program in `PATH`.
pub(crate) fn which(name: &str) -> PathBuf {
    PATH.split(':')
        .map(|d| Path::new(d).join(name))
        .find(|p| p.exists())
        .unwrap_or_else(|| panic!("{name} is not installed"))
}

/// A field of /proc/PID/status.
fn proc_status_field(pid: i32, name: &str) -> String {
    let text = fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_else(|e| panic!("/proc/{pid}/status: {e}"));
    status_field(&text, name)
        .unwrap_or_else(|| panic!("no {name} in /proc/{pid}/status"))
        .to_string()
}

/// VmRSS of `pid` in KiB.
fn rss_kib(pid: i32) -> u64 {
    let v = proc_status_field(pid, "VmRSS");
    v.trim_end_matches("kB").trim().parse().unwrap()
}

/// Children of `parent` in state Z, from /proc/*/stat.
fn zombie_children(parent: i32) -> Vec<i32> {
    let mut out = Vec::new();
    for e in fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let mut f = stat.rsplit(')').next().unwrap_or("").split_whitespace();
        let state = f.next().unwrap_or("");
        let pp: i32 = f.next().and_then(|s| s.parse().ok()).unwrap_or(0);
        if pp == parent && state == "Z" {
            out.push(pid);
        }
    }
    out
}

/// Wait until `parent` has no zombie child (bounded by `WAIT`).
fn wait_no_zombies(parent: i32) {
    let deadline = Instant::now() + WAIT;
    loop {
        let z = zombie_children(parent);
        if z.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "zombie children of dinit ({parent}) left unreaped: {z:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn is_socket(path: &str) -> bool {
    fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_socket())
}

/// One `-list` line: its pid, whether primary, its seconds running.
fn list_entry(line: &str) -> (i32, bool, u64) {
    let words: Vec<&str> = line.split_whitespace().collect();
    let pid = words
        .iter()
        .find_map(|w| w.parse::<i32>().ok())
        .unwrap_or_else(|| panic!("no pid in list line {line:?}"));
    let primary = words
        .iter()
        .find_map(|w| match *w {
            "yes" => Some(true),
            "no" => Some(false),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no primary yes/no in list line {line:?}"));
    let secs = words
        .iter()
        .filter_map(|w| w.strip_suffix('s'))
        .find_map(|w| w.parse::<u64>().ok())
        .unwrap_or_else(|| panic!("no seconds in list line {line:?}"));
    (pid, primary, secs)
}

/// A script that traps HUP and TERM: each appends its name to NAME.got;
/// TERM then exits 0. It writes NAME.ready once the traps are set.
fn trap_script(dir: &Path, name: &str) -> PathBuf {
    let base = dir.join(name);
    let b = base.display();
    script(
        dir,
        &format!("{name}.sh"),
        &format!(
            "trap 'echo HUP >> {b}.got' HUP\n\
             trap 'echo TERM >> {b}.got; exit 0' TERM\n\
             echo ready > {b}.ready\n\
             while :; do sleep 0.1; done\n"
        ),
    )
}

/// A script that writes its arguments after the first, one `[ARG]` per
/// line, into the file named by its first argument.
fn args_script(dir: &Path) -> PathBuf {
    script(
        dir,
        "args.sh",
        "out=\"$1\"; shift; printf '[%s]\\n' \"$@\" > \"$out.tmp\" && mv \"$out.tmp\" \"$out\"\n",
    )
}

/// Lines a hostile or confused client may send, each answered with one
/// `error:` line containing the given text (lowercase), nothing started.
fn bad_lines(dir: &Path) -> Vec<(&'static str, Vec<u8>, &'static str)> {
    let plain = dir.join("plain.txt");
    fs::write(&plain, "not a program\n").unwrap();
    fs::set_permissions(&plain, fs::Permissions::from_mode(0o644)).unwrap();
    vec![
        (
            "unterminated quote",
            b"-r /bin/echo \"abc\n".to_vec(),
            "quot",
        ),
        ("-r alone", b"-r\n".to_vec(), "-r"),
        ("a trailing -r", b"-r /bin/echo x -r\n".to_vec(), "-r"),
        ("NUL bytes", b"\0\0\0\0\n".to_vec(), ""),
        ("NUL bytes as the program", b"-r \0\0\n".to_vec(), ""),
        ("0xFF bytes", b"\xff\xfe\xff\n".to_vec(), ""),
        ("0xFF bytes as the program", b"-r \xff\xff\n".to_vec(), ""),
        ("5 KB without newline", vec![b'x'; 5000], "line too long"),
        ("an empty line", b"\n".to_vec(), ""),
        ("garbage", b"garbage\n".to_vec(), ""),
        ("-list with a word after it", b"-list now\n".to_vec(), ""),
        ("an unterminated ${", b"-r /bin/echo ${X\n".to_vec(), ""),
        (
            "a program that is not found",
            b"-r /no/such/program-xyz\n".to_vec(),
            "not found",
        ),
        (
            "a program that is not executable",
            format!("-r {}\n", plain.display()).into_bytes(),
            "",
        ),
    ]
}

/// Send every bad line; each gets exactly one `error:` line.
fn send_bad_lines(sock: &str, dir: &Path) {
    for (what, bytes, expect) in bad_lines(dir) {
        let reply = raw(sock, &bytes);
        let reason = error_reason(&reply);
        assert!(
            reason.to_lowercase().contains(expect),
            "{what}: reply {reply:?} does not mention {expect:?}"
        );
    }
}

/// The number of "pid N started:" lines in a log.
pub(crate) fn started_count(log: &str) -> usize {
    log.lines().filter(|l| l.contains(" started: [")).count()
}

// ---------------------------------------------------------------------------
// Submitted commands

/// SPEC §5: a submitted command is dinit's child, answered `ok PID [PID...]` and logged.
#[test]
fn submitted_command_is_a_child_of_dinit() {
    let d = Dinit::new("sock-child");
    let sock = d.sock();
    let mut d = up(d.args(["-socket", &sock, "-r", "/bin/sleep", "120"]));
    let dinit = d.pid();

    let pids = ok_pids(&raw(&sock, b"-r /bin/sleep 61\n"));
    assert_eq!(pids.len(), 1);
    assert_eq!(
        ppid(pids[0]),
        Some(dinit),
        "the submitted sleep is not dinit's child"
    );
    d.wait_log(&format!("pid {} started: [/bin/sleep 61]", pids[0]));

    let pids = ok_pids(&raw(&sock, b"-r /bin/sleep 62 -r /bin/sleep 63\n"));
    assert_eq!(pids.len(), 2, "two -r groups, two pids");
    assert_ne!(pids[0], pids[1]);
    for (pid, secs) in pids.iter().zip([62, 63]) {
        assert_eq!(ppid(*pid), Some(dinit));
        d.wait_log(&format!("pid {pid} started: [/bin/sleep {secs}]"));
    }

    let c = submit(&sock, &["-r", "/bin/sleep", "64", "-r", "/bin/sleep", "65"]);
    assert_eq!(c.code, 0, "{c:?}");
    assert_eq!(c.stderr, "", "{c:?}");
    let pids = ok_pids(&c.stdout);
    assert_eq!(pids.len(), 2, "{c:?}");
    for (pid, secs) in pids.iter().zip([64, 65]) {
        assert_eq!(ppid(*pid), Some(dinit));
        d.wait_log(&format!("pid {pid} started: [/bin/sleep {secs}]"));
    }

    d.signal(SIGTERM);
    let out = d.wait();
    assert_eq!(out.code, 143, "{}", out.dump());
    // Every submitted sleep was torn down with the primary's.
    assert_eq!(
        out.stderr.matches("with error: signal: terminated").count(),
        6,
        "{}",
        out.dump()
    );
}

/// SPEC §5: submitted processes are never primary; `-list` shows pid, primary, seconds, command.
#[test]
fn submitted_processes_are_never_primary() {
    let d = Dinit::new("sock-primary");
    let sock = d.sock();
    let dir = d.dir.clone();
    let go = dir.join("go");
    let primary = script(
        &dir,
        "primary.sh",
        &format!(
            "while [ ! -e {} ]; do sleep 0.05; done\nexit 7\n",
            go.display()
        ),
    );
    let trap = trap_script(&dir, "sub");
    let mut d = up(d.args(["-socket", &sock, "-r", "/bin/sh", primary.to_str().unwrap()]));
    let started = Instant::now();
    let dinit = d.pid();

    // A submitted process that exits (with an error) does not end dinit.
    let quick = ok_pids(&raw(&sock, b"-r /bin/sh -c \"exit 5\"\n"))[0];
    d.wait_log(&format!(
        "pid {quick} finished: [/bin/sh -c exit 5] with error: exit status 5"
    ));
    let sub = ok_pids(&raw(
        &sock,
        format!("-r /bin/sh {}\n", trap.display()).as_bytes(),
    ))[0];
    wait_exists(&dir.join("sub.ready"));

    // -list, once the primary has run for at least two seconds (a wait for
    // the seconds column, not a proof). The reply is the sentinel for the
    // exit above: dinit served it after it had dealt with that exit, and
    // an exit taken as the primary's would have started the teardown by
    // then (and the primary, killed by its SIGTERM, would not exit 7).
    let rest = Duration::from_millis(2200).saturating_sub(started.elapsed());
    std::thread::sleep(rest);
    let c = submit(&sock, &["-list"]);
    let log = d.stderr();
    assert!(
        !log.contains("stopping") && !log.contains("was primary"),
        "a submitted process's exit started a teardown:\n{log}"
    );
    assert_eq!(c.code, 0, "{c:?}");
    assert_eq!(c.stderr, "", "{c:?}");
    let lines: Vec<&str> = c.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "one line per managed process: {c:?}");
    let by_pid = |pid: i32| {
        lines
            .iter()
            .copied()
            .find(|l| list_entry(l).0 == pid)
            .unwrap_or_else(|| panic!("pid {pid} not listed: {c:?}"))
    };
    // The primary is dinit's only child besides `sub` (and its sleeps).
    let primary_pid = lines
        .iter()
        .map(|l| list_entry(l).0)
        .find(|&p| p != sub)
        .unwrap();
    assert_eq!(ppid(primary_pid), Some(dinit));
    let (_, p_primary, p_secs) = list_entry(by_pid(primary_pid));
    let (_, s_primary, s_secs) = list_entry(by_pid(sub));
    assert!(p_primary, "the command-line process is not primary: {c:?}");
    assert!(!s_primary, "a submitted process is primary: {c:?}");
    assert!(p_secs >= 2, "the primary ran >= 2s: {c:?}");
    assert!(s_secs <= p_secs, "{c:?}");
    assert!(
        by_pid(primary_pid).contains(primary.to_str().unwrap()),
        "{c:?}"
    );
    assert!(by_pid(sub).contains(trap.to_str().unwrap()), "{c:?}");
    // The raw reply: the same lines, then the server closes.
    let raw_list = raw(&sock, b"-list\n");
    assert_eq!(raw_list.lines().count(), 2, "{raw_list:?}");
    assert!(raw_list.ends_with('\n'), "{raw_list:?}");

    fs::write(&go, "").unwrap();
    let out = d.wait();
    assert_eq!(out.code, 7, "the primary's status: {}", out.dump());
    let got = fs::read_to_string(dir.join("sub.got")).unwrap_or_default();
    assert!(
        got.contains("TERM"),
        "no SIGTERM for the submitted process: {got:?}"
    );
    assert!(!Path::new(&sock).exists(), "socket left behind");
}

/// SPEC §5: submitted processes get forwarded signals and the teardown SIGTERM.
#[test]
fn submitted_processes_get_signals_and_teardown() {
    let d = Dinit::new("sock-signals");
    let sock = d.sock();
    let dir = d.dir.clone();
    // The primary traps both too, so neither signal ends it by itself.
    let prim = trap_script(&dir, "prim");
    let trap = trap_script(&dir, "sub");
    let mut d = up(d.args(["-socket", &sock, "-r", "/bin/sh", prim.to_str().unwrap()]));
    wait_exists(&dir.join("prim.ready"));
    let c = submit(&sock, &["-r", "/bin/sh", trap.to_str().unwrap()]);
    assert_eq!(c.code, 0, "{c:?}");
    wait_exists(&dir.join("sub.ready"));

    d.signal(SIGHUP);
    d.wait_file("sub.got", "HUP");
    d.wait_file("prim.got", "HUP");
    assert!(d.is_running(), "a forwarded SIGHUP ended dinit");

    d.signal(SIGTERM);
    let out = d.wait();
    assert_eq!(out.code, 0, "the primary exits 0 on TERM: {}", out.dump());
    let got = fs::read_to_string(dir.join("sub.got")).unwrap();
    assert_eq!(got, "HUP\nTERM\n", "{}", out.dump());
    assert!(
        !Path::new(&sock).exists(),
        "socket left behind after SIGTERM"
    );
}

/// Issue 3: the table holds >= 256 processes, then `error: process table full`.
#[test]
fn process_table_full_is_an_error_reply() {
    let d = Dinit::new("sock-full");
    let sock = d.sock();
    let mut d = up(d.args(["-socket", &sock, "-r", "/bin/sleep", "300"]));
    let mut pids = Vec::new();
    let reason = loop {
        assert!(pids.len() < 2000, "the table never filled up");
        let reply = raw(&sock, b"-r /bin/sleep 300\n");
        if reply.starts_with("ok ") {
            pids.extend(ok_pids(&reply));
        } else {
            break error_reason(&reply);
        }
    };
    assert!(reason.contains("full"), "{reason:?}");
    assert!(
        pids.len() + 1 >= 256,
        "only {} processes fit in the table",
        pids.len() + 1
    );
    assert!(d.is_running());
    let listed = raw(&sock, b"-list\n");
    assert_eq!(listed.lines().count(), pids.len() + 1);
    d.signal(SIGTERM);
    let out = d.wait();
    assert_eq!(out.code, 143, "{}", out.dump());
    for pid in pids {
        wait_gone(pid);
    }
}

// ---------------------------------------------------------------------------
// The socket file

/// SPEC §5: the socket is mode 0600 before the first command starts, removed on exit.
#[test]
fn socket_is_0600_before_the_first_command() {
    let d = Dinit::new("sock-mode");
    let sock = d.sock();
    let mode = d.dir.join("mode");
    let first = script(
        &d.dir,
        "mode.sh",
        &format!("stat -c '%a %u' {sock} > {} 2>&1\n", mode.display()),
    );
    let out = d
        .args(["-socket", &sock, "-r", "/bin/sh", first.to_str().unwrap()])
        .run();
    assert_eq!(out.code, 0, "{}", out.dump());
    assert_eq!(fs::read_to_string(&mode).unwrap(), "600 0\n");
    assert!(
        !Path::new(&sock).exists(),
        "socket left after a normal exit"
    );
}

/// SPEC §5: the socket is removed on SIGTERM, start failure and exec failure exits.
#[test]
fn socket_removed_on_every_exit_path() {
    // SIGTERM teardown.
    let d = Dinit::new("sock-rm-term");
    let sock = d.sock();
    let d = up(d.args(["-socket", &sock, "-r", "/bin/sleep", "120"]));
    assert!(is_socket(&sock));
    d.signal(SIGTERM);
    let out = d.wait();
    assert_eq!(out.code, 143, "{}", out.dump());
    assert!(!Path::new(&sock).exists(), "socket left after SIGTERM");

    // A start command that fails: the socket existed while it ran.
    let d = Dinit::new("sock-rm-start");
    let sock = d.sock();
    let mode = d.dir.join("start.mode");
    let ran = d.dir.join("ran");
    let start = script(
        &d.dir,
        "start.sh",
        &format!("stat -c %a {sock} > {} 2>&1\nexit 1\n", mode.display()),
    );
    let out = d
        .args([
            "-socket",
            &sock,
            "-start",
            &format!("/bin/sh {}", start.display()),
            "-r",
            "/bin/touch",
            ran.to_str().unwrap(),
        ])
        .run();
    assert_ne!(out.code, 0, "{}", out.dump());
    assert_eq!(fs::read_to_string(&mode).unwrap(), "600\n");
    assert!(
        !ran.exists(),
        "a command started after the start command failed"
    );
    assert!(
        !Path::new(&sock).exists(),
        "socket left after a start failure"
    );

    // A second command the kernel cannot execute (no #!): the first is torn
    // down, 126.
    let d = Dinit::new("sock-rm-exec");
    let sock = d.sock();
    let bad = d.dir.join("noexec");
    fs::write(&bad, "not a script: no #! line\n").unwrap();
    fs::set_permissions(&bad, fs::Permissions::from_mode(0o755)).unwrap();
    let out = d
        .args([
            "-socket",
            &sock,
            "-r",
            "/bin/sleep",
            "120",
            "-r",
            bad.to_str().unwrap(),
        ])
        .run();
    assert_eq!(out.code, 126, "{}", out.dump());
    assert!(
        !Path::new(&sock).exists(),
        "socket left after an exec failure"
    );
}

/// SPEC §5: the default /tmp/dinit.sock, server and client, in a private mount namespace.
#[test]
fn default_path_in_a_private_mount_namespace() {
    let d = Dinit::new("sock-default");
    let dir = d.dir.clone();
    // Inside the namespace a tmpfs covers /tmp, which may also hide this
    // checkout (a clone under /tmp): the test directory is bound on /mnt
    // first, with a copy of dinit and a dinit-submit link next to it.
    fs::copy(bin(), dir.join("dinit")).unwrap();
    std::os::unix::fs::symlink("dinit", dir.join("dinit-submit")).unwrap();
    let b = "/mnt/dinit";
    let link = "/mnt/dinit-submit";
    let p = |n: &str| format!("/mnt/{n}");
    script(
        &dir,
        "inner.sh",
        &format!(
            "echo $PPID > {dinit_pid}\n\
             stat -c %a /tmp/dinit.sock > {mode} 2>&1\n\
             {b} -submit -r /bin/sleep 30 > {sub_out} 2> {sub_err}; echo $? > {sub_rc}\n\
             pid=$(sed -n 's/^ok //p' {sub_out})\n\
             grep PPid /proc/$pid/status > {sub_ppid}\n\
             {link} /bin/sleep 31 > {link_out} 2> {link_err}; echo $? > {link_rc}\n\
             {b} -submit -list > {list_out} 2> {list_err}; echo $? > {list_rc}\n\
             exit 4\n",
            dinit_pid = p("dinit.pid"),
            mode = p("mode"),
            sub_out = p("sub.out"),
            sub_err = p("sub.err"),
            sub_rc = p("sub.rc"),
            sub_ppid = p("sub.ppid"),
            link_out = p("link.out"),
            link_err = p("link.err"),
            link_rc = p("link.rc"),
            list_out = p("list.out"),
            list_err = p("list.err"),
            list_rc = p("list.rc"),
        ),
    );
    let outer = script(
        &dir,
        "outer.sh",
        &format!(
            "mkdir -p /mnt && mount --bind {dir} /mnt || exit 91\n\
             mount -t tmpfs dinit-it /tmp || exit 90\n\
             {b} -r /bin/sh {inner}\n\
             echo $? > {rc}\n\
             if [ -e /tmp/dinit.sock ]; then echo present; else echo absent; fi > {after}\n",
            dir = dir.display(),
            inner = p("inner.sh"),
            rc = p("dinit.rc"),
            after = p("after"),
        ),
    );
    let out = d
        .argv0(which("unshare"))
        .args([
            "--mount",
            "--propagation",
            "private",
            "/bin/sh",
            outer.to_str().unwrap(),
        ])
        .run();
    let read = |n: &str| fs::read_to_string(dir.join(n)).unwrap_or_default();
    let ctx = format!(
        "{}\nsub: {:?} {:?}\nlink: {:?} {:?}\nlist: {:?} {:?}",
        out.dump(),
        read("sub.out"),
        read("sub.err"),
        read("link.out"),
        read("link.err"),
        read("list.out"),
        read("list.err")
    );
    assert_eq!(out.code, 0, "{ctx}");
    assert_eq!(read("dinit.rc"), "4\n", "the primary's status: {ctx}");
    assert_eq!(read("mode"), "600\n", "{ctx}");
    assert_eq!(read("sub.rc"), "0\n", "{ctx}");
    assert_eq!(ok_pids(&read("sub.out")).len(), 1, "{ctx}");
    let dinit_pid = read("dinit.pid").trim().to_string();
    assert_eq!(
        read("sub.ppid").split_whitespace().nth(1),
        Some(dinit_pid.as_str()),
        "{ctx}"
    );
    assert_eq!(read("link.rc"), "0\n", "{ctx}");
    assert_eq!(ok_pids(&read("link.out")).len(), 1, "{ctx}");
    assert_eq!(read("list.rc"), "0\n", "{ctx}");
    assert_eq!(read("list.out").lines().count(), 3, "{ctx}");
    assert_eq!(read("after"), "absent\n", "socket left in /tmp: {ctx}");
}

/// SPEC §5: a stale socket file (nobody listening) is replaced.
#[test]
fn stale_socket_is_replaced() {
    let d = Dinit::new("sock-stale");
    let sock = d.sock();
    drop(UnixListener::bind(&sock).unwrap());
    assert!(is_socket(&sock), "the stale socket file is gone already");
    let mut d = up(d.args(["-socket", &sock, "-r", "/bin/sleep", "120"]));
    let c = submit(&sock, &["-r", "/bin/sleep", "66"]);
    assert_eq!(c.code, 0, "{c:?}");
    let pid = ok_pids(&c.stdout)[0];
    d.wait_log(&format!("pid {pid} started: [/bin/sleep 66]"));
    assert!(
        !d.stderr().contains(&sock),
        "a warning about the stale socket:\n{}",
        d.stderr()
    );
    d.signal(SIGTERM);
    let out = d.wait();
    assert_eq!(out.code, 143, "{}", out.dump());
    assert!(!Path::new(&sock).exists());
}

/// Run dinit whose socket path cannot be had: it must warn (a log line
/// naming the path), run its command and return the primary's status.
fn runs_without_the_socket(d: Dinit, sock: &str) -> Output {
    let worked = d.dir.join("worked");
    let work = script(
        &d.dir,
        "work.sh",
        &format!("touch {}\nexit 3\n", worked.display()),
    );
    let out = d
        .args(["-socket", sock, "-r", "/bin/sh", work.to_str().unwrap()])
        .run();
    assert_eq!(out.code, 3, "the primary's status: {}", out.dump());
    assert!(worked.exists(), "the command did not run: {}", out.dump());
    let warnings = out.stderr.lines().filter(|l| l.contains(sock)).count();
    assert_eq!(warnings, 1, "one warning naming {sock}: {}", out.dump());
    out
}

/// SPEC §5: a live listener at the path: warning, no socket, the listener keeps working.
#[test]
fn live_listener_is_left_alone() {
    let d = Dinit::new("sock-live");
    let sock = d.sock();
    let listener = UnixListener::bind(&sock).unwrap();
    runs_without_the_socket(d, &sock);
    assert!(is_socket(&sock), "the listener's socket file was removed");
    let mut s = UnixStream::connect(&sock).expect("the listener no longer answers");
    s.write_all(b"hello\n").unwrap();
    // dinit's probe, if any, sits in the backlog too: find our connection.
    listener.set_nonblocking(true).unwrap();
    let deadline = Instant::now() + WAIT;
    let mut found = false;
    while !found {
        match listener.accept() {
            Ok((mut c, _)) => {
                c.set_nonblocking(false).unwrap();
                c.set_read_timeout(Some(Duration::from_millis(500)))
                    .unwrap();
                let mut buf = [0u8; 6];
                found = c.read_exact(&mut buf).is_ok() && &buf == b"hello\n";
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                assert!(Instant::now() < deadline, "our connection never arrived");
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(e) => panic!("accept: {e}"),
        }
    }
}

/// SPEC §5: a regular file at the path: warning, no socket, the file untouched.
#[test]
fn regular_file_is_left_alone() {
    let d = Dinit::new("sock-file");
    let sock = d.sock();
    fs::write(&sock, "precious\n").unwrap();
    runs_without_the_socket(d, &sock);
    assert_eq!(fs::read_to_string(&sock).unwrap(), "precious\n");
}

/// SPEC §5: a missing directory for the socket: warning, dinit runs without it.
#[test]
fn missing_directory_is_survived() {
    let d = Dinit::new("sock-nodir");
    let missing = d.dir.join("no-such-dir");
    let sock = missing.join("dinit.sock").display().to_string();
    runs_without_the_socket(d, &sock);
    assert!(!missing.exists());
}

/// SPEC §5: a read-only directory (readOnlyRootFilesystem): warning, dinit runs.
#[test]
fn read_only_directory_is_survived() {
    let d = Dinit::new("sock-ro");
    let ro = d.dir.join("ro");
    fs::create_dir(&ro).unwrap();
    let sock = ro.join("dinit.sock").display().to_string();
    let worked = d.dir.join("worked");
    let work = script(
        &d.dir,
        "work.sh",
        &format!("touch {}\nexit 3\n", worked.display()),
    );
    let outer = script(
        &d.dir,
        "outer.sh",
        &format!(
            "mount -t tmpfs -o ro dinit-ro {} || exit 90\n\
             touch {sock} 2>/dev/null && exit 91\n\
             exec {} -socket {sock} -r /bin/sh {}\n",
            ro.display(),
            bin().display(),
            work.display()
        ),
    );
    let out = d
        .argv0(which("unshare"))
        .args([
            "--mount",
            "--propagation",
            "private",
            "/bin/sh",
            outer.to_str().unwrap(),
        ])
        .run();
    assert_eq!(out.code, 3, "the primary's status: {}", out.dump());
    assert!(worked.exists(), "the command did not run: {}", out.dump());
    let warnings = out.stderr.lines().filter(|l| l.contains(&sock)).count();
    assert_eq!(warnings, 1, "one warning naming {sock}: {}", out.dump());
}

// ---------------------------------------------------------------------------
// The line protocol

/// SPEC §5: the server takes a 512-byte line and refuses 513 without running it.
#[test]
fn server_line_boundary_512_513() {
    let d = Dinit::new("sock-srv512");
    let sock = d.sock();
    let mut d = up(d.args(["-socket", &sock, "-r", "/bin/sleep", "120"]));
    let line = |fill: char, total: usize| {
        let head = "-r /bin/echo ";
        let pad: String = std::iter::repeat_n(fill, total - head.len() - 1).collect();
        (format!("{head}{pad}\n"), pad)
    };

    let (l511, pad511) = line('c', LINE_MAX - 1);
    assert_eq!(l511.len(), 511);
    ok_pids(&raw(&sock, l511.as_bytes()));
    let (l512, pad512) = line('a', LINE_MAX);
    assert_eq!(l512.len(), 512);
    let pid = ok_pids(&raw(&sock, l512.as_bytes()))[0];
    d.wait_log(&format!("pid {pid} finished: [/bin/echo aaa"));
    d.wait_file("stdout", &format!("{pad512}\n"));
    d.wait_file("stdout", &format!("{pad511}\n"));

    let (l513, _) = line('b', LINE_MAX + 1);
    assert_eq!(l513.len(), 513);
    let reason = error_reason(&raw(&sock, l513.as_bytes()));
    assert!(reason.contains("line too long"), "{reason:?}");
    // Also when the client keeps the connection open after its bytes.
    let mut s = UnixStream::connect(&sock).unwrap();
    s.write_all(l513.as_bytes()).unwrap();
    let reason = error_reason(&read_reply(&mut s));
    assert!(reason.contains("line too long"), "{reason:?}");

    // End of stream also ends a line.
    let mut s = UnixStream::connect(&sock).unwrap();
    s.write_all(b"-r /bin/echo end-of-stream").unwrap();
    s.shutdown(std::net::Shutdown::Write).unwrap();
    let pid = ok_pids(&read_reply(&mut s))[0];
    d.wait_log(&format!("pid {pid} finished: [/bin/echo end-of-stream]"));

    assert!(d.is_running());
    d.signal(SIGTERM);
    let out = d.wait();
    assert_eq!(out.code, 143, "{}", out.dump());
    assert!(!out.stdout.contains("bbb"), "the 513-byte line ran");
    assert!(!out.stderr.contains("[/bin/echo bbb"), "{}", out.dump());
    assert_eq!(started_count(&out.stderr), 4, "{}", out.dump());
}

/// SPEC §5: the client sends 512 bytes and refuses 513 before connecting, naming the size.
#[test]
fn client_line_boundary_512_513() {
    let d = Dinit::new("sock-cli512");
    let sock = d.sock();
    let dir = d.dir.clone();
    let d = up(d.args(["-socket", &sock, "-r", "/bin/sleep", "120"]));
    // "-r /bin/echo " + pad + "\n"
    let pad512 = "a".repeat(LINE_MAX - 14);
    let pad513 = "b".repeat(LINE_MAX - 13);

    let c = submit(&sock, &["-r", "/bin/echo", &pad512]);
    assert_eq!(c.code, 0, "{c:?}");
    ok_pids(&c.stdout);

    let c = submit(&sock, &["-r", "/bin/echo", &pad513]);
    assert_eq!(c.code, 1, "{c:?}");
    assert!(
        c.stderr.contains("513"),
        "the message gives the size: {c:?}"
    );
    assert_eq!(c.stdout, "", "{c:?}");

    // Before connecting: a listener the test holds sees no connection.
    let fake = dir.join("fake.sock");
    let listener = UnixListener::bind(&fake).unwrap();
    listener.set_nonblocking(true).unwrap();
    let c = submit(fake.to_str().unwrap(), &["-r", "/bin/echo", &pad513]);
    assert_eq!(c.code, 1, "{c:?}");
    assert!(c.stderr.contains("513"), "{c:?}");
    match listener.accept() {
        Err(e) if e.kind() == ErrorKind::WouldBlock => {}
        other => panic!("the client connected with a 513-byte line: {other:?}"),
    }
    // The symlinked client too, `-r` implied: "-r " is counted.
    let link = submit_link(&dir);
    let c = run_bounded(client_cmd(
        &link,
        &["-socket", fake.to_str().unwrap(), "/bin/echo", &pad513],
        &[],
    ));
    assert_eq!(c.code, 1, "{c:?}");
    assert!(c.stderr.contains("513"), "{c:?}");

    d.signal(SIGTERM);
    let out = d.wait();
    assert_eq!(out.code, 143, "{}", out.dump());
    assert!(out.stdout.contains(&pad512), "{}", out.dump());
    assert!(!out.stdout.contains("bbb"), "{}", out.dump());
    assert_eq!(started_count(&out.stderr), 2, "{}", out.dump());
}

/// SPEC §5: every bad line gets one `error:` line, runs nothing, and dinit keeps serving.
#[test]
fn bad_lines_get_one_error_line_each() {
    let d = Dinit::new("sock-bad");
    let sock = d.sock();
    let dir = d.dir.clone();
    let mut d = up(d.args(["-socket", &sock, "-r", "/bin/sleep", "120"]));
    send_bad_lines(&sock, &dir);
    assert!(d.is_running(), "a bad line ended dinit");
    let pid = ok_pids(&raw(&sock, b"-r /bin/sleep 67\n"))[0];
    d.wait_log(&format!("pid {pid} started: [/bin/sleep 67]"));
    d.signal(SIGTERM);
    let out = d.wait();
    assert_eq!(out.code, 143, "{}", out.dump());
    assert_eq!(
        started_count(&out.stderr),
        2,
        "a bad line started something: {}",
        out.dump()
    );
}

/// SPEC §5: spaces, quotes, empty words and `\-r` survive client -> server -> argv.
#[test]
fn quoting_survives_client_and_server() {
    let d = Dinit::new("sock-quote");
    let sock = d.sock();
    let dir = d.dir.clone();
    let args = args_script(&dir);
    let mut d = up(d.args(["-socket", &sock, "-r", "/bin/sleep", "120"]));
    let out1 = dir.join("out1");
    let words = [
        "a b", "q\"x", "", "  lead", "trail ", "t\tb", "\\-r", "x\"\"y", "ünï", "-list",
    ];
    let mut argv = vec![
        "-r",
        "/bin/sh",
        args.to_str().unwrap(),
        out1.to_str().unwrap(),
    ];
    argv.extend_from_slice(&words);
    let c = submit(&sock, &argv);
    assert_eq!(c.code, 0, "{c:?}");
    let got = d.wait_file("out1", "]");
    let want: String = words
        .iter()
        .map(|w| format!("[{}]\n", if *w == "\\-r" { "-r" } else { w }))
        .collect();
    assert_eq!(got, want);

    // The symlinked client, `-r` implied.
    let out2 = dir.join("out2");
    let link = submit_link(&dir);
    let c = run_bounded(client_cmd(
        &link,
        &[
            "-socket",
            &sock,
            "/bin/sh",
            args.to_str().unwrap(),
            out2.to_str().unwrap(),
            "one two",
            "\"",
        ],
        &[],
    ));
    assert_eq!(c.code, 0, "{c:?}");
    assert_eq!(d.wait_file("out2", "]"), "[one two]\n[\"]\n");

    // A raw line quoted by hand.
    let out3 = dir.join("out3");
    let line = format!(
        "-r /bin/sh {} {}  \"a b\" \"q\"\"x\" \"\" a\"b c\"d \\-r\n",
        args.display(),
        out3.display()
    );
    ok_pids(&raw(&sock, line.as_bytes()));
    assert_eq!(
        d.wait_file("out3", "]"),
        "[a b]\n[q\"x]\n[]\n[ab cd]\n[-r]\n"
    );
    d.signal(SIGTERM);
    assert_eq!(d.wait().code, 143);
}

/// SPEC §5: `$` is expanded once, by the server, against dinit's environment.
#[test]
fn dollar_expands_once_on_the_server() {
    let d = Dinit::new("sock-dollar");
    let sock = d.sock();
    let dir = d.dir.clone();
    let args = args_script(&dir);
    let mut d =
        up(d.env("HOME_X", "from-dinit")
            .args(["-socket", &sock, "-r", "/bin/sleep", "120"]));
    let out = dir.join("out");
    let b = bin();
    let c = run_bounded(client_cmd(
        &b,
        &[
            "-submit",
            "-socket",
            &sock,
            "-r",
            "/bin/sh",
            args.to_str().unwrap(),
            out.to_str().unwrap(),
            "$HOME_X",
            "$$",
            "$$HOME_X",
            "${HOME_X}",
            "${NOPE_X:-dflt}",
            "a$",
        ],
        &[("HOME_X", "from-client")],
    ));
    assert_eq!(c.code, 0, "{c:?}");
    assert_eq!(
        d.wait_file("out", "]"),
        "[from-dinit]\n[$]\n[$HOME_X]\n[from-dinit]\n[dflt]\n[a$]\n"
    );
    // A raw line: the child's output is dinit's stdout.
    let pid = ok_pids(&raw(&sock, b"-r /bin/echo $HOME_X $$HOME_X\n"))[0];
    d.wait_log(&format!("pid {pid} finished"));
    d.wait_file("stdout", "from-dinit $HOME_X\n");
    d.signal(SIGTERM);
    assert_eq!(d.wait().code, 143);
}

// ---------------------------------------------------------------------------
// Hostile clients and load

/// Issue 3: 40 silent clients and garbage lines block neither submissions nor SIGHUP.
#[test]
fn hostile_clients_do_not_block_dinit() {
    let d = Dinit::new("sock-hostile");
    let sock = d.sock();
    let dir = d.dir.clone();
    let trap = trap_script(&dir, "prim");
    let mut d = up(d.args(["-socket", &sock, "-r", "/bin/sh", trap.to_str().unwrap()]));
    wait_exists(&dir.join("prim.ready"));

    // Connect 40 clients that never send anything (bounded, in a thread:
    // a blocking connect waits for dinit to accept).
    let (tx, rx) = mpsc::channel();
    let s = sock.clone();
    std::thread::spawn(move || {
        let v: Vec<UnixStream> = (0..40).map(|_| UnixStream::connect(&s).unwrap()).collect();
        let _ = tx.send(v);
    });
    let silent = rx.recv_timeout(WAIT).expect("40 clients could not connect");
    let connected = Instant::now();

    send_bad_lines(&sock, &dir);

    let t = Instant::now();
    let c = submit(&sock, &["-r", "/bin/sleep", "68"]);
    let took = t.elapsed();
    assert_eq!(c.code, 0, "{c:?}");
    let pid = ok_pids(&c.stdout)[0];
    assert!(
        took < Duration::from_secs(10),
        "a real submission took {took:?}"
    );
    assert_eq!(ppid(pid), Some(d.pid()));
    let t = Instant::now();
    ok_pids(&raw(&sock, b"-r /bin/sleep 69\n"));
    assert!(t.elapsed() < Duration::from_secs(10));

    // The forwarded SIGHUP reaches the primary (which traps it) and the
    // submitted sleeps (which it kills).
    d.signal(SIGHUP);
    d.wait_file("prim.got", "HUP");
    d.wait_log("[/bin/sleep 68] with error: signal: hangup");
    d.wait_log("[/bin/sleep 69] with error: signal: hangup");

    // Every silent client is dropped: EOF (after an error line, or none).
    for (i, mut s) in silent.into_iter().enumerate() {
        let reply = read_reply(&mut s);
        assert!(
            reply.is_empty() || (reply.starts_with("error: ") && reply.lines().count() == 1),
            "silent client {i} got {reply:?}"
        );
    }
    let dropped = connected.elapsed();
    assert!(
        dropped < Duration::from_secs(25),
        "silent clients held for {dropped:?}"
    );

    assert!(d.is_running());
    let c = submit(&sock, &["-list"]);
    assert_eq!(c.code, 0, "{c:?}");
    assert_eq!(
        c.stdout.lines().count(),
        1,
        "only the primary is left: {c:?}"
    );
    d.signal(SIGTERM);
    let out = d.wait();
    assert_eq!(out.code, 0, "the primary exits 0 on TERM: {}", out.dump());
    assert_eq!(
        started_count(&out.stderr),
        3,
        "garbage started something: {}",
        out.dump()
    );
}

/// Issue 3: 1,000 sequential submissions: all ok, no zombie, RSS flat.
#[test]
fn thousand_submissions_flat_rss_no_zombies() {
    let d = Dinit::new("sock-1000");
    let sock = d.sock();
    let d = up(d.args(["-socket", &sock, "-r", "/bin/sleep", "600"]));
    let dinit = d.pid();
    let settle = || {
        wait_no_zombies(dinit);
        let deadline = Instant::now() + WAIT;
        loop {
            let listed = raw(&sock, b"-list\n");
            if listed.lines().count() == 1 {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "submitted /bin/true still listed:\n{listed}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        wait_no_zombies(dinit);
    };
    let mut rss_100 = 0;
    for i in 1..=1000 {
        let reply = raw(&sock, b"-r /bin/true\n");
        assert!(reply.starts_with("ok "), "submission {i}: {reply:?}");
        ok_pids(&reply);
        if i == 100 {
            settle();
            rss_100 = rss_kib(dinit);
        }
    }
    settle();
    let rss_1000 = rss_kib(dinit);
    assert!(
        rss_1000 <= rss_100 + 64,
        "RSS grew from {rss_100} KiB to {rss_1000} KiB"
    );
    d.signal(SIGTERM);
    let out = d.wait();
    assert_eq!(out.code, 143, "{}", out.dump());
    assert_eq!(started_count(&out.stderr), 1001);
    assert_eq!(out.stderr.matches("finished: [/bin/true]").count(), 1000);
}

// ---------------------------------------------------------------------------
// Who may connect

/// SPEC §5: a foreign uid is refused, by the 0600 mode and by SO_PEERCRED.
#[test]
fn foreign_uid_is_refused() {
    let d = Dinit::new("sock-uid");
    let sock = d.sock();
    let d = up(d.args(["-socket", &sock, "-r", "/bin/sleep", "120"]));

    let c = submit_as_nobody(&sock, &["-r", "/bin/sleep", "77"]);
    assert_eq!(c.code, 1, "{c:?}");
    assert!(c.stderr.contains("permission denied"), "{c:?}");
    assert!(
        !c.stderr.contains("error: "),
        "the connect itself must fail: {c:?}"
    );
    assert_eq!(c.stdout, "");

    fs::set_permissions(&sock, fs::Permissions::from_mode(0o666)).unwrap();
    // The server itself, seen by a raw client of uid 65534: it sends its line
    // and reads what comes back.
    let probe = d.dir.join("probe.py");
    fs::write(&probe, PEER_PROBE).unwrap();
    let c = run_bounded(client_cmd(
        &which("setpriv"),
        &[
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "/usr/bin/python3",
            probe.to_str().unwrap(),
            &sock,
            "-r /bin/sleep 76\n",
        ],
        &[],
    ));
    assert_eq!(c.code, 0, "{c:?}");
    assert_eq!(c.stdout, "error: permission denied\n", "{c:?}");

    // Through the client: the server's reply, on stderr, exit 1, and nothing
    // else (several times: the client races the server's close).
    for args in [
        &["-r", "/bin/sleep", "78"][..],
        &["-list"][..],
        &["-r", "/bin/sleep", "78"][..],
        &["-list"][..],
        &["-r", "/bin/sleep", "78"][..],
    ] {
        let c = submit_as_nobody(&sock, args);
        assert_eq!(c.code, 1, "{c:?}");
        assert_eq!(c.stdout, "", "{c:?}");
        assert_eq!(
            c.stderr, "dinit-submit: error: permission denied\n",
            "the server's SO_PEERCRED refusal, as the client shows it"
        );
    }

    // Root is still served.
    let c = submit(&sock, &["-r", "/bin/sleep", "79"]);
    assert_eq!(c.code, 0, "{c:?}");
    d.signal(SIGTERM);
    let out = d.wait();
    assert_eq!(out.code, 143, "{}", out.dump());
    assert!(!out.stderr.contains("[/bin/sleep 76]"), "{}", out.dump());
    assert!(!out.stderr.contains("[/bin/sleep 77]"), "{}", out.dump());
    assert!(!out.stderr.contains("[/bin/sleep 78]"), "{}", out.dump());
    assert!(out.stderr.contains("[/bin/sleep 79]"), "{}", out.dump());
}

/// A raw client for another uid (run under setpriv): connect to ARGV1, send
/// ARGV2, print everything received until the server closes.
const PEER_PROBE: &str = r#"import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(30)
s.connect(sys.argv[1])
try:
    s.sendall(sys.argv[2].encode())
except OSError:
    pass
got = b""
while True:
    try:
        x = s.recv(4096)
    except ConnectionResetError:
        break
    if not x:
        break
    got += x
sys.stdout.write(got.decode("latin-1"))
"#;

/// SPEC §5: dinit running as an ordinary uid serves that uid; root's client
/// refuses to talk to it (SPEC §10).
#[test]
fn own_uid_is_served() {
    let d = Dinit::new("sock-ownuid");
    let udir = d.dir.join("u");
    fs::create_dir(&udir).unwrap();
    fs::set_permissions(&udir, fs::Permissions::from_mode(0o777)).unwrap();
    let sock = udir.join("dinit.sock").display().to_string();
    let b = bin();
    let d = up(d.argv0(which("setpriv")).args([
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        b.to_str().unwrap(),
        "-socket",
        &sock,
        "-r",
        "/bin/sleep",
        "120",
    ]));
    let dinit = d.pid();
    assert_eq!(
        proc_status_field(dinit, "Uid").split_whitespace().next(),
        Some("65534")
    );
    let c = submit_as_nobody(&sock, &["-r", "/bin/sleep", "80"]);
    assert_eq!(c.code, 0, "{c:?}");
    assert_eq!(ppid(ok_pids(&c.stdout)[0]), Some(dinit));
    // Root's client does not trust this listener (SPEC §10): uid 65534 is
    // neither root nor root's own uid, and it is not PID 1 here. It sends
    // nothing (the server would have served root: the server's rule is
    // tested in edges.rs).
    let c = submit(&sock, &["-r", "/bin/sleep", "81"]);
    assert_eq!(c.code, 1, "{c:?}");
    assert!(
        c.stderr.contains(&format!("not sending to {sock}")) && c.stderr.contains("uid 65534"),
        "{c:?}"
    );
    d.signal(SIGTERM);
    let out = d.wait();
    assert_eq!(out.code, 143, "{}", out.dump());
    assert!(!out.stderr.contains("[/bin/sleep 81]"), "{}", out.dump());
    assert!(!Path::new(&sock).exists());
}

// ---------------------------------------------------------------------------
// The client

/// SPEC §5: the `dinit-submit` symlink with and without `-r`, and `-list` both ways.
#[test]
fn symlink_client_and_list() {
    let d = Dinit::new("sock-link");
    let sock = d.sock();
    let dir = d.dir.clone();
    let link = submit_link(&dir);
    let mut d = up(d.args(["-socket", &sock, "-r", "/bin/sleep", "120"]));
    let dinit = d.pid();

    let c = run_bounded(client_cmd(&link, &["-socket", &sock, "sleep", "1"], &[]));
    assert_eq!(c.code, 0, "{c:?}");
    let a = ok_pids(&c.stdout)[0];
    assert_eq!(ppid(a), Some(dinit));
    let c = run_bounded(client_cmd(
        &link,
        &["-socket", &sock, "-r", "/bin/sleep", "70"],
        &[],
    ));
    assert_eq!(c.code, 0, "{c:?}");
    let b = ok_pids(&c.stdout)[0];
    assert_eq!(ppid(b), Some(dinit));
    let c = run_bounded(client_cmd(
        &link,
        &["/bin/sleep", "71"],
        &[("DINIT_SOCKET", &sock)],
    ));
    assert_eq!(c.code, 0, "{c:?}");
    let e = ok_pids(&c.stdout)[0];
    d.wait_log(&format!("pid {a} started: [sleep 1]"));
    d.wait_log(&format!("pid {b} started: [/bin/sleep 70]"));
    d.wait_log(&format!("pid {e} started: [/bin/sleep 71]"));
    d.wait_log(&format!("pid {a} finished: [sleep 1]"));

    for c in [
        run_bounded(client_cmd(&link, &["-socket", &sock, "-list"], &[])),
        submit(&sock, &["-list"]),
    ] {
        assert_eq!(c.code, 0, "{c:?}");
        assert_eq!(c.stderr, "", "{c:?}");
        let pids: Vec<i32> = c.stdout.lines().map(|l| list_entry(l).0).collect();
        assert_eq!(pids.len(), 3, "{c:?}");
        assert!(pids.contains(&b) && pids.contains(&e), "{c:?}");
        assert!(!pids.contains(&a), "an exited process is listed: {c:?}");
        assert!(c.stdout.contains("/bin/sleep 70"), "{c:?}");
    }
    d.signal(SIGTERM);
    assert_eq!(d.wait().code, 143);
}

/// SPEC §5: the client's failures are distinct messages on stderr, exit 1.
#[test]
fn client_error_messages() {
    let d = Dinit::new("sock-clierr");
    let sock = d.sock();
    let dir = d.dir.clone();

    // No socket file.
    let none = dir.join("none.sock");
    let c = submit(none.to_str().unwrap(), &["-r", "/bin/true"]);
    assert_eq!(c.code, 1, "{c:?}");
    assert!(c.stderr.contains("nobody is listening"), "{c:?}");
    assert_eq!(c.stdout, "");
    // A socket file nobody listens on.
    let stale = dir.join("stale.sock");
    drop(UnixListener::bind(&stale).unwrap());
    let c = submit(stale.to_str().unwrap(), &["-list"]);
    assert_eq!(c.code, 1, "{c:?}");
    assert!(c.stderr.contains("nobody is listening"), "{c:?}");
    // A path through a regular file (ENOTDIR): an I/O error.
    fs::write(dir.join("file"), "").unwrap();
    let through = dir.join("file/x.sock");
    let c = submit(through.to_str().unwrap(), &["-r", "/bin/true"]);
    assert_eq!(c.code, 1, "{c:?}");
    assert!(c.stderr.contains("I/O error"), "{c:?}");
    assert!(!c.stderr.contains("nobody is listening"), "{c:?}");
    assert!(!c.stderr.contains("permission denied"), "{c:?}");

    // Error replies go to stderr, exit 1.
    let d = up(d.args(["-socket", &sock, "-r", "/bin/sleep", "120"]));
    let c = submit(&sock, &["-r", "no-such-program-xyz"]);
    assert_eq!(c.code, 1, "{c:?}");
    assert!(c.stderr.contains("error: "), "{c:?}");
    assert!(c.stderr.contains("no-such-program-xyz"), "{c:?}");
    assert!(c.stderr.contains("not found"), "{c:?}");
    assert_eq!(c.stdout, "", "{c:?}");
    let c = submit(&sock, &["-r", "/bin/echo", "${UNTERMINATED"]);
    assert_eq!(c.code, 1, "{c:?}");
    assert!(c.stderr.contains("error: "), "{c:?}");
    // A usage error of the client itself is 2 and sends nothing.
    let c = submit(&sock, &["-bogus"]);
    assert_eq!(c.code, 2, "{c:?}");
    d.signal(SIGTERM);
    let out = d.wait();
    assert_eq!(started_count(&out.stderr), 1, "{}", out.dump());

    // A server that never answers: the client gives up with a message.
    let mute = dir.join("mute.sock");
    let _listener = UnixListener::bind(&mute).unwrap();
    let t = Instant::now();
    let c = submit(mute.to_str().unwrap(), &["-r", "/bin/true"]);
    assert_eq!(c.code, 1, "{c:?}");
    assert!(c.stderr.contains("timed out"), "{c:?}");
    assert!(t.elapsed() < Duration::from_secs(25), "{:?}", t.elapsed());
}

/// SPEC §5: a new client makes room by dropping exactly one silent client
/// (the one silent longest), not more, and a client whose line is already
/// waiting is never the one dropped.
#[test]
fn one_newcomer_evicts_one_silent_client() {
    let d = Dinit::new("evict-one");
    let sock = d.sock();
    let r = up(d.args(["-socket", &sock, "-r", "/bin/sleep", "60"]));
    let mut silent: Vec<UnixStream> = Vec::new();
    for _ in 0..16 {
        silent.push(UnixStream::connect(&sock).unwrap());
        // Let dinit accept each in turn, so "silent longest" is well defined.
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let reply = raw(&sock, b"-r /bin/true\n");
    assert!(reply.starts_with("ok "), "{reply:?}");
    // Exactly one of the 16 was told to go, and it is the oldest.
    let mut dropped = Vec::new();
    for (i, s) in silent.iter_mut().enumerate() {
        s.set_nonblocking(true).unwrap();
        let mut buf = [0u8; 64];
        match s.read(&mut buf) {
            Ok(n) if n > 0 => dropped.push((i, String::from_utf8_lossy(&buf[..n]).into_owned())),
            _ => {}
        }
    }
    assert_eq!(dropped.len(), 1, "{dropped:?}");
    assert_eq!(dropped[0].0, 0, "{dropped:?}");
    assert!(dropped[0].1.contains("too many clients"), "{dropped:?}");
    r.signal(libc::SIGTERM);
    let out = r.wait();
    assert_eq!(out.code, 143, "{}", out.dump());
}
