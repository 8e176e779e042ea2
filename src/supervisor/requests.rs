//! The socket's requests (SPEC §5), answered by the supervisor: `-list`,
//! and `-r` groups started as managed, never primary, children. A child
//! module of `supervisor`, so it works on the supervisor's own state; like
//! the loop, nothing here allocates.

use super::Supervisor;
use crate::arena::Bump;
use crate::command::{self, Builder, Program, StartFailure};
use crate::error::Num;
use crate::socket::{self, Reply, Request};
use crate::words;

impl Supervisor<'_> {
    /// The listener or a client is readable.
    pub(super) fn on_socket(&mut self, token: u64) {
        let Some(mut server) = self.server.take() else {
            return;
        };
        let now = self.now;
        if token == socket::TOKEN_LISTENER {
            server.accept(&self.epoll, now);
        } else {
            server.readable(token, now, &mut |line, reply| self.on_request(line, reply));
        }
        self.server = Some(server);
    }

    /// Answer one client line (SPEC §5).
    #[inline(never)] // cold path: keep its buffers out of the event loop's stack frame
    fn on_request(&mut self, line: &mut [u8], reply: &mut Reply<'_>) {
        match socket::parse(line) {
            Err(msg) => reply.line(format_args!("error: {msg}")),
            Ok(Request::List) => {
                let now = self.now;
                for p in self.table.iter() {
                    let secs = now.saturating_sub(p.started_ms) / 1000;
                    let primary = if p.primary { "yes" } else { "no" };
                    reply.line(format_args!(
                        "pid {} primary {primary} running {}s cmd {}",
                        Num(p.pid),
                        Num(secs),
                        p.cmd
                    ));
                }
            }
            Ok(Request::Run(words)) => self.submit(&words, reply),
        }
    }

    /// Start the `-r` groups of a client line: all are built and resolved
    /// before any starts, so a bad one starts nothing.
    #[inline(never)] // cold path: keep its buffers out of the event loop's stack frame
    fn submit(&mut self, words: &[&[u8]], reply: &mut Reply<'_>) {
        if !self.machine.accepting() {
            reply.line(format_args!(
                "error: not accepting commands (dinit is starting or stopping)"
            ));
            return;
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
        self.build_and_start(words, &mut b, reply);
        self.plan.socket_bytes = bytes;
        self.plan.socket_ptrs = ptrs;
    }

    /// Build every group in `b`, then start them in order; one reply line.
    fn build_and_start<'x>(
        &mut self,
        words: &[&'x [u8]],
        b: &mut Builder<'x>,
        reply: &mut Reply<'_>,
    ) {
        /// The most commands one line may start.
        const SUBMIT_MAX: usize = 16;
        let mut progs: heapless::Vec<Program<'x>, SUBMIT_MAX> = heapless::Vec::new();
        for (flag, group) in words::groups(words) {
            match command::build(flag, group, b) {
                Ok(p) if progs.push(p).is_ok() => {}
                Ok(_) => {
                    return reply.line(format_args!(
                        "error: too many commands in one line (the most is {})",
                        Num(SUBMIT_MAX)
                    ));
                }
                Err(e) => return reply.line(format_args!("error: {e}")),
            }
        }
        if self.table.len() + progs.len() > crate::table::PROC_MAX {
            return reply.line(format_args!(
                "error: process table full ({} processes)",
                Num(crate::table::PROC_MAX)
            ));
        }
        let mut pids: heapless::Vec<i32, SUBMIT_MAX> = heapless::Vec::new();
        for p in &progs {
            match self.spawn_program(p, self.group()) {
                Ok(pid) => {
                    self.started(pid, false, p);
                    let _ = pids.push(pid);
                }
                Err(e) => {
                    let failure = StartFailure::new(p, e);
                    return reply.line(format_args!("error: {failure}{}", Started(&pids)));
                }
            }
        }
        reply.line(format_args!("ok{}", Pids(&pids)));
    }
}

/// ` (started: 12 13)` after an error reply: the commands of the line that
/// did start before one failed (they run on, as managed processes); nothing
/// when none did.
struct Started<'a>(&'a [i32]);

impl core::fmt::Display for Started<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        if self.0.is_empty() {
            return Ok(());
        }
        write!(f, " (started:{})", Pids(self.0))
    }
}

/// ` 12 13`: pids for a reply line.
struct Pids<'a>(&'a [i32]);

impl core::fmt::Display for Pids<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        self.0.iter().try_for_each(|&p| write!(f, " {}", Num(p)))
    }
}
