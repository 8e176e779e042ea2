//! The socket's requests (SPEC §5), answered by the supervisor: `-list`;
//! `-r` groups started as managed, never primary, children; `-signal` to
//! managed processes; `-wait`, a job run with the client's descriptors
//! while the client waits for its status. A child module of `supervisor`,
//! so it works on the supervisor's own state; like the loop, nothing here
//! allocates.
//!
//! A line's commands are all forked at once, as the line is served (the
//! one place outside performing where dinit forks: see `supervisor`);
//! none of their programs is looked at by dinit itself (the children look
//! them up: SPEC §10). The client is told `ok PID...` when every one has
//! reported that it started. On the first failure the others of the line
//! are stopped (their stop signal, SIGKILL after `-timeout`), and the
//! client is told that failure once each of them can run nothing more:
//! reaped, or SIGKILLed (`Server::settle`). A line starts all of its
//! commands or none, and a client is never told "error" while part of its
//! line keeps running. A process dinit signalled while it was starting
//! (stopped with its line, or by a teardown) never counts as started: it
//! may have died of the signal before its exec.

use super::Supervisor;
use crate::arena::Bump;
use crate::children::{NotStarted, Os};
use crate::command::{self, Builder, Lookup, Program, StartFailure};
use crate::error::{Bytes, Num, SigName};
use crate::log::LogLine;
use crate::request::{self, NoMatch, Request};
use crate::signals::{SIGCONT, SIGHUP};
use crate::socket::{self, Batch, Pids, Reply, SUBMIT_MAX, Server, WAITERS};
use crate::sys::fdpass::FDS_MAX;
use crate::sys::spawn::ChildFds;
use crate::table::{PROC_MAX, Proc, State};
use crate::words;
use core::fmt::{Display, Write as _};
use rustix::fd::{AsFd, OwnedFd};

/// What to do with a client whose line has been read. (Large by design:
/// the pids of a `-signal` live on the stack, there is no heap.)
#[allow(clippy::large_enum_variant)]
enum Outcome {
    /// Answer with the one line written.
    Answer,
    /// Answer with the process list.
    List,
    /// Answer `ok` and these pids (a `-signal`: up to a whole table).
    Signalled(heapless::Vec<i32, PROC_MAX>),
    /// Wait for the line's commands to report (when `failed`, a fork
    /// failed and the line written is the reply already).
    Wait(Batch),
    /// The client waits for its `-wait` job, this pid.
    Job(i32),
}

/// The descriptors a connection passed.
type Passed = heapless::Vec<OwnedFd, FDS_MAX>;

impl<O: Os> Supervisor<'_, O> {
    /// The listener or a client is readable.
    pub(super) fn on_socket(&mut self, token: u64) {
        let Some(mut server) = self.server.take() else {
            return;
        };
        let now = self.now;
        if token == socket::TOKEN_LISTENER {
            server.accept(&self.epoll, now);
        } else if let Some(i) = server.waiter(token) {
            // A waiting client's connection hung up: it went away.
            if let Some(pid) = server.client_gone(i, &self.epoll) {
                self.hang_up(pid);
            }
        } else if let Some(slot) = server.readable(&self.epoll, token, now) {
            self.on_line(&mut server, slot, token);
        }
        self.server = Some(server);
    }

    /// Answer one client line (SPEC §5), now or once its commands report.
    #[inline(never)] // cold path: keep its buffers out of the event loop's stack frame
    fn on_line(&mut self, server: &mut Server, slot: usize, token: u64) {
        // Only a `-wait` takes passed descriptors; any other line's are
        // closed when this returns.
        let passed = server.take_fds(slot);
        let room = server.waiter_room();
        let mut text = LogLine::new();
        let outcome = match request::parse(server.line(slot)) {
            Err(e) => {
                let _ = write!(text, "error: {e}");
                Outcome::Answer
            }
            Ok(Request::List) => Outcome::List,
            Ok(Request::Run(words)) => self.submit(&words, token, &mut text),
            Ok(Request::Signal { sig, targets }) => self.signal_request(sig, &targets, &mut text),
            Ok(Request::Wait(words)) => self.submit_wait(&words, passed, room, &mut text),
        };
        match outcome {
            Outcome::Answer => server.answer(slot, &self.epoll, &mut |r| {
                r.line(format_args!("{}", Bytes(text.as_bytes())))
            }),
            Outcome::List => server.answer(slot, &self.epoll, &mut |r| self.list(r)),
            Outcome::Signalled(pids) => server.answer(slot, &self.epoll, &mut |r| {
                r.line(format_args!("ok{}", Pids(&pids)))
            }),
            Outcome::Wait(batch) => {
                let failure = batch.failed.then(|| text.as_bytes());
                server.wait(slot, &self.epoll, batch, failure);
            }
            Outcome::Job(pid) => server.wait_for_job(slot, &self.epoll, pid),
        }
    }

    /// `-signal SIG TARGET...` (SPEC §5): to the managed processes the
    /// targets name, as written (`-rewrite` does not apply), each once,
    /// with the same per-process signalling as forwarding (its group with
    /// `-pgroup`); all or nothing. Only table entries whose exec happened
    /// can be chosen: never dinit, its helper commands, an orphan, or a
    /// process still starting (the signal is meant for the program, which
    /// does not run yet). Served in every phase, teardown included.
    #[inline(never)] // cold path: keep its buffers out of the event loop's stack frame
    fn signal_request(&mut self, sig: i32, targets: &[&[u8]], text: &mut LogLine) -> Outcome {
        let mut pids: heapless::Vec<i32, PROC_MAX> = heapless::Vec::new();
        let procs = self
            .children
            .managed()
            .filter(|p| p.state == State::Running)
            .map(|p| (p.pid, p.cmd.program(), p.name.bytes()));
        if let Err(t) = request::select(targets, procs, &mut pids) {
            let _ = write!(text, "error: {}", NoMatch(t));
            return Outcome::Answer;
        }
        for &pid in &pids {
            let _ = self.children.signal(pid, sig);
        }
        info!("sent {} to pid{} (-signal)", SigName(sig), Pids(&pids));
        Outcome::Signalled(pids)
    }

    /// A `-wait` client went away (SPEC §5): its job gets SIGHUP, as from
    /// a terminal that hung up, and SIGCONT after it, as the kernel sends
    /// on a hang-up (a stopped job can then act on it). If it survives, it
    /// runs on as an ordinary submitted process.
    fn hang_up(&mut self, pid: i32) {
        if !self
            .children
            .table()
            .get(pid)
            .is_some_and(|p| p.state == State::Running)
        {
            return;
        }
        let _ = self.children.signal(pid, SIGHUP);
        let _ = self.children.signal(pid, SIGCONT);
        info!(
            "the client waiting for pid {} went away; sent it {}",
            Num(pid),
            SigName(SIGHUP)
        );
    }

    /// Tell whoever waits for the managed process `p` what its report
    /// said: started (`failure` is `None`), or why not; its socket line,
    /// or its `-wait` client.
    pub(super) fn tell(&mut self, p: &Proc, failure: Option<&dyn Display>) {
        if p.conn != 0
            && let Some(server) = self.server.as_mut()
        {
            let others = match failure {
                Some(f) => server.reported(p.conn, Some(format_args!("{f}"))),
                None => server.reported(p.conn, None),
            };
            // Not `p`: it failed, or had its stop signal already.
            self.drop_line(&others, p.pid);
        }
        self.job_reported(p.pid, failure);
    }

    /// A managed process's exec reported: if it is a `-wait` job, its
    /// client hears so (`ok PID`, or the failure), or, when the client
    /// went away meanwhile, the job gets its hang-up now.
    fn job_reported(&mut self, pid: i32, failure: Option<&dyn Display>) {
        let Some(server) = self.server.as_mut() else {
            return;
        };
        let hang_up = match failure {
            Some(f) => server.job_reported(&self.epoll, pid, Some(format_args!("{f}"))),
            None => server.job_reported(&self.epoll, pid, None),
        };
        if hang_up {
            self.hang_up(pid);
        }
    }

    /// A managed process exited: if it is a `-wait` job, its client gets
    /// `exit CODE` (SPEC §5: the code, or 128+N for signal N).
    pub(super) fn job_exited(&mut self, pid: i32, status: crate::error::ExitStatus) {
        if let Some(server) = self.server.as_mut() {
            server.job_exited(&self.epoll, pid, status.code());
        }
    }

    /// `-wait -r CMD [ARGS...]` (SPEC §5): one command, run with the
    /// client's stdin, stdout and stderr (`passed`). Refused before
    /// anything starts when the descriptors are not exactly those three,
    /// or when `WAITERS` clients wait already (`room` false).
    #[inline(never)] // cold path: keep its buffers out of the event loop's stack frame
    fn submit_wait(
        &mut self,
        words: &[&[u8]],
        passed: Passed,
        room: bool,
        text: &mut LogLine,
    ) -> Outcome {
        if passed.len() != FDS_MAX {
            let _ = write!(
                text,
                "error: -wait needs the client's stdin, stdout and stderr passed with the line (got {} descriptors)",
                Num(passed.len())
            );
            return Outcome::Answer;
        }
        if !room {
            let _ = write!(
                text,
                "error: too many waiting clients (the most is {})",
                Num(WAITERS)
            );
            return Outcome::Answer;
        }
        match self.submit_with(words, 0, Some(&passed), text) {
            Outcome::Wait(batch) if !batch.failed => Outcome::Job(batch.pids[0]),
            Outcome::Wait(_) => {
                // Its fork failed: the reply is written after `error: `.
                let mut reply = LogLine::new();
                let _ = write!(reply, "error: {}", Bytes(text.as_bytes()));
                *text = reply;
                Outcome::Answer
            }
            other => other,
        }
        // `passed` is dropped here: dinit's copies are closed, the job's
        // child has its own since the fork.
    }

    /// `-list`: one line per managed process, in the order they started
    /// (the machine's: table slots are reused).
    fn list(&self, reply: &mut Reply<'_>) {
        let table = self.children.table();
        for p in self.machine.pids().filter_map(|pid| table.get(pid)) {
            let secs = self.now.saturating_sub(p.started_ms) / 1000;
            let primary = if p.primary { "yes" } else { "no" };
            // A process whose exec has not reported yet is "starting".
            let state = match p.state {
                State::Starting { .. } => "starting",
                _ => "running",
            };
            reply.line(format_args!(
                "pid {} primary {primary} {state} {}s cmd {}",
                Num(p.pid),
                Num(secs),
                p.cmd
            ));
        }
    }

    /// Start the `-r` groups of a client line: all are built before any is
    /// forked, so a malformed one starts nothing; the answer (an error) is
    /// written into `text`.
    fn submit(&mut self, words: &[&[u8]], token: u64, text: &mut LogLine) -> Outcome {
        self.submit_with(words, token, None, text)
    }

    /// [`Self::submit`], for a line (`token`) or a `-wait` job (`stdio`).
    #[inline(never)] // cold path: keep its buffers out of the event loop's stack frame
    fn submit_with(
        &mut self,
        words: &[&[u8]],
        token: u64,
        stdio: Option<&Passed>,
        text: &mut LogLine,
    ) -> Outcome {
        // While the command line's commands start, or once teardown has
        // begun, nothing is added (SPEC §11: submitted processes stop
        // before the command line's, so they start after them).
        if !self.machine.accepting() || self.launch.is_some() {
            let _ = write!(
                text,
                "error: not accepting commands (dinit is starting or stopping)"
            );
            return Outcome::Answer;
        }
        // Take the arena out for the duration (restored below), so programs
        // built in it can live while `self` is used.
        let bytes = core::mem::take(&mut self.plan.socket_bytes);
        let ptrs = core::mem::take(&mut self.plan.socket_ptrs);
        let mut b = Builder {
            bytes: Bump::new(&mut *bytes),
            ptrs: Bump::new(&mut *ptrs),
            envp: self.plan.envp,
        };
        let outcome = self.build_and_fork(words, token, stdio, &mut b, text);
        self.plan.socket_bytes = bytes;
        self.plan.socket_ptrs = ptrs;
        outcome
    }

    /// Build every group in `b`, then fork them in order.
    fn build_and_fork<'x>(
        &mut self,
        words: &[&'x [u8]],
        token: u64,
        stdio: Option<&Passed>,
        b: &mut Builder<'x>,
        text: &mut LogLine,
    ) -> Outcome {
        let mut progs: heapless::Vec<Program<'x>, SUBMIT_MAX> = heapless::Vec::new();
        for (flag, group) in words::groups(words) {
            match command::build(flag, group, Lookup::InChild, b) {
                Ok(p) if progs.push(p).is_ok() => {}
                Ok(_) => {
                    let _ = write!(
                        text,
                        "error: too many commands in one line (the most is {})",
                        Num(SUBMIT_MAX)
                    );
                    return Outcome::Answer;
                }
                Err(e) => {
                    let _ = write!(text, "error: {e}");
                    return Outcome::Answer;
                }
            }
        }
        if !self.children.has_room(progs.len()) {
            let _ = write!(
                text,
                "error: process table full ({} processes)",
                Num(crate::table::PROC_MAX)
            );
            return Outcome::Answer;
        }
        let mut batch = Batch::default();
        let mut failed = false;
        let fds = ChildFds {
            stdio: stdio.map(|fds| [fds[0].as_fd(), fds[1].as_fd(), fds[2].as_fd()]),
            ..ChildFds::default()
        };
        for p in &progs {
            match self.spawn_managed(p, self.group(), false, token, fds) {
                Ok(pid) => {
                    let _ = batch.pids.push(pid);
                }
                Err(NotStarted::Spawn(e)) => {
                    let _ = write!(text, "{}", StartFailure::new(&p.cmd, e));
                    failed = true;
                    break;
                }
                Err(NotStarted::Full) => {
                    let _ = write!(text, "unable to start {}: process table full", p.cmd);
                    failed = true;
                    break;
                }
            }
        }
        if failed {
            self.drop_line(&batch.pids, 0);
        }
        batch.pending = batch.pids.len();
        batch.failed = failed;
        Outcome::Wait(batch)
    }

    /// Stop the processes a failed line started (all or nothing), but
    /// `except`.
    fn drop_line(&mut self, pids: &[i32], except: i32) {
        let mut n = 0;
        for &pid in pids {
            if pid != except
                && self
                    .children
                    .table()
                    .get(pid)
                    .is_some_and(|p| p.is_managed())
            {
                self.machine.drop_process(pid, self.now, &mut self.actions);
                n += 1;
            }
        }
        if n > 0 {
            info!(
                "stopping {} process{} of a line that did not start in full",
                Num(n),
                super::es(n)
            );
        }
    }
}
