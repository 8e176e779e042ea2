//! Descriptors that cross a process boundary on purpose:
//!
//! * **Passed over the socket** (SPEC §5, `-submit -wait`): the client
//!   sends its stdin, stdout and stderr with `SCM_RIGHTS` in the same
//!   `sendmsg` as its line; the server receives them with
//!   `MSG_CMSG_CLOEXEC` (so no child inherits one by accident) into a
//!   fixed control buffer. A peer that sends more than [`FDS_MAX`] gets
//!   none of them kept: the extras and everything that arrived with them
//!   are closed and the read is an error, so a hostile client cannot make
//!   PID 1 hold descriptors it never asked for.
//! * **Inherited** (SPEC §11): descriptors above 2 that dinit's parent left
//!   open (`podman run --preserve-fds`, systemd socket activation) are
//!   found at startup, made close-on-exec for every child, and opened up
//!   again only in the primary's fork child, just before `execve`, where
//!   [`keep_on_exec`] and [`PidSlot::fill`] run with raw syscalls only.
//!
//! Nothing here allocates.

use super::check;
use super::errno::{EINTR, EINVAL};
use core::mem::size_of;
use rustix::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

/// The most descriptors one connection may pass: stdin, stdout, stderr.
pub const FDS_MAX: usize = 3;

/// Why [`recv_with_fds`] failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecvError {
    /// The system call failed with this errno (EAGAIN when nothing waits).
    Sys(i32),
    /// The peer passed more descriptors than fit (in this read, or with
    /// those already kept): what arrived in this read is closed.
    TooMany,
}

// The kernel's structures, as `<sys/socket.h>` lays them out on LP64
// (x86_64 and aarch64 alike). Written out rather than taken from rustix:
// one fixed message of at most three descriptors needs none of its
// generic ancillary machinery (aligning a caller's byte buffer, message
// iterators, the sender's address), and the send side alone came out
// 250 bytes smaller this way.

/// `struct iovec`.
#[repr(C)]
struct IoVec {
    base: *const u8,
    len: usize,
}

/// `struct msghdr` (no address: the socket is connected).
#[repr(C)]
struct MsgHdr {
    name: *mut u8,
    namelen: u32,
    iov: *const IoVec,
    iovlen: usize,
    control: *mut u8,
    controllen: usize,
    flags: i32,
}

/// `struct cmsghdr`; the data follows at `CMSG_HDR` bytes.
#[repr(C)]
#[derive(Clone, Copy)]
struct CmsgHdr {
    len: usize,
    level: i32,
    kind: i32,
}

const CMSG_HDR: usize = size_of::<CmsgHdr>();
const SOL_SOCKET: i32 = 1;
const SCM_RIGHTS: i32 = 1;
const MSG_CTRUNC: i32 = 0x8;
/// The most descriptors one `SCM_RIGHTS` message can carry (Linux).
const SCM_MAX_FD: usize = 253;
const MSG_DONTWAIT: usize = 0x40;
const MSG_NOSIGNAL: usize = 0x4000;
const MSG_CMSG_CLOEXEC: usize = 0x4000_0000;

/// `CMSG_ALIGN`: control messages are padded to `size_t`.
const fn cmsg_align(n: usize) -> usize {
    (n + size_of::<usize>() - 1) & !(size_of::<usize>() - 1)
}

/// One `SCM_RIGHTS` message with room for `FDS_MAX` descriptors, aligned
/// as a `cmsghdr` must be: `CMSG_SPACE(FDS_MAX * 4)` bytes.
#[repr(C)]
struct Rights {
    hdr: CmsgHdr,
    fds: [i32; FDS_MAX],
    _pad: [u8; cmsg_align(FDS_MAX * 4) - FDS_MAX * 4],
}

impl Rights {
    const EMPTY: Rights = Rights {
        hdr: CmsgHdr {
            len: 0,
            level: 0,
            kind: 0,
        },
        fds: [-1; FDS_MAX],
        _pad: [0; cmsg_align(FDS_MAX * 4) - FDS_MAX * 4],
    };
}

/// `sendmsg(sock, bytes, SCM_RIGHTS fds, MSG_NOSIGNAL)`, retrying EINTR:
/// the number of bytes sent, which may be short like any `send` (the
/// descriptors travel with the first byte; send the rest with a plain
/// `send`). One to [`FDS_MAX`] descriptors.
///
/// # References
/// - [Linux `unix(7)`](https://man7.org/linux/man-pages/man7/unix.7.html), SCM_RIGHTS
/// - [Linux `cmsg(3)`](https://man7.org/linux/man-pages/man3/cmsg.3.html)
pub fn send_with_fds(
    sock: BorrowedFd<'_>,
    bytes: &[u8],
    fds: &[BorrowedFd<'_>],
) -> Result<usize, i32> {
    if fds.is_empty() || fds.len() > FDS_MAX {
        return Err(EINVAL);
    }
    let mut rights = Rights::EMPTY;
    rights.hdr = CmsgHdr {
        len: CMSG_HDR + fds.len() * size_of::<i32>(), // CMSG_LEN
        level: SOL_SOCKET,
        kind: SCM_RIGHTS,
    };
    for (slot, fd) in rights.fds.iter_mut().zip(fds) {
        *slot = fd.as_raw_fd();
    }
    let iov = IoVec {
        base: bytes.as_ptr(),
        len: bytes.len(),
    };
    let msg = MsgHdr {
        name: core::ptr::null_mut(),
        namelen: 0,
        iov: &iov,
        iovlen: 1,
        control: (&mut rights as *mut Rights).cast(),
        controllen: CMSG_HDR + cmsg_align(fds.len() * size_of::<i32>()), // CMSG_SPACE
        flags: 0,
    };
    loop {
        // SAFETY: `msg` points at one iovec over `bytes` and at `rights`, a
        // control message of `controllen` bytes; all live for the call, and
        // the kernel only reads them.
        let r = check(unsafe {
            sc::syscall!(
                SENDMSG,
                sock.as_raw_fd(),
                &msg as *const MsgHdr,
                MSG_NOSIGNAL
            )
        });
        match r {
            Err(EINTR) => {}
            r => return r,
        }
    }
}

/// [`send_with_fds`] with this process's fds 0, 1 and 2 attached, in that
/// order; EBADF when one is closed (see [`open_closed_stdio`]).
pub fn send_with_stdio(sock: BorrowedFd<'_>, bytes: &[u8]) -> Result<usize, i32> {
    if !(0..3).all(is_open) {
        return Err(crate::sys::errno::EBADF);
    }
    // SAFETY: 0, 1 and 2 are open (just checked) and stay so for this
    // call: one thread, and nothing here closes them.
    let std = [0, 1, 2].map(|fd| unsafe { BorrowedFd::borrow_raw(fd) });
    send_with_fds(sock, bytes, &std)
}

/// Open `/dev/null` in place of each of fds 0, 1 and 2 that is closed,
/// before a client opens anything: otherwise its own socket would become
/// "stdout" (the lowest free number), be passed as the job's, and get the
/// client's output. Returns the errno of an `open` that failed.
pub fn open_closed_stdio() -> Result<(), i32> {
    use rustix::fd::IntoRawFd;
    use rustix::fs::{Mode, OFlags};
    for fd in 0..3 {
        if !is_open(fd) {
            // The lowest free number is `fd`: it becomes /dev/null, kept
            // open (and inherited) as a standard descriptor is.
            let null = rustix::fs::open(c"/dev/null", OFlags::RDWR, Mode::empty())
                .map_err(|e| e.raw_os_error())?;
            let _ = null.into_raw_fd();
        }
    }
    Ok(())
}

/// `recvmsg(sock, buf, MSG_CMSG_CLOEXEC)` (plus `MSG_DONTWAIT` when
/// `nowait`), retrying EINTR: the number of bytes read (0 at end of
/// stream); descriptors that came with them are appended to `fds`.
///
/// More descriptors than `fds` has room for, in one message or over
/// several reads, and a control message the kernel had to cut
/// (`MSG_CTRUNC`: the ones that did not fit are already closed by the
/// kernel) are [`RecvError::TooMany`]: everything this read brought is
/// closed; what `fds` held before stays, for the caller to drop with the
/// connection. Messages other than `SCM_RIGHTS` are ignored (dinit asks
/// for no credentials messages).
///
/// # References
/// - [Linux `recvmsg(2)`](https://man7.org/linux/man-pages/man2/recvmsg.2.html), MSG_CMSG_CLOEXEC, MSG_CTRUNC
pub fn recv_with_fds(
    sock: BorrowedFd<'_>,
    buf: &mut [u8],
    fds: &mut heapless::Vec<OwnedFd, FDS_MAX>,
    nowait: bool,
) -> Result<usize, RecvError> {
    // Room for every descriptor one message can carry (the kernel's
    // SCM_MAX_FD), so that each one that arrives is seen, and closed
    // here, rather than left to how a cut control message is handled:
    // the kernel closes what did not fit, but qemu-user, for one,
    // installs them all and hands on only what fits, leaking the rest.
    let mut control = [0u64; (CMSG_HDR + cmsg_align(SCM_MAX_FD * 4)) / 8];
    let iov = IoVec {
        base: buf.as_mut_ptr(),
        len: buf.len(),
    };
    let mut msg = MsgHdr {
        name: core::ptr::null_mut(),
        namelen: 0,
        iov: &iov,
        iovlen: 1,
        control: control.as_mut_ptr().cast(),
        controllen: size_of_val(&control),
        flags: 0,
    };
    let flags = MSG_CMSG_CLOEXEC | if nowait { MSG_DONTWAIT } else { 0 };
    let n = loop {
        // SAFETY: `msg` points at one iovec over `buf` and at `control`;
        // the kernel writes at most their lengths into them, and the new
        // `controllen` and `flags` into `msg`.
        let r = check(unsafe {
            sc::syscall!(RECVMSG, sock.as_raw_fd(), &mut msg as *mut MsgHdr, flags)
        });
        match r {
            Err(EINTR) => {}
            Err(e) => return Err(RecvError::Sys(e)),
            Ok(n) => break n,
        }
    };
    // Walk the control messages the kernel wrote: every descriptor in
    // them is ours now and is owned (closed on drop) from here on.
    let before = fds.len();
    let mut overflow = msg.flags & MSG_CTRUNC != 0;
    let bytes = control.as_ptr().cast::<u8>();
    let end = msg.controllen.min(size_of_val(&control));
    let mut at = 0;
    while at + CMSG_HDR <= end {
        // SAFETY: `at + CMSG_HDR <= end` bytes of `control` were written by
        // the kernel; the read is unaligned-safe.
        let hdr = unsafe { bytes.add(at).cast::<CmsgHdr>().read_unaligned() };
        if hdr.len < CMSG_HDR {
            break;
        }
        let data_end = (at + hdr.len).min(end);
        if hdr.level == SOL_SOCKET && hdr.kind == SCM_RIGHTS {
            let mut p = at + CMSG_HDR;
            while p + 4 <= data_end {
                // SAFETY: within what the kernel wrote (`data_end <= end`).
                let raw = unsafe { bytes.add(p).cast::<i32>().read_unaligned() };
                // SAFETY: SCM_RIGHTS installed this descriptor for us just
                // now; nothing else owns it.
                let fd = unsafe { OwnedFd::from_raw_fd(raw) };
                // An extra is dropped (closed) here.
                overflow |= fds.push(fd).is_err();
                p += 4;
            }
        }
        at += cmsg_align(hdr.len);
    }
    if overflow {
        // Close what this read brought: none of it will be used.
        fds.truncate(before);
        return Err(RecvError::TooMany);
    }
    Ok(n)
}

/// The most inherited descriptors dinit keeps track of; more are counted,
/// made close-on-exec like the rest, and never passed on.
pub const INHERITED_MAX: usize = 256;

/// Call `f` with every descriptor above 2 that is open and not
/// close-on-exec, then make every descriptor above 2 close-on-exec
/// ([`super::cloexec_inherited_fds`]). Called at startup, before dinit's
/// first child: everything dinit opens itself is close-on-exec, and a
/// descriptor that came through `execve` cannot be (exec closed those), so
/// "open without FD_CLOEXEC" is exactly "inherited", wherever in startup
/// this runs.
///
/// The list comes from `/proc/self/fd` (its own descriptor is
/// close-on-exec, so it is not listed); without `/proc`, descriptors
/// below `FD_WALK_MAX` are probed one by one with `fcntl(F_GETFD)`.
pub fn take_inherited(mut f: impl FnMut(i32)) {
    let mut keep = |fd: i32| {
        if fd > 2 && matches!(fd_flags(fd), Ok(flags) if flags & FD_CLOEXEC == 0) {
            f(fd);
        }
    };
    if each_open_fd(&mut keep).is_err() {
        (3..super::FD_WALK_MAX).for_each(keep);
    }
    super::cloexec_inherited_fds();
}

use super::{F_GETFD, FD_CLOEXEC};

/// `fcntl(fd, F_GETFD)`: the descriptor flags, EBADF when it is not open.
fn fd_flags(fd: i32) -> Result<usize, i32> {
    // SAFETY: fcntl(F_GETFD) takes integers and touches no memory.
    check(unsafe { sc::syscall!(FCNTL, fd, F_GETFD) })
}

/// Call `f` with the number of every open descriptor, from
/// `/proc/self/fd`; an error when it cannot be read.
fn each_open_fd(f: &mut impl FnMut(i32)) -> Result<(), i32> {
    use rustix::fs::{Mode, OFlags};
    let dir = rustix::fs::open(
        c"/proc/self/fd",
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| e.raw_os_error())?;
    let mut buf = [core::mem::MaybeUninit::<u8>::uninit(); 1024];
    let mut entries = rustix::fs::RawDir::new(&dir, &mut buf);
    while let Some(entry) = entries.next() {
        let entry = entry.map_err(|e| e.raw_os_error())?;
        // "." and ".." are not numbers and are skipped.
        if let Some(fd) = super::parse_i32(entry.file_name().to_bytes()) {
            f(fd);
        }
    }
    Ok(())
}

/// Clear FD_CLOEXEC on each of `fds`, so they survive `execve`: in the
/// primary's fork child, just before it (raw syscalls only, see the
/// module Safety in `sys`). A descriptor that is gone is skipped.
pub fn keep_on_exec(fds: &[i32]) {
    for &fd in fds {
        super::set_fd_flags(fd, 0);
    }
}

/// Close dinit's copies of `fds` once the primary holds its own (SPEC
/// §11: a listening socket is held by the program that serves it).
pub fn close_all(fds: &[i32]) {
    fds.iter().for_each(|&fd| super::close(fd));
}

/// `LISTEN_PID=`: the name and `=` of the entry [`PidSlot`] fills.
pub const LISTEN_PID_PREFIX: &[u8] = b"LISTEN_PID=";
/// Bytes for the whole `LISTEN_PID=` entry: the prefix, the ten digits of
/// the largest pid and the NUL.
pub const LISTEN_PID_ENTRY: usize = LISTEN_PID_PREFIX.len() + 10 + 1;

/// The primary's `LISTEN_PID=` environment entry, whose value only the
/// fork child knows (its own pid, SPEC §11): prepared before the fork in
/// storage the primary's envp points into, filled in by the child with a
/// raw `getpid` and digits written by hand, just before `execve`. The
/// parent's copy is never written: it keeps `LISTEN_PID=` with an empty
/// value, and the child writes into its own copy-on-write page.
pub struct PidSlot<'s> {
    /// The first byte after `LISTEN_PID=`, room for ten digits and a NUL.
    value: *mut u8,
    _storage: core::marker::PhantomData<&'s mut [u8]>,
}

impl<'s> PidSlot<'s> {
    /// Write `LISTEN_PID=` (empty value) into `storage`; returns the entry,
    /// NUL-terminated, to put into the primary's envp, and the slot.
    pub fn new(storage: &'s mut [u8; LISTEN_PID_ENTRY]) -> (&'s [u8], PidSlot<'s>) {
        storage.fill(0);
        storage[..LISTEN_PID_PREFIX.len()].copy_from_slice(LISTEN_PID_PREFIX);
        let base = storage.as_mut_ptr();
        // SAFETY: `base` points at LISTEN_PID_ENTRY bytes that stay borrowed
        // for 's (the PhantomData). The entry is a shared view of them; the
        // only write through `value` is `fill`, whose contract is that it
        // runs in the fork child alone, where nothing reads the entry again
        // but the kernel's execve.
        let (entry, value) = unsafe {
            (
                core::slice::from_raw_parts(base as *const u8, LISTEN_PID_ENTRY),
                base.add(LISTEN_PID_PREFIX.len()),
            )
        };
        (
            entry,
            PidSlot {
                value,
                _storage: core::marker::PhantomData,
            },
        )
    }

    /// Write the calling process's pid (a raw `getpid`) and a NUL into the
    /// entry.
    ///
    /// # Safety
    ///
    /// Only in the fork child of a raw clone, after which nothing but
    /// `execve` (or `exit_group`) reads the entry: in the parent, the entry
    /// handed out by `new` is a shared reference that must not change.
    pub unsafe fn fill(&self) {
        // SAFETY: getpid takes nothing.
        let pid = unsafe { sc::syscall!(GETPID) } as u32;
        let mut digits = [0u8; 11];
        let at = super::decimal_digits(pid, &mut digits[..10]).start;
        // SAFETY: `value` has room for ten digits and a NUL (`new`), and
        // the digits and the NUL are at most 11 bytes; the child owns its
        // copy of the page (contract).
        unsafe { core::ptr::copy_nonoverlapping(digits[at..].as_ptr(), self.value, 11 - at) };
    }
}

/// Whether descriptor `fd` is open (`fcntl(F_GETFD)`).
pub fn is_open(fd: i32) -> bool {
    fd_flags(fd).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::MaybeUninit;
    use rustix::fd::{AsFd, IntoRawFd};
    use rustix::io::IoSlice;
    use rustix::net::{
        AddressFamily, SendAncillaryBuffer, SendAncillaryMessage, SendFlags, SocketFlags,
        SocketType, socketpair,
    };

    fn pair() -> (OwnedFd, OwnedFd) {
        socketpair(
            AddressFamily::UNIX,
            SocketType::STREAM,
            SocketFlags::CLOEXEC,
            None,
        )
        .unwrap()
    }

    /// `n` pipes: (read ends, write ends).
    fn pipes(n: usize) -> (Vec<OwnedFd>, Vec<OwnedFd>) {
        (0..n)
            .map(|_| rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC).unwrap())
            .unzip()
    }

    /// Whether every writer of the pipe whose read end is `rd` is gone
    /// (a read sees end of stream at once).
    fn writers_gone(rd: &OwnedFd) -> bool {
        rustix::io::ioctl_fionbio(rd, true).unwrap();
        let mut b = [0u8; 1];
        matches!(rustix::io::read(rd, &mut b), Ok(0))
    }

    #[test]
    fn three_descriptors_travel_with_the_line() {
        let (a, b) = pair();
        let (rds, wrs) = pipes(3);
        let borrowed: Vec<BorrowedFd<'_>> = wrs.iter().map(|w| w.as_fd()).collect();
        let line = b"-wait -r cat\n";
        assert_eq!(send_with_fds(a.as_fd(), line, &borrowed), Ok(line.len()));
        drop(borrowed);
        drop(wrs);
        let mut buf = [0u8; 64];
        let mut fds = heapless::Vec::new();
        let n = recv_with_fds(b.as_fd(), &mut buf, &mut fds, true).unwrap();
        assert_eq!(&buf[..n], line);
        assert_eq!(fds.len(), 3);
        for (i, (fd, rd)) in fds.iter().zip(&rds).enumerate() {
            // Close-on-exec on arrival (MSG_CMSG_CLOEXEC).
            let flags = fd_flags(fd.as_raw_fd()).unwrap();
            assert_eq!(flags & FD_CLOEXEC, FD_CLOEXEC, "fd {i}");
            // The same pipe: what goes in here comes out of the original.
            rustix::io::write(fd, &[b'0' + i as u8]).unwrap();
            let mut got = [0u8; 1];
            rustix::io::read(rd, &mut got).unwrap();
            assert_eq!(got[0], b'0' + i as u8);
        }
        drop(fds);
        assert!(rds.iter().all(writers_gone), "a received copy stayed open");
    }

    #[test]
    fn a_read_without_descriptors_is_a_plain_read() {
        let (a, b) = pair();
        rustix::io::write(&a, b"-list\n").unwrap();
        drop(a);
        let mut buf = [0u8; 64];
        let mut fds = heapless::Vec::new();
        assert_eq!(recv_with_fds(b.as_fd(), &mut buf, &mut fds, true), Ok(6));
        assert!(fds.is_empty());
        assert_eq!(recv_with_fds(b.as_fd(), &mut buf, &mut fds, true), Ok(0));
    }

    #[test]
    fn nothing_waiting_is_eagain() {
        let (_a, b) = pair();
        let mut buf = [0u8; 8];
        let mut fds = heapless::Vec::new();
        assert_eq!(
            recv_with_fds(b.as_fd(), &mut buf, &mut fds, true),
            Err(RecvError::Sys(crate::sys::errno::EAGAIN))
        );
    }

    /// Send `n` write ends of pipes with one byte by a raw sendmsg (more
    /// than `send_with_fds` allows), as a hostile client would.
    fn send_many(sock: &OwnedFd, wrs: &[OwnedFd]) {
        let borrowed: Vec<BorrowedFd<'_>> = wrs.iter().map(|w| w.as_fd()).collect();
        let mut space =
            vec![MaybeUninit::<u8>::uninit(); rustix::cmsg_space!(ScmRights(wrs.len()))];
        let mut control = SendAncillaryBuffer::new(&mut space);
        assert!(control.push(SendAncillaryMessage::ScmRights(&borrowed)));
        let iov = [IoSlice::new(b"x")];
        rustix::net::sendmsg(sock, &iov, &mut control, SendFlags::empty()).unwrap();
    }

    #[test]
    fn too_many_descriptors_are_all_closed_and_an_error() {
        // One more than FDS_MAX, many more, and the most one message can
        // carry: each is seen and closed by dinit. The sender here is
        // rustix's own sendmsg, not ours.
        for n in [4, 16, SCM_MAX_FD] {
            let (a, b) = pair();
            let (rds, wrs) = pipes(n);
            send_many(&a, &wrs);
            drop(wrs);
            let mut buf = [0u8; 8];
            let mut fds = heapless::Vec::new();
            assert_eq!(
                recv_with_fds(b.as_fd(), &mut buf, &mut fds, true),
                Err(RecvError::TooMany),
                "{n} descriptors"
            );
            assert!(fds.is_empty(), "{n}: kept {}", fds.len());
            assert!(rds.iter().all(writers_gone), "{n}: a copy stayed open");
        }
    }

    #[test]
    fn descriptors_over_several_reads_count_together() {
        let (a, b) = pair();
        let (rds, wrs) = pipes(5);
        let first: Vec<BorrowedFd<'_>> = wrs[..3].iter().map(|w| w.as_fd()).collect();
        assert_eq!(send_with_fds(a.as_fd(), b"a", &first), Ok(1));
        let mut buf = [0u8; 1];
        let mut fds = heapless::Vec::new();
        assert_eq!(recv_with_fds(b.as_fd(), &mut buf, &mut fds, true), Ok(1));
        assert_eq!(fds.len(), 3);
        let second: Vec<BorrowedFd<'_>> = wrs[3..].iter().map(|w| w.as_fd()).collect();
        assert_eq!(send_with_fds(a.as_fd(), b"b", &second), Ok(1));
        drop((first, second));
        drop(wrs);
        assert_eq!(
            recv_with_fds(b.as_fd(), &mut buf, &mut fds, true),
            Err(RecvError::TooMany)
        );
        // The first three stay for the caller; the two extras are closed.
        assert_eq!(fds.len(), 3);
        assert!(rds[3..].iter().all(writers_gone));
        assert!(!rds[..3].iter().any(writers_gone));
    }

    #[test]
    fn more_than_fds_max_is_refused_by_the_sender() {
        let (a, _b) = pair();
        let (_rds, wrs) = pipes(4);
        let borrowed: Vec<BorrowedFd<'_>> = wrs.iter().map(|w| w.as_fd()).collect();
        assert_eq!(
            send_with_fds(a.as_fd(), b"x", &borrowed),
            Err(crate::sys::errno::EINVAL)
        );
    }

    #[test]
    fn inherited_means_open_without_cloexec() {
        // A descriptor without FD_CLOEXEC stands for an inherited one; one
        // with it (everything dinit opens) is not listed. Other tests open
        // descriptors concurrently: only these two are checked.
        let (rd, wr) = pipes(1);
        let (rd, wr) = (
            rd.into_iter().next().unwrap(),
            wr.into_iter().next().unwrap(),
        );
        keep_on_exec(&[rd.as_raw_fd()]);
        let mut seen = Vec::new();
        let mut keep = |fd: i32| {
            if matches!(fd_flags(fd), Ok(f) if f & FD_CLOEXEC == 0) {
                seen.push(fd);
            }
        };
        each_open_fd(&mut keep).unwrap();
        assert!(seen.contains(&rd.as_raw_fd()), "{seen:?}");
        assert!(!seen.contains(&wr.as_raw_fd()), "{seen:?}");
        let raw = rd.into_raw_fd();
        close_all(&[raw]);
        assert_eq!(fd_flags(raw), Err(crate::sys::errno::EBADF));
    }

    #[test]
    fn descriptor_names() {
        assert_eq!(crate::sys::parse_i32(b"3"), Some(3));
        assert_eq!(crate::sys::parse_i32(b"1023"), Some(1023));
        assert_eq!(crate::sys::parse_i32(b"."), None);
        assert_eq!(crate::sys::parse_i32(b".."), None);
        assert_eq!(crate::sys::parse_i32(b""), None);
        assert_eq!(crate::sys::parse_i32(b"99999999999"), None);
    }

    #[test]
    fn decimal_digits_by_hand() {
        for pid in [0u32, 1, 9, 10, 42, 4194304, 2147483647, u32::MAX] {
            let mut out = [0xffu8; 10];
            let r = crate::sys::decimal_digits(pid, &mut out);
            assert_eq!(&out[r], pid.to_string().as_bytes());
        }
    }

    #[test]
    fn pid_slot_entry() {
        let mut storage = [0xffu8; LISTEN_PID_ENTRY];
        let (entry, _slot) = PidSlot::new(&mut storage);
        assert_eq!(entry.len(), LISTEN_PID_ENTRY);
        // Until the child fills it: an empty value, NUL-terminated.
        let end = entry.iter().position(|&b| b == 0).unwrap();
        assert_eq!(&entry[..end], b"LISTEN_PID=");
    }

    #[test]
    fn pid_slot_is_filled_in_a_child() {
        // Fill in a forked child and report the entry through a pipe, as
        // the fork child of spawn will before execve.
        let mut storage = [0u8; LISTEN_PID_ENTRY];
        let (entry, slot) = PidSlot::new(&mut storage);
        let (rd, wr) = rustix::pipe::pipe().unwrap();
        // SAFETY: a test; the child only fills the slot, writes and exits.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            // SAFETY: this is the fork child; nothing reads `entry` here
            // but the write below, after the fill.
            unsafe { slot.fill() };
            let p = entry.as_ptr();
            // SAFETY: the entry's bytes, read as the kernel would.
            let bytes = unsafe { core::slice::from_raw_parts(p, LISTEN_PID_ENTRY) };
            let _ = rustix::io::write(&wr, bytes);
            // SAFETY: leave at once, running nothing of the test harness.
            unsafe { libc::_exit(0) };
        }
        drop(wr);
        let mut got = [0u8; LISTEN_PID_ENTRY];
        let mut n = 0;
        while n < got.len() {
            match rustix::io::read(&rd, &mut got[n..]) {
                Ok(0) | Err(_) => break,
                Ok(k) => n += k,
            }
        }
        let mut status = 0;
        // SAFETY: waits for this test's own child only; writes one int.
        unsafe { libc::waitpid(pid, &mut status, 0) };
        let end = got.iter().position(|&b| b == 0).unwrap();
        assert_eq!(
            std::str::from_utf8(&got[..end]).unwrap(),
            format!("LISTEN_PID={pid}")
        );
        // The parent's copy is untouched.
        assert_eq!(entry[LISTEN_PID_PREFIX.len()], 0);
    }
}
