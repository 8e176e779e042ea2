//! The submit role (SPEC §5): `dinit -submit [-socket P] -r CMD ARGS...`,
//! `dinit-submit [-socket P] [-r] CMD ARGS...`, or `... -list`. It writes
//! one line to the socket (words quoted so the server's `split` gives them
//! back), refuses a line over `LINE_MAX` before connecting, sends nothing
//! to a listener it does not trust (SPEC §10, `trusted`), waits a bounded
//! time for the reply and exits 0 on `ok`, 1 on an error (printed to
//! stderr), 2 on a usage error. It never listens and never runs start/stop
//! commands. Words are sent as given: only the server expands `$`.

use crate::error::{EACCES, ECONNREFUSED, EINTR, ENOENT, Errno, Error, Num};
use crate::words::{self, LINE_MAX};
use core::fmt::Write as _;
use rustix::fd::AsFd;
use rustix::net::{self, AddressFamily, SocketAddrUnix, SocketFlags, SocketType};

/// How long to wait for dinit's reply.
pub const REPLY_TIMEOUT_SECS: u64 = 10;

/// What the command line asks for.
#[derive(Debug, PartialEq, Eq)]
pub struct Request<'a> {
    pub socket: &'a [u8],
    pub list: bool,
    /// The words to send, from the first `-r` on (`implied_r` when the
    /// symlinked client was given `CMD ARGS` without `-r`).
    pub words: &'a [&'a [u8]],
    pub implied_r: bool,
}

/// Message for an option of the init role given to the client.
const NOT_SUBMIT_OPTION: &str =
    "not an option of -submit (it takes -socket PATH, -list and -r CMD [ARGS...])";

fn usage<'a>(what: &'static str, word: &'a [u8]) -> Error<'a> {
    Error::Usage { what, word }
}

/// Parse the submit role's arguments (everything after argv[0]).
/// `symlink` is true for `dinit-submit`, where `-r` may be left out.
///
/// Options come before the command in any order, in Go-flag spellings, as
/// the role dispatcher reads them: `-socket PATH`, `-list`, `-h`/`-help`,
/// and `-submit[=BOOL]` itself (it chose this role; here it is checked and
/// otherwise ignored, so `-socket P -submit` and `-submit -socket P` are the
/// same). The init role's other options mean nothing for a submitted command
/// (it is never primary, has no `-timeout` of its own, ...): each is refused
/// by name, exit 2, rather than silently ignored.
pub fn parse<'a>(
    args: &'a [&'a [u8]],
    env_socket: Option<&'a [u8]>,
    symlink: bool,
) -> Result<Request<'a>, Error<'a>> {
    let mut req = Request {
        socket: env_socket.unwrap_or(crate::cli::DEFAULT_SOCKET),
        list: false,
        words: &[],
        implied_r: false,
    };
    let mut i = 0;
    while let Some(&a) = args.get(i) {
        i += 1;
        if words::is_run_flag(a) {
            req.words = &args[i - 1..];
            break;
        }
        if a == b"-list" || a == b"--list" {
            req.list = true;
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
            match opt.name {
                b"socket" => req.socket = value,
                b"submit" if crate::cli::parse_bool(value).is_some() => {}
                b"submit" => return Err(usage("invalid value for -submit", value)),
                b"h" | b"help" => match crate::cli::parse_bool(value) {
                    Some(true) => return Err(Error::Help),
                    Some(false) => {}
                    None => return Err(usage("invalid value for -h", value)),
                },
                _ => return Err(usage(NOT_SUBMIT_OPTION, opt.written)),
            }
            continue;
        }
        if symlink && !a.starts_with(b"-") {
            req.words = &args[i - 1..];
            req.implied_r = true;
            break;
        }
        return Err(if a.starts_with(b"-") {
            usage(
                "unknown option (use -socket PATH, -list or -r CMD [ARGS...])",
                a,
            )
        } else {
            usage("expected -r CMD [ARGS...] or -list", a)
        });
    }
    let fail = |what| Err(usage(what, b""));
    if req.list && !req.words.is_empty() {
        return fail("-list takes no command");
    }
    if !req.list && req.words.is_empty() {
        return fail("nothing to submit: use -r CMD [ARGS...] or -list");
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
    if req.list {
        b"-list".iter().for_each(|&b| put(b));
    } else {
        if req.implied_r {
            b"-r ".iter().for_each(|&b| put(b));
        }
        for (i, w) in req.words.iter().enumerate() {
            if i > 0 {
                put(b' ');
            }
            if words::is_run_flag(w) {
                // `-r` or `-r:SIG`, as given.
                w.iter().for_each(|&b| put(b));
            } else {
                words::quote(w, &mut put);
            }
        }
    }
    put(b'\n');
    n
}

/// Run the submit role; returns the exit code.
pub fn run(args: &'static [&'static [u8]], symlink: bool) -> u8 {
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
    match exchange(req.socket, &buf[..len], req.list) {
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

/// Connect, send the line, relay the reply. Errors are printed here.
#[inline(never)] // its 1 KiB reply buffer stays out of `main`'s frame
fn exchange(path: &[u8], line: &[u8], list: bool) -> Result<(), ()> {
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
        Ok(cred) if trusted(cred, me) => {}
        Ok(cred) => {
            return fail(format_args!(
                "not sending to {p}: its listener runs as uid {}, neither root nor uid {}, and is not PID 1 here",
                Num(cred.uid),
                Num(me)
            ));
        }
        Err(errno) => {
            return fail(format_args!(
                "I/O error reading the listener's credentials on {p}: {}",
                Errno(errno)
            ));
        }
    }
    // A server that refuses us (permission denied, too many clients) may
    // answer and close before our line is sent: then the send fails, but the
    // reply is waiting, and it is the better message.
    let send_error = crate::sys::out::send_all(fd.as_fd(), line, net::SendFlags::NOSIGNAL).err();
    // Relay the reply line by line: `ok ...` and list lines to stdout,
    // `error: ...` lines to stderr.
    let mut buf = [0u8; 1024];
    let mut have = 0;
    let mut got_any = false;
    let mut failed = false;
    loop {
        let n = match rustix::io::read(&fd, &mut buf[have..]) {
            Ok(n) => n,
            Err(e) if e.raw_os_error() == EINTR => continue,
            Err(e) if e == rustix::io::Errno::AGAIN => {
                return fail(format_args!("timed out waiting for dinit's reply"));
            }
            // The server closed without reading everything we sent (it
            // refused us): what it wrote before is the whole reply.
            Err(_) if got_any || have > 0 => 0,
            Err(e) => {
                return match send_error {
                    Some(errno) => fail(format_args!("I/O error sending to {p}: {}", Errno(errno))),
                    None => fail(format_args!(
                        "I/O error reading the reply: {}",
                        Errno(e.raw_os_error())
                    )),
                };
            }
        };
        have += n;
        let eof = n == 0;
        // Hand on every complete line (and, at the end, a last partial one).
        let mut start = 0;
        while let Some(nl) = buf[start..have]
            .iter()
            .position(|&b| b == b'\n')
            .map(|i| start + i)
        {
            failed |= relay(&buf[start..=nl]);
            got_any = true;
            start = nl + 1;
        }
        if eof || (start == 0 && have == buf.len()) {
            if start < have {
                failed |= relay(&buf[start..have]);
                got_any = true;
            }
            have = 0;
        } else {
            buf.copy_within(start..have, 0);
            have -= start;
        }
        if eof {
            break;
        }
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
        assert!(r.list);
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
            assert_eq!((r.socket, r.list), (socket, list), "{args:?}");
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
                "not an option of -submit (it takes -socket PATH, -list and -r CMD [ARGS...]): -timeout",
            ),
            (
                "--pgroup -submit -r x",
                "not an option of -submit (it takes -socket PATH, -list and -r CMD [ARGS...]): --pgroup",
            ),
            (
                "-submit -bogus -r x",
                "unknown option (use -socket PATH, -list or -r CMD [ARGS...]): -bogus",
            ),
            ("-submit -socket", "option needs a value: -socket"),
            ("-submit=maybe -r x", "invalid value for -submit: maybe"),
            (
                "-submit sleep 1",
                "expected -r CMD [ARGS...] or -list: sleep",
            ),
            ("-submit -list -r x", "-list takes no command"),
            (
                "-submit",
                "nothing to submit: use -r CMD [ARGS...] or -list",
            ),
            ("-submit -socket= -r x", "the socket path is empty"),
        ];
        for &(args, want) in table {
            assert_eq!(err(args, false), want, "{args}");
        }
        assert_eq!(
            err("-quiet sleep 1", true),
            "not an option of -submit (it takes -socket PATH, -list and -r CMD [ARGS...]): -quiet"
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
}
