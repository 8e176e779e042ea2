//! The submit role (SPEC §5): `dinit -submit [-socket P] -r CMD ARGS...`,
//! `dinit-submit [-socket P] [-r] CMD ARGS...`, `... -list`,
//! `... -signal SIG TARGET...` and `... -wait -r CMD ARGS...`. It writes
//! one line to the socket (words quoted so the server's `split` gives them
//! back), refuses a line over `LINE_MAX` before connecting, sends nothing
//! to a listener it does not trust (SPEC §10, `trusted`; every connection
//! it makes is checked), waits a bounded time for the reply and exits 0 on
//! `ok`, 1 on an error (printed to stderr), 2 on a usage error. It never
//! listens and never runs start/stop commands. Words are sent as given:
//! only the server expands `$`.
//!
//! `-wait` (the job's exit status is the client's) is the one long-lived
//! exchange: see [`wait_for_job`].

use crate::cli::Setting;
use crate::error::{EACCES, ECONNREFUSED, EINTR, ENOENT, Errno, Error, Num};
use crate::sys::signals::{self, SigSet};
use crate::words::{self, LINE_MAX};
use core::fmt::Write as _;
use rustix::fd::{AsFd, BorrowedFd, OwnedFd};
use rustix::net::{self, AddressFamily, SocketAddrUnix, SocketFlags, SocketType};

/// How long to wait for dinit's reply (for `-wait`, its first line).
pub const REPLY_TIMEOUT_SECS: u64 = 10;

/// What the client asks the server to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verb<'a> {
    /// `-r CMD [ARGS...]...`: start, answer `ok PID...`, done.
    Run,
    /// `-wait -r CMD [ARGS...]`: run with the client's stdin, stdout and
    /// stderr, and wait for its exit status.
    Wait,
    /// `-signal SIG TARGET...`: the signal as written.
    Signal(&'a [u8]),
    /// `-list`.
    List,
}

/// What the command line asks for.
#[derive(Debug, PartialEq, Eq)]
pub struct Request<'a> {
    pub socket: &'a [u8],
    pub verb: Verb<'a>,
    /// `Run` and `Wait`: the words to send, from the first `-r` on
    /// (`implied_r` when the symlinked client was given `CMD ARGS` without
    /// `-r`). `Signal`: the targets. `List`: none.
    pub words: &'a [&'a [u8]],
    pub implied_r: bool,
}

/// Message for an option of the init role given to the client.
const NOT_SUBMIT_OPTION: &str = "not an option of -submit (it takes -socket PATH, -list, -wait, -signal SIG and -r CMD [ARGS...])";

/// The client's own flags.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Own {
    List,
    Wait,
    Signal,
}

/// The client's own flags, `-list`, `-wait` and `-signal`, in Go-flag
/// spellings (`-wait`, `--wait`, `-wait=true`, `-signal=HUP`): which one,
/// and the value after `=`, if any.
fn own_flag(word: &[u8]) -> Option<(Own, Option<&[u8]>)> {
    let crate::cli::FlagWord { name, value, .. } = crate::cli::split_flag(word)?;
    let own = match name {
        b"list" => Own::List,
        b"wait" => Own::Wait,
        b"signal" => Own::Signal,
        _ => return None,
    };
    Some((own, value))
}

fn usage<'a>(what: &'static str, word: &'a [u8]) -> Error<'a> {
    Error::Usage { what, word }
}

/// Parse the submit role's arguments (everything after argv[0]).
/// `symlink` is true for `dinit-submit`, where `-r` may be left out.
///
/// Options come before the command in any order, in Go-flag spellings, as
/// the role dispatcher reads them: `-socket PATH`, `-list`, `-wait`,
/// `-signal SIG`, `-h`/`-help`, and `-submit[=BOOL]` itself (it chose this
/// role; here it is checked and otherwise ignored, so `-socket P -submit`
/// and `-submit -socket P` are the same). As Go's flag package does, the
/// first word that is not an option ends them: with `-signal`, it is the
/// first target, and every word from there on is one (`-signal HUP nginx`
/// is `-signal=HUP nginx`). The init role's other options mean nothing for
/// a submitted command (it is never primary, has no `-timeout` of its own,
/// ...): each is refused by name, exit 2, rather than silently ignored.
pub fn parse<'a>(
    args: &'a [&'a [u8]],
    env_socket: Option<&'a [u8]>,
    symlink: bool,
) -> Result<Request<'a>, Error<'a>> {
    let mut req = Request {
        socket: env_socket.unwrap_or(crate::cli::DEFAULT_SOCKET),
        verb: Verb::Run,
        words: &[],
        implied_r: false,
    };
    // Set by -list, -wait or -signal: only one of them may be (given
    // again, the last value wins, as for any Go flag).
    let mut chosen = false;
    let mut i = 0;
    while let Some(&a) = args.get(i) {
        i += 1;
        if words::is_run_flag(a) {
            req.words = &args[i - 1..];
            break;
        }
        if let Some((own, value)) = own_flag(a) {
            let verb = match (own, value) {
                (Own::Signal, Some(sig)) => Verb::Signal(sig),
                (Own::Signal, None) => {
                    let sig = args.get(i).ok_or(usage("option needs a value", a))?;
                    i += 1;
                    Verb::Signal(sig)
                }
                (_, value) => {
                    let verb = if own == Own::List {
                        Verb::List
                    } else {
                        Verb::Wait
                    };
                    match value.map_or(Some(true), crate::cli::parse_bool) {
                        Some(true) => verb,
                        // `-wait=false` after `-wait`: the last one wins.
                        Some(false) => {
                            if req.verb == verb {
                                (req.verb, chosen) = (Verb::Run, false);
                            }
                            continue;
                        }
                        None => return Err(usage("invalid boolean value", a)),
                    }
                }
            };
            if chosen && core::mem::discriminant(&req.verb) != core::mem::discriminant(&verb) {
                return Err(usage("use only one of -list, -wait and -signal", a));
            }
            chosen = true;
            req.verb = verb;
            continue;
        }
        if let Some(opt) = crate::cli::option_word(a) {
            let value = match opt.value {
                Some(v) => v,
                None if opt.takes_next => {
                    let v = args
                        .get(i)
                        .ok_or(usage("option needs a value", opt.written))?;
                    i += 1;
                    v
                }
                None => b"true",
            };
            match opt.setting {
                Setting::Socket => req.socket = value,
                Setting::Submit if crate::cli::parse_bool(value).is_some() => {}
                Setting::Submit => return Err(usage("invalid value for -submit", value)),
                Setting::Help => match crate::cli::parse_bool(value) {
                    Some(true) => return Err(Error::Help),
                    Some(false) => {}
                    None => return Err(usage("invalid value for -h", value)),
                },
                _ => return Err(usage(NOT_SUBMIT_OPTION, opt.written)),
            }
            continue;
        }
        if !a.starts_with(b"-") && matches!(req.verb, Verb::Signal(_)) {
            req.words = &args[i - 1..];
            break;
        }
        if symlink && !a.starts_with(b"-") {
            req.words = &args[i - 1..];
            req.implied_r = true;
            break;
        }
        return Err(if a.starts_with(b"-") {
            usage(
                "unknown option (use -socket PATH, -list, -wait, -signal SIG or -r CMD [ARGS...])",
                a,
            )
        } else {
            usage(
                "expected -r CMD [ARGS...], -list or -signal SIG TARGET...",
                a,
            )
        });
    }
    let fail = |what| Err(usage(what, b""));
    match req.verb {
        Verb::List if !req.words.is_empty() => return fail("-list takes no command"),
        Verb::Run if req.words.is_empty() => {
            return fail("nothing to submit: use -r CMD [ARGS...], -list or -signal SIG TARGET...");
        }
        Verb::Wait if req.words.is_empty() => return fail("-wait needs -r CMD [ARGS...]"),
        // SPEC §5: the job's status is one process's; refused before
        // anything is sent.
        Verb::Wait if words::groups(req.words).count() > 1 => {
            return fail("-wait takes exactly one -r group");
        }
        Verb::Signal(sig) => {
            if crate::signals::parse(sig).is_none() {
                return Err(usage("unknown signal", sig));
            }
            if req.words.is_empty() {
                return fail("-signal needs a signal and at least one target");
            }
            if let Some(&t) = req
                .words
                .iter()
                .find(|t| t.is_empty() || t.starts_with(b"-"))
            {
                return Err(usage("a target is a pid or a program name", t));
            }
        }
        _ => {}
    }
    if req.words.iter().any(|w| w.contains(&b'\n')) {
        return fail("a word cannot contain a newline");
    }
    if req.socket.is_empty() {
        return fail("the socket path is empty");
    }
    Ok(req)
}

/// Write the request's line into `out`; returns its full length with the
/// newline, which may exceed `out` (then `out` holds only a prefix).
pub fn line(req: &Request<'_>, out: &mut [u8]) -> usize {
    let mut n = 0;
    let mut put = |b: u8| {
        if let Some(slot) = out.get_mut(n) {
            *slot = b;
        }
        n += 1;
    };
    // The line is its parts, one space apart: the verb (none for `-r`),
    // `-signal`'s signal, the `-r` the symlinked client may leave out,
    // then the words. Each but the verb and the group starters (`-r`,
    // `-r:SIG`, as given) is quoted.
    let (verb, sig): (Option<&[u8]>, _) = match req.verb {
        Verb::List => (Some(b"-list"), None),
        Verb::Signal(sig) => (Some(b"-signal"), Some(sig)),
        Verb::Wait => (Some(b"-wait"), None),
        Verb::Run => (None, None),
    };
    let implied_r: Option<&[u8]> = req.implied_r.then_some(b"-r");
    let parts = verb
        .map(|v| (v, false))
        .into_iter()
        .chain(sig.map(|s| (s, true)))
        .chain(implied_r.map(|r| (r, false)))
        .chain(req.words.iter().map(|&w| (w, !words::is_run_flag(w))));
    for (i, (part, quoted)) in parts.enumerate() {
        if i > 0 {
            put(b' ');
        }
        if quoted {
            words::quote(part, &mut put);
        } else {
            part.iter().for_each(|&b| put(b));
        }
    }
    put(b'\n');
    n
}

/// Run the submit role; returns the exit code.
pub fn run(args: &'static [&'static [u8]], symlink: bool) -> u8 {
    // Before anything is opened: a closed stdout must not become the
    // socket (the reply would be written into it, a `-wait` job would get
    // it as its output).
    if let Err(errno) = crate::sys::fdpass::open_closed_stdio() {
        say(format_args!(
            "a standard descriptor is closed and /dev/null cannot stand in: {}",
            Errno(errno)
        ));
        return 1;
    }
    let req = match parse(args, crate::sys::args::getenv(b"DINIT_SOCKET"), symlink) {
        Ok(r) => r,
        Err(Error::Help) => {
            let _ = crate::sys::write_all(1, crate::version::USAGE.as_bytes());
            return 0;
        }
        Err(e) => {
            say(format_args!("{e}"));
            return e.exit_code();
        }
    };
    let mut buf = [0u8; LINE_MAX];
    let len = line(&req, &mut buf);
    if len > LINE_MAX {
        say(format_args!(
            "command line is {} bytes with the newline; the most dinit accepts is {}",
            Num(len),
            Num(LINE_MAX)
        ));
        return 1;
    }
    if req.verb == Verb::Wait {
        return wait_for_job(req.socket, &buf[..len]);
    }
    match exchange(req.socket, &buf[..len], req.verb == Verb::List) {
        Ok(()) => 0,
        Err(()) => 1,
    }
}

/// Print the message and fail.
fn fail<T>(args: core::fmt::Arguments<'_>) -> Result<T, ()> {
    say(args);
    Err(())
}

fn say(args: core::fmt::Arguments<'_>) {
    let mut l = crate::log::LogLine::new();
    l.push(b"dinit-submit: ");
    let _ = l.write_fmt(args);
    let _ = crate::sys::write_all(2, l.finish());
}

/// Connect to `path` and check that the listener is one to trust (SPEC
/// §10) before anything is sent; with the reply timeout set both ways.
/// Errors are printed here.
fn connect_trusted(path: &[u8]) -> Result<OwnedFd, ()> {
    let p = crate::error::Bytes(path);
    let addr =
        SocketAddrUnix::new(path).map_err(|_| say(format_args!("invalid socket path {p}")))?;
    let fd = net::socket_with(
        AddressFamily::UNIX,
        SocketType::STREAM,
        SocketFlags::CLOEXEC,
        None,
    )
    .map_err(|e| {
        say(format_args!(
            "I/O error: socket: {}",
            Errno(e.raw_os_error())
        ))
    })?;
    let timeout = Some(core::time::Duration::from_secs(REPLY_TIMEOUT_SECS));
    let _ = net::sockopt::set_socket_timeout(&fd, net::sockopt::Timeout::Recv, timeout);
    let _ = net::sockopt::set_socket_timeout(&fd, net::sockopt::Timeout::Send, timeout);
    if let Err(e) = net::connect(&fd, &addr) {
        return match e.raw_os_error() {
            ENOENT | ECONNREFUSED => fail(format_args!(
                "nobody is listening on {p} (is dinit running with its socket?)"
            )),
            EACCES => fail(format_args!("permission denied connecting to {p}")),
            errno => fail(format_args!(
                "I/O error connecting to {p}: {}",
                Errno(errno)
            )),
        };
    }
    // SPEC §10: before a byte is sent, make sure the listener is dinit and
    // not another user's socket bound first at a path in a world-writable
    // `/tmp`. Nothing has been sent yet, so refusing costs nothing.
    let me = crate::sys::getuid();
    match crate::sys::peer_cred(fd.as_fd()) {
        Ok(cred) if trusted(cred, me) => Ok(fd),
        Ok(cred) => fail(format_args!(
            "not sending to {p}: its listener runs as uid {}, neither root nor uid {}, and is not PID 1 here",
            Num(cred.uid),
            Num(me)
        )),
        Err(errno) => fail(format_args!(
            "I/O error reading the listener's credentials on {p}: {}",
            Errno(errno)
        )),
    }
}

/// Connect, send the line, relay the reply. Errors are printed here.
#[inline(never)] // its reply buffer stays out of `main`'s frame
fn exchange(path: &[u8], line: &[u8], list: bool) -> Result<(), ()> {
    let p = crate::error::Bytes(path);
    let fd = connect_trusted(path)?;
    // A server that refuses us (permission denied, too many clients) may
    // answer and close before our line is sent: then the send fails, but the
    // reply is waiting, and it is the better message.
    let send_error = crate::sys::out::send_all(fd.as_fd(), line, net::SendFlags::NOSIGNAL).err();
    // Relay the reply line by line: `ok ...` and list lines to stdout,
    // `error: ...` lines to stderr.
    let mut lines = Lines::new();
    let mut got_any = false;
    let mut failed = false;
    loop {
        let e = match lines.next(fd.as_fd()) {
            Ok(Some(piece)) => {
                failed |= relay(piece);
                got_any = true;
                continue;
            }
            Ok(None) => break,
            Err(e) => e,
        };
        if e == crate::error::EAGAIN {
            return fail(format_args!("timed out waiting for dinit's reply"));
        }
        // The server closed without reading everything we sent (it refused
        // us): what it wrote before is the whole reply.
        let rest = lines.unread();
        if got_any || !rest.is_empty() {
            if !rest.is_empty() {
                failed |= relay(rest);
                got_any = true;
            }
            break;
        }
        return match send_error {
            Some(errno) => fail(format_args!("I/O error sending to {p}: {}", Errno(errno))),
            None => fail(format_args!("I/O error reading the reply: {}", Errno(e))),
        };
    }
    if !got_any && !list {
        return fail(format_args!("dinit closed the connection without a reply"));
    }
    if failed { Err(()) } else { Ok(()) }
}

/// The client's trust rule (SPEC §10): a listener that is PID 1 of our PID
/// namespace (a container's dinit, whatever uid it runs as), or runs as
/// root, or as our own uid. The pid is the kernel's translation into our
/// namespace: 0 when the listener lives outside it (a sidecar sharing only a
/// volume), which proves nothing, so then the uid alone decides. The
/// listener's pid in its *own* namespace (`NSpid` in /proc) is deliberately
/// not used: any user can make a PID namespace and be PID 1 in it.
pub fn trusted(listener: crate::sys::PeerCred, own_uid: u32) -> bool {
    listener.pid == 1 || listener.uid == 0 || listener.uid == own_uid
}

/// Print one reply line; true when it is an error.
fn relay(line: &[u8]) -> bool {
    if line.starts_with(b"error: ") {
        let _ = crate::sys::write_all(2, b"dinit-submit: ");
        let _ = crate::sys::write_all(2, line);
        true
    } else {
        let _ = crate::sys::write_all(1, line);
        false
    }
}

/// The signals a waiting client passes on to its job (SPEC §5): what a
/// terminal, `docker exec -it` or `kubectl exec` sends to the process in
/// front, so Ctrl-C, a hang-up, a resize reach the job as they would reach
/// it run directly.
pub const FORWARDED: [i32; 7] = [
    signals::SIGINT,
    signals::SIGTERM,
    signals::SIGHUP,
    signals::SIGQUIT,
    10, // SIGUSR1
    12, // SIGUSR2
    28, // SIGWINCH
];

/// The exit code when the wait itself fails: dinit refused the job, could
/// not be reached, or the connection ended before the job's `exit` line
/// (dinit killed, the container stopping under us). 1, as for every other
/// failure of the client (SPEC §5); the message on stderr says which.
pub const EXIT_WAIT_FAILED: u8 = 1;

/// What one reply line of a `-wait` exchange says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitReply {
    /// `ok PID`: the job runs.
    Started(i32),
    /// `exit CODE`: the job is over, with the exit status table's code.
    Exited(u8),
    /// `error: REASON`.
    Refused,
    /// Anything else: not a dinit that knows `-wait`.
    Unexpected,
}

/// Read one reply line (without its newline).
pub fn wait_reply(line: &[u8]) -> WaitReply {
    fn number(digits: &[u8], max: u64) -> Option<u64> {
        if digits.len() > 10 {
            return None;
        }
        crate::error::parse_decimal(digits).filter(|&n| n <= max)
    }
    if line.starts_with(b"error: ") {
        return WaitReply::Refused;
    }
    if let Some(pid) = line
        .strip_prefix(b"ok ")
        .and_then(|d| number(d, i32::MAX as u64))
        .filter(|&p| p > 0)
    {
        return WaitReply::Started(pid as i32);
    }
    match line.strip_prefix(b"exit ").and_then(|d| number(d, 255)) {
        Some(code) => WaitReply::Exited(code as u8),
        None => WaitReply::Unexpected,
    }
}

/// The longest piece of a reply [`Lines`] hands out at once: every
/// reply line of dinit's is shorter.
const REPLY_PIECE: usize = 1024;

/// Reply lines from a socket, read into a fixed buffer.
struct Lines {
    buf: [u8; REPLY_PIECE],
    /// Bytes in `buf`: the unread rest after the piece taken last.
    have: usize,
    /// Length of the piece `next` handed out last, removed on the
    /// following call.
    taken: usize,
}

impl Lines {
    const fn new() -> Lines {
        Lines {
            buf: [0; REPLY_PIECE],
            have: 0,
            taken: 0,
        }
    }

    /// The next piece of the reply: a line with its newline; or, without
    /// one, what there is when the buffer is full or the stream ended.
    /// `Ok(None)` at the end of the stream. Reads as needed, blocking as
    /// the socket does.
    fn next(&mut self, fd: BorrowedFd<'_>) -> Result<Option<&[u8]>, i32> {
        self.buf.copy_within(self.taken..self.have, 0);
        self.have -= self.taken;
        self.taken = 0;
        loop {
            let end = match self.buf[..self.have].iter().position(|&b| b == b'\n') {
                Some(nl) => nl + 1,
                None if self.have == self.buf.len() => self.have,
                None => match rustix::io::read(fd, &mut self.buf[self.have..]) {
                    Ok(0) if self.have == 0 => return Ok(None),
                    Ok(0) => self.have,
                    Ok(n) => {
                        self.have += n;
                        continue;
                    }
                    Err(e) if e.raw_os_error() == EINTR => continue,
                    Err(e) => return Err(e.raw_os_error()),
                },
            };
            self.taken = end;
            return Ok(Some(&self.buf[..end]));
        }
    }

    /// The next reply line, without its newline; `Ok(None)` at the end of
    /// the stream, and for a piece without a newline (a last line cut
    /// short, or one longer than any reply), which is no reply.
    fn next_line(&mut self, fd: BorrowedFd<'_>) -> Result<Option<&[u8]>, i32> {
        Ok(self.next(fd)?.and_then(|piece| piece.strip_suffix(b"\n")))
    }

    /// What was read but not handed out yet.
    fn unread(&self) -> &[u8] {
        &self.buf[self.taken..self.have]
    }

    /// Whether a complete line is waiting unread (so there is no need to
    /// wait for the socket before asking `next`).
    fn ready(&self) -> bool {
        self.unread().contains(&b'\n')
    }
}

/// `dinit -submit -wait -r CMD ARGS...` (SPEC §5): run CMD under dinit with
/// this process's stdin, stdout and stderr, wait for it and return its exit
/// status; print nothing of our own unless something fails.
///
/// 1. The forwarded signals are blocked and read through a signalfd from
///    the start, so one that arrives before the job's pid is known waits
///    (pending) instead of killing the client and orphaning the job.
/// 2. The line goes out with fds 0, 1 and 2 in the same `sendmsg`
///    (`SCM_RIGHTS`); a standard descriptor that was closed is `/dev/null`
///    by then (`run`), so the job gets three, as dinit wants.
/// 3. `ok PID` (bounded by the reply timeout), then a `poll` on the socket
///    and the signalfd, with no timeout: a job may run for hours.
/// 4. Each signal is sent on as `-signal N PID` over a connection of its
///    own (the first one carries only dinit's replies).
/// 5. `exit CODE` is the exit code. A connection that ends before it is
///    [`EXIT_WAIT_FAILED`] with a message naming the job.
#[inline(never)] // its buffers stay out of `main`'s frame
fn wait_for_job(path: &[u8], line: &[u8]) -> u8 {
    let mut set = SigSet::EMPTY;
    for sig in FORWARDED {
        set = set.with(sig);
    }
    // The mask the role started with, plus the forwarded ones.
    signals::block(set);
    let sigfd = match signals::signalfd(set) {
        Ok(fd) => fd,
        Err(e) => {
            say(format_args!("unable to create a signalfd: {}", Errno(e)));
            return EXIT_WAIT_FAILED;
        }
    };
    let Ok(sock) = connect_trusted(path) else {
        return EXIT_WAIT_FAILED;
    };
    // A server that refuses us (too many clients) may answer and close
    // before the line is sent: its reply, if any, is the better message.
    let send_error = send_with_stdio(sock.as_fd(), line).err();
    let mut lines = Lines::new();
    let first = lines.next_line(sock.as_fd());
    if let Some(errno) = send_error
        && !matches!(first, Ok(Some(l)) if l.starts_with(b"error: "))
    {
        say(format_args!("I/O error sending the line: {}", Errno(errno)));
        return EXIT_WAIT_FAILED;
    }
    let pid = match first {
        Ok(Some(l)) => match wait_reply(l) {
            WaitReply::Started(pid) => pid,
            WaitReply::Refused => {
                relay_line(l);
                return EXIT_WAIT_FAILED;
            }
            _ => {
                say(format_args!(
                    "unexpected reply from dinit: {}",
                    crate::error::Bytes(l)
                ));
                return EXIT_WAIT_FAILED;
            }
        },
        Ok(None) => {
            say(format_args!("dinit closed the connection without a reply"));
            return EXIT_WAIT_FAILED;
        }
        Err(e) if e == crate::error::EAGAIN => {
            say(format_args!("timed out waiting for dinit's reply"));
            return EXIT_WAIT_FAILED;
        }
        Err(e) => {
            say(format_args!("I/O error reading the reply: {}", Errno(e)));
            return EXIT_WAIT_FAILED;
        }
    };
    // From now on the job's end decides, however long it takes.
    let _ = net::sockopt::set_socket_timeout(&sock, net::sockopt::Timeout::Recv, None);
    loop {
        if !lines.ready() {
            use rustix::event::{PollFd, PollFlags, poll};
            let mut fds = [
                PollFd::new(&sock, PollFlags::IN),
                PollFd::new(&sigfd, PollFlags::IN),
            ];
            match poll(&mut fds, None) {
                Ok(_) => {}
                Err(e) if e.raw_os_error() == EINTR => continue,
                Err(e) => {
                    say(format_args!("I/O error: poll: {}", Errno(e.raw_os_error())));
                    return EXIT_WAIT_FAILED;
                }
            }
            if !fds[1].revents().is_empty() {
                forward_pending(sigfd.as_fd(), path, pid);
            }
            if fds[0].revents().is_empty() {
                continue;
            }
        }
        let end = match lines.next_line(sock.as_fd()) {
            Ok(Some(l)) => match wait_reply(l) {
                WaitReply::Exited(code) => return code,
                WaitReply::Refused => {
                    relay_line(l);
                    continue;
                }
                _ => continue,
            },
            Ok(None) => None,
            Err(e) => Some(e),
        };
        let why = match end {
            None => "dinit closed the connection",
            Some(_) => "the connection to dinit failed",
        };
        say(format_args!(
            "{why} before job {} exited; its exit status is unknown",
            Num(pid)
        ));
        return EXIT_WAIT_FAILED;
    }
}

/// Print a reply line that came without its newline as `relay` would.
fn relay_line(l: &[u8]) {
    let _ = crate::sys::write_all(2, b"dinit-submit: ");
    let _ = crate::sys::write_all(2, l);
    let _ = crate::sys::write_all(2, b"\n");
}

/// Send `line` with this process's fds 0, 1 and 2 attached; the errno of
/// a failure.
fn send_with_stdio(sock: BorrowedFd<'_>, line: &[u8]) -> Result<(), i32> {
    let n = crate::sys::fdpass::send_with_stdio(sock, line)?;
    crate::sys::out::send_all(sock, &line[n.min(line.len())..], net::SendFlags::NOSIGNAL)
}

/// Send every pending forwarded signal to the job as `-signal N PID`.
fn forward_pending(sigfd: BorrowedFd<'_>, path: &[u8], pid: i32) {
    let mut infos = [signals::SigInfo::default(); 16];
    loop {
        let n = signals::read_signals(sigfd, &mut infos);
        if n == 0 {
            return;
        }
        for info in &infos[..n] {
            forward(path, info.signo, pid);
        }
    }
}

/// One `-signal N PID` exchange. A job that has just ended ("no managed
/// process matches") is not worth a word: its `exit` line is on its way.
/// Other failures are said, and the wait goes on.
fn forward(path: &[u8], sig: i32, pid: i32) {
    let mut text = crate::log::LogLine::new();
    let _ = write!(text, "-signal {} {}", Num(sig), Num(pid));
    let Ok(sock) = connect_trusted(path) else {
        return;
    };
    if let Err(errno) =
        crate::sys::out::send_all(sock.as_fd(), text.finish(), net::SendFlags::NOSIGNAL)
    {
        say(format_args!(
            "unable to pass {} on to job {}: {}",
            crate::error::SigName(sig),
            Num(pid),
            Errno(errno)
        ));
        return;
    }
    let mut lines = Lines::new();
    if let Ok(Some(l)) = lines.next_line(sock.as_fd())
        && l.starts_with(b"error: ")
        && !l.starts_with(b"error: no managed process matches")
    {
        say(format_args!(
            "unable to pass {} on to job {}: {}",
            crate::error::SigName(sig),
            Num(pid),
            crate::error::Bytes(l)
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req<'a>(args: &'a [&'a [u8]], symlink: bool) -> Result<Request<'a>, Error<'a>> {
        parse(args, None, symlink)
    }

    /// The usage error's message for `args`.
    fn err(args: &str, symlink: bool) -> String {
        let v: Vec<&[u8]> = args.split(' ').map(str::as_bytes).collect();
        match parse(&v, None, symlink) {
            Ok(r) => panic!("{args}: expected an error, got {r:?}"),
            Err(e) => {
                assert_eq!(e.exit_code(), 2, "{args}");
                e.to_string()
            }
        }
    }

    fn line_of(args: &[&[u8]], symlink: bool) -> String {
        let r = req(args, symlink).unwrap();
        let mut out = [0u8; 1024];
        let n = line(&r, &mut out);
        String::from_utf8(out[..n].to_vec()).unwrap()
    }

    #[test]
    fn options() {
        let r = req(&[b"-socket", b"/x.sock", b"-r", b"a"], false).unwrap();
        assert_eq!(r.socket, b"/x.sock");
        assert_eq!(r.words, &[b"-r" as &[u8], b"a"]);
        let r = req(&[b"--socket=/y", b"-list"], false).unwrap();
        assert_eq!(r.socket, b"/y");
        assert_eq!(r.verb, Verb::List);
        assert_eq!(
            req(&[b"-r", b"x"], false).unwrap().socket,
            b"/tmp/dinit.sock"
        );
        assert_eq!(
            parse(&[b"-r", b"x"], Some(b"/env"), false).unwrap().socket,
            b"/env"
        );
        assert!(req(&[], false).is_err());
        assert!(req(&[b"-socket"], false).is_err());
        assert!(req(&[b"-bogus", b"-r", b"x"], false).is_err());
        assert!(req(&[b"sleep", b"1"], false).is_err());
        assert!(req(&[b"-list", b"-r", b"x"], false).is_err());
        assert!(req(&[b"-r", b"a\nb"], false).is_err());
        assert!(req(&[b"-socket=", b"-r", b"x"], false).is_err());
        let r = req(&[b"sleep", b"1"], true).unwrap();
        assert!(r.implied_r);
    }

    #[test]
    fn options_in_any_order() {
        // What the dispatcher hands on: everything after argv[0], the
        // -submit that chose the role included, wherever it stands.
        // (arguments, the socket, -list)
        type Case = (&'static [&'static [u8]], &'static [u8], bool);
        let table: &[Case] = &[
            (&[b"-socket", b"/a", b"-submit", b"-r", b"x"], b"/a", false),
            (&[b"-submit", b"-socket", b"/a", b"-r", b"x"], b"/a", false),
            (&[b"--socket=/a", b"--submit=true", b"-list"], b"/a", true),
            (&[b"-list", b"-submit", b"-socket", b"/a"], b"/a", true),
            (&[b"-submit", b"-list", b"-socket=/a"], b"/a", true),
            (
                &[b"-submit", b"-submit=1", b"-r", b"x"],
                b"/tmp/dinit.sock",
                false,
            ),
            // The value of -socket is a value, whatever it looks like.
            (
                &[b"-socket", b"-submit", b"-submit", b"-r", b"x"],
                b"-submit",
                false,
            ),
        ];
        for &(args, socket, list) in table {
            let r = req(args, false).unwrap_or_else(|e| panic!("{args:?}: {e}"));
            assert_eq!((r.socket, r.verb == Verb::List), (socket, list), "{args:?}");
            assert_eq!(r.words.is_empty(), list, "{args:?}");
        }
        // After -r everything is the command's.
        let r = req(&[b"-submit", b"-r", b"echo", b"-socket", b"/x"], false).unwrap();
        assert_eq!(r.socket, b"/tmp/dinit.sock");
        assert_eq!(r.words, &[b"-r" as &[u8], b"echo", b"-socket", b"/x"]);
        // The symlinked client also takes -submit.
        let r = req(&[b"-submit", b"-socket", b"/a", b"sleep", b"1"], true).unwrap();
        assert!(r.implied_r && r.socket == b"/a");
        assert_eq!(req(&[b"-h"], true), Err(Error::Help));
        assert_eq!(req(&[b"-submit", b"--help"], false), Err(Error::Help));
    }

    #[test]
    fn usage_errors_name_the_word() {
        let table: &[(&str, &str)] = &[
            (
                "-submit -timeout 5 -r x",
                "not an option of -submit (it takes -socket PATH, -list, -wait, -signal SIG and -r CMD [ARGS...]): -timeout",
            ),
            (
                "--pgroup -submit -r x",
                "not an option of -submit (it takes -socket PATH, -list, -wait, -signal SIG and -r CMD [ARGS...]): --pgroup",
            ),
            (
                "-submit -bogus -r x",
                "unknown option (use -socket PATH, -list, -wait, -signal SIG or -r CMD [ARGS...]): -bogus",
            ),
            ("-submit -socket", "option needs a value: -socket"),
            ("-submit=maybe -r x", "invalid value for -submit: maybe"),
            (
                "-submit sleep 1",
                "expected -r CMD [ARGS...], -list or -signal SIG TARGET...: sleep",
            ),
            ("-submit -list -r x", "-list takes no command"),
            (
                "-submit",
                "nothing to submit: use -r CMD [ARGS...], -list or -signal SIG TARGET...",
            ),
            ("-submit -wait", "-wait needs -r CMD [ARGS...]"),
            (
                "-submit -wait -r a -r b",
                "-wait takes exactly one -r group",
            ),
            (
                "-submit -wait -r a -r:QUIT b",
                "-wait takes exactly one -r group",
            ),
            (
                "-submit -wait=maybe -r a",
                "invalid boolean value: -wait=maybe",
            ),
            (
                "-submit -wait -list",
                "use only one of -list, -wait and -signal: -list",
            ),
            (
                "-submit -list -signal HUP x",
                "use only one of -list, -wait and -signal: -signal",
            ),
            ("-submit -signal", "option needs a value: -signal"),
            (
                "-submit -signal HUP",
                "-signal needs a signal and at least one target",
            ),
            ("-submit -signal BOGUS x", "unknown signal: BOGUS"),
            ("-submit -signal=0 x", "unknown signal: 0"),
            (
                "-submit -signal HUP x -socket /y",
                "a target is a pid or a program name: -socket",
            ),
            (
                "-submit -signal HUP -r x",
                "a target is a pid or a program name: -r",
            ),
            ("-submit -socket= -r x", "the socket path is empty"),
        ];
        for &(args, want) in table {
            assert_eq!(err(args, false), want, "{args}");
        }
        assert_eq!(
            err("-quiet sleep 1", true),
            "not an option of -submit (it takes -socket PATH, -list, -wait, -signal SIG and -r CMD [ARGS...]): -quiet"
        );
        assert_eq!(
            err("-wait sleep 1 -r x", true),
            "-wait takes exactly one -r group"
        );
    }

    #[test]
    fn trust_rule() {
        use crate::sys::PeerCred;
        let cred = |pid, uid| PeerCred { pid, uid };
        // (listener pid as we see it, listener uid, our uid, trusted)
        let table: &[(i32, u32, u32, bool)] = &[
            (1, 1000, 0, true),       // PID 1 of our namespace: the container's dinit
            (1, 65532, 1000, true),   // whatever uid it runs as
            (4242, 0, 1000, true),    // root
            (4242, 1000, 1000, true), // our own uid
            (4242, 1000, 0, false),   // another user's listener: an impostor
            (4242, 1000, 65534, false),
            (0, 0, 1000, true), // outside our namespace: the uid decides
            (0, 1000, 1000, true),
            (0, 1000, 0, false),
            (0, 65534, 1000, false),
        ];
        for &(pid, uid, me, want) in table {
            assert_eq!(
                trusted(cred(pid, uid), me),
                want,
                "pid {pid} uid {uid} me {me}"
            );
        }
    }

    #[test]
    fn lines() {
        assert_eq!(
            line_of(&[b"-r", b"/bin/sleep", b"20"], false),
            "-r /bin/sleep 20\n"
        );
        assert_eq!(line_of(&[b"sleep", b"20"], true), "-r sleep 20\n");
        assert_eq!(line_of(&[b"-list"], false), "-list\n");
        assert_eq!(
            line_of(
                &[b"-r", b"echo", b"a b", b"", b"q\"x", b"\\-r", b"$HOME"],
                false
            ),
            "-r echo \"a b\" \"\" \"q\"\"x\" \\-r $HOME\n"
        );
        assert_eq!(line_of(&[b"-r", b"a", b"-r", b"b"], false), "-r a -r b\n");
    }

    #[test]
    fn line_then_split_gives_the_words_back() {
        let words: [&[u8]; 6] = [b"-r", b"echo", b"a b", b"", b"q\"x", b"\t"];
        let r = req(&words, false).unwrap();
        let mut out = [0u8; 512];
        let n = line(&r, &mut out);
        let mut spans = heapless::Vec::new();
        words::split(&mut out[..n - 1], &mut spans).unwrap();
        let got: Vec<&[u8]> = spans.iter().map(|s| s.get(&out)).collect();
        assert_eq!(got, words);
    }

    #[test]
    fn size_is_counted_past_the_buffer() {
        let big = [b'a'; 600];
        let args: [&[u8]; 3] = [b"-r", b"echo", &big];
        let r = req(&args, false).unwrap();
        let mut out = [0u8; LINE_MAX];
        assert_eq!(line(&r, &mut out), 3 + 5 + 600 + 1);
        // 512 exactly (with the newline) fits; 513 does not.
        let fill = [b'b'; 512 - 9];
        let args: [&[u8]; 3] = [b"-r", b"echo", &fill];
        assert_eq!(line(&req(&args, false).unwrap(), &mut out), 512);
    }

    #[test]
    fn wait_and_signal_requests() {
        let r = req(&[b"-wait", b"-r", b"cat"], false).unwrap();
        assert_eq!(r.verb, Verb::Wait);
        let r = req(&[b"-r:QUIT", b"x"], false).unwrap();
        assert_eq!(r.verb, Verb::Run);
        // -wait=false is no -wait (Go booleans); the last word wins.
        let r = req(&[b"-wait", b"-wait=false", b"-r", b"x"], false).unwrap();
        assert_eq!(r.verb, Verb::Run);
        let r = req(&[b"--wait=true", b"-socket", b"/s", b"-r", b"x"], false).unwrap();
        assert_eq!((r.verb, r.socket), (Verb::Wait, &b"/s"[..]));
        // The symlink: -wait CMD with the -r left out.
        let r = req(&[b"-wait", b"sleep", b"1"], true).unwrap();
        assert_eq!((r.verb, r.implied_r), (Verb::Wait, true));
        // -signal SIG, then options, then the targets (Go: the first
        // word that is not an option ends them).
        let r = req(
            &[b"-signal", b"HUP", b"-socket", b"/s", b"nginx", b"12"],
            false,
        )
        .unwrap();
        assert_eq!(r.verb, Verb::Signal(b"HUP"));
        assert_eq!(r.socket, b"/s");
        assert_eq!(r.words, &[b"nginx" as &[u8], b"12"]);
        let r = req(&[b"-signal=HUP", b"-signal=QUIT", b"x"], false).unwrap();
        assert_eq!(r.verb, Verb::Signal(b"QUIT"));
        let r = req(&[b"--signal=rtmin+3", b"x"], true).unwrap();
        assert_eq!((r.verb, r.implied_r), (Verb::Signal(b"rtmin+3"), false));
    }

    #[test]
    fn wait_and_signal_lines() {
        assert_eq!(
            line_of(&[b"-wait", b"-r", b"sh", b"-c", b"exit 3"], false),
            "-wait -r sh -c \"exit 3\"\n"
        );
        assert_eq!(line_of(&[b"-wait", b"cat"], true), "-wait -r cat\n");
        assert_eq!(
            line_of(&[b"-signal", b"HUP", b"nginx", b"12"], false),
            "-signal HUP nginx 12\n"
        );
        assert_eq!(
            line_of(&[b"-signal=9", b"my app"], false),
            "-signal 9 \"my app\"\n"
        );
    }

    #[test]
    fn the_server_reads_what_the_client_writes() {
        // Every line the client can write parses on the server as the same
        // request (crate::request), words and all.
        use crate::request::{self, Request as Server};
        let cases: &[(&[&[u8]], bool)] = &[
            (&[b"-wait", b"-r", b"echo", b"a b", b"\\-r", b""], false),
            (&[b"-wait", b"sleep", b"1"], true),
            (&[b"-signal", b"QUIT", b"nginx", b"php fpm", b"12"], false),
            (&[b"-r", b"a", b"-r:TERM", b"b"], false),
            (&[b"-list"], false),
        ];
        for &(args, symlink) in cases {
            let r = req(args, symlink).unwrap();
            let mut out = [0u8; LINE_MAX];
            let n = line(&r, &mut out);
            let parsed = request::parse(&mut out[..n]).unwrap();
            let with_r: Vec<&[u8]> = if r.implied_r {
                [&b"-r"[..]]
                    .into_iter()
                    .chain(r.words.iter().copied())
                    .collect()
            } else {
                r.words.to_vec()
            };
            match (r.verb, parsed) {
                (Verb::Wait, Server::Wait(ws)) | (Verb::Run, Server::Run(ws)) => {
                    assert_eq!(&ws[..], &with_r[..], "{args:?}")
                }
                (Verb::Signal(sig), Server::Signal { sig: n, targets }) => {
                    assert_eq!(Some(n), crate::signals::parse(sig));
                    assert_eq!(&targets[..], r.words, "{args:?}");
                }
                (Verb::List, Server::List) => {}
                (v, p) => panic!("{args:?}: {v:?} became {p:?}"),
            }
        }
    }

    #[test]
    fn wait_replies() {
        let table: &[(&str, WaitReply)] = &[
            ("ok 42", WaitReply::Started(42)),
            ("ok 2147483647", WaitReply::Started(i32::MAX)),
            ("exit 0", WaitReply::Exited(0)),
            ("exit 143", WaitReply::Exited(143)),
            ("exit 255", WaitReply::Exited(255)),
            ("error: no -r", WaitReply::Refused),
            ("ok 0", WaitReply::Unexpected),
            ("ok 42 43", WaitReply::Unexpected),
            ("ok", WaitReply::Unexpected),
            ("ok 2147483648", WaitReply::Unexpected),
            ("exit 256", WaitReply::Unexpected),
            ("exit -1", WaitReply::Unexpected),
            ("exit", WaitReply::Unexpected),
            ("pid 1 primary yes", WaitReply::Unexpected),
            ("", WaitReply::Unexpected),
        ];
        for &(l, want) in table {
            assert_eq!(wait_reply(l.as_bytes()), want, "{l:?}");
        }
    }

    #[test]
    fn lines_come_one_at_a_time() {
        let (a, b) = rustix::net::socketpair(
            AddressFamily::UNIX,
            SocketType::STREAM,
            SocketFlags::CLOEXEC,
            None,
        )
        .unwrap();
        rustix::io::write(&a, b"ok 7\nexit 3\npartial").unwrap();
        drop(a);
        let mut l = Lines::new();
        assert_eq!(l.next_line(b.as_fd()).unwrap(), Some(&b"ok 7"[..]));
        assert!(l.ready());
        assert_eq!(l.next_line(b.as_fd()).unwrap(), Some(&b"exit 3"[..]));
        assert!(!l.ready());
        // A last line without its newline is no reply.
        assert_eq!(l.next_line(b.as_fd()).unwrap(), None);
    }

    #[test]
    fn pieces_keep_every_byte() {
        // What `exchange` relays: lines with their newlines, a line longer
        // than the buffer in pieces, and a last line without a newline.
        let (a, b) = rustix::net::socketpair(
            AddressFamily::UNIX,
            SocketType::STREAM,
            SocketFlags::CLOEXEC,
            None,
        )
        .unwrap();
        let long = vec![b'x'; REPLY_PIECE + 10];
        let mut sent = b"pid 1\n".to_vec();
        sent.extend_from_slice(&long);
        sent.extend_from_slice(b"\nerror: no\nlast");
        crate::sys::write_all(rustix::fd::AsRawFd::as_raw_fd(&a), &sent).unwrap();
        drop(a);
        let mut l = Lines::new();
        let mut pieces = Vec::new();
        while let Some(p) = l.next(b.as_fd()).unwrap() {
            pieces.push(p.to_vec());
        }
        assert_eq!(pieces.concat(), sent);
        assert_eq!(pieces[0], b"pid 1\n");
        assert_eq!(pieces[1].len(), REPLY_PIECE);
        assert_eq!(pieces[2].len(), 11);
        assert_eq!(pieces[3], b"error: no\n");
        assert_eq!(pieces[4], b"last");
        assert_eq!(pieces.len(), 5);
    }
}
