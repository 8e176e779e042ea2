//! The one writer (SPEC §10, "dinit never blocks on output"): every log
//! line goes through [`log_line`], every socket reply through
//! [`send_nowait`], and neither ever waits for a reader. A log line that
//! cannot be written at once is dropped and counted here ([`Drops`]); the
//! log formats the count (`N log lines dropped`) into the next line, and
//! both go out in one write.
//!
//! **Why not O_NONBLOCK on fd 2.** The children share dinit's stderr: the
//! same open file description, and its file status flags with it. Setting
//! O_NONBLOCK there would hand every child an fd 2 that fails with EAGAIN
//! where it expects to wait, and most programs take that as a fatal write
//! error. So dinit never changes fd 2's flags. Each of its own writes is
//! non-blocking by itself instead, the way chosen once, at startup, by what
//! fd 2 is ([`Sink`]):
//!
//! * a **socket** (journald's stdout stream, some log drivers):
//!   `send(MSG_DONTWAIT | MSG_NOSIGNAL)`, non-blocking per call;
//! * a **pipe or FIFO** (the Docker, Podman and Kubernetes log drivers):
//!   the line is written into a private pipe, then moved onto fd 2 by
//!   `splice(SPLICE_F_NONBLOCK)`, non-blocking per call (Linux 2.6.17),
//!   needing neither /proc nor permission. Where splice is refused (a
//!   seccomp profile), dinit's own O_NONBLOCK open of the same pipe through
//!   `/proc/self/fd/2`; where that fails too (no /proc; or EACCES: a pipe
//!   made by root is mode 0600 and dinit may run as another uid, `docker
//!   run --user`), `pwritev2(RWF_NOWAIT)` (pipes honour it from Linux 6.4,
//!   older kernels refuse it with EOPNOTSUPP; it also gives up while the
//!   pipe's lock is busy, hence after the reopen); last, a free-space check
//!   ([`room_for`]) before a plain write, which a concurrent writer can
//!   still race;
//! * a **terminal**: dinit's own O_NONBLOCK open of the same terminal
//!   through `/proc/self/fd/2`, with O_NOCTTY (dinit may be a session
//!   leader without a controlling terminal and must not acquire one).
//!   Terminals refuse RWF_NOWAIT, so where the reopen fails (no /proc, or a
//!   terminal dinit's uid may not open) the write blocks as before: not
//!   covered;
//! * anything else (a **regular file**, /dev/null): a plain write. No
//!   reader is waited for, and RWF_NOWAIT on a file would drop lines for a
//!   cold page cache. (A hung network file system is not covered.)
//!
//! A write (notice and line) is at most `OUT_MAX` bytes, under PIPE_BUF, so
//! a pipe takes all of it or nothing. A terminal or a stream socket may
//! take part of it: the rest is kept and written before the next line, so
//! the reader never sees a torn line; until it goes out, new lines are
//! dropped. EPIPE on a pipe raises SIGPIPE against dinit, which stays
//! blocked, is read from the signalfd and ignored as self-raised; sockets
//! get MSG_NOSIGNAL. Nothing here allocates.

use super::errno::{EINTR, EINVAL, EPERM};
use super::{Static, check};
use core::mem::MaybeUninit;
use rustix::fd::{BorrowedFd, OwnedFd};
use rustix::net::SendFlags;

/// The longest write: a drop notice and a log line (each at most 512
/// bytes, which `log` checks); under PIPE_BUF (4096), so a pipe write is
/// atomic.
pub const OUT_MAX: usize = 1024;

const ENOSYS: i32 = 38;
const EOPNOTSUPP: i32 = 95;

/// How a write reaches the descriptor without waiting (module doc).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sink {
    /// Nothing is written: the descriptor was closed at startup (its number
    /// may since belong to one of dinit's own descriptors).
    Closed,
    /// A plain `write(2)`, retried until done.
    Plain,
    /// `send(MSG_DONTWAIT | MSG_NOSIGNAL)`.
    Send,
    /// Into the private pipe `wr`, then `splice(rd, fd, SPLICE_F_NONBLOCK)`.
    Splice { rd: i32, wr: i32 },
    /// `write` to `fd`, dinit's own O_NONBLOCK open file description of the
    /// same pipe or terminal.
    Own { fd: i32 },
    /// `pwritev2(RWF_NOWAIT)`.
    NoWait,
    /// A plain write, made only when [`room_for`] says the pipe has room.
    Room,
}

/// What the descriptor is (`fstat`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Closed,
    Pipe,
    Tty,
    Socket,
    Other,
}

/// Why an attempt wrote nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fail {
    /// Full, or broken (EPIPE, EIO, ...): the line is dropped.
    Drop,
    /// This way is not available (seccomp, an old kernel): try the next.
    Unsupported,
}

/// Log lines dropped since the last one that got through.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Drops {
    pending: u64,
}

impl Drops {
    pub fn pending(&self) -> u64 {
        self.pending
    }

    /// A line could not be written.
    pub fn dropped(&mut self) {
        self.pending = self.pending.saturating_add(1);
    }

    /// A line got through with the notice for `reported` drops.
    pub fn delivered(&mut self, reported: u64) {
        self.pending = self.pending.saturating_sub(reported);
    }
}

/// How a writer reaches its descriptor: what it is, and the way in use.
struct Way {
    fd: i32,
    kind: Kind,
    sink: Sink,
}

impl Way {
    /// The way for what `fd` is (module doc).
    fn open(fd: i32) -> Way {
        let kind = kind_of(fd);
        let mut way = Way {
            fd,
            kind,
            sink: Sink::Plain,
        };
        way.sink = match kind {
            Kind::Closed => Sink::Closed,
            Kind::Socket => Sink::Send,
            Kind::Pipe => match rustix::pipe::pipe_with(
                rustix::pipe::PipeFlags::CLOEXEC | rustix::pipe::PipeFlags::NONBLOCK,
            ) {
                Ok((rd, wr)) => Sink::Splice {
                    rd: into_raw(rd),
                    wr: into_raw(wr),
                },
                // Out of descriptors already: the next way.
                Err(_) => way.next(Sink::Splice { rd: -1, wr: -1 }),
            },
            Kind::Tty => own_open(fd).map_or(Sink::Plain, |fd| Sink::Own { fd }),
            Kind::Other => Sink::Plain,
        };
        way
    }

    /// The way to use after `failed` was refused (opening what it needs).
    fn next(&self, failed: Sink) -> Sink {
        match (self.kind, failed) {
            (Kind::Pipe, Sink::Splice { .. }) => {
                own_open(self.fd).map_or(Sink::NoWait, |fd| Sink::Own { fd })
            }
            (Kind::Pipe, Sink::Own { .. }) => Sink::NoWait,
            (Kind::Pipe, Sink::NoWait) => Sink::Room,
            _ => Sink::Plain,
        }
    }

    /// Whether the descriptor can take a write now: `poll(POLLOUT)` with a
    /// zero timeout on what the write goes to (a pipe: a free buffer; a
    /// terminal or socket: room). Ways that never wait are always ready.
    fn writable(&self) -> bool {
        use rustix::event::{PollFd, PollFlags, Timespec, poll};
        let fd = match self.sink {
            Sink::Closed | Sink::Plain => return true,
            Sink::Own { fd } => fd,
            _ => self.fd,
        };
        let fd = borrow(fd);
        let mut fds = [PollFd::new(&fd, PollFlags::OUT)];
        let zero = Timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        match poll(&mut fds, Some(&zero)) {
            Ok(1) => !fds[0].revents().contains(PollFlags::ERR),
            Ok(_) => false,
            // Cannot tell (EINTR, ENOMEM): let the write find out.
            Err(_) => true,
        }
    }

    /// One non-blocking write, falling back to the next way while one is
    /// refused: the number of bytes written, or `None`.
    fn attempt(&mut self, bytes: &[u8]) -> Option<usize> {
        loop {
            match write_once(self.fd, self.sink, bytes) {
                Ok(n) => return Some(n),
                Err(Fail::Drop) => return None,
                Err(Fail::Unsupported) => {
                    let next = self.next(self.sink);
                    match self.sink {
                        Sink::Splice { rd, wr } => {
                            super::close(rd);
                            super::close(wr);
                        }
                        Sink::Own { fd } => super::close(fd),
                        _ => {}
                    }
                    self.sink = next;
                }
            }
        }
    }
}

/// A writer to one descriptor (fd 2 for the log) that never waits. Its
/// buffers are its own, so dinit's stderr writer keeps them in static
/// storage rather than on the stack.
pub struct Writer {
    way: Way,
    drops: Drops,
    /// The write being made: the drop notice, if any, and the line.
    stage: [u8; OUT_MAX],
    /// The rest of a write a terminal or stream socket took only part of.
    rest: [u8; OUT_MAX],
    rest_len: usize,
}

impl Writer {
    /// A plain, blocking writer: dinit's stderr before `init_stderr`, and
    /// always in the submit and version roles (ordinary commands, where
    /// waiting for the terminal is right).
    pub const fn plain(fd: i32) -> Writer {
        Writer {
            way: Way {
                fd,
                kind: Kind::Other,
                sink: Sink::Plain,
            },
            drops: Drops { pending: 0 },
            stage: [0; OUT_MAX],
            rest: [0; OUT_MAX],
            rest_len: 0,
        }
    }

    /// A writer to `fd` that never waits, the way chosen by what `fd` is.
    pub fn new(fd: i32) -> Writer {
        let mut w = Writer::plain(fd);
        w.setup();
        w
    }

    /// Choose the way by what the descriptor is now.
    fn setup(&mut self) {
        self.way = Way::open(self.way.fd);
    }

    /// How this writer writes now (it falls back when a way is refused).
    pub fn sink(&self) -> Sink {
        self.way.sink
    }

    pub fn drops(&self) -> Drops {
        self.drops
    }

    /// Whether a line can go out now. While lines are being dropped, one
    /// `poll` tells, before the line is even formatted: a line that cannot
    /// go out costs one system call, not a clock read, a format and three
    /// writes. When it cannot, the line counts as dropped.
    pub fn ready(&mut self) -> bool {
        if self.drops.pending() == 0 && self.rest_len == 0 || self.way.writable() {
            return true;
        }
        self.drops.dropped();
        false
    }

    /// Write `line` at once or not at all; false when it was dropped, and
    /// counted, instead. When lines were dropped before it, `notice(buf,
    /// n)` puts the text that says so for `n` lines into `buf` (returning
    /// its length), and it goes out in the same write, before the line.
    pub fn write_line(
        &mut self,
        line: &[u8],
        notice: impl FnOnce(&mut [u8], u64) -> usize,
    ) -> bool {
        if !self.flush_rest() {
            self.drops.dropped();
            return false;
        }
        let reported = self.drops.pending();
        let mut n = 0;
        if reported > 0 {
            n = notice(&mut self.stage, reported).min(OUT_MAX);
        }
        let take = line.len().min(OUT_MAX - n);
        self.stage[n..n + take].copy_from_slice(&line[..take]);
        n += take;
        match self.way.attempt(&self.stage[..n]) {
            Some(done) => {
                // A terminal or stream socket took a part: the rest goes
                // before the next line.
                let done = done.min(n);
                self.rest[..n - done].copy_from_slice(&self.stage[done..n]);
                self.rest_len = n - done;
                self.drops.delivered(reported);
                true
            }
            None => {
                self.drops.dropped();
                false
            }
        }
    }

    /// Write what is left of a partly written line; true when nothing is.
    fn flush_rest(&mut self) -> bool {
        let n = self.rest_len;
        if n == 0 {
            return true;
        }
        let done = self.way.attempt(&self.rest[..n]).unwrap_or(0).min(n);
        self.rest.copy_within(done..n, 0);
        self.rest_len = n - done;
        self.rest_len == 0
    }
}

fn into_raw(fd: OwnedFd) -> i32 {
    rustix::fd::IntoRawFd::into_raw_fd(fd)
}

/// `fd` as a `BorrowedFd` for rustix calls.
fn borrow(fd: i32) -> BorrowedFd<'static> {
    // SAFETY: only a number for the syscalls here; a closed or reused fd
    // makes a call fail or write elsewhere, never touches memory.
    unsafe { BorrowedFd::borrow_raw(fd) }
}

fn kind_of(fd: i32) -> Kind {
    use rustix::fs::FileType;
    let Ok(st) = rustix::fs::fstat(borrow(fd)) else {
        return Kind::Closed;
    };
    match FileType::from_raw_mode(st.st_mode) {
        FileType::Fifo => Kind::Pipe,
        FileType::Socket => Kind::Socket,
        FileType::CharacterDevice if is_tty(fd) => Kind::Tty,
        _ => Kind::Other,
    }
}

/// `ioctl(TCGETS)` succeeds on terminals only (isatty's test).
fn is_tty(fd: i32) -> bool {
    const TCGETS: usize = 0x5401;
    let mut termios = [0u8; 64]; // struct termios is 60 bytes (both targets)
    // SAFETY: TCGETS writes one struct termios (60 bytes) into the buffer.
    check(unsafe { sc::syscall!(IOCTL, fd, TCGETS, termios.as_mut_ptr()) }).is_ok()
}

/// dinit's own open file description of what `fd` refers to:
/// `/proc/self/fd/N` opened O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY.
/// For a pipe, a FIFO or a terminal this is a new open of the same object,
/// so O_NONBLOCK is dinit's alone. `None` without /proc, without permission
/// (EACCES), for a pipe nobody reads (ENXIO), or when what was opened is not
/// the same file.
fn own_open(fd: i32) -> Option<i32> {
    use rustix::fs::OFlags;
    let mut path = *b"/proc/self/fd/0000000000\0";
    let digits = super::decimal_digits(fd.unsigned_abs(), &mut path[14..24]);
    path.copy_within(14 + digits.start..25, 14);
    let path = core::ffi::CStr::from_bytes_until_nul(&path).ok()?;
    let flags = OFlags::WRONLY | OFlags::NONBLOCK | OFlags::CLOEXEC | OFlags::NOCTTY;
    let own = rustix::fs::open(path, flags, rustix::fs::Mode::empty()).ok()?;
    let (a, b) = (
        rustix::fs::fstat(&own).ok()?,
        rustix::fs::fstat(borrow(fd)).ok()?,
    );
    (a.st_dev == b.st_dev && a.st_ino == b.st_ino).then(|| into_raw(own))
}

/// One write of `bytes` the way `sink` says, retrying EINTR.
fn write_once(fd: i32, sink: Sink, bytes: &[u8]) -> Result<usize, Fail> {
    let n = bytes.len();
    match sink {
        Sink::Closed => Ok(n),
        Sink::Plain => super::write_all(fd, bytes)
            .map(|()| n)
            .map_err(|_| Fail::Drop),
        Sink::Send => loop {
            match rustix::net::send(borrow(fd), bytes, SendFlags::DONTWAIT | SendFlags::NOSIGNAL) {
                Err(e) if e.raw_os_error() == EINTR => {}
                r => return r.map_err(|_| Fail::Drop),
            }
        },
        Sink::Splice { rd, wr } => {
            let r = match write(wr, bytes) {
                Ok(put) if put == n => splice(rd, fd, n),
                _ => Err(Fail::Drop),
            };
            // Whatever did not move stays in the private pipe: empty it,
            // so the next line starts a fresh pipe buffer there.
            if r != Ok(n) {
                discard(rd);
            }
            r
        }
        Sink::Own { fd: own } => write(own, bytes).map_err(|_| Fail::Drop),
        Sink::NoWait => pwritev2_nowait(fd, bytes).map_err(|e| match e {
            EOPNOTSUPP | ENOSYS | EINVAL | EPERM => Fail::Unsupported,
            _ => Fail::Drop,
        }),
        Sink::Room => match pipe_room(fd) {
            Some((unread, size)) if room_for(unread, size, page_size()) => {
                write(fd, bytes).map_err(|_| Fail::Drop)
            }
            Some(_) => Err(Fail::Drop),
            None => Err(Fail::Unsupported),
        },
    }
}

/// `write(fd, bytes)` once, retrying EINTR.
fn write(fd: i32, bytes: &[u8]) -> Result<usize, i32> {
    loop {
        // SAFETY: `bytes` is a live slice; write(2) reads at most its length.
        match check(unsafe { sc::syscall!(WRITE, fd, bytes.as_ptr(), bytes.len()) }) {
            Err(EINTR) => {}
            r => return r,
        }
    }
}

/// `splice(rd, NULL, fd, NULL, n, SPLICE_F_NONBLOCK)`, retrying EINTR.
/// Pipe to pipe, it moves whole pipe buffers, so a line written into the
/// empty private pipe in one write moves entirely or not at all.
fn splice(rd: i32, fd: i32, n: usize) -> Result<usize, Fail> {
    use rustix::pipe::SpliceFlags;
    loop {
        match rustix::pipe::splice(borrow(rd), None, borrow(fd), None, n, SpliceFlags::NONBLOCK) {
            Ok(m) => return Ok(m),
            Err(e) => match e.raw_os_error() {
                EINTR => {}
                // Refused by a seccomp profile (EPERM, ENOSYS), or a kind
                // of pipe splice cannot write to (EINVAL).
                EPERM | ENOSYS | EINVAL | EOPNOTSUPP => return Err(Fail::Unsupported),
                // EAGAIN: full; EPIPE: nobody reads; EBADF: not writable.
                _ => return Err(Fail::Drop),
            },
        }
    }
}

/// Empty the private pipe: it holds at most one write, so one read of
/// `OUT_MAX` bytes takes it all.
#[inline(never)] // rare: keep its buffer out of the writer's stack frame
fn discard(rd: i32) {
    let mut sink = [0u8; OUT_MAX];
    let _ = super::read(rd, &mut sink);
}

/// `pwritev2(fd, [bytes], -1, RWF_NOWAIT)`: at the current position (fd 2
/// is a stream), never waiting where the kernel supports it for the file.
fn pwritev2_nowait(fd: i32, bytes: &[u8]) -> Result<usize, i32> {
    const RWF_NOWAIT: usize = 0x8;
    let iov = [bytes.as_ptr() as usize, bytes.len()];
    loop {
        // The offset -1 goes in pos_l (and 0 in pos_h) on 64-bit kernels.
        // SAFETY: `iov` is one struct iovec describing the live `bytes`.
        let r = unsafe { sc::syscall!(PWRITEV2, fd, iov.as_ptr(), 1, usize::MAX, 0, RWF_NOWAIT) };
        match check(r) {
            Err(EINTR) => {}
            r => return r,
        }
    }
}

/// (bytes unread, capacity) of the pipe `fd`: `FIONREAD` and
/// `F_GETPIPE_SZ` (Linux 2.6.35).
fn pipe_room(fd: i32) -> Option<(usize, usize)> {
    let unread = rustix::io::ioctl_fionread(borrow(fd)).ok()?;
    let size = rustix::pipe::fcntl_getpipe_size(borrow(fd)).ok()?;
    Some((unread as usize, size))
}

/// Whether a pipe of `size` bytes (buffers of `page` bytes) holding `unread`
/// bytes surely has a free buffer for one more write of up to a page. A
/// pipe counts buffers, not bytes; a buffer filled by `write` holds more
/// than half a page (smaller writes are merged into it until the next would
/// not fit), except the one being read and the one being written. So at
/// most `2 + 2 × unread / page` buffers are in use. (A pipe fed by
/// `splice`/`vmsplice`, or a writer racing in between the check and the
/// write, can still make the write wait: not covered.)
pub fn room_for(unread: usize, size: usize, page: usize) -> bool {
    let page = page.max(1);
    let buffers = size / page;
    let used_at_most = 2 + (2 * unread).div_ceil(page);
    used_at_most < buffers
}

/// The page size (`getauxval(AT_PAGESZ)`), 64 KiB if unknown: the safe
/// side for [`room_for`].
fn page_size() -> usize {
    const AT_PAGESZ: usize = 6;
    match super::args::auxv(AT_PAGESZ) {
        None | Some(0) => 65_536,
        Some(p) => p,
    }
}

/// dinit's stderr once `init_stderr` has run (`STDERR_SET`); before that,
/// and in the other roles, a plain blocking write. (Uninitialized rather
/// than a `Writer::plain`, so that it lives in `.bss`, not in the file.)
static STDERR: Static<MaybeUninit<Writer>> = Static::new(MaybeUninit::uninit());
static STDERR_SET: Static<bool> = Static::new(false);

/// Choose how stderr is written from now on (the init role, first thing).
pub fn init_stderr() {
    // SAFETY: one thread; no reference from STDERR or STDERR_SET is alive
    // (the functions below hold theirs only for the call, and none logs).
    // Set up in place: the writer is 2 KiB, kept off the stack.
    unsafe {
        STDERR.get().write(Writer::plain(2)).setup();
        *STDERR_SET.get() = true;
    }
}

/// dinit's stderr writer, if `init_stderr` has run.
fn stderr() -> Option<&'static mut Writer> {
    // SAFETY: one thread; callers hold the reference only for their call
    // and never call back in here; once STDERR_SET is true, STDERR holds
    // the writer `init_stderr` put there.
    unsafe { (*STDERR_SET.get()).then(|| STDERR.get().assume_init_mut()) }
}

/// Whether a log line can go out now (see [`Writer::ready`]): when not,
/// it is counted as dropped, and the caller need not format it. True
/// before `init_stderr`.
pub fn log_ready() -> bool {
    stderr().is_none_or(|w| w.ready())
}

/// Write one log line to stderr without waiting (see
/// [`Writer::write_line`]); false when it was dropped. Before
/// `init_stderr`, a plain blocking write.
pub fn log_line(line: &[u8], notice: impl FnOnce(&mut [u8], u64) -> usize) -> bool {
    match stderr() {
        Some(w) => w.write_line(line, notice),
        None => super::write_all(2, line).is_ok(),
    }
}

/// One last line to stderr without waiting, from the panic handler: by a
/// fresh writer, since the panic may have struck inside `log_line`.
pub fn last_words(line: &[u8]) {
    let _ = Way::open(2).attempt(line);
}

/// `send(fd, bytes, MSG_DONTWAIT | MSG_NOSIGNAL)` until all is sent,
/// retrying EINTR: a socket reply that never waits for the client. The
/// errno when the client does not take it at once (EAGAIN) or is gone.
pub fn send_nowait(fd: BorrowedFd<'_>, bytes: &[u8]) -> Result<(), i32> {
    send_all(fd, bytes, SendFlags::DONTWAIT | SendFlags::NOSIGNAL)
}

/// `send(fd, bytes, flags)` until everything is sent, retrying EINTR; the
/// errno of any other failure. Without `DONTWAIT` it may wait: for the
/// submit client only, which is not in the loop.
pub fn send_all(fd: BorrowedFd<'_>, mut bytes: &[u8], flags: SendFlags) -> Result<(), i32> {
    while !bytes.is_empty() {
        match rustix::net::send(fd, bytes, flags) {
            Ok(n) => bytes = &bytes[n.min(bytes.len())..],
            Err(e) if e.raw_os_error() == EINTR => {}
            Err(e) => return Err(e.raw_os_error()),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustix::fd::{AsRawFd, FromRawFd, OwnedFd};
    use std::os::fd::AsRawFd as _;
    use std::os::unix::fs::OpenOptionsExt;
    use std::time::Duration;

    impl Writer {
        /// A writer to `fd` that uses `sink` (and what fd 2's kind would
        /// fall back to): to test each way on its own.
        fn with_sink(fd: i32, sink: Sink) -> Writer {
            let mut w = Writer::new(fd);
            w.way.sink = sink;
            w
        }
    }

    fn no_notice(_: &mut [u8], _: u64) -> usize {
        panic!("no line was dropped")
    }

    /// `N dropped\n`.
    fn notice(buf: &mut [u8], n: u64) -> usize {
        let text = format!("{n} dropped\n");
        buf[..text.len()].copy_from_slice(text.as_bytes());
        text.len()
    }

    fn pipe() -> (OwnedFd, OwnedFd) {
        rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC).unwrap()
    }

    /// Fill `wr` (through O_NONBLOCK for the moment, as nobody else uses
    /// this pipe) until it takes nothing more.
    fn fill(wr: &OwnedFd) {
        use rustix::fs::{OFlags, fcntl_getfl, fcntl_setfl};
        let flags = fcntl_getfl(wr).unwrap();
        fcntl_setfl(wr, flags | OFlags::NONBLOCK).unwrap();
        while rustix::io::write(wr, &[b'f'; 4096]).is_ok() {}
        fcntl_setfl(wr, flags).unwrap();
    }

    fn drain(rd: &OwnedFd) -> Vec<u8> {
        use rustix::fs::{OFlags, fcntl_getfl, fcntl_setfl};
        let flags = fcntl_getfl(rd).unwrap();
        fcntl_setfl(rd, flags | OFlags::NONBLOCK).unwrap();
        let mut out = Vec::new();
        let mut buf = [0u8; 65536];
        while let Ok(n @ 1..) = rustix::io::read(rd, &mut buf) {
            out.extend_from_slice(&buf[..n]);
        }
        fcntl_setfl(rd, flags).unwrap();
        out
    }

    /// Run `f` on a thread and fail if it has not finished within 20 s:
    /// it waited on a full pipe.
    fn bounded<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || tx.send(f()).unwrap());
        rx.recv_timeout(Duration::from_secs(20))
            .unwrap_or_else(|_| panic!("{what}: blocked on a full pipe"))
    }

    fn private_pipe() -> Sink {
        let (rd, wr) = rustix::pipe::pipe_with(
            rustix::pipe::PipeFlags::CLOEXEC | rustix::pipe::PipeFlags::NONBLOCK,
        )
        .unwrap();
        Sink::Splice {
            rd: into_raw(rd),
            wr: into_raw(wr),
        }
    }

    #[test]
    fn each_way_drops_on_a_full_pipe_and_writes_once_drained() {
        type Make = fn(i32) -> Sink;
        let ways: [(&str, Make); 4] = [
            ("splice", |_| private_pipe()),
            ("own open", |fd| Sink::Own {
                fd: own_open(fd).expect("/proc/self/fd reopen (tests run as root)"),
            }),
            ("RWF_NOWAIT", |_| Sink::NoWait),
            ("free-space check", |_| Sink::Room),
        ];
        for (name, make) in ways {
            let (rd, wr) = pipe();
            let fd = wr.as_raw_fd();
            let mut w = Writer::with_sink(fd, make(fd));
            fill(&wr);
            let (ok, mut w) = bounded(name, move || (w.write_line(b"lost\n", no_notice), w));
            assert!(!ok, "{name}: a full pipe took the line");
            assert_eq!(w.drops().pending(), 1, "{name}");
            let before = drain(&rd);
            assert!(before.iter().all(|&b| b == b'f'), "{name}: a torn line");
            let (ok, w) = bounded(name, move || (w.write_line(b"line\n", notice), w));
            assert!(ok, "{name}: an empty pipe refused the line");
            assert_eq!(w.drops().pending(), 0, "{name}");
            assert_eq!(drain(&rd), b"1 dropped\nline\n", "{name}");
            drop(wr);
        }
    }

    #[test]
    fn a_full_socket_drops_and_never_waits() {
        let (a, b) = rustix::net::socketpair(
            rustix::net::AddressFamily::UNIX,
            rustix::net::SocketType::STREAM,
            rustix::net::SocketFlags::CLOEXEC,
            None,
        )
        .unwrap();
        let mut w = Writer::new(a.as_raw_fd());
        assert_eq!(w.sink(), Sink::Send);
        let (lines, w) = bounded("send", move || {
            let mut n = 0;
            while w.write_line(b"a line of a log\n", no_notice) {
                n += 1;
            }
            (n, w)
        });
        assert!(lines > 0);
        assert_eq!(w.drops().pending(), 1);
        drop(b);
        drop(a);
    }

    #[test]
    fn the_way_follows_what_the_descriptor_is() {
        let (_rd, wr) = pipe();
        assert!(matches!(
            Writer::new(wr.as_raw_fd()).sink(),
            Sink::Splice { .. }
        ));
        let null = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/null")
            .unwrap();
        assert_eq!(Writer::new(null.as_raw_fd()).sink(), Sink::Plain);
        let file = std::fs::File::create(std::env::temp_dir().join("dinit-out-test")).unwrap();
        assert_eq!(Writer::new(file.as_raw_fd()).sink(), Sink::Plain);
        // A number far above any open descriptor: closed.
        assert_eq!(Writer::new(1 << 20).sink(), Sink::Closed);
        // SAFETY: posix_openpt etc. take integers; the fds are owned below.
        let master = unsafe { libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC) };
        assert!(master >= 0);
        // SAFETY: `master` is ours, open.
        let master = unsafe { OwnedFd::from_raw_fd(master) };
        let mut name = [0u8; 64];
        // SAFETY: ptsname_r writes at most `name.len()` bytes.
        unsafe {
            assert_eq!(libc::grantpt(master.as_raw_fd()), 0);
            assert_eq!(libc::unlockpt(master.as_raw_fd()), 0);
            assert_eq!(
                libc::ptsname_r(master.as_raw_fd(), name.as_mut_ptr().cast(), name.len()),
                0
            );
        }
        let name = std::ffi::CStr::from_bytes_until_nul(&name).unwrap();
        let tty = std::fs::OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_NOCTTY)
            .open(name.to_str().unwrap())
            .unwrap();
        let w = Writer::new(tty.as_raw_fd());
        assert!(matches!(w.sink(), Sink::Own { .. }), "{:?}", w.sink());
    }

    #[test]
    fn a_refused_splice_falls_back_to_the_next_way() {
        // Splicing a pipe into itself is EINVAL: the next way takes over.
        // (Its read end non-blocking, as the private pipe's is, for the
        // writer emptying it after the refusal.)
        let (rd, wr) = pipe();
        let flags = rustix::fs::fcntl_getfl(&rd).unwrap();
        rustix::fs::fcntl_setfl(&rd, flags | rustix::fs::OFlags::NONBLOCK).unwrap();
        let same = Sink::Splice {
            rd: into_raw(rustix::io::dup(&rd).unwrap()),
            wr: into_raw(rustix::io::dup(&wr).unwrap()),
        };
        let mut w = Writer::with_sink(wr.as_raw_fd(), same);
        assert!(w.write_line(b"line\n", no_notice));
        assert!(matches!(w.sink(), Sink::Own { .. }), "{:?}", w.sink());
        assert_eq!(drain(&rd), b"line\n");
    }

    #[test]
    fn drops_count_until_reported() {
        let mut d = Drops::default();
        d.dropped();
        d.dropped();
        d.dropped();
        assert_eq!(d.pending(), 3);
        d.delivered(3);
        assert_eq!(d.pending(), 0);
        d.delivered(0);
        assert_eq!(d.pending(), 0);
        d.dropped();
        d.delivered(5);
        assert_eq!(d.pending(), 0);
    }

    #[test]
    fn room_needs_a_surely_free_buffer() {
        let page = 4096;
        let size = 16 * page;
        assert!(room_for(0, size, page));
        assert!(room_for(4096, size, page));
        // 2 + 2*26624/4096 = 15 buffers at most in use of 16.
        assert!(room_for(26_624, size, page));
        assert!(!room_for(26_625, size, page));
        assert!(!room_for(size, size, page));
        // A one-buffer pipe, or an unknown page size larger than the pipe.
        assert!(!room_for(0, page, page));
        assert!(!room_for(0, size, 65_536));
    }
}
