//! The control socket (SPEC §5): a Unix stream listener in the same epoll
//! loop, a fixed number of connection slots each with a fixed
//! `[u8; LINE_MAX]` line buffer, one line in, one reply out, close. A line
//! that starts commands is answered `ok` once each of them has reported
//! that its exec happened; when one failed, with the error once every
//! process of the line can run nothing more (reaped, or SIGKILLed: SPEC
//! §5, never "error" while part of the line runs). The connection waits
//! in [`Phase::Starting`] meanwhile, out of the epoll set, never evicted
//! as silent.
//!
//! A `-wait` client (its job runs with the stdin, stdout and stderr it
//! passed with `SCM_RIGHTS`) leaves the slots for a [`Waiter`] of its own
//! once its job is forked: it is told `ok PID` when the job's exec has
//! reported and `exit CODE` when the job has exited. Waiters are few
//! (`WAITERS`), never evicted, and take no slot from a client that has a
//! line to send. Every read takes the descriptors that come with it
//! (received close-on-exec); a connection keeps at most three, and lines
//! other than `-wait` drop theirs at once.
//!
//! Hostile clients cannot hurt PID 1: everything is non-blocking; a client
//! silent for `CLIENT_IDLE_MS` is dropped; when every slot is taken, a new
//! client evicts the one silent longest, so silent clients never lock a
//! real one out; an `accept` that fails for lack of fds pauses the listener
//! briefly instead of spinning; peers whose uid is neither 0 nor dinit's own
//! are refused. Nothing here allocates.

use crate::error::{EADDRINUSE, EAGAIN, ECONNREFUSED, EINTR, EMFILE, ENFILE, ENOENT, Errno};
use crate::sys;
use crate::sys::fdpass::{self, FDS_MAX, RecvError};
use crate::words::LINE_MAX;
use core::fmt::{self, Write as _};
use rustix::event::epoll;
use rustix::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use rustix::net::{self, AddressFamily, SocketAddrUnix, SocketFlags, SocketType};

/// Connection slots: clients served at a time.
pub const SLOTS: usize = 16;
/// A client that has not finished its line after this long is dropped.
pub const CLIENT_IDLE_MS: u64 = 5_000;
/// How long the listener rests after `accept` ran out of file descriptors.
pub const ACCEPT_PAUSE_MS: u64 = 250;
/// epoll token of the listener; connections use `TOKEN_CONN_BASE + fd`.
pub const TOKEN_LISTENER: u64 = 1;
pub const TOKEN_CONN_BASE: u64 = 2;
/// The longest socket path (`sun_path` is 108 bytes with its NUL).
pub const PATH_MAX: usize = 107;
/// The most commands one line may start.
pub const SUBMIT_MAX: usize = 16;
/// Clients that may wait for a `-wait` job at a time; one more is refused
/// before its job starts (SPEC §5). A few: each holds a connection, and
/// its job holds the client's terminal or pipes.
pub const WAITERS: usize = 8;

/// The connection slots, in static storage: 8 KiB that cost nothing until
/// clients come.
#[cfg(not(test))]
static CONNS: crate::sys::TakeOnce<heapless::Vec<Conn, SLOTS>> =
    crate::sys::TakeOnce::new(heapless::Vec::new());

pub struct Conn {
    fd: OwnedFd,
    buf: [u8; LINE_MAX],
    len: usize,
    /// When the client connected: it has `CLIENT_IDLE_MS` from then to
    /// finish its line, however it trickles it in.
    since_ms: u64,
    /// When the client last sent something (or connected): the one silent
    /// longest is evicted first.
    active_ms: u64,
    phase: Phase,
    /// Descriptors passed with the line (`SCM_RIGHTS`), close-on-exec.
    fds: heapless::Vec<OwnedFd, FDS_MAX>,
}

/// Where a connection is.
#[derive(Debug)]
pub enum Phase {
    /// Its line is coming in.
    Reading,
    /// Its line's commands are starting; the reply waits for their reports.
    Starting(Batch),
}

/// The commands one line started, until each has reported (SPEC §5: all
/// or nothing). On the first failure the reply is that failure, sent once
/// the others, stopped, are finished ([`Server::settle`]).
#[derive(Debug, Default)]
pub struct Batch {
    /// The line's processes, in the order they were forked.
    pub pids: heapless::Vec<i32, SUBMIT_MAX>,
    /// How many have not reported yet.
    pub pending: usize,
    /// One failed: the reply is the error line kept in the buffer.
    pub failed: bool,
}

/// A client waiting for its `-wait` job. Its connection is watched for
/// hang-up only (epoll reports `EPOLLHUP` and `EPOLLERR` whatever is asked
/// for): what the client may still send means nothing, and a stream of it
/// must not wake the loop. `EPOLLHUP` on a Unix stream socket means the
/// peer closed its end (or shut down both ways); a client that only shut
/// down its writing side can still read its `exit` line and is not gone.
struct Waiter {
    /// The connection; `None` once the client went away before the job's
    /// exec reported (the job's SIGHUP waits for the exec).
    fd: Option<OwnedFd>,
    /// The job.
    pid: i32,
    /// Its exec reported and `ok PID` was sent.
    started: bool,
}

pub struct Server {
    listener: OwnedFd,
    path: heapless::Vec<u8, { PATH_MAX + 1 }>,
    /// The socket file dinit bound (device, inode): removed at exit only
    /// if the path still names it.
    file: Option<(u64, u64)>,
    /// In static storage: 8 KiB that cost nothing until clients come.
    conns: &'static mut heapless::Vec<Conn, SLOTS>,
    waiters: heapless::Vec<Waiter, WAITERS>,
    /// The listener is out of the epoll set until this time (fd exhaustion).
    paused_until: Option<u64>,
    /// Accepts that failed for lack of fds, rate-limited (one every
    /// `ACCEPT_PAUSE_MS` while exhausted), with the last errno.
    accept_failures: crate::log::Tally,
    accept_errno: i32,
}

impl Server {
    /// Listen on `path`, or say why not and return `None`: the socket is
    /// optional and must never stop PID 1 (SPEC §5).
    pub fn open(path: &[u8], epoll: &OwnedFd) -> Option<Server> {
        let mut p: heapless::Vec<u8, { PATH_MAX + 1 }> = heapless::Vec::new();
        if path.len() > PATH_MAX
            || path.contains(&0)
            || p.extend_from_slice(path).is_err()
            || p.push(0).is_err()
        {
            warn!(
                "socket path {} is too long or invalid, running without the socket",
                crate::error::Bytes(path)
            );
            return None;
        }
        let cpath = core::ffi::CStr::from_bytes_with_nul(&p).ok()?;
        // Taken first, so nothing can fail after the socket file exists
        // without removing it again.
        let conns = take_conns()?;
        let fail = |what: &str, errno: i32| -> Option<Server> {
            warn!(
                "unable to {what} socket {}: {}; running without the socket",
                crate::error::Bytes(path),
                Errno(errno)
            );
            None
        };
        let addr = match SocketAddrUnix::new(cpath) {
            Ok(a) => a,
            Err(e) => return fail("use", e.raw_os_error()),
        };
        let fd = match new_socket() {
            Ok(fd) => fd,
            Err(e) => return fail("create", e),
        };
        if let Err(e) = bind_0600(&fd, &addr) {
            if e != EADDRINUSE {
                return fail("bind", e);
            }
            // Something is at the path. Replace it only if it is a socket
            // nobody listens on (left by a dead dinit).
            match rustix::fs::lstat(cpath) {
                Ok(st)
                    if rustix::fs::FileType::from_raw_mode(st.st_mode)
                        == rustix::fs::FileType::Socket => {}
                _ => {
                    warn!(
                        "{} exists and is not a socket; leaving it alone, running without the socket",
                        crate::error::Bytes(path)
                    );
                    return None;
                }
            }
            match new_socket()
                .map(|probe| net::connect(&probe, &addr).map_err(|e| e.raw_os_error()))
            {
                Ok(Err(ECONNREFUSED)) | Ok(Err(ENOENT)) => {}
                Ok(Ok(())) | Ok(Err(crate::error::EAGAIN)) => {
                    warn!(
                        "another process listens on {}; running without the socket",
                        crate::error::Bytes(path)
                    );
                    return None;
                }
                Ok(Err(e)) | Err(e) => return fail("probe", e),
            }
            let _ = rustix::fs::unlink(cpath);
            if let Err(e) = bind_0600(&fd, &addr) {
                return fail("bind", e);
            }
        }
        if let Err(e) = net::listen(&fd, SLOTS as i32) {
            let _ = rustix::fs::unlink(cpath);
            return fail("listen on", e.raw_os_error());
        }
        if let Err(e) = watch(epoll, &fd, TOKEN_LISTENER) {
            let _ = rustix::fs::unlink(cpath);
            return fail("watch", e.raw_os_error());
        }
        let file = rustix::fs::lstat(cpath)
            .ok()
            .map(|st| (st.st_dev, st.st_ino));
        Some(Server {
            listener: fd,
            path: p,
            file,
            conns,
            waiters: heapless::Vec::new(),
            paused_until: None,
            accept_failures: crate::log::Tally::default(),
            accept_errno: 0,
        })
    }

    /// Remove the socket file (on every exit path), if the path still
    /// names the socket dinit bound: something else may have been put
    /// there since (another dinit, a file), and it is not dinit's to remove.
    pub fn close(&self) {
        let Ok(c) = core::ffi::CStr::from_bytes_with_nul(&self.path) else {
            return;
        };
        let ours = rustix::fs::lstat(c).is_ok_and(|st| Some((st.st_dev, st.st_ino)) == self.file);
        if ours {
            let _ = rustix::fs::unlink(c);
        }
    }

    /// The earliest time something must happen: a client to drop, the
    /// listener to resume.
    pub fn deadline(&self) -> Option<u64> {
        let idle = self
            .conns
            .iter()
            .filter(|c| matches!(c.phase, Phase::Reading))
            .map(|c| c.since_ms + CLIENT_IDLE_MS)
            .min();
        let summary = self.accept_failures.deadline();
        [idle, self.paused_until, summary]
            .into_iter()
            .flatten()
            .min()
    }

    /// Drop clients that stayed silent too long; resume a paused listener.
    pub fn expire(&mut self, epoll: &OwnedFd, now: u64) {
        while let Some(i) = self
            .conns
            .iter()
            .position(|c| matches!(c.phase, Phase::Reading) && now >= c.since_ms + CLIENT_IDLE_MS)
        {
            let c = self.conns.swap_remove(i);
            sys::unwatch(epoll, &c.fd);
            reply_line(
                c.fd.as_fd(),
                format_args!("error: timed out waiting for a line"),
            );
        }
        if self.paused_until.is_some_and(|t| now >= t) {
            self.paused_until = None;
            let _ = watch(epoll, &self.listener, TOKEN_LISTENER);
        }
        if let Some(n) = self.accept_failures.flush(now) {
            warn!(
                "unable to accept a client {}: {}",
                crate::log::More(n),
                Errno(self.accept_errno)
            );
        }
    }

    /// The listener is readable: accept every pending client.
    pub fn accept(&mut self, epoll: &OwnedFd, now: u64) {
        let mut accepted = false;
        loop {
            // Full, and every client has its request waiting: serve them
            // first (they are readable this turn); the newcomer waits in the
            // backlog and the listener wakes us again. Not when every slot
            // waits for commands that are starting (they may take long, a
            // hung file system): the newcomer is taken and refused below,
            // or the readable listener would bring the loop back at once,
            // again and again.
            if self.conns.is_full()
                && self.oldest_silent().is_none()
                && self.conns.iter().any(|c| matches!(c.phase, Phase::Reading))
            {
                return;
            }
            let fd = match net::accept_with(
                &self.listener,
                SocketFlags::CLOEXEC | SocketFlags::NONBLOCK,
            ) {
                Ok(fd) => fd,
                Err(e) if e.raw_os_error() == EINTR => continue,
                // The kernel takes the new fd before it looks at the backlog,
                // so after an accept this turn, EMFILE says nothing about
                // anyone waiting: stop, and evict nobody (the client just
                // accepted would be the "silent" one). If someone waits, the
                // level-triggered listener wakes us again.
                Err(e) if accepted && matches!(e.raw_os_error(), EMFILE | ENFILE) => return,
                Err(e) if matches!(e.raw_os_error(), EMFILE | ENFILE) => {
                    // Out of fds: level-triggered epoll would wake us again at
                    // once. Free a slot if a client holds one, else rest.
                    if !self.evict_oldest(epoll) {
                        self.accept_errno = e.raw_os_error();
                        if let Some(n) = self.accept_failures.add(now) {
                            warn!(
                                "unable to accept a client: {}; pausing the socket{}",
                                Errno(self.accept_errno),
                                crate::log::Since(n)
                            );
                        }
                        let _ = epoll::delete(epoll, &self.listener);
                        self.paused_until = Some(now + ACCEPT_PAUSE_MS);
                        return;
                    }
                    continue;
                }
                Err(_) => return, // EAGAIN: nobody left; anything else: next time.
            };
            accepted = true;
            if !peer_allowed(&fd) {
                reply_line(fd.as_fd(), format_args!("error: permission denied"));
                drain(fd.as_fd());
                continue;
            }
            // Make room only for a client that actually arrived.
            if self.conns.is_full() && !self.evict_oldest(epoll) {
                reply_line(fd.as_fd(), format_args!("error: too many clients"));
                continue;
            }
            if watch(epoll, &fd, token(&fd)).is_err() {
                continue;
            }
            let conn = Conn {
                fd,
                buf: [0; LINE_MAX],
                len: 0,
                since_ms: now,
                active_ms: now,
                phase: Phase::Reading,
                fds: heapless::Vec::new(),
            };
            if self.conns.push(conn).is_err() {
                continue; // cannot happen: a slot was freed above
            }
        }
    }

    /// Drop the client silent longest; false when there is none.
    /// A client whose line (or end of stream) is already waiting is never
    /// chosen: it is about to be served, and evicting it would throw a real
    /// request away while silent ones keep their slots.
    fn evict_oldest(&mut self, epoll: &OwnedFd) -> bool {
        let Some(i) = self.oldest_silent() else {
            return false;
        };
        let c = self.conns.swap_remove(i);
        sys::unwatch(epoll, &c.fd);
        reply_line(c.fd.as_fd(), format_args!("error: too many clients"));
        true
    }

    /// The slot of the client silent longest with nothing waiting unread
    /// (a client whose commands are starting is not silent: it waits for
    /// its reply).
    fn oldest_silent(&self) -> Option<usize> {
        self.conns
            .iter()
            .enumerate()
            .filter(|(_, c)| matches!(c.phase, Phase::Reading) && !has_input(c.fd.as_fd()))
            .min_by_key(|(_, c)| c.active_ms)
            .map(|(i, _)| i)
    }

    /// A client's fd is readable: read what it sent. Returns its slot when
    /// its line is complete (newline or end of stream): [`Server::line`]
    /// has it, and the caller answers with [`Server::answer`] or waits for
    /// the commands it started with [`Server::wait`]. A line too long is
    /// refused here.
    pub fn readable(&mut self, epoll: &OwnedFd, token: u64, now: u64) -> Option<usize> {
        let i = self.slot(token)?;
        let c = &mut self.conns[i];
        let line_end = loop {
            if c.len == LINE_MAX {
                break None;
            }
            // Every read takes what descriptors come with it (EINTR is
            // retried inside).
            match fdpass::recv_with_fds(c.fd.as_fd(), &mut c.buf[c.len..], &mut c.fds, true) {
                Ok(0) => break Some(c.len),
                Ok(n) => {
                    c.active_ms = now;
                    let start = c.len;
                    c.len += n;
                    if let Some(p) = c.buf[start..c.len].iter().position(|&b| b == b'\n') {
                        break Some(start + p);
                    }
                }
                Err(RecvError::Sys(EAGAIN)) => return None,
                // More than stdin, stdout and stderr: none of them is
                // kept (what this read brought is closed already, the
                // rest goes with the connection).
                Err(RecvError::TooMany) => {
                    self.answer(i, epoll, &mut |r| {
                        r.line(format_args!(
                            "error: too many descriptors passed (the most is {}: stdin, stdout and stderr of -wait)",
                            crate::error::Num(FDS_MAX)
                        ))
                    });
                    return None;
                }
                Err(RecvError::Sys(_)) => {
                    sys::unwatch(epoll, &self.conns.swap_remove(i).fd);
                    return None;
                }
            }
        };
        match line_end {
            Some(end) => {
                self.conns[i].len = end;
                Some(i)
            }
            None => {
                self.answer(i, epoll, &mut |r| {
                    r.line(format_args!(
                        "error: line too long (the most is {} bytes with the newline)",
                        crate::error::Num(LINE_MAX)
                    ))
                });
                None
            }
        }
    }

    fn slot(&self, token: u64) -> Option<usize> {
        self.conns.iter().position(|c| token_of(c) == token)
    }

    /// The complete line of the client in `slot` (without its newline).
    /// The buffer is rewritten in place by parsing.
    pub fn line(&mut self, slot: usize) -> &mut [u8] {
        let c = &mut self.conns[slot];
        &mut c.buf[..c.len]
    }

    /// The descriptors the client in `slot` passed, taken from it (closed
    /// when dropped).
    pub fn take_fds(&mut self, slot: usize) -> heapless::Vec<OwnedFd, FDS_MAX> {
        core::mem::take(&mut self.conns[slot].fds)
    }

    /// Answer the client in `slot` and close it.
    pub fn answer(&mut self, slot: usize, epoll: &OwnedFd, write: &mut dyn FnMut(&mut Reply<'_>)) {
        let c = self.conns.swap_remove(slot);
        sys::unwatch(epoll, &c.fd);
        answer_and_close(c.fd, write);
    }

    /// The client in `slot` waits for the commands `batch` started; when
    /// one failed already, `failure` is the reply. It leaves the epoll set
    /// (its line is read; nothing it sends or whether it hangs up changes
    /// anything now) and is answered once each has reported, or, when one
    /// failed, once all are finished ([`Server::settle`]).
    pub fn wait(&mut self, slot: usize, epoll: &OwnedFd, batch: Batch, failure: Option<&[u8]>) {
        let c = &mut self.conns[slot];
        let _ = epoll::delete(epoll, &c.fd);
        if let Some(text) = failure {
            let n = text.len().min(LINE_MAX);
            c.buf[..n].copy_from_slice(&text[..n]);
            c.len = n;
        }
        c.phase = Phase::Starting(batch);
        self.finish_if_started(slot);
    }

    /// One command of the line `token` started reported: started, or
    /// failed with `failure` (the reply, when it is the first). Returns the
    /// line's other processes when this is its first failure: they are to
    /// be stopped. Answers `ok` once every command has reported that it
    /// started.
    pub fn reported(
        &mut self,
        token: u64,
        failure: Option<fmt::Arguments<'_>>,
    ) -> heapless::Vec<i32, SUBMIT_MAX> {
        let mut others = heapless::Vec::new();
        let Some(i) = self.slot(token) else {
            return others;
        };
        let c = &mut self.conns[i];
        let Phase::Starting(batch) = &mut c.phase else {
            return others;
        };
        batch.pending = batch.pending.saturating_sub(1);
        if let Some(text) = failure
            && !batch.failed
        {
            batch.failed = true;
            others = batch.pids.clone();
            let mut line = crate::log::LogLine::new();
            let _ = line.write_fmt(text);
            let bytes = line.as_bytes();
            let n = bytes.len().min(LINE_MAX);
            c.buf[..n].copy_from_slice(&bytes[..n]);
            c.len = n;
        }
        self.finish_if_started(i);
        others
    }

    /// Answer `ok` to a waiting client whose commands have all started.
    fn finish_if_started(&mut self, slot: usize) {
        let Phase::Starting(batch) = &self.conns[slot].phase else {
            return;
        };
        if batch.pending > 0 || batch.failed {
            return;
        }
        let pids = batch.pids.clone();
        // Out of the epoll set since `wait`.
        let c = self.conns.swap_remove(slot);
        answer_and_close(c.fd, &mut |r| r.line(format_args!("ok{}", Pids(&pids))));
    }

    /// Answer each client whose line failed once every process the line
    /// started is `finished` (asked with the pid and the line's token):
    /// SPEC §5, a client is never told "error" while part of its line
    /// keeps running. Called at the end of each loop turn.
    pub fn settle(&mut self, finished: &dyn Fn(i32, u64) -> bool) {
        for i in (0..self.conns.len()).rev() {
            let c = &self.conns[i];
            if let Phase::Starting(b) = &c.phase
                && b.failed
                && b.pids.iter().all(|&pid| finished(pid, token_of(c)))
            {
                fail(self.conns.swap_remove(i));
            }
        }
    }
}

/// Answer a client whose line failed with its error (the line buffer
/// holds it), and close it; it is out of the epoll set since
/// [`Server::wait`].
fn fail(c: Conn) {
    let text = &c.buf[..c.len];
    answer_and_close(c.fd, &mut |r| {
        r.line(format_args!("error: {}", crate::error::Bytes(text)))
    });
}

/// `-wait` clients: each waits for its job, `ok PID` first, `exit CODE`
/// last (SPEC §5).
impl Server {
    /// Whether one more client may wait for a job.
    pub fn waiter_room(&self) -> bool {
        !self.waiters.is_full()
    }

    /// The client in `slot` waits for its job `pid`, which has been forked:
    /// it leaves the reading slots and is watched for hang-up only. Call
    /// only when there is room ([`Server::waiter_room`]).
    pub fn wait_for_job(&mut self, slot: usize, epoll: &OwnedFd, pid: i32) {
        let c = self.conns.swap_remove(slot);
        let token = epoll::EventData::new_u64(token_of(&c));
        // Cannot fail for a watched fd; if it did, the client would go on
        // waking the loop with its input, no worse than a reading client.
        let _ = epoll::modify(epoll, &c.fd, token, epoll::EventFlags::empty());
        let waiter = Waiter {
            fd: Some(c.fd),
            pid,
            started: false,
        };
        let pushed = self.waiters.push(waiter);
        debug_assert!(pushed.is_ok(), "checked for room");
    }

    /// The waiter whose connection is `token`, if any.
    pub fn waiter(&self, token: u64) -> Option<usize> {
        self.waiters
            .iter()
            .position(|w| w.fd.as_ref().is_some_and(|fd| self::token(fd) == token))
    }

    /// The connection of waiter `i` hung up or failed: its client is gone.
    /// Returns the job to hang up now; a job whose exec has not reported
    /// yet is hung up once it has ([`Server::job_reported`]): a signal
    /// before the exec would reach dinit's fork child, not the program.
    pub fn client_gone(&mut self, i: usize, epoll: &OwnedFd) -> Option<i32> {
        let w = &mut self.waiters[i];
        if let Some(fd) = w.fd.take() {
            sys::unwatch(epoll, &fd);
        }
        if !w.started {
            return None;
        }
        Some(self.waiters.swap_remove(i).pid)
    }

    /// The exec of job `pid` reported: it started (`failure` is `None`) or
    /// not. Its client, if it has one, is told `ok PID`, or the failure
    /// and goodbye. Returns true when the job is to be hung up now: its
    /// client went away (before, or just now: the `ok` could not be sent).
    pub fn job_reported(
        &mut self,
        epoll: &OwnedFd,
        pid: i32,
        failure: Option<fmt::Arguments<'_>>,
    ) -> bool {
        let Some(i) = self.waiters.iter().position(|w| w.pid == pid) else {
            return false;
        };
        let Some(fd) = self.waiters[i].fd.take() else {
            self.waiters.swap_remove(i);
            return failure.is_none();
        };
        if let Some(f) = failure {
            self.waiters.swap_remove(i);
            hang_up(epoll, fd, format_args!("error: {f}"));
            return false;
        }
        let mut reply = Reply::new(fd.as_fd());
        reply.line(format_args!("ok {}", crate::error::Num(pid)));
        if reply.send() {
            self.waiters[i].fd = Some(fd);
            self.waiters[i].started = true;
            return false;
        }
        self.waiters.swap_remove(i);
        sys::unwatch(epoll, &fd);
        true
    }

    /// Job `pid` exited with `code` (the exit status table's): its client,
    /// if it has one, gets `exit CODE` and is closed.
    pub fn job_exited(&mut self, epoll: &OwnedFd, pid: i32, code: u8) {
        let Some(i) = self.waiters.iter().position(|w| w.pid == pid) else {
            return;
        };
        if let Some(fd) = self.waiters.swap_remove(i).fd {
            hang_up(epoll, fd, format_args!("exit {}", crate::error::Num(code)));
        }
    }
}

/// Send a waiter its last line and close its connection.
fn hang_up(epoll: &OwnedFd, fd: OwnedFd, last: fmt::Arguments<'_>) {
    sys::unwatch(epoll, &fd);
    answer_and_close(fd, &mut |r| r.line(last));
}

/// Write the reply, then close the connection.
fn answer_and_close(fd: OwnedFd, write: &mut dyn FnMut(&mut Reply<'_>)) {
    let mut reply = Reply::new(fd.as_fd());
    write(&mut reply);
    reply.finish();
    drain(fd.as_fd());
}

/// The connection slots: the static storage, taken once. (Each unit test
/// that opens a server gets storage of its own.)
fn take_conns() -> Option<&'static mut heapless::Vec<Conn, SLOTS>> {
    #[cfg(test)]
    return Some(Box::leak(Box::new(heapless::Vec::new())));
    #[cfg(not(test))]
    CONNS.take()
}

/// ` 12 13`: pids for a reply line.
pub struct Pids<'a>(pub &'a [i32]);

impl fmt::Display for Pids<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0
            .iter()
            .try_for_each(|&p| write!(f, " {}", crate::error::Num(p)))
    }
}

/// A connection's epoll token.
fn token_of(c: &Conn) -> u64 {
    token(&c.fd)
}

/// The epoll token of a client connection.
fn token(fd: &OwnedFd) -> u64 {
    TOKEN_CONN_BASE + fd.as_raw_fd() as u64
}

/// The reply buffer: lines are gathered and sent a buffer at a time.
const REPLY_BUF: usize = 2048;

/// The answer to one client, gathered into a small buffer and sent a
/// buffer at a time. A socket's send buffer is charged per `send`, not per
/// byte: one send per line would let a `-list` of a full table (256 lines)
/// stop short before the client reads anything; in 2 KiB sends it fits
/// twice over. A line may be longer than the buffer (`ok` and the pids of
/// a `-signal` to a full table): it is sent in pieces like the rest.
pub struct Reply<'a> {
    fd: BorrowedFd<'a>,
    failed: bool,
    buf: [u8; REPLY_BUF],
    len: usize,
}

impl<'a> Reply<'a> {
    pub fn new(fd: BorrowedFd<'a>) -> Self {
        Reply {
            fd,
            failed: false,
            buf: [0; REPLY_BUF],
            len: 0,
        }
    }

    /// Add one line (a newline is added).
    pub fn line(&mut self, args: fmt::Arguments<'_>) {
        let _ = self.write_fmt(args);
        self.put(b"\n");
    }

    /// Send what is gathered. A client that does not take it at once is
    /// given up on: dinit never waits for a client.
    fn flush(&mut self) {
        if !self.failed && sys::out::send_nowait(self.fd, &self.buf[..self.len]).is_err() {
            self.failed = true;
        }
        self.len = 0;
    }

    /// Send the rest; the reply is complete.
    fn finish(mut self) {
        self.flush();
    }

    /// Send the rest; whether everything was taken.
    fn send(mut self) -> bool {
        self.flush();
        !self.failed
    }

    /// Add bytes, sending what is gathered whenever the buffer is full.
    fn put(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            if self.len == REPLY_BUF {
                self.flush();
            }
            let n = bytes.len().min(REPLY_BUF - self.len);
            self.buf[self.len..self.len + n].copy_from_slice(&bytes[..n]);
            self.len += n;
            bytes = &bytes[n..];
        }
    }
}

impl fmt::Write for Reply<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.put(s.as_bytes());
        Ok(())
    }
}

fn reply_line(fd: BorrowedFd<'_>, args: fmt::Arguments<'_>) {
    let mut r = Reply::new(fd);
    r.line(args);
    r.finish();
}

/// Read and discard what the client sent past its line (a bounded amount,
/// without blocking), so closing does not reset the connection before the
/// client has read the reply.
fn drain(fd: BorrowedFd<'_>) {
    let _ = rustix::net::shutdown(fd, rustix::net::Shutdown::Write);
    let mut sink = [0u8; 512];
    for _ in 0..128 {
        match rustix::io::read(fd, &mut sink) {
            Ok(n) if n > 0 => {}
            _ => return,
        }
    }
}

/// Whether the client has sent something (or closed) that dinit has not
/// read yet.
fn has_input(fd: BorrowedFd<'_>) -> bool {
    let mut one = [0u8; 1];
    !matches!(
        net::recv(fd, &mut one, net::RecvFlags::PEEK | net::RecvFlags::DONTWAIT),
        Err(e) if e == rustix::io::Errno::AGAIN
    )
}

/// Watch `fd` for input under `token` (level-triggered).
fn watch(epoll: &OwnedFd, fd: &OwnedFd, token: u64) -> rustix::io::Result<()> {
    epoll::add(
        epoll,
        fd,
        epoll::EventData::new_u64(token),
        epoll::EventFlags::IN,
    )
}

fn new_socket() -> Result<OwnedFd, i32> {
    net::socket_with(
        AddressFamily::UNIX,
        SocketType::STREAM,
        SocketFlags::CLOEXEC | SocketFlags::NONBLOCK,
        None,
    )
    .map_err(|e| e.raw_os_error())
}

/// `bind` with umask 0177, so the socket file is created mode 0600 with no
/// window in which it is wider.
fn bind_0600(fd: &OwnedFd, addr: &SocketAddrUnix) -> Result<(), i32> {
    use rustix::fs::Mode;
    let old = rustix::process::umask(Mode::from_raw_mode(0o177));
    let r = net::bind(fd, addr);
    rustix::process::umask(old);
    r.map_err(|e| e.raw_os_error())
}

/// SO_PEERCRED: only root and dinit's own user may start processes. The
/// uid alone decides, whatever the pid: a client outside dinit's PID
/// namespace (a Kubernetes sidecar sharing `/tmp` through an `emptyDir`
/// without `shareProcessNamespace`, a root shell on the host) has pid 0
/// here, and is served like any other peer of the same uid.
fn peer_allowed(fd: &OwnedFd) -> bool {
    match sys::peer_cred(fd.as_fd()) {
        Ok(cred) => uid_allowed(cred.uid, sys::getuid()),
        Err(_) => false,
    }
}

/// The server's rule (SPEC §5): root, or dinit's own uid.
pub fn uid_allowed(peer: u32, own: u32) -> bool {
    peer == 0 || peer == own
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uid_rule() {
        assert!(uid_allowed(0, 1000));
        assert!(uid_allowed(1000, 1000));
        assert!(uid_allowed(0, 0));
        assert!(!uid_allowed(1000, 0));
        assert!(!uid_allowed(65534, 1000));
    }
}
