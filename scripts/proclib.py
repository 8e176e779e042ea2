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
PAGE = os.sysconf("SC_PAGE_SIZE")
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


def state(pid):
    f = stat_fields(pid)
    return f[0] if f else None


def cpu_ticks(pid):
    """utime + stime of the process (all threads), in clock ticks."""
    f = stat_fields(pid)
    if f is None:
        return None
    # stat fields 14 and 15 (1-based) are utime, stime; f[0] is field 3.
    return int(f[11]) + int(f[12])


def cpu_ns(pid):
    """CPU time of every thread in nanoseconds (schedstat: exact, not ticks)."""
    total = 0
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return None
    for t in tids:
        text = read(f"/proc/{pid}/task/{t}/schedstat")
        if text:
            total += int(text.split()[0])
    return total


def ctxt_switches(pid):
    """voluntary + nonvoluntary context switches summed over all threads."""
    total = 0
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return None
    for t in tids:
        text = read(f"/proc/{pid}/task/{t}/status", "")
        for line in text.splitlines():
            if line.startswith(("voluntary_ctxt_switches:", "nonvoluntary_ctxt_switches:")):
                total += int(line.split()[1])
    return total


def children(pid):
    """Direct children of pid (all threads), from /proc/PID/task/*/children."""
    out = []
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for t in tids:
        text = read(f"/proc/{pid}/task/{t}/children", "")
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


def kill_tree(pid, sig=signal.SIGKILL):
    """Kill pid and everything under it (children first found, then pid)."""
    for p in descendants(pid) + [pid]:
        try:
            os.kill(p, sig)
        except OSError:
            pass


def submit(path, line, timeout=10.0):
    """One socket client: send `line`, return the whole reply (bytes)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(path)
        s.sendall(line)
        buf = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            buf += chunk
        return buf
    finally:
        s.close()


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
