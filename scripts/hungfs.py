#!/usr/bin/env python3
"""hungfs: a FUSE file system that hangs on purpose, for tests (issue 14).

    hungfs.py DIR

Speaks the kernel's FUSE protocol (7.x, include/uapi/linux/fuse.h) on
/dev/fuse directly, no library; needs root. Mounts at DIR and serves:

    ok         a `#!/bin/sh` script, every request answered (the control)
    prog       an executable file whose OPEN never gets an answer
    hang       a name whose LOOKUP never gets an answer
    flushhang  opens and reads fine; its FLUSH never gets an answer. FLUSH
               comes with every close, also the one at exit: a process that
               holds it open and is SIGKILLed stays in D state

Writes `ready` to stdout once INIT is answered, and `hung OP NAME pid PID`
to stderr for each request it leaves unanswered (PID as the kernel names the
caller). Killing the server ends the connection: every request still
waiting fails with ENOTCONN; `umount -l DIR` then removes the mount.
"""
import ctypes, errno, os, signal, struct, sys

LOOKUP, FORGET, GETATTR, OPEN, READ, RELEASE = 1, 2, 3, 14, 15, 18
FLUSH, INIT, OPENDIR, READDIR, RELEASEDIR = 25, 26, 27, 28, 29
ACCESS, INTERRUPT, DESTROY, BATCH_FORGET = 34, 36, 38, 42
NO_REPLY = {FORGET, INTERRUPT, BATCH_FORGET}
PARALLEL_DIROPS = 1 << 18  # an INIT flag

IN_HEADER = struct.Struct("<IIQQIIIHH")  # fuse_in_header, 40 bytes
OUT_HEADER = struct.Struct("<IiQ")  # fuse_out_header, 16 bytes
ATTR = struct.Struct("<6Q10I")  # fuse_attr, 88 bytes
READ_IN = struct.Struct("<QQII")  # fuse_read_in: fh, offset, size, read_flags, ...

ROOT = 1
# nodeid: (name, mode, content)
FILES = {
    2: (b"ok", 0o100755, b'#!/bin/sh\necho "hungfs ok $*"\n'),
    3: (b"prog", 0o100755, b"#!/bin/sh\necho prog\n"),
    4: (b"flushhang", 0o100644, b"flushhang\n"),
}
BY_NAME = {name: node for node, (name, _, _) in FILES.items()}
DT_DIR, DT_REG = 4, 8


def attr(node):
    if node == ROOT:
        return ATTR.pack(ROOT, 0, 0, 0, 0, 0, 0, 0, 0, 0o040755, 2, 0, 0, 0, 4096, 0)
    _, mode, data = FILES[node]
    return ATTR.pack(node, len(data), 1, 0, 0, 0, 0, 0, 0, mode, 1, 0, 0, 0, 4096, 0)


def entry(node):
    # fuse_entry_out: nodeid, generation, entry_valid, attr_valid (s, ns): no caching.
    return struct.pack("<QQQQII", node, 0, 0, 0, 0, 0) + attr(node)


def dirents(offset, size):
    """fuse_dirent records from entry `offset` on, as many as fit in `size`."""
    names = [(ROOT, b".", DT_DIR), (ROOT, b"..", DT_DIR), (99, b"hang", DT_REG)]
    names += [(node, name, DT_REG) for node, (name, _, _) in FILES.items()]
    out = b""
    for i, (ino, name, kind) in enumerate(names[offset:], offset + 1):
        rec = struct.pack("<QQII", ino, i, len(name), kind) + name
        rec += b"\0" * (-len(rec) % 8)  # FUSE_DIRENT_ALIGN
        if len(out) + len(rec) > size:
            break
        out += rec
    return out


def mount(fd, target):
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: die with the test that started us
    opts = f"fd={fd},rootmode=40000,user_id=0,group_id=0,allow_other".encode()
    MS_NOSUID, MS_NODEV = 2, 4
    if libc.mount(b"hungfs", target.encode(), b"fuse", MS_NOSUID | MS_NODEV, opts) != 0:
        e = ctypes.get_errno()
        sys.exit(f"hungfs: mount {target}: {os.strerror(e)}")


def serve(fd):
    while True:
        try:
            req = os.read(fd, 1 << 20)
        except OSError as e:
            if e.errno in (errno.EINTR, errno.EAGAIN, errno.ENOENT):
                continue  # ENOENT: a request interrupted before we read it
            if e.errno == errno.ENODEV:
                return  # unmounted
            raise
        _, op, unique, node, _, _, pid, _, _ = IN_HEADER.unpack_from(req)
        body = req[IN_HEADER.size :]
        reply = handle(op, node, body, pid)
        if op in NO_REPLY or reply is None:
            continue
        err, payload = reply
        try:
            os.write(fd, OUT_HEADER.pack(OUT_HEADER.size + len(payload), -err, unique) + payload)
        except OSError as e:
            if e.errno != errno.ENOENT:  # the caller was interrupted meanwhile
                raise
        if op == INIT:
            os.write(1, b"ready\n")


def hung(op, name, pid):
    os.write(2, b"hung %s %s pid %d\n" % (op, name, pid))
    return None


def handle(op, node, body, pid):
    """(errno, payload) to answer, or None to leave the caller waiting."""
    if op == INIT:
        major, minor, readahead, kernel_flags = struct.unpack_from("<IIII", body)
        if major != 7:
            sys.exit(f"hungfs: kernel speaks FUSE {major}.{minor}, this speaks 7.x")
        # fuse_init_out: major, minor, max_readahead, flags, max_background,
        # congestion_threshold, max_write, time_gran, max_pages,
        # map_alignment, flags2, unused[7]: 64 bytes. FUSE_PARALLEL_DIROPS:
        # without it the kernel serializes lookups in a directory, and the
        # hung LOOKUP of `hang` would hang every other name too.
        flags = kernel_flags & PARALLEL_DIROPS
        out = struct.pack("<IIIIHHIIHHI7I", 7, min(minor, 31), readahead, flags, 16, 12, 65536, 1, 0, 0, 0, *[0] * 7)
        return 0, out
    if op == LOOKUP:
        name = body.split(b"\0", 1)[0]
        if node == ROOT and name == b"hang":
            return hung(b"LOOKUP", name, pid)
        if node == ROOT and name in BY_NAME:
            return 0, entry(BY_NAME[name])
        return errno.ENOENT, b""
    if op == GETATTR:
        if node != ROOT and node not in FILES:
            return errno.ENOENT, b""
        return 0, struct.pack("<QII", 0, 0, 0) + attr(node)  # fuse_attr_out
    if op in (OPEN, OPENDIR):
        if node in FILES and FILES[node][0] == b"prog":
            return hung(b"OPEN", b"prog", pid)
        return 0, struct.pack("<QII", 0, 0, 0)  # fuse_open_out
    if op == READ:
        _, offset, size, _ = READ_IN.unpack_from(body)
        return 0, FILES[node][2][offset : offset + size] if node in FILES else b""
    if op == READDIR:
        _, offset, size, _ = READ_IN.unpack_from(body)
        return 0, dirents(offset, size)
    if op == FLUSH:
        if node in FILES and FILES[node][0] == b"flushhang":
            return hung(b"FLUSH", b"flushhang", pid)
        return 0, b""
    if op in (RELEASE, RELEASEDIR, ACCESS, DESTROY):
        return 0, b""
    return errno.ENOSYS, b""  # GETXATTR, STATFS, ...: not supported


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: hungfs.py DIR")
    fd = os.open("/dev/fuse", os.O_RDWR | os.O_CLOEXEC)
    mount(fd, sys.argv[1])
    serve(fd)


if __name__ == "__main__":
    main()
