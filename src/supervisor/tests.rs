//! The supervisor through a fake `Os`: processes, reaping, signals and the
//! clock are the fake's; the exec reports are real pipes in the loop's real
//! epoll set, written by the test as a child would. Each test drives whole
//! loop turns and looks at what the fake was asked to do.

use super::*;
use crate::cli;
use crate::command::Lookup;
use crate::error::{ECHILD, ENOENT, ESRCH};
use crate::phase::{Stage, State as MachineState};
use crate::signals::{SIGCHLD, SIGHUP, SIGINT};
use crate::sys::spawn::{Exec, Spawned};
use rustix::fd::AsRawFd;
use std::collections::{BTreeMap, VecDeque};
use std::vec::Vec;

/// A child of the fake system.
#[derive(Debug)]
struct Kid {
    /// The write end of its report pipe while it has not reported.
    report: Option<OwnedFd>,
    /// An orphan adopted by dinit (not forked by it).
    orphan: bool,
    /// Its process group, when not its own.
    group: Option<i32>,
}

#[derive(Default)]
struct Fake {
    now: u64,
    next_pid: i32,
    kids: BTreeMap<i32, Kid>,
    /// Exited, not reaped yet: pid and raw status.
    zombies: VecDeque<(i32, i32)>,
    /// Every kill asked for, in order.
    kills: Vec<(i32, i32)>,
    /// The file each spawn was asked to exec, in order.
    spawned: Vec<(i32, Vec<u8>)>,
    /// The descriptors each child was given: its 0–2 (a `-wait` job's),
    /// the inherited ones.
    given: BTreeMap<i32, (Option<[i32; 3]>, Vec<i32>)>,
    /// The next spawn fails with this (after `fail_after` more that do
    /// not).
    fail_spawn: Option<SpawnError>,
    fail_after: usize,
    /// How often the children were listed.
    listings: usize,
}

impl Os for Fake {
    fn now(&mut self) -> u64 {
        self.now
    }

    fn spawn(
        &mut self,
        exec: &Exec<'_>,
        _group: Group,
        watch: Watch<'_>,
        fds: ChildFds<'_>,
    ) -> Result<Spawned, SpawnError> {
        if self.fail_after > 0 {
            self.fail_after -= 1;
        } else if let Some(e) = self.fail_spawn.take() {
            return Err(e);
        }
        let (rd, wr) = rustix::pipe::pipe_with(
            rustix::pipe::PipeFlags::CLOEXEC | rustix::pipe::PipeFlags::NONBLOCK,
        )
        .unwrap();
        epoll::add(
            watch.epoll,
            &rd,
            epoll::EventData::new_u64(watch.token_base + rd.as_raw_fd() as u64),
            epoll::EventFlags::IN,
        )
        .unwrap();
        self.next_pid += 1;
        let pid = self.next_pid;
        let file = exec.file();
        self.spawned.push((pid, file[..file.len() - 1].to_vec()));
        let stdio = fds.stdio.map(|s| s.map(|fd| fd.as_raw_fd()));
        self.given.insert(pid, (stdio, fds.inherited.to_vec()));
        self.kids.insert(
            pid,
            Kid {
                report: Some(wr),
                orphan: false,
                group: None,
            },
        );
        Ok(Spawned { pid, report: rd })
    }

    fn kill(&mut self, pid: i32, sig: i32) -> Result<(), i32> {
        self.kills.push((pid, sig));
        if pid == -1 || self.kids.contains_key(&pid) {
            Ok(())
        } else {
            Err(ESRCH)
        }
    }

    fn reap(&mut self) -> Result<Option<(i32, i32)>, i32> {
        match self.zombies.pop_front() {
            Some(z) => Ok(Some(z)),
            None if self.kids.is_empty() => Err(ECHILD),
            None => Ok(None),
        }
    }

    fn children(&mut self, f: &mut dyn FnMut(i32)) -> Result<(), i32> {
        self.listings += 1;
        for &pid in self.kids.keys() {
            f(pid);
        }
        for &(pid, _) in &self.zombies {
            f(pid);
        }
        Ok(())
    }

    fn pgid(&mut self, pid: i32) -> Option<i32> {
        self.kids.get(&pid).map(|k| k.group.unwrap_or(pid))
    }
}

type Sup = Supervisor<'static, Fake>;

fn leak<T>(x: T) -> &'static mut T {
    Box::leak(Box::new(x))
}

/// A supervisor for these command-line words (options and `-r` groups),
/// its programs looked up by the children (no file system needed), and no
/// socket.
fn supervisor(words: &[&'static str]) -> Sup {
    let words: Vec<&'static [u8]> = ["-socket", ""]
        .iter()
        .chain(words)
        .map(|w| w.as_bytes())
        .collect();
    let words: &'static [&'static [u8]] = leak(words);
    let env = |_: &[u8]| -> Option<&'static [u8]> { None };
    let cfg: &'static cli::Config<'static> = leak(cli::parse(words, &env).unwrap());
    let mut b = Builder {
        bytes: Bump::new(leak([0u8; 1 << 16]).as_mut_slice()),
        ptrs: Bump::new(leak([core::ptr::null::<u8>(); 1024]).as_mut_slice()),
        envp: sys::spawn::process_env(),
    };
    let mut programs = Vec::new();
    for (flag, group) in crate::words::groups(cfg.commands) {
        programs.push(command::build(flag, group, Lookup::InChild, &mut b).unwrap());
    }
    let helper = |t: Option<&'static [u8]>, b: &mut Builder<'static>| {
        t.map(|t| command::build_string(t, Lookup::InChild, b).unwrap())
    };
    let start = helper(cfg.start, &mut b);
    let prestop = helper(cfg.prestop, &mut b);
    let stop = helper(cfg.stop, &mut b);
    let plan = Plan {
        programs: leak(programs),
        start,
        prestop,
        stop,
        envp: b.envp,
        socket_bytes: leak([0u8; 4096]).as_mut_slice(),
        socket_ptrs: leak([core::ptr::null::<u8>(); 64]).as_mut_slice(),
        parent_gone: None,
        inherited: Inherited::default(),
        heir: None,
        listen_pid: None,
    };
    let sigfd = sys::signals::signalfd(sys::signals::SigSet::EMPTY).unwrap();
    let fake = Fake {
        next_pid: 100,
        ..Fake::default()
    };
    let mut sup = Supervisor::new(cfg, plan, leak(Table::new()), sigfd, fake).unwrap();
    sup.begin();
    sup
}

use crate::arena::Bump;
use crate::command::Builder;

impl Sup {
    fn fake(&mut self) -> &mut Fake {
        &mut self.children.os
    }

    /// One loop turn at fake time `now`, without waiting.
    fn at(&mut self, now: u64) {
        self.fake().now = now;
        self.turn(false);
    }

    fn signal(&mut self, sig: i32) {
        self.on_signal(SigInfo { signo: sig, pid: 0 });
        let now = self.fake().now;
        self.at(now);
    }

    /// The child `pid` exec'd: its report pipe closes.
    fn execs(&mut self, pid: i32) {
        self.fake().kids.get_mut(&pid).unwrap().report = None;
        let now = self.fake().now;
        self.at(now);
    }

    /// The child `pid`'s exec failed with `errno`.
    fn exec_fails(&mut self, pid: i32, errno: i32) {
        let wr = self
            .fake()
            .kids
            .get_mut(&pid)
            .unwrap()
            .report
            .take()
            .unwrap();
        rustix::io::write(&wr, &errno.to_ne_bytes()).unwrap();
        drop(wr);
        self.exits(pid, 127 << 8);
    }

    /// The child `pid` ends with raw status `raw` (SIGCHLD follows).
    fn exits(&mut self, pid: i32, raw: i32) {
        let kid = self.fake().kids.remove(&pid).expect("a live child");
        drop(kid.report);
        self.fake().zombies.push_back((pid, raw));
        self.signal(SIGCHLD);
    }

    fn adopt(&mut self) -> i32 {
        self.adopt_in(None)
    }

    /// An orphan in the process group `group` (its own when `None`).
    fn adopt_in(&mut self, group: Option<i32>) -> i32 {
        let f = self.fake();
        f.next_pid += 1;
        let pid = f.next_pid;
        f.kids.insert(
            pid,
            Kid {
                report: None,
                orphan: true,
                group,
            },
        );
        pid
    }

    fn spawned(&mut self) -> Vec<i32> {
        self.fake().spawned.iter().map(|(p, _)| *p).collect()
    }

    /// The signals `pid` was sent, in order.
    fn sent(&mut self, pid: i32) -> Vec<i32> {
        let kills = &self.fake().kills;
        kills.iter().filter(|k| k.0 == pid).map(|k| k.1).collect()
    }

    fn orphans_alive(&mut self) -> Vec<i32> {
        let kids = &self.fake().kids;
        kids.iter()
            .filter(|(_, k)| k.orphan)
            .map(|(p, _)| *p)
            .collect()
    }
}

const TERM: i32 = SIGTERM;
const KILL: i32 = SIGKILL;
const CONT: i32 = crate::signals::SIGCONT;
const EXIT_0: i32 = 0;

#[test]
fn commands_start_in_order_each_once_the_previous_one_has_exec_d() {
    let mut s = supervisor(&["-r", "a", "-r", "b", "-r", "c"]);
    assert_eq!(s.spawned(), [101]);
    assert_eq!(s.fake().spawned[0].1, b"a");
    // No report yet: nothing else starts, whatever the time.
    s.at(5_000);
    assert_eq!(s.spawned(), [101]);
    s.execs(101);
    assert_eq!(s.spawned(), [101, 102]);
    s.execs(102);
    s.execs(103);
    assert_eq!(s.spawned(), [101, 102, 103]);
    assert!(s.launch.is_none());
    // The last is the primary: its exit ends it all.
    s.exits(103, 3 << 8);
    assert_eq!(s.sent(101), [TERM, CONT]);
    assert_eq!(s.sent(102), [TERM, CONT]);
    s.exits(101, EXIT_0);
    s.exits(102, EXIT_0);
    assert!(s.machine.is_done());
    assert_eq!(s.machine.exit_code(), 3);
}

#[test]
fn a_primary_exit_stops_the_managed_processes_before_the_orphans() {
    let mut s = supervisor(&["-r", "a", "-r", "b"]);
    s.execs(101);
    s.execs(102);
    let orphan = s.adopt();
    // The primary exits: a gets its stop signal, then the orphan (SPEC
    // §11: adopted orphans after the managed processes), each once, and
    // the children are listed once for it.
    let listings = s.fake().listings;
    s.exits(102, EXIT_0);
    let order: Vec<i32> = s.fake().kills.iter().map(|k| k.0).collect();
    assert_eq!(order, [101, 101, orphan, orphan]);
    assert_eq!(s.sent(orphan), [TERM, CONT]);
    assert_eq!(s.fake().listings, listings + 1);
}

#[test]
fn a_command_that_cannot_exec_tears_down_the_ones_before_it() {
    let mut s = supervisor(&["-r", "a", "-r", "missing", "-r", "c"]);
    s.execs(101);
    s.exec_fails(102, ENOENT);
    // The third never starts; the first is stopped.
    assert_eq!(s.spawned(), [101, 102]);
    assert_eq!(s.sent(101), [TERM, CONT]);
    assert_eq!(s.sent(102), []);
    s.exits(101, TERM);
    assert!(s.machine.is_done());
    assert_eq!(s.machine.exit_code(), 127);
}

#[test]
fn a_fork_failure_at_launch_is_an_event_of_the_next_turn() {
    let mut s = supervisor(&["-r", "a", "-r", "b"]);
    s.fake().fail_spawn = Some(SpawnError::Fork(11));
    s.execs(101);
    // The next command is forked where actions are performed, not in the
    // handler of 101's report: the failure is the next turn's event.
    assert!(s.fake().fail_spawn.is_none(), "no fork was tried");
    assert!(s.machine.accepting());
    assert!(s.again, "the next turn does not wait");
    s.at(0);
    assert!(matches!(s.machine.state(), MachineState::Teardown(_)));
    assert_eq!(s.sent(101), [TERM, CONT]);
    s.exits(101, TERM);
    assert!(s.machine.is_done());
    assert_eq!(s.machine.exit_code(), 1);
}

#[test]
fn sigterm_stops_every_process_and_the_exit_code_is_128_plus_n() {
    let mut s = supervisor(&["-r", "a", "-r", "b"]);
    s.execs(101);
    s.execs(102);
    s.signal(TERM);
    assert_eq!(s.sent(101), [TERM, CONT]);
    assert_eq!(s.sent(102), [TERM, CONT]);
    s.exits(101, TERM);
    s.exits(102, TERM);
    // Nothing left: drained at once, no deadline waited for.
    assert!(s.machine.is_done());
    assert_eq!(s.machine.exit_code(), 143);
    assert!(s.children.none_left());
}

#[test]
fn a_process_whose_exec_is_stuck_does_not_hold_anything_up() {
    // The second command's exec never reports (a hung file system): the
    // stop request is still handled at once, the stuck one is stopped
    // with the rest and SIGKILLed at the deadline.
    let mut s = supervisor(&["-timeout", "2", "-r", "a", "-r", "b"]);
    s.execs(101);
    assert_eq!(s.spawned(), [101, 102]);
    s.signal(SIGINT);
    assert_eq!(s.sent(101), [SIGINT, CONT]);
    assert_eq!(s.sent(102), [SIGINT, CONT]);
    s.exits(101, SIGINT);
    s.at(2_000);
    assert_eq!(s.sent(102), [SIGINT, CONT, KILL]);
    s.exits(102, KILL);
    assert!(s.machine.is_done());
    assert_eq!(s.machine.exit_code(), 128 + 9);
}

#[test]
fn a_child_reaped_before_its_report_was_read_still_counts_as_started() {
    let mut s = supervisor(&["-r", "quick", "-r", "b"]);
    // It exec'd and exited before the loop looked at its pipe.
    s.fake().kids.get_mut(&101).unwrap().report = None;
    s.exits(101, EXIT_0);
    assert_eq!(s.spawned(), [101, 102], "the launch went on");
    assert!(s.machine.accepting());
}

#[test]
fn forwarded_signals_skip_a_process_still_starting() {
    let mut s = supervisor(&["-r", "a", "-r", "b"]);
    s.execs(101);
    s.signal(SIGHUP);
    assert_eq!(s.sent(101), [SIGHUP]);
    assert_eq!(s.sent(102), []);
}

#[test]
fn reverse_order_stops_one_at_a_time_and_orphans_last() {
    let mut s = supervisor(&["-stoporder", "reverse", "-r", "a", "-r", "b", "-r", "c"]);
    for pid in [101, 102, 103] {
        s.execs(pid);
    }
    let orphan = s.adopt();
    s.signal(TERM);
    assert_eq!(s.sent(103), [TERM, CONT]);
    assert_eq!(s.sent(102), []);
    assert_eq!(s.sent(orphan), []);
    s.exits(103, TERM);
    assert_eq!(s.sent(102), [TERM, CONT]);
    assert_eq!(s.sent(101), []);
    s.exits(102, TERM);
    s.exits(101, TERM);
    // Every managed process is gone: the orphans' turn.
    assert_eq!(s.sent(orphan), [TERM, CONT]);
    s.exits(orphan, TERM);
    assert!(s.machine.is_done());
}

#[test]
fn orphans_get_their_stop_signal_once_and_sigkill_at_the_one_deadline() {
    let mut s = supervisor(&["-timeout", "10", "-r", "a"]);
    s.execs(101);
    let deaf = s.adopt();
    s.signal(TERM);
    assert_eq!(s.sent(deaf), [TERM, CONT]);
    s.exits(101, TERM);
    // More reaps look again, but send nothing twice.
    let other = s.adopt();
    s.exits(other, EXIT_0);
    assert_eq!(s.sent(deaf), [TERM, CONT]);
    s.at(9_999);
    assert_eq!(s.sent(deaf), [TERM, CONT]);
    s.at(10_000);
    assert_eq!(s.sent(deaf), [TERM, CONT, KILL]);
    s.exits(deaf, KILL);
    assert!(s.machine.is_done());
    assert_eq!(s.machine.exit_code(), 143);
}

#[test]
fn the_second_stop_request_after_an_interrupted_start_kills_its_orphans() {
    let mut s = supervisor(&["-timeout", "30", "-start", "start.sh", "-r", "a"]);
    assert_eq!(s.spawned(), [101]);
    s.execs(101);
    // The start command leaves an orphan that ignores SIGTERM.
    let orphan = s.adopt();
    s.signal(TERM);
    assert_eq!(s.sent(101), [TERM, CONT]);
    s.exits(101, TERM);
    assert_eq!(s.sent(orphan), [TERM, CONT]);
    s.at(500);
    s.signal(TERM);
    assert_eq!(s.sent(orphan), [TERM, CONT, KILL]);
    s.exits(orphan, KILL);
    assert!(s.machine.is_done());
    assert_eq!(s.machine.exit_code(), 143);
    assert_eq!(s.spawned(), [101], "nothing else was started");
}

#[test]
fn with_pgroup_an_orphan_in_the_start_commands_group_gets_one_stop_signal() {
    let mut s = supervisor(&["-pgroup", "-timeout", "30", "-start", "start.sh", "-r", "a"]);
    assert_eq!(s.spawned(), [101]);
    s.execs(101);
    // The start command leaves an orphan in its process group.
    let orphan = s.adopt_in(Some(101));
    s.signal(TERM);
    assert_eq!(s.sent(-101), [TERM, CONT], "the start command's group");
    s.exits(101, TERM);
    // The group's stop signal reached it: the sweep sends no second one.
    assert_eq!(s.sent(orphan), []);
    s.at(30_000);
    assert_eq!(s.sent(orphan), [KILL]);
}

#[test]
fn a_helper_that_cannot_be_forked_is_an_event_of_the_next_turn() {
    let mut s = supervisor(&["-stop", "cleanup", "-r", "a"]);
    s.execs(101);
    s.fake().fail_spawn = Some(SpawnError::Fork(11));
    s.exits(101, EXIT_0);
    // SpawnStop failed while performing: the machine hears it next turn.
    assert!(s.again);
    assert!(!s.machine.is_done());
    s.at(1);
    s.at(2);
    assert!(s.machine.is_done());
    assert_eq!(s.machine.exit_code(), 0);
}

#[test]
fn prestop_and_stop_commands_are_looked_up_by_their_child() {
    let mut s = supervisor(&["-prestop", "drain now", "-stop", "cleanup", "-r", "a"]);
    s.execs(101);
    s.signal(TERM);
    assert_eq!(s.fake().spawned[1].1, b"drain");
    s.execs(102);
    s.exits(101, TERM);
    s.exits(102, EXIT_0);
    assert_eq!(s.fake().spawned[2].1, b"cleanup");
    s.execs(103);
    s.exits(103, EXIT_0);
    assert!(s.machine.is_done());
}

#[test]
fn a_stuck_process_is_given_up_on_and_named() {
    let mut s = supervisor(&["-timeout", "1", "-r", "a"]);
    s.execs(101);
    s.signal(TERM);
    s.at(1_000);
    assert_eq!(s.sent(101), [TERM, CONT, KILL]);
    assert!(matches!(
        s.machine.state(),
        MachineState::Teardown(crate::phase::Teardown {
            stage: Stage::Killed { .. },
            ..
        })
    ));
    s.at(1_000 + crate::phase::KILL_WAIT_MS);
    assert!(s.machine.is_done());
    assert!(!s.children.none_left());
    let mut left = Left::default();
    s.children.left(|pid, p| left.add(pid, p));
    assert_eq!(
        left.to_string(),
        "gave up waiting for 1 process stuck after SIGKILL: pid 101 [a]; exiting"
    );
}

#[test]
fn reaping_an_orphan_storm_costs_no_scan_of_the_table() {
    // Thousands of orphans while running: each is one lookup; the listing
    // of children is never read (nothing to signal before a teardown).
    let mut s = supervisor(&["-r", "a"]);
    s.execs(101);
    for _ in 0..2_000 {
        let pid = s.adopt();
        s.fake().kids.remove(&pid);
        s.fake().zombies.push_back((pid, 0));
    }
    s.signal(SIGCHLD);
    assert!(s.fake().zombies.is_empty());
    assert_eq!(s.fake().listings, 0);
    assert!(s.orphans_alive().is_empty());
}

#[test]
fn a_start_command_that_cannot_exec_fails_the_start_once() {
    let mut s = supervisor(&["-start", "missing", "-r", "a"]);
    assert_eq!(s.spawned(), [101]);
    s.exec_fails(101, ENOENT);
    s.at(1);
    assert!(s.machine.is_done());
    assert_eq!(s.machine.exit_code(), 1);
    assert_eq!(s.spawned(), [101], "no command started");
}

// The socket's requests, through a real listener in a temporary directory
// and real client connections; the processes are still the fake's.

use crate::socket::WAITERS;
use rustix::net::{AddressFamily, RecvFlags, SocketAddrUnix, SocketFlags, SocketType};
use std::path::PathBuf;

/// A socket's path in a directory of its own, removed with it.
struct Sock(PathBuf);

impl Drop for Sock {
    fn drop(&mut self) {
        if let Some(dir) = self.0.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// A supervisor for `words` that listens on a socket of its own.
fn serving(words: &[&'static str]) -> (Sup, Sock) {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("dinit-sup-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let sock = Sock(dir.join("s.sock"));
    let path: &'static str = leak(sock.0.to_str().unwrap().to_string());
    let mut all = vec!["-socket", path];
    all.extend_from_slice(words);
    (supervisor(&all), sock)
}

impl Sup {
    /// Loop turns enough for a client to be accepted and its line read.
    fn serve(&mut self) {
        for _ in 0..3 {
            let now = self.fake().now;
            self.at(now);
        }
    }

    /// Connect and send `line` (with `fds` passed alongside, if any); the
    /// loop serves it. The connection reads with a timeout.
    fn connect(&mut self, sock: &Sock, line: &str, fds: &[OwnedFd]) -> OwnedFd {
        let c = rustix::net::socket_with(
            AddressFamily::UNIX,
            SocketType::STREAM,
            SocketFlags::CLOEXEC,
            None,
        )
        .unwrap();
        let addr = SocketAddrUnix::new(sock.0.to_str().unwrap().as_bytes()).unwrap();
        rustix::net::connect(&c, &addr).unwrap();
        let timeout = Some(std::time::Duration::from_secs(5));
        rustix::net::sockopt::set_socket_timeout(&c, rustix::net::sockopt::Timeout::Recv, timeout)
            .unwrap();
        let fds: Vec<_> = fds.iter().map(|f| f.as_fd()).collect();
        let n = if fds.is_empty() {
            rustix::io::write(&c, line.as_bytes()).unwrap()
        } else {
            sys::fdpass::send_with_fds(c.as_fd(), line.as_bytes(), &fds).unwrap()
        };
        assert_eq!(n, line.len());
        self.serve();
        c
    }

    /// Send `line` and read the one-line reply.
    fn ask(&mut self, sock: &Sock, line: &str) -> String {
        let c = self.connect(sock, line, &[]);
        next_line(&c)
    }
}

/// The next line from the server, without its newline ("" at its end).
fn next_line(c: &OwnedFd) -> String {
    let mut line = Vec::new();
    let mut b = [0u8; 1];
    while rustix::io::read(c, &mut b).unwrap() == 1 && b[0] != b'\n' {
        line.push(b[0]);
    }
    String::from_utf8(line).unwrap()
}

/// Whether anything (or the end) is waiting to be read, without waiting.
fn has_reply(c: &OwnedFd) -> bool {
    let flags = RecvFlags::PEEK | RecvFlags::DONTWAIT;
    !matches!(
        rustix::net::recv(c, &mut [0u8; 1], flags),
        Err(rustix::io::Errno::AGAIN)
    )
}

/// Three pipes: their read ends, and the write ends a `-wait` client
/// passes as its stdin, stdout and stderr.
fn stdio_pipes() -> (Vec<OwnedFd>, Vec<OwnedFd>) {
    (0..3)
        .map(|_| rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC).unwrap())
        .unzip()
}

/// Every writer of the pipe whose read end is `rd` is gone.
fn writers_gone(rd: &OwnedFd) -> bool {
    rustix::io::ioctl_fionbio(rd, true).unwrap();
    matches!(rustix::io::read(rd, &mut [0u8; 1]), Ok(0))
}

#[test]
fn signal_reaches_only_managed_processes_whose_exec_happened() {
    let (mut s, sock) = serving(&[
        "-prestop",
        "drain",
        "-prestoptimer",
        "60",
        "-r",
        "a",
        "-r",
        "b",
    ]);
    s.execs(101);
    // 102 (b) is still starting; an orphan and dinit itself are no
    // managed processes.
    let orphan = s.adopt();
    assert_eq!(s.ask(&sock, "-signal HUP a\n"), "ok 101");
    let own = sys::getpid();
    for target in ["b", "102", &orphan.to_string(), &own.to_string(), "1", "c"] {
        assert_eq!(
            s.ask(&sock, &format!("-signal USR1 {target}\n")),
            format!("error: no managed process matches {target}")
        );
    }
    // All or nothing: one target that matches nothing sends nothing.
    assert_eq!(
        s.ask(&sock, "-signal USR1 a b\n"),
        "error: no managed process matches b"
    );
    s.execs(102);
    // In teardown too; the prestop command is no managed process.
    s.signal(TERM);
    let prestop = *s.spawned().last().unwrap();
    assert_eq!(s.children.helper(Helper::Prestop), Some(prestop));
    s.execs(prestop);
    for target in ["drain", &prestop.to_string()] {
        assert_eq!(
            s.ask(&sock, &format!("-signal USR1 {target}\n")),
            format!("error: no managed process matches {target}")
        );
    }
    assert_eq!(s.ask(&sock, "-signal 12 b 101 a\n"), "ok 101 102");
    assert_eq!(s.sent(101), [SIGHUP, 12]);
    assert_eq!(s.sent(102), [12]);
    assert_eq!(s.sent(prestop), []);
    assert_eq!(s.sent(orphan), []);
    assert_eq!(s.sent(own), []);
}

#[test]
fn a_wait_job_gets_the_clients_descriptors_then_ok_then_its_exit_code() {
    let (mut s, sock) = serving(&["-r", "a"]);
    s.execs(101);
    let (rds, wrs) = stdio_pipes();
    let c = s.connect(&sock, "-wait -r job x\n", &wrs);
    assert_eq!(s.spawned(), [101, 102]);
    assert!(s.fake().given[&102].0.is_some(), "no stdio for the job");
    assert!(s.fake().given[&101].0.is_none());
    // dinit kept none of the three: the test's copies are the last.
    drop(wrs);
    assert!(
        rds.iter().all(writers_gone),
        "dinit kept a passed descriptor"
    );
    // Nothing until the exec reports; then `ok`, and `exit` at the end.
    assert!(!has_reply(&c));
    s.execs(102);
    assert_eq!(next_line(&c), "ok 102");
    assert!(!has_reply(&c));
    s.exits(102, 7 << 8);
    assert_eq!(next_line(&c), "exit 7");
    assert_eq!(next_line(&c), "", "not closed after its exit line");
    // Killed by a signal: 128+N. A job still listed as managed meanwhile.
    let (_rds, wrs) = stdio_pipes();
    let c = s.connect(&sock, "-wait -r job y\n", &wrs);
    s.execs(103);
    assert_eq!(next_line(&c), "ok 103");
    assert!(s.children.table().get(103).is_some_and(|p| !p.primary));
    s.exits(103, TERM);
    assert_eq!(next_line(&c), "exit 143");
    // A job that cannot exec: the failure, and no exit line.
    let (_rds, wrs) = stdio_pipes();
    let c = s.connect(&sock, "-wait -r missing\n", &wrs);
    s.exec_fails(104, ENOENT);
    let reply = next_line(&c);
    assert!(
        reply.starts_with("error: unable to start [missing]"),
        "{reply}"
    );
    assert_eq!(next_line(&c), "");
}

#[test]
fn a_wait_client_that_goes_away_leaves_its_job_a_sighup() {
    let (mut s, sock) = serving(&["-r", "a"]);
    s.execs(101);
    let (_rds, wrs) = stdio_pipes();
    let c = s.connect(&sock, "-wait -r job\n", &wrs);
    s.execs(102);
    assert_eq!(next_line(&c), "ok 102");
    drop(c);
    s.serve();
    assert_eq!(s.sent(102), [SIGHUP, CONT]);
    // Gone while its job was still starting: the SIGHUP waits for the
    // exec (before it, it would reach dinit's fork child).
    let (_rds, wrs) = stdio_pipes();
    let c = s.connect(&sock, "-wait -r job\n", &wrs);
    drop(c);
    s.serve();
    assert_eq!(s.sent(103), []);
    s.execs(103);
    assert_eq!(s.sent(103), [SIGHUP, CONT]);
    // Both run on as ordinary submitted processes, stopped with the rest.
    assert!(s.children.table().get(102).is_some());
    s.signal(TERM);
    assert_eq!(s.sent(102), [SIGHUP, CONT, TERM, CONT]);
    assert_eq!(s.sent(103), [SIGHUP, CONT, TERM, CONT]);
}

#[test]
fn waiting_clients_are_bounded_and_a_wait_needs_three_descriptors() {
    let (mut s, sock) = serving(&["-r", "a"]);
    s.execs(101);
    let mut waiting = Vec::new();
    for i in 0..WAITERS {
        let (rds, wrs) = stdio_pipes();
        let c = s.connect(&sock, &format!("-wait -r job{i}\n"), &wrs);
        waiting.push((c, rds));
    }
    let forked = s.spawned().len();
    assert_eq!(forked, 1 + WAITERS);
    let (_rds, wrs) = stdio_pipes();
    let c = s.connect(&sock, "-wait -r one-too-many\n", &wrs);
    assert_eq!(
        next_line(&c),
        format!("error: too many waiting clients (the most is {WAITERS})")
    );
    // Without its three descriptors, or with two: refused.
    assert!(
        s.ask(&sock, "-wait -r job\n")
            .starts_with("error: -wait needs")
    );
    let (_rds, wrs) = stdio_pipes();
    let c = s.connect(&sock, "-wait -r job\n", &wrs[..2]);
    assert!(next_line(&c).starts_with("error: -wait needs"));
    assert_eq!(s.spawned().len(), forked, "a refused -wait started");
    // Waiting clients take no reading slot: a plain client is served.
    let c = s.connect(&sock, "-r plain\n", &[]);
    let pid = *s.spawned().last().unwrap();
    s.execs(pid);
    assert_eq!(next_line(&c), format!("ok {pid}"));
}

#[test]
fn a_failed_line_is_answered_once_its_other_processes_can_run_no_more() {
    // SPEC §5: a client is never told "error" while part of its line
    // runs. The second command fails; the first runs (and ignores its
    // stop signal), the third is still starting.
    let (mut s, sock) = serving(&["-timeout", "10", "-r", "a"]);
    s.execs(101);
    let c = s.connect(&sock, "-r deaf -r missing -r slow\n", &[]);
    assert_eq!(s.spawned(), [101, 102, 103, 104]);
    s.execs(102);
    s.exec_fails(103, ENOENT);
    assert_eq!(s.sent(102), [TERM, CONT]);
    assert_eq!(s.sent(104), [TERM, CONT]);
    // Every command has reported now (104 never counts as started: it
    // was stopped first), but 102 and 104 still run.
    s.execs(104);
    assert!(!has_reply(&c), "an error while 102 and 104 run");
    s.exits(104, TERM);
    assert!(!has_reply(&c), "an error while 102 runs");
    s.at(9_999);
    assert!(!has_reply(&c), "an error while 102 runs");
    // Its SIGKILL after -timeout: it runs nothing more, reaped or not (a
    // process stuck in the kernel may never be).
    s.at(10_000);
    assert_eq!(s.sent(102), [TERM, CONT, KILL]);
    assert_eq!(
        next_line(&c),
        "error: unable to start [missing]: executable file not found"
    );
    assert_eq!(next_line(&c), "");
    // Reaped before its deadline: answered then.
    let c = s.connect(&sock, "-r quick -r missing\n", &[]);
    s.execs(105);
    s.exec_fails(106, ENOENT);
    assert_eq!(s.sent(105), [TERM, CONT]);
    assert!(!has_reply(&c), "an error while 105 runs");
    s.exits(105, TERM);
    assert!(next_line(&c).starts_with("error: unable to start [missing]"));
}

#[test]
fn a_line_whose_fork_fails_is_answered_once_the_rest_is_gone() {
    let (mut s, sock) = serving(&["-r", "a"]);
    s.execs(101);
    // The second fork fails; the first, forked, is stopped and waited for.
    s.fake().fail_spawn = Some(SpawnError::Fork(11));
    s.fake().fail_after = 1;
    let c = s.connect(&sock, "-r first -r second\n", &[]);
    assert_eq!(s.spawned(), [101, 102]);
    assert_eq!(s.sent(102), [TERM, CONT]);
    s.execs(102);
    assert!(!has_reply(&c), "an error while 102 runs");
    s.exits(102, TERM);
    let reply = next_line(&c);
    assert!(
        reply.starts_with("error: unable to fork for [second]"),
        "{reply}"
    );
}

#[test]
fn a_process_stopped_while_starting_never_counts_as_started() {
    // Its report pipe closes without an errno after dinit signalled it:
    // it may have died of the signal before its exec. Neither its line nor
    // its -wait client is told `ok`.
    let (mut s, sock) = serving(&["-r", "a"]);
    s.execs(101);
    let c = s.connect(&sock, "-r b\n", &[]);
    let (_rds, wrs) = stdio_pipes();
    let w = s.connect(&sock, "-wait -r job\n", &wrs);
    assert_eq!(s.spawned(), [101, 102, 103]);
    s.signal(TERM);
    assert_eq!(s.sent(102), [TERM, CONT]);
    assert_eq!(s.sent(103), [TERM, CONT]);
    s.execs(102);
    // The line waits until 102 can run no more; then its error.
    assert!(!has_reply(&c));
    s.exits(102, TERM);
    assert_eq!(next_line(&c), "error: [b] stopped before it started");
    // Reaped before its report was read: the same.
    s.exits(103, TERM);
    assert_eq!(next_line(&w), "error: [job] stopped before it started");
    assert_eq!(next_line(&w), "");
}

#[test]
fn list_shows_processes_in_the_order_they_started() {
    let (mut s, sock) = serving(&["-r", "a", "-r", "b"]);
    s.execs(101);
    s.execs(102);
    let c = s.connect(&sock, "-r c\n", &[]);
    s.execs(103);
    assert_eq!(next_line(&c), "ok 103");
    // 101's table slot is free, and taken by the next one.
    s.exits(101, EXIT_0);
    let c = s.connect(&sock, "-r d\n", &[]);
    s.execs(104);
    assert_eq!(next_line(&c), "ok 104");
    let c = s.connect(&sock, "-list\n", &[]);
    let mut pids = Vec::new();
    loop {
        let line = next_line(&c);
        if line.is_empty() {
            break;
        }
        pids.push(line.split(' ').nth(1).unwrap().to_string());
    }
    assert_eq!(pids, ["102", "103", "104"]);
}

#[test]
fn the_last_line_never_counts_processes_it_cannot_list() {
    assert_eq!(
        Left::default().to_string(),
        "gave up waiting for orphaned processes that cannot be listed; exiting"
    );
}

#[test]
fn a_primary_exit_seen_with_its_report_ends_the_launch() {
    // `-primary`: b execs and exits at once; its report and its exit come
    // in one turn. The teardown has begun when the next launch is
    // performed: c is never started (as after a stop request).
    let mut s = supervisor(&["-primary", "-r", "a", "-r", "b", "-r", "c"]);
    s.execs(101);
    s.fake().kids.get_mut(&102).unwrap().report = None;
    s.exits(102, 6 << 8);
    assert_eq!(s.spawned(), [101, 102]);
    assert_eq!(s.sent(101), [TERM, CONT]);
    s.exits(101, TERM);
    assert!(s.machine.is_done());
    assert_eq!(s.machine.exit_code(), 6);
}
