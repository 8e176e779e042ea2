"""Helpers shared by scripts/bench.py and scripts/stress.py (standard library only).

Everything here reads /proc from the outside: the figures are those of the
init process under test, seen by its host pid, so they do not depend on what
the init itself reports.
"""

import ctypes
import os
import signal
import socket
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")
PR_SET_CHILD_SUBREAPER = 36


def become_subreaper():
    """Orphans of anything we start come back to us, so nothing escapes the cleanup."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    except OSError:
        pass


def read(path, default=None):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return default


def status_field(pid, name):
    """An integer field of /proc/PID/status (kB for Vm* fields), or None."""
    text = read(f"/proc/{pid}/status")
    if text is None:
        return None
    for line in text.splitlines():
        if line.startswith(name + ":"):
            return int(line.split()[1])
    return None


def stat_fields(pid):
    """/proc/PID/stat split after the comm field: index 0 is the state."""
    text = read(f"/proc/{pid}/stat")
    if text is None:
        return None
    return text[text.rindex(")") + 2 :].split()


def cpu_ticks(pid):
    """utime + stime of the process (all threads), in clock ticks."""
    f = stat_fields(pid)
    if f is None:
        return None
    # stat fields 14 and 15 (1-based) are utime, stime; f[0] is field 3.
    return int(f[11]) + int(f[12])


def _task_files(pid, name):
    """The text of /proc/PID/task/*/NAME for every thread ("" where a read
    fails: the thread is gone), or None when the task list cannot be read."""
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return None
    return [read(f"/proc/{pid}/task/{t}/{name}", "") for t in tids]


def cpu_ns(pid):
    """CPU time of every thread in nanoseconds (schedstat: exact, not ticks)."""
    texts = _task_files(pid, "schedstat")
    if texts is None:
        return None
    return sum(int(text.split()[0]) for text in texts if text)


def ctxt_switches(pid):
    """voluntary + nonvoluntary context switches summed over all threads."""
    texts = _task_files(pid, "status")
    if texts is None:
        return None
    total = 0
    for text in texts:
        for line in text.splitlines():
            if line.startswith(("voluntary_ctxt_switches:", "nonvoluntary_ctxt_switches:")):
                total += int(line.split()[1])
    return total


def children(pid):
    """Direct children of pid (all threads), from /proc/PID/task/*/children."""
    out = []
    for text in _task_files(pid, "children") or []:
        out.extend(int(x) for x in text.split())
    return out


def comm(pid):
    text = read(f"/proc/{pid}/comm")
    return text.strip() if text else None


def wait_for(pred, timeout, step=0.001):
    """Poll pred() until it returns a true value; return it, or None on timeout."""
    end = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > end:
            return None
        time.sleep(step)


def wait_child_comm(pid, name, timeout=5.0):
    """The pid of a child of `pid` whose comm is `name` (i.e. it has exec'd)."""

    def find():
        for c in children(pid):
            if comm(c) == name:
                return c
        return None

    return wait_for(find, timeout)


def descendants(pid):
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        for c in children(p):
            out.append(c)
            todo.append(c)
    return out


def fd_count(pid):
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return None


def exit_code(status):
    """A waitpid status as a shell would show it (128+N for signal N)."""
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    return os.WEXITSTATUS(status)


def reap_all_children():
    """Reap whatever zombies we have (we are a subreaper)."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _kill(pid, sig):
    try:
        os.kill(pid, sig)
    except OSError:
        pass


def kill_descendants(pid, sig=signal.SIGKILL):
    """Kill everything under pid (children first found), not pid itself."""
    for p in descendants(pid):
        _kill(p, sig)


def kill_tree(pid, sig=signal.SIGKILL):
    """Kill pid and everything under it (children first found, then pid)."""
    kill_descendants(pid, sig)
    _kill(pid, sig)


def submit(path, line, timeout=10.0):
    """One socket client: send `line`, return the whole reply (bytes)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(path)
        s.sendall(line)
        return recv_all(s)
    finally:
        s.close()


def recv_all(s):
    """Everything the peer sends until it closes (bytes)."""
    buf = b""
    while True:
        chunk = s.recv(4096)
        if not chunk:
            return buf
        buf += chunk


# The write(2) system call number, for blocked_in_write.
WRITE_SYSCALL = {"x86_64": 1, "aarch64": 64}.get(os.uname().machine, 1)


def blocked_in_write(pid):
    """Whether pid sleeps inside write(2) (/proc/PID/syscall names the call a
    blocked task is in): a child writing to a full stderr nobody reads."""
    call = read(f"/proc/{pid}/syscall", "").split()
    f = stat_fields(pid)
    return bool(call) and call[0] == str(WRITE_SYSCALL) and f is not None and f[0] == "S"


def nonblocking_fd(pid, fd):
    """Whether fd of pid has O_NONBLOCK in its file status flags (fdinfo)."""
    for line in (read(f"/proc/{pid}/fdinfo/{fd}") or "").splitlines():
        if line.startswith("flags:"):
            return bool(int(line.split()[1], 8) & os.O_NONBLOCK)
    return False


# A child that fills its stderr and stays blocked writing it (a log driver
# that stopped reading), run as `python3 -c FILLER_SCRIPT [PIDFILE]`: it
# ignores every signal an init may forward but SIGTERM (and the ones that
# cannot be ignored), so a forwarded SIGTERM ends it at once, blocked or not.
# It writes its pid to PIDFILE first, when given.
FILLER_SCRIPT = r"""
import os, signal, sys
for n in range(1, signal.SIGRTMAX + 1):
    if n not in (signal.SIGKILL, signal.SIGSTOP, signal.SIGTERM, signal.SIGCHLD):
        try:
            signal.signal(n, signal.SIG_IGN)
        except (OSError, ValueError):
            pass
if len(sys.argv) > 1:
    with open(sys.argv[1] + ".tmp", "w") as f:
        f.write("%d\n" % os.getpid())
    os.rename(sys.argv[1] + ".tmp", sys.argv[1])
chunk = b"\0" * 65536
while True:
    os.write(2, chunk)
"""


# The primary process of an orphan storm, run as `python3 -c STORM_SCRIPT
# BURST HOLD TIMEOUT` under an init that is PID 1 of a fresh PID namespace
# (with its own /proc). It prints "ready", then obeys lines on stdin:
# "storm N" makes N orphans in bursts of BURST and prints one JSON line;
# anything else (or end of input) makes it exit 0. A burst leader forks BURST
# children and exits at once, so they are reparented to PID 1; all children of
# a burst sleep until the same deadline (HOLD seconds after the burst began),
# so they die within microseconds of each other and their SIGCHLDs coalesce
# at the init. After the last burst it waits until no other process is left
# in the namespace (live or zombie) or TIMEOUT seconds pass, and reports
# what is left.
STORM_SCRIPT = r"""
import json, os, sys, time
burst, hold, timeout = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
me = os.getpid()
def others():
    live = zombies = 0
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) in (1, me):
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                st = f.read()
        except OSError:
            continue
        if st[st.rindex(")") + 2] == "Z":
            zombies += 1
        else:
            live += 1
    return live, zombies
def storm(total):
    t0 = time.monotonic()
    made = 0
    last_deadline = t0
    while made < total:
        k = min(burst, total - made)
        deadline = time.monotonic() + hold
        last_deadline = deadline
        leader = os.fork()
        if leader == 0:
            n = 0
            for _ in range(k):
                try:
                    pid = os.fork()
                except OSError:
                    break
                if pid == 0:
                    d = deadline - time.monotonic()
                    if d > 0:
                        time.sleep(d)
                    os._exit(0)
                n += 1
            os._exit(0 if n == k else 1)
        _, st = os.waitpid(leader, 0)
        if st != 0:
            return {"error": "fork failed in a burst leader"}
        made += k
    end = time.monotonic() + timeout
    live, zombies = others()
    while (live or zombies) and time.monotonic() < end:
        time.sleep(0.002)
        live, zombies = others()
    t_end = time.monotonic()
    return {"orphans": made, "elapsed": t_end - t0, "tail": t_end - last_deadline,
            "live": live, "zombies": zombies}
print("ready", flush=True)
for line in sys.stdin:
    words = line.split()
    if len(words) != 2 or words[0] != "storm":
        break
    print(json.dumps(storm(int(words[1]))), flush=True)
"""
