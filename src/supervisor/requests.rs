//! The socket's requests (SPEC §5), answered by the supervisor: `-list`,
//! and `-r` groups started as managed, never primary, children. A child
//! module of `supervisor`, so it works on the supervisor's own state; like
//! the loop, nothing here allocates.
//!
//! A line's commands are all forked at once; none of their programs is
//! looked at by dinit itself (the children look them up: SPEC §10). The
//! client is answered when every one has reported: `ok PID...` when all
//! started, otherwise the first failure, and then the others of the line
//! are stopped (their stop signal, SIGKILL after `-timeout`): a line
//! starts all of its commands or none.

use super::Supervisor;
use crate::arena::Bump;
use crate::children::{NotStarted, Os};
use crate::command::{self, Builder, Lookup, Program, StartFailure};
use crate::error::{Bytes, Num};
use crate::log::LogLine;
use crate::socket::{self, Batch, Reply, Request, SUBMIT_MAX, Server};
use crate::table::State;
use crate::words;
use core::fmt::Write as _;

/// What to do with a client whose line has been read.
enum Outcome {
    /// Answer with the one line written.
    Answer,
    /// Answer with the process list.
    List,
    /// Wait for the line's commands to report; `failed`: the line written
    /// is the reply already (a fork failed).
    Wait(Batch, bool),
}

impl<O: Os> Supervisor<'_, O> {
    /// The listener or a client is readable.
    pub(super) fn on_socket(&mut self, token: u64) {
        let Some(mut server) = self.server.take() else {
            return;
        };
        let now = self.now;
        if token == socket::TOKEN_LISTENER {
            server.accept(&self.epoll, now);
        } else if let Some(slot) = server.readable(token, now) {
            self.on_line(&mut server, slot, token);
        }
        self.server = Some(server);
    }

    /// Answer one client line (SPEC §5), now or once its commands report.
    #[inline(never)] // cold path: keep its buffers out of the event loop's stack frame
    fn on_line(&mut self, server: &mut Server, slot: usize, token: u64) {
        let mut text = LogLine::new();
        let outcome = match socket::parse(server.line(slot)) {
            Err(msg) => {
                let _ = write!(text, "error: {}", msg);
                Outcome::Answer
            }
            Ok(Request::List) => Outcome::List,
            Ok(Request::Run(words)) => self.submit(&words, token, &mut text),
        };
        match outcome {
            Outcome::Answer => {
                server.answer(slot, |r| r.line(format_args!("{}", Bytes(text.as_bytes()))))
            }
            Outcome::List => server.answer(slot, |r| self.list(r)),
            Outcome::Wait(batch, failed) => {
                let failure = failed.then(|| text.as_bytes());
                server.wait(slot, &self.epoll, batch, failure);
            }
        }
    }

    /// `-list`: one line per managed process.
    fn list(&self, reply: &mut Reply<'_>) {
        for p in self.children.managed() {
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
    #[inline(never)] // cold path: keep its buffers out of the event loop's stack frame
    fn submit(&mut self, words: &[&[u8]], token: u64, text: &mut LogLine) -> Outcome {
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
        let outcome = self.build_and_fork(words, token, &mut b, text);
        self.plan.socket_bytes = bytes;
        self.plan.socket_ptrs = ptrs;
        outcome
    }

    /// Build every group in `b`, then fork them in order.
    fn build_and_fork<'x>(
        &mut self,
        words: &[&'x [u8]],
        token: u64,
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
        for p in &progs {
            match self.spawn_managed(p, self.group(), false, token) {
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
            self.drop_line(&batch.pids);
        }
        batch.pending = batch.pids.len();
        batch.failed = failed;
        Outcome::Wait(batch, failed)
    }

    /// A command of the line `conn` reported: started, or `failure`.
    pub(super) fn line_reported(&mut self, conn: u64, failure: Option<&StartFailure<'_>>) {
        let Some(server) = self.server.as_mut() else {
            return;
        };
        let others = match failure {
            Some(f) => server.reported(conn, Some(format_args!("{f}"))),
            None => server.reported(conn, None),
        };
        self.drop_line(&others);
    }

    /// Stop the processes a failed line started (all or nothing).
    fn drop_line(&mut self, pids: &[i32]) {
        let mut n = 0;
        for &pid in pids {
            if self
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
