#!/usr/bin/env python3
"""Side-by-side benchmark: dinit vs tini-static, dumb-init and catatonit.

    python3 scripts/bench.py [--quick] [--out BENCHMARKS.md] PATH/TO/dinit

Everything is measured in ONE run on the same machine, and every figure that
has a per-init loop is interleaved (each round runs every init once, in a
shuffled order), so drift in the machine's load hits all inits alike. The
figures are read from the outside (/proc, strace), never from what an init
reports about itself. The result is printed as one markdown table and
written, with the machine and the exact command, to BENCHMARKS.md.

Figures:
  * binary size and linkage (readelf: a program interpreter or a dynamic
    section means dynamically linked);
  * wall time from spawn to exit of `INIT /bin/true` and of bare /bin/true
    (posix_spawn + waitpid from Python), >= 30 interleaved rounds: median,
    min-max, and overhead = median - bare median;
  * peak RSS (VmHWM) of the init 0.5 s after it started a `sleep 100`;
  * idle cost over 2 s, while supervising that sleep: context switches
    (voluntary + nonvoluntary, all threads, from /proc, with nothing
    attached), then system calls (`strace -p PID -o FILE` on the init
    process only for 2 s, completed calls counted);
  * SIGTERM to the init -> init exited, and SIGKILL to its child -> init
    exited (median over N interleaved runs, child `sleep 100`);
  * SIGTERM -> init exited while its stderr is a pipe nobody reads, full,
    with its child blocked writing it (proclib.FILLER_SCRIPT; a stalled log
    driver): median over interleaved runs, or "hung" when an init had not
    exited 5 s after the SIGTERM (then its tree is killed);
  * processes left running after a non-PID-1 init exits: its child leaves
    a double-forked and a setsid'd `sleep` behind and exits 0; the bench is
    a child subreaper, so whatever escaped the init comes to it, is counted
    (max over interleaved runs) and killed;
  * as PID 1 of a PID namespace (`unshare --pid --fork --mount-proc`): an
    orphan storm (see proclib.STORM_SCRIPT): wall time until every orphan
    is gone, the init's CPU time (schedstat ns and utime+stime ticks, read by
    host pid), zombies left, the init's stderr line count;
  * dinit only: socket submissions per second (sequential clients, each
    `-r /bin/true` answered `ok PID`, every child reaped at the end), next
    to the raw fork+exec+wait rate of /bin/true from Python (posix_spawn +
    waitpid), measured in alternating blocks;
  * requests lost per graceful stop of nginx + php-fpm (issue 15): dinit
    with `-stoporder reverse` (the README recipe, the ENTRYPOINT of
    tests/realapps/Dockerfile), dinit with `together` (the same without
    `-stoporder`) and tini (php-fpm in the background of a shell that then
    becomes nginx, as issue 15 measured it), interleaved over the same
    rounds. No engine: the root file system of the real-program tests
    (scripts/realapps-rootfs.sh, mmdebstrap, cached in target/realapps) is
    unpacked once into a temporary directory and set up as the test image
    is (same configuration files, Debian's process_control_timeout 0), and
    each run starts the init as PID 1 of a new PID and mount namespace
    chrooted there (`unshare --pid --fork --mount --mount-proc --root`,
    the host's network). scripts/httpload.py puts 8 clients on the 200 ms
    PHP page at 127.0.0.1:PORT (a fresh connection per request); once 16
    are answered, and then at a random moment 50-150 ms later (not in the
    instant the answered clients reconnect, when nginx's own graceful stop
    resets connections it has not accepted yet, under any init), SIGQUIT
    goes to PID 1 (as `docker stop` sends the image's
    STOPSIGNAL) and it gets 30 s to exit before SIGKILL (`stop -t 30`). A
    request is in flight when its connection was made before the SIGQUIT
    and its answer not yet read; lost when that answer is not a 200. Shown:
    mean lost per stop (max), lost of all in flight, every 502 of the run,
    exit statuses. Container engines add nothing to this figure (the order
    of signals inside is the init's); the engine tests measure the same in
    Docker and Podman. `--only stops` runs this figure alone and prints it
    (BENCHMARKS.md untouched).

Every init runs with its default flags, as users run it (except in the
graceful-stop figure, which runs each as that figure says): `dinit -socket ""
-r CMD` (no socket, except for the submission test), `tini-static -s -- CMD`
(-s: subreaper, since it is not PID 1; no -s as PID 1), `dumb-init CMD`,
`catatonit -- CMD`. dinit logs a few lines per event by default; its
stderr line counts are recorded, not suppressed.
"""

import argparse
import datetime
import json
import os
import platform
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in scripts/
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import httpload  # noqa: E402
import proclib as P  # noqa: E402

PEERS = {
    "tini": "/usr/bin/tini-static",
    "dumb-init": "/usr/bin/dumb-init",
    "catatonit": "/usr/bin/catatonit",
}
ERRDIR = None  # the inits' stderr files (a temporary directory, made in main)
TRUE = "/bin/true"
SLEEP = shutil.which("sleep") or "/bin/sleep"
DEFAULT_SIGS = [signal.SIGPIPE, signal.SIGXFSZ]


class Init:
    """An init under test. `name` says how it is run (dinit, tini, ...);
    `key` names its column (an earlier dinit for the before/after table is
    run as dinit under the key "dinit-before")."""

    def __init__(self, name, path, key=None, label=None):
        self.name = name
        self.path = path
        self.key = key or name
        self._label = label

    def argv(self, cmd, pid1=False):
        if self.name == "dinit":
            return [self.path, "-socket", "", "-r", *cmd]
        if self.name == "tini":
            return [self.path, *([] if pid1 else ["-s"]), "--", *cmd]
        if self.name == "dumb-init":
            return [self.path, *cmd]
        if self.name == "catatonit":
            return [self.path, "--", *cmd]
        raise ValueError(self.name)

    def label(self):
        return self._label or {"dinit": "dinit", "tini": "tini-static"}.get(self.name, self.name)


def spawn(argv, stderr="/dev/null", stdout="/dev/null"):
    """posix_spawn with stdin from /dev/null, default SIGPIPE, own process
    group; stderr appends to the file `stderr`, or is that descriptor when
    it is an int."""
    acts = [
        (os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, stdout, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644),
        (os.POSIX_SPAWN_DUP2, stderr, 2)
        if isinstance(stderr, int)
        else (os.POSIX_SPAWN_OPEN, 2, stderr, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644),
    ]
    return os.posix_spawn(
        argv[0], argv, os.environ, file_actions=acts, setsigdef=DEFAULT_SIGS, setpgroup=0
    )


def waitpid(pid, timeout=30.0):
    """Blocking waitpid (exact timing, no polling); a watchdog SIGKILLs the
    tree after `timeout` and the call then fails."""
    st = wait_or_kill(pid, timeout)
    if st is None:
        raise RuntimeError(f"pid {pid} did not exit within {timeout}s")
    return st


def wait_or_kill(pid, timeout):
    """Blocking waitpid; when pid has not exited after `timeout` a watchdog
    SIGKILLs its tree, and the result is None (it hung)."""
    fired = []

    def watchdog():
        fired.append(1)
        P.kill_tree(pid)

    t = threading.Timer(timeout, watchdog)
    t.daemon = True
    t.start()
    try:
        _, st = os.waitpid(pid, 0)
    finally:
        t.cancel()
    return None if fired else st


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def median(xs):
    return statistics.median(xs) if xs else float("nan")


def count_lines(path):
    try:
        with open(path, "rb") as f:
            return f.read().count(b"\n")
    except OSError:
        return 0


# ---------------------------------------------------------------- figures


def linkage(path):
    hdr = subprocess.run(["readelf", "-lW", path], capture_output=True, text=True).stdout
    if "INTERP" in hdr:
        return "dynamic (needs ld.so + libc)"
    if "DYNAMIC" in hdr:
        return "static-pie"
    return "static"


def version(init):
    if init.name == "dinit":
        r = subprocess.run([init.path, "-version"], capture_output=True, text=True)
        return (r.stdout or r.stderr).strip()
    pkg = init.name  # the peers' Debian package names are their names
    try:
        r = subprocess.run(["dpkg-query", "-W", "-f=${Version}", pkg], capture_output=True, text=True)
    except OSError:
        return pkg
    return f"{pkg} {r.stdout.strip()} (Debian)" if r.returncode == 0 else pkg


def bench_start(inits, rounds, errdir):
    """Wall time spawn -> exit of INIT /bin/true and bare /bin/true, interleaved.
    Each init's stderr goes to a regular file (as to a log), not /dev/null."""
    res = {n: [] for n in ["bare"] + [i.name for i in inits]}
    cmds = {"bare": [TRUE]}
    for i in inits:
        cmds[i.name] = i.argv([TRUE])
    errs = {k: os.path.join(errdir, f"start-{k}.err") for k in cmds}
    # Warm-up: page cache, dynamic loader caches.
    for k in cmds:
        for _ in range(3):
            waitpid(spawn(cmds[k], stderr=errs[k]))
    lines0 = {k: count_lines(errs[k]) for k in cmds}
    order = list(cmds)
    for _ in range(rounds):
        random.shuffle(order)
        for k in order:
            t0 = time.perf_counter_ns()
            pid = spawn(cmds[k], stderr=errs[k])
            st = waitpid(pid)
            t1 = time.perf_counter_ns()
            if st != 0:
                raise RuntimeError(f"{k}: {cmds[k]} exited with status {P.exit_code(st)}")
            res[k].append((t1 - t0) / 1e6)
    res["log_lines"] = {k: (count_lines(errs[k]) - lines0[k]) / rounds for k in cmds}
    return res


def start_sleeper(init, errfile=None):
    errfile = errfile or os.path.join(ERRDIR, f"sleeper-{init.name}.err")
    pid = spawn(init.argv([SLEEP, "100"]), stderr=errfile)
    child = P.wait_child_comm(pid, "sleep", 5.0)
    if child is None:
        P.kill_tree(pid)
        waitpid(pid)
        raise RuntimeError(f"{init.name}: child sleep never started")
    return pid, child


def strace_count(pid, secs):
    """Completed system calls of `pid` (that process only) while strace is attached."""
    with tempfile.NamedTemporaryFile("r", suffix=".strace") as out:
        s = subprocess.Popen(
            ["strace", "-qq", "-p", str(pid), "-o", out.name],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(secs)
        s.send_signal(signal.SIGINT)
        s.wait(10)
        lines = out.read().splitlines()
    done = [ln for ln in lines if re.search(r"\)\s+= ", ln) or re.search(r"resumed>.*= ", ln)]
    return len(done), done


def bench_idle(inits, secs):
    """Peak RSS and idle cost of every init supervising a sleep, all at once."""
    res = {}
    procs = {i.name: start_sleeper(i) for i in inits}
    try:
        time.sleep(0.5)
        for name, (pid, _) in procs.items():
            res[name] = {"hwm": P.status_field(pid, "VmHWM"), "rss_parts": rss_parts(pid)}
        before = {n: (P.ctxt_switches(p), P.cpu_ns(p)) for n, (p, _) in procs.items()}
        time.sleep(secs)
        for n, (p, _) in procs.items():
            cs, ns = P.ctxt_switches(p), P.cpu_ns(p)
            res[n]["ctxt"] = cs - before[n][0]
            res[n]["cpu_ns"] = ns - before[n][1]
        # strace, one init at a time (its own cost must not land on another).
        for n, (p, _) in procs.items():
            cnt, calls = strace_count(p, secs)
            res[n]["syscalls"] = cnt
            res[n]["syscall_list"] = calls
    finally:
        for n, (p, _) in procs.items():
            P.kill_tree(p)
            try:
                waitpid(p)
            except ChildProcessError:
                pass
        P.reap_all_children()
    return res


def rss_parts(pid):
    """Resident KiB by kind, from /proc/PID/smaps: the program file's own
    pages (code and data as mapped from the file), the stack, and anonymous
    memory (.bss and whatever else)."""
    parts = {"file": 0, "stack": 0, "anon": 0}
    kind = None
    for line in (P.read(f"/proc/{pid}/smaps") or "").splitlines():
        f = line.split()
        if f and re.match(r"^[0-9a-f]+-[0-9a-f]+$", f[0]):
            name = f[5] if len(f) > 5 else ""
            kind = "stack" if name == "[stack]" else "file" if name.startswith("/") else "anon"
        elif f and f[0] == "Rss:" and kind:
            parts[kind] += int(f[1])
    return parts


def bench_signals(inits, runs):
    """SIGTERM -> init exited; child SIGKILLed -> init exited (ms, interleaved)."""
    res = {i.name: {"term": [], "term_code": set(), "kill": [], "kill_code": set()} for i in inits}
    order = list(inits)
    for _ in range(runs):
        for mode in ("term", "kill"):
            random.shuffle(order)
            for i in order:
                pid, child = start_sleeper(i)
                time.sleep(0.02)  # let the init settle into its wait
                t0 = time.perf_counter_ns()
                if mode == "term":
                    os.kill(pid, signal.SIGTERM)
                else:
                    os.kill(child, signal.SIGKILL)
                st = waitpid(pid, 15)
                t1 = time.perf_counter_ns()
                res[i.name][mode].append((t1 - t0) / 1e6)
                res[i.name][mode + "_code"].add(P.exit_code(st))
                P.kill_tree(child)
                P.reap_all_children()
    return res


def blocked_term(init, bound, trace=False):
    """One run: the init's only child fills the init's stderr (a pipe nobody
    reads) and stays blocked writing it; then SIGTERM to the init. Returns
    (ms from SIGTERM to exit, exit status), or (None, None) when the init
    had not exited after `bound` s (it hung: the tree is killed). With
    `trace`, returns instead the number of system calls the init made from
    the SIGTERM to its exit (`strace -p`, the init only; attached before the
    SIGTERM, the wait it interrupts counted too), or None."""
    rd, wr = os.pipe()
    pidfile = os.path.join(ERRDIR, f"filler-{init.key}.pid")
    if os.path.exists(pidfile):
        os.unlink(pidfile)
    pid = spawn(init.argv([sys.executable, "-c", P.FILLER_SCRIPT, pidfile]), stderr=wr)
    os.close(wr)
    try:
        filler = P.wait_for(lambda: os.path.exists(pidfile) and int(P.read(pidfile)), 10.0)
        if not filler or not P.wait_for(lambda: P.blocked_in_write(filler), 10.0, 0.005):
            raise RuntimeError(f"{init.name}: the child never blocked on the full stderr")
        if trace:
            return traced_term(pid, bound)
        t0 = time.perf_counter_ns()
        os.kill(pid, signal.SIGTERM)
        st = wait_or_kill(pid, bound)
        t1 = time.perf_counter_ns()
        return (None, None) if st is None else ((t1 - t0) / 1e6, P.exit_code(st))
    finally:
        P.kill_tree(pid)
        P.reap_all_children()
        os.close(rd)


def traced_term(pid, bound):
    """SIGTERM to `pid` under `strace -p` (attached first); the number of
    system calls it made until it exited, or None if it did not."""
    with tempfile.NamedTemporaryFile("r", suffix=".strace") as out:
        tracer = subprocess.Popen(
            ["strace", "-qq", "-p", str(pid), "-o", out.name],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            attached = P.wait_for(
                lambda: P.read(f"/proc/{pid}/status", "").count("TracerPid:\t0") == 0, 10.0, 0.01
            )
            if not attached:
                return None
            os.kill(pid, signal.SIGTERM)
            st = wait_or_kill(pid, bound)
            tracer.wait(10)
        finally:
            if tracer.poll() is None:
                tracer.kill()
                tracer.wait()
        if st is None:
            return None
        return sum(1 for line in out if line.strip() and not line.startswith(("+++", "---")))


def bench_blocked_stderr(inits, runs, bound):
    """SIGTERM -> exit with stderr blocked, interleaved (see blocked_term);
    then one traced run each for the system calls."""
    res = {i.key: [] for i in inits}
    order = list(inits)
    for _ in range(runs):
        random.shuffle(order)
        for i in order:
            res[i.key].append(blocked_term(i, bound))
    syscalls = {i.key: blocked_term(i, bound, trace=True) for i in inits}
    return res, syscalls


# Not PID 1, the init's child leaves two processes behind and exits 0: a
# double-forked one (its parent subshell exits at once) and a setsid'd one.
# No `$` in it (dinit expands `$` in -r words).
ESCAPES_SCRIPT = "( sleep 1000 & ) ; setsid sleep 1000 & exit 0"


def escapes(init):
    """One run (see ESCAPES_SCRIPT): (processes still running once the init
    has exited, the init's exit status). The bench is a child subreaper, so
    whatever escaped the init ends up as the bench's child: counted there,
    then killed."""
    pid = spawn(init.argv(["/bin/sh", "-c", ESCAPES_SCRIPT]))
    try:
        st = waitpid(pid, 30.0)
    finally:
        P.kill_tree(pid)
    left = [c for c in P.children(os.getpid()) if (P.stat_fields(c) or ["Z"])[0] != "Z"]
    for c in left:
        P.kill_tree(c)
    P.reap_all_children()
    return len(left), P.exit_code(st)


def bench_escapes(inits, runs):
    res = {i.name: [] for i in inits}
    order = list(inits)
    for _ in range(runs):
        random.shuffle(order)
        for i in order:
            res[i.name].append(escapes(i))
    return res


def run_storm(init, total, burst, hold, trace=False):
    """One orphan storm with `init` as PID 1 of a new PID namespace. With
    `trace`, the init's system calls during the storm are counted with
    `strace -c -p` (a diagnostic: strace slows the init down)."""
    err = tempfile.NamedTemporaryFile(prefix="bench-storm-", suffix=".err", delete=False)
    err.close()
    argv = ["unshare", "--pid", "--fork", "--mount-proc", "--kill-child"] + init.argv(
        [sys.executable, "-c", P.STORM_SCRIPT, str(burst), str(hold), "10"], pid1=True
    )
    p = subprocess.Popen(
        argv,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=open(err.name, "wb"),
        start_new_session=True,
        text=True,
    )
    try:
        # The init is unshare's only child.
        ipid = P.wait_for(lambda: (P.children(p.pid) or [None])[0], 5.0)
        if ipid is None:
            raise RuntimeError(f"{init.name}: no init under unshare")
        if p.stdout.readline().strip() != "ready":
            raise RuntimeError(f"{init.name}: storm primary did not start")
        tracer = None
        if trace:
            tout = err.name + ".strace"
            tracer = subprocess.Popen(
                ["strace", "-c", "-p", str(ipid), "-o", tout],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            time.sleep(0.5)
        ns0, t0 = P.cpu_ns(ipid), P.cpu_ticks(ipid)
        p.stdin.write(f"storm {total}\n")
        p.stdin.flush()
        line = p.stdout.readline()
        ns1, t1 = P.cpu_ns(ipid), P.cpu_ticks(ipid)
        syscalls = None
        if tracer:
            tracer.send_signal(signal.SIGINT)
            tracer.wait(10)
            syscalls = parse_strace_c(P.read(tout, ""))
            os.unlink(tout)
        r = json.loads(line)
        if "error" in r:
            raise RuntimeError(f"{init.name}: {r['error']}")
        p.stdin.write("exit\n")
        p.stdin.close()
        code = p.wait(30)
        r.update(cpu_ns=ns1 - ns0, cpu_ticks=t1 - t0, code=code, log_lines=count_lines(err.name))
        if syscalls is not None:
            r["syscalls"] = syscalls
        return r
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
        os.unlink(err.name)


def parse_strace_c(text):
    """{syscall: calls} from a `strace -c` summary."""
    out = {}
    for line in text.splitlines():
        m = re.match(r"^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(\w+)\s*$", line)
        if m and m.group(2) != "total":
            out[m.group(2)] = int(m.group(1))
    return out


def bench_storm(inits, runs, total, burst, hold):
    res = {i.key: [] for i in inits}
    order = list(inits)
    for _ in range(runs):
        random.shuffle(order)
        for i in order:
            res[i.key].append(run_storm(i, total, burst, hold))
    return res


def raw_spawn_block(n):
    t0 = time.perf_counter()
    for _ in range(n):
        pid = os.posix_spawn(TRUE, [TRUE], os.environ)
        os.waitpid(pid, 0)
    return time.perf_counter() - t0


def bench_socket(dinit_path, total, block):
    """dinit submissions/s vs raw posix_spawn+waitpid/s, in alternating blocks."""
    d = tempfile.mkdtemp(prefix="bench-sock-")
    path = os.path.join(d, "dinit.sock")
    err = os.path.join(d, "stderr")
    pid = spawn([dinit_path, "-socket", path, "-r", SLEEP, "1000"], stderr=err)
    res = {"sub_s": 0.0, "raw_s": 0.0, "n": 0, "bad": []}
    try:
        primary = P.wait_child_comm(pid, "sleep", 5)
        if primary is None or not P.wait_for(lambda: os.path.exists(path), 5):
            raise RuntimeError("dinit did not start its primary and socket")
        line = f"-r {TRUE}\n".encode()
        # warm-up
        for _ in range(20):
            P.submit(path, line)
        raw_spawn_block(20)
        done = 0
        while done < total:
            k = min(block, total - done)
            res["raw_s"] += raw_spawn_block(k)
            t0 = time.perf_counter()
            for _ in range(k):
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.connect(path)
                s.sendall(line)
                buf = b""
                while not buf.endswith(b"\n"):
                    c = s.recv(64)
                    if not c:
                        break
                    buf += c
                s.close()
                if not buf.startswith(b"ok "):
                    res["bad"].append(buf)
            res["sub_s"] += time.perf_counter() - t0
            done += k
        # every child reaped: dinit has no child but the primary left.
        t0 = time.perf_counter()
        ok = P.wait_for(lambda: P.children(pid) == [primary], 10)
        res["sub_s"] += time.perf_counter() - t0
        res["reaped"] = bool(ok)
        res["n"] = total
    finally:
        P.kill_tree(pid)
        waitpid(pid)
        P.reap_all_children()
        shutil.rmtree(d, ignore_errors=True)
    return res


# ------------------------------------------------ graceful stop under load

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REALAPPS = os.path.join(REPO, "tests", "realapps")
STOP_CLIENTS = 8


def recipe_argv():
    """The ENTRYPOINT of tests/realapps/Dockerfile (the README's nginx +
    php-fpm recipe, with `-stoporder reverse`), as a list of words."""
    text = P.read(os.path.join(REALAPPS, "Dockerfile")).replace("\\\n", " ")
    line = next(ln for ln in text.splitlines() if ln.startswith("ENTRYPOINT "))
    return json.loads(line[len("ENTRYPOINT "):])


def stop_variants(dinit_name, tini_name):
    """(key, argv as PID 1 inside the root) of the graceful-stop row."""
    reverse = recipe_argv()
    assert reverse[0] == "/dinit" and "-stoporder" in reverse, reverse
    i = reverse.index("-stoporder")
    together = reverse[:i] + reverse[i + 2:]
    # The setup issue 15 measured tini with: php-fpm in the background of a
    # shell that becomes nginx; SIGQUIT reaches nginx alone, and php-fpm is
    # killed by the kernel when PID 1 exits.
    tini = ["/" + tini_name, "--", "/bin/sh", "-c", "php-fpm -F & exec nginx -g 'daemon off;'"]
    return [
        ("dinit-reverse", ["/" + dinit_name] + reverse[1:]),
        ("dinit-together", ["/" + dinit_name] + together[1:]),
        ("tini", tini),
    ]


def stop_root(dinit_path, tini_path):
    """The root file system of the real-program tests (scripts/realapps-rootfs.sh,
    built or taken from its cache), unpacked into a temporary directory and
    set up as tests/realapps/Dockerfile sets up its image, with dinit and
    tini-static at /dinit and /tini."""
    r = subprocess.run(["bash", os.path.join(REPO, "scripts", "realapps-rootfs.sh")], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"root file system: {r.stderr.strip()}")
    tar = r.stdout.strip()
    root = tempfile.mkdtemp(prefix="dinit-bench-root-")
    subprocess.run(["tar", "-C", root, "-xf", tar], check=True)
    j = lambda *p: os.path.join(root, *p)  # noqa: E731
    os.unlink(j("etc/nginx/sites-enabled/default"))
    os.symlink("/usr/sbin/php-fpm8.2", j("usr/local/sbin/php-fpm"))
    os.makedirs(j("run/php"), exist_ok=True)
    os.makedirs(j("var/www/html"), exist_ok=True)
    for src, dst in [
        ("php-fpm.conf", "etc/php/8.2/fpm/php-fpm.conf"),
        ("www.conf", "etc/php/8.2/fpm/pool.d/www.conf"),
        ("slow.php", "var/www/html/slow.php"),
    ]:
        shutil.copy(os.path.join(REALAPPS, src), j(dst))
    shutil.copy(dinit_path, j("dinit"))
    shutil.copy(tini_path, j("tini"))
    return root


def graceful_stop(root, argv, errfile):
    """One stop: ARGV as PID 1 of a new PID (and mount) namespace chrooted
    into ROOT (`unshare --root`, the host's network), nginx on a free port
    of 127.0.0.1; once STOP_CLIENTS clients on the 200 ms page have had
    2 x STOP_CLIENTS answers, SIGQUIT to PID 1 (what `docker stop` does with
    the image's STOPSIGNAL), then up to 30 s for it to exit before SIGKILL
    (`stop -t 30`). Returns httpload's summary, plus the exit status and
    whether it had to be killed."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    site = P.read(os.path.join(REALAPPS, "site.conf")).replace("listen 127.0.0.1:80 ", f"listen 127.0.0.1:{port} ")
    with open(os.path.join(root, "etc/nginx/sites-enabled/default"), "w") as f:
        f.write(site)
    cmd = ["unshare", "--pid", "--fork", "--mount", "--mount-proc", "--kill-child", f"--root={root}", *argv]
    with open(errfile, "wb") as err:
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=err, stderr=err, start_new_session=True)

    def exited():
        tail = (P.read(errfile) or "").strip().splitlines()[-2:]
        return RuntimeError(f"{argv[0]} exited {p.returncode} before nginx answered: {' / '.join(tail)}")

    load = None
    try:
        init = P.wait_for(lambda: (P.children(p.pid) or [None])[0] or p.poll() is not None, 5.0)
        if p.poll() is not None:
            raise exited()
        if not init:
            raise RuntimeError(f"{argv[0]}: no PID 1 under unshare")
        end = time.monotonic() + 30.0
        while True:
            if p.poll() is not None:
                raise exited()
            last, _, _ = httpload.one_request(port, "/slow.php", timeout=5.0)
            if last == "200":
                break
            if time.monotonic() > end:
                raise RuntimeError(f"{argv[0]}: nginx not answering 200 after 30 s (last: {last}); see {errfile}")
            time.sleep(0.05)
        load = httpload.Load(port, "/slow.php", STOP_CLIENTS, max_seconds=60.0)
        if not load.wait_ok(2 * STOP_CLIENTS, 30.0):
            raise RuntimeError(f"{argv[0]}: the load never got going: {load.end(5)}")
        # The clients answered together reconnect together: a stop at that
        # instant would find connections still in the listening socket's
        # backlog, which nginx's graceful stop resets whatever the init (a
        # race inside nginx, not a request it took). The stop comes at a
        # random moment inside the page's 200 ms instead, as it would in
        # life; `docker stop` in the engine tests has its own latency.
        time.sleep(random.uniform(0.05, 0.15))
        load.mark()
        os.kill(init, signal.SIGQUIT)
        killed = False
        try:
            code = p.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            code = p.wait()
            killed = True
        r = load.end()
        load = None
        r.update(code=code, killed=killed)
        return r
    finally:
        if load is not None:
            load.end(5)
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()


def bench_stops(dinit_path, tini_path, runs):
    """Graceful stops of the nginx + php-fpm root under load, the variants
    interleaved (each round runs each once, in a shuffled order)."""
    root = stop_root(dinit_path, tini_path)
    variants = stop_variants("dinit", "tini")
    res = {k: [] for k, _ in variants}
    try:
        for _ in range(runs):
            random.shuffle(variants)
            for k, argv in variants:
                # A variant that cannot run (a dinit without -stoporder)
                # says so in its cell; the others are still measured.
                try:
                    res[k].append(graceful_stop(root, argv, os.path.join(ERRDIR, f"stop-{k}.err")))
                except RuntimeError as e:
                    log(f"bench: {k}: {e}")
                    res[k].append({"error": str(e)})
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return res


def stop_figure(rs):
    failed = [r["error"] for r in rs if "error" in r]
    if failed:
        return f"failed in {len(failed)} of {len(rs)} runs: {failed[0]}".replace("|", "/")
    lost = [r["lost"] for r in rs]
    bad = sum(r["502"] for r in rs)
    inflight = sum(r["inflight"] for r in rs)
    killed = sum(1 for r in rs if r["killed"])
    codes = "/".join(map(str, sorted({r["code"] for r in rs})))
    text = f"{statistics.mean(lost):.1f} (max {max(lost)}; {sum(lost)} of {inflight} in flight; {bad} × 502; exit {codes})"
    return text + (f", {killed} killed at 30 s" if killed else "")


def stop_rows(R):
    """The graceful-stop rows: [(label, {init name: cell})]."""
    st = R["stops"]
    n = len(st["dinit-reverse"])
    label = (
        f"requests lost per graceful stop: nginx + php-fpm (Debian), {STOP_CLIENTS} clients on a "
        f"200 ms PHP page, SIGQUIT to PID 1, mean of {n} interleaved stops"
    )
    return [
        (label + ", dinit `-stoporder reverse`", {"dinit": stop_figure(st["dinit-reverse"]), "tini": stop_figure(st["tini"])}),
        ("… dinit `-stoporder together` (the default)", {"dinit": stop_figure(st["dinit-together"])}),
    ]


# ---------------------------------------------------------------- report


def fmt_ms(x):
    return f"{x:.3f}" if x < 10 else f"{x:.1f}"


def machine():
    cpu = "unknown"
    for line in (P.read("/proc/cpuinfo") or "").splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    nproc = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": nproc,
        "cpu": cpu,
        "kernel": platform.release(),
        "python": platform.python_version(),
    }


def build_table(inits, R):
    names = [i.name for i in inits]
    cols = [i.label() for i in inits]
    rows = []

    def row(label, f):
        rows.append([label] + [f(n) for n in names])

    row("version", lambda n: R["version"][n])
    row("binary size", lambda n: f"{R['size'][n]:,} B ({R['size'][n] / 1024:.1f} KiB)")
    row("linkage", lambda n: R["linkage"][n])
    st = R["start"]
    bare = median(st["bare"])
    row(
        f"`INIT /bin/true` wall, ms: median (min–max), {len(st['bare'])} rounds",
        lambda n: f"{fmt_ms(median(st[n]))} ({fmt_ms(min(st[n]))}–{fmt_ms(max(st[n]))})",
    )
    row(
        f"start overhead vs bare `/bin/true` (median {fmt_ms(bare)} ms)",
        lambda n: f"+{fmt_ms(median(st[n]) - bare)} ms",
    )
    row("stderr lines per `INIT /bin/true`", lambda n: f"{st['log_lines'][n]:g}")
    idle = R["idle"]
    row("peak RSS (VmHWM) supervising `sleep`", lambda n: f"{idle[n]['hwm']} KiB")
    row(
        f"idle {R['idle_secs']:g} s: syscalls (`strace -p`, init only)",
        lambda n: str(idle[n]["syscalls"]),
    )
    row(
        f"idle {R['idle_secs']:g} s: context switches (all threads, no tracer)",
        lambda n: str(idle[n]["ctxt"]),
    )
    sg = R["signals"]
    row(
        f"SIGTERM → init exited, median of {len(sg['dinit']['term'])} (exit status)",
        lambda n: f"{fmt_ms(median(sg[n]['term']))} ms ({'/'.join(map(str, sorted(sg[n]['term_code'])))})",
    )
    row(
        f"child SIGKILLed → init exited, median of {len(sg['dinit']['kill'])} (exit status)",
        lambda n: f"{fmt_ms(median(sg[n]['kill']))} ms ({'/'.join(map(str, sorted(sg[n]['kill_code'])))})",
    )
    row(BLOCKED_LABEL.format(runs=len(R["blocked_stderr"]["dinit"])), lambda n: blocked_cell(R, n))
    es = R["escapes"]
    row(
        f"processes left running after a non-PID-1 init exits (a double-forked and a setsid'd `sleep`; max of {len(es['dinit'])})",
        lambda n: f"{max(k for k, _ in es[n])} of 2 (exit {'/'.join(map(str, sorted({c for _, c in es[n]})))})",
    )
    for label, cell in storm_rows(R):
        row(label, cell)
    sk = R["socket"]
    sub_rate = sk["n"] / sk["sub_s"] if sk["sub_s"] else 0
    raw_rate = sk["n"] / sk["raw_s"] if sk["raw_s"] else 0
    row(
        f"socket submissions/s ({sk['n']:,} × `-r /bin/true`, each `ok`, all reaped)",
        lambda n: f"{sub_rate:,.0f}/s ({100 * sub_rate / raw_rate:.0f} % of raw)" if n == "dinit" else "—",
    )
    row(
        "raw fork+exec+wait of `/bin/true` from Python (posix_spawn)",
        lambda n: f"{raw_rate:,.0f}/s" if n == "dinit" else "—",
    )
    for label, cells in stop_rows(R):
        row(label, lambda n: cells.get(n, "—"))
    return markdown_table(cols, rows), sub_rate, raw_rate


def markdown_table(cols, rows):
    """A markdown table: a "figure" column, then one per init in `cols`;
    each row is [label, cell, cell, ...]."""
    out = ["| figure | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


BLOCKED_LABEL = (
    "SIGTERM → exit with stderr blocked (a full pipe nobody reads, child blocked on it), "
    "median of {runs} (exit status); system calls from SIGTERM to exit (`strace -p`, init only, one run)"
)


def blocked_cell(R, n):
    """The stderr-blocked figure of init `n` (a key of R["blocked_stderr"])."""
    bs = R["blocked_stderr"][n]
    hung = sum(1 for ms, _ in bs if ms is None)
    if hung:
        return f"hung ({hung} of {len(bs)} runs not exited after {R['blocked_bound']:g} s)"
    codes = "/".join(map(str, sorted({c for _, c in bs})))
    calls = R["blocked_syscalls"].get(n)
    return f"{fmt_ms(median([ms for ms, _ in bs]))} ms ({codes}); {'?' if calls is None else calls} syscalls"


def storm_rows(R):
    """The orphan storm's rows: [(label, cell(init key))]."""
    so = R["storm"]
    sp = R["storm_params"]
    tag = f"{sp['total']:,} orphans, bursts of {sp['burst']}, median of {sp['runs']}"
    return [
        (
            f"PID 1 orphan storm ({tag}): wall until all reaped",
            lambda n: f"{median([r['elapsed'] for r in so[n]]) * 1000:.0f} ms",
        ),
        (
            "… init CPU (schedstat; utime+stime)",
            lambda n: f"{median([r['cpu_ns'] for r in so[n]]) / 1e6:.2f} ms; "
            f"{median([r['cpu_ticks'] for r in so[n]]) * 1000 / P.CLK_TCK:.0f} ms",
        ),
        ("… zombies left (max)", lambda n: str(max(r["zombies"] + r["live"] for r in so[n]))),
        ("… init log lines (max)", lambda n: str(max(r["log_lines"] for r in so[n]))),
    ]


def before_after_table(inits, before, R):
    """The rows issue 14 asked to see before and after its rework (the
    orphan storm, SIGTERM with stderr blocked), the earlier dinit in its own
    column beside today's and the peers, all from the same interleaved runs."""
    keys = [before.key] + [i.key for i in inits]
    cols = [before.label()] + [i.label() for i in inits]
    rows = [(BLOCKED_LABEL.format(runs=len(R["blocked_stderr"]["dinit"])), lambda n: blocked_cell(R, n))]
    rows += storm_rows(R)
    rows.append(("version", lambda n: R["version"][n]))
    return markdown_table(cols, [[label] + [cell(k) for k in keys] for label, cell in rows])


def before_after_section(before, table):
    """The before/after table with what it compares."""
    return f"""
## Before and after issue 14

The orphan storm and the stderr-blocked figure of {before.label()} (the
last commit before issue 14 rebuilt the loop; `scripts/bench-before.sh`
builds it from this repository's history with that commit's own lock file
and flags), run in the same interleaved rounds as the table above:

{table}
"""


def median_se(xs):
    """Standard error of a median, from the interquartile range (robust to outliers)."""
    if len(xs) < 4:
        return float("inf")
    q1, _, q3 = statistics.quantiles(xs, n=4)
    return 1.2533 * ((q3 - q1) / 1.349) / len(xs) ** 0.5


def versus(mine, theirs):
    """'met' when dinit's median is no worse; 'met (within noise)' when it is
    worse by less than two standard errors of the difference; else 'NOT met'."""
    diff = median(mine) - median(theirs)
    if diff <= 0:
        return "met"
    se = (median_se(mine) ** 2 + median_se(theirs) ** 2) ** 0.5
    return "met (within noise)" if diff <= 2 * se else "NOT met"


def targets(inits, R, sub_rate, raw_rate):
    """[(target, verdict, detail)], verdict one of met / met (within noise) / NOT met."""
    peers = [i.name for i in inits if i.name != "dinit"]
    st = R["start"]
    idle = R["idle"]
    sg = R["signals"]
    cpu = {n: [r["cpu_ns"] / 1e6 for r in R["storm"][n]] for n in R["storm"]}
    term = {n: sg[n]["term"] for n in sg}
    bare = median(st["bare"])
    t = []

    def yes(ok):
        return "met" if ok else "NOT met"

    def best_of(d):
        p = min(peers, key=lambda p: median(d[p]))
        return p, d[p]

    size = R["size"]["dinit"]
    t.append(("x86_64 binary ≤ 96 KiB", yes(size <= 98304), f"{size:,} B"))
    t.append(("peak RSS ≤ 128 KiB", yes(idle["dinit"]["hwm"] <= 128), f"{idle['dinit']['hwm']} KiB"))
    p, xs = best_of(st)
    t.append((
        "start overhead ≤ best peer",
        versus(st["dinit"], xs),
        f"+{fmt_ms(median(st['dinit']) - bare)} ms vs +{fmt_ms(median(xs) - bare)} ms ({p})",
    ))
    sc = idle["dinit"]["syscalls"]
    calls = "; ".join(c.split("(")[0] for c in idle["dinit"]["syscall_list"])
    t.append(("0 syscalls while idle", yes(sc == 0), f"{sc}" + (f" ({calls}) under strace" if sc else "")))
    t.append(("0 context switches while idle", yes(idle["dinit"]["ctxt"] == 0), f"{idle['dinit']['ctxt']}"))
    p, xs = best_of(term)
    t.append((
        "SIGTERM → exit ≤ best peer",
        versus(term["dinit"], xs),
        f"{fmt_ms(median(term['dinit']))} ms vs {fmt_ms(median(xs))} ms ({p})",
    ))
    p, xs = best_of(cpu)
    t.append((
        "reaping CPU ≤ best peer",
        versus(cpu["dinit"], xs),
        f"{median(cpu['dinit']):.2f} ms vs {median(xs):.2f} ms ({p})",
    ))
    ll = max(r["log_lines"] for r in R["storm"]["dinit"])
    t.append(("≤ 20 log lines per orphan storm", yes(ll <= 20), f"{ll}"))
    rev = R["stops"]["dinit-reverse"]
    failed = [r for r in rev if "error" in r]
    t.append((
        "no request lost per graceful stop with `-stoporder reverse` (issue 15)",
        yes(not failed and all(r["lost"] == 0 and r["502"] == 0 and r["code"] == 0 for r in rev)),
        f"did not run: {failed[0]['error']}" if failed else stop_figure(rev),
    ))
    ratio = sub_rate / raw_rate if raw_rate else 0
    t.append((
        "submissions/s ≥ 80 % of raw fork+exec",
        yes(ratio >= 0.8 and R["socket"]["reaped"] and not R["socket"]["bad"]),
        f"{100 * ratio:.0f} %" + ("" if R["socket"]["reaped"] else ", NOT all reaped")
        + (f", {len(R['socket']['bad'])} not ok" if R["socket"]["bad"] else ""),
    ))
    return t


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dinit")
    ap.add_argument("--quick", action="store_true", help="fewer rounds (a smoke test, not figures)")
    ap.add_argument("--out", default=None, help="where to write the report (default: BENCHMARKS.md at the repository root)")
    ap.add_argument(
        "--only",
        choices=["stops"],
        help="run one figure only and print it (BENCHMARKS.md is not written): "
        "stops = requests lost per graceful stop",
    )
    ap.add_argument(
        "--before",
        metavar="PATH",
        help="an earlier dinit binary (scripts/bench-before.sh builds one): run beside the others "
        "in the orphan storm and the stderr-blocked figure, shown in a before/after table",
    )
    ap.add_argument("--before-ref", default="before", metavar="REF", help="the commit --before was built from")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench.py: needs root (PID namespaces, strace of other processes)")
    dinit = os.path.abspath(args.dinit)
    inits = [Init("dinit", dinit)] + [Init(n, p) for n, p in PEERS.items()]
    before = None
    if args.before:
        before = Init("dinit", os.path.abspath(args.before), key="dinit-before", label=f"dinit at {args.before_ref}")
    if args.only == "stops":
        inits = [i for i in inits if i.name in ("dinit", "tini")]
        tools = ("unshare", "mmdebstrap")
    else:
        tools = ("strace", "unshare", "readelf", "mmdebstrap")
    # The inits of the figures that also run the earlier dinit.
    both = inits + ([before] if before else [])
    missing = [i.path for i in both if not os.access(i.path, os.X_OK)]
    missing += [t for t in tools if not shutil.which(t)]
    if missing:
        sys.exit(f"bench.py: missing {', '.join(missing)} (run: make bench)")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = args.out or os.path.join(root, "BENCHMARKS.md")
    q = args.quick
    rounds = 30 if q else 200
    sig_runs = 5 if q else 41
    blocked_runs = 3 if q else 11
    storm = {"total": 500 if q else 2000, "burst": 100, "hold": 0.1, "runs": 1 if q else 9}
    sock_n = 300 if q else 2000
    stop_runs = 3 if q else 10

    global ERRDIR
    ERRDIR = tempfile.mkdtemp(prefix="dinit-bench-")
    P.become_subreaper()
    # The machine may be shared: a strong CFS weight (inherited by every
    # process started below, inits and peers alike) keeps other load from
    # dominating sub-millisecond figures. Best effort.
    try:
        os.setpriority(os.PRIO_PROCESS, 0, -20)
        niced = "all measured processes ran at nice -20"
    except OSError:
        niced = "nice unchanged"
    random.seed()
    if args.only == "stops":
        log(f"bench: graceful stops of nginx + php-fpm under load, {stop_runs} interleaved runs")
        R = {"stops": bench_stops(dinit, PEERS["tini"], stop_runs)}
        cols = ["dinit", "tini"]
        labels = [Init(n, "").label() for n in cols]
        print(markdown_table(labels, [[label] + [cells.get(n, "—") for n in cols] for label, cells in stop_rows(R)]))
        return
    load0 = (P.read("/proc/loadavg") or "?").split()[:3]
    R = {"idle_secs": 2.0, "storm_params": storm}
    t_begin = time.monotonic()
    R["version"] = {i.key: version(i) for i in both}
    R["size"] = {i.name: os.stat(i.path).st_size for i in inits}
    R["linkage"] = {i.name: linkage(i.path) for i in inits}
    log(f"bench: start-to-exit, {rounds} interleaved rounds")
    R["start"] = bench_start(inits, rounds, ERRDIR)
    log("bench: peak RSS and idle cost")
    R["idle"] = bench_idle(inits, R["idle_secs"])
    log(f"bench: SIGTERM / child-killed, {sig_runs} interleaved runs")
    R["signals"] = bench_signals(inits, sig_runs)
    R["blocked_bound"] = 5.0
    log(f"bench: SIGTERM with stderr blocked, {blocked_runs} interleaved runs")
    R["blocked_stderr"], R["blocked_syscalls"] = bench_blocked_stderr(
        both, blocked_runs, R["blocked_bound"]
    )
    log(f"bench: processes escaping a non-PID-1 init, {blocked_runs} interleaved runs")
    R["escapes"] = bench_escapes(inits, blocked_runs)
    log(f"bench: orphan storms as PID 1, {storm['runs']} interleaved runs")
    R["storm"] = bench_storm(both, storm["runs"], storm["total"], storm["burst"], storm["hold"])
    log(f"bench: {sock_n} socket submissions vs raw fork+exec")
    R["socket"] = bench_socket(dinit, sock_n, 200)
    log(f"bench: graceful stops of nginx + php-fpm under load, {stop_runs} interleaved runs")
    R["stops"] = bench_stops(dinit, PEERS["tini"], stop_runs)
    elapsed = time.monotonic() - t_begin
    load1 = (P.read("/proc/loadavg") or "?").split()[:3]

    table, sub_rate, raw_rate = build_table(inits, R)
    tg = targets(inits, R, sub_rate, raw_rate)
    if any(label.startswith("reaping CPU") and verdict != "met" for label, verdict, _ in tg):
        log("bench: reaping CPU behind the best peer; counting system calls of one traced storm per init")
        R["storm_trace"] = {
            i.name: run_storm(i, storm["total"], storm["burst"], storm["hold"], trace=True) for i in inits
        }
    m = machine()
    rel = os.path.relpath(dinit, os.getcwd()) if dinit.startswith(os.getcwd()) else dinit
    cmd = "make bench  # = python3 scripts/bench.py " + rel + (" --quick" if q else "")
    if before:
        brel = os.path.relpath(before.path, os.getcwd()) if before.path.startswith(os.getcwd()) else before.path
        cmd += f" --before {brel} --before-ref {args.before_ref}"
        ba = before_after_table(inits, before, R)
        print(ba)
        print()
    tlines = [f"- {verdict}: {label} — {detail}" for label, verdict, detail in tg]
    print(table)
    print()
    print("Targets:")
    print("\n".join(tlines))

    doc = f"""# Benchmarks

dinit side by side with [tini](https://github.com/krallin/tini) (`tini-static`),
[dumb-init](https://github.com/Yelp/dumb-init) and
[catatonit](https://github.com/openSUSE/catatonit), measured in one run on one
machine, interleaved. Regenerate with `make bench` (installs the Debian
packages `tini`, `dumb-init`, `catatonit` and `strace` when missing, builds
dinit, runs `scripts/bench.py`, rewrites this file).

- date: {m['date']}
- machine: {m['nproc']} CPUs (`nproc`), {m['cpu']}, Linux {m['kernel']}, Python {m['python']}
- command: `{cmd}` (took {elapsed:.0f} s)
- load average (1/5/15 min) before: {' '.join(load0)}, after: {' '.join(load1)} — the
  machine was shared; interleaving spreads any load over all inits alike; {niced}

{table}
{before_after_section(before, ba) if before else ""}
How each figure is taken (see the docstring of `scripts/bench.py`):
every init runs with its default flags — `dinit -socket "" -r CMD`,
`tini-static -s -- CMD` (`-s` only when not PID 1), `dumb-init CMD`,
`catatonit -- CMD` — with stderr captured, not silenced by options. Wall
times are `posix_spawn` → `waitpid` from Python; RSS, CPU and context
switches are read from `/proc/PID` of the init by its host pid; idle system
calls are those `strace -p PID` (that process only) sees complete in 2 s.
The orphan storm runs each init as PID 1 of a new PID namespace
(`unshare --pid --fork --mount-proc`); its primary makes the orphans: a
burst leader forks {storm['burst']} children and exits at once, so they are
reparented to PID 1, and all children of a burst sleep to the same deadline
({storm['hold']} s), so they exit together and their SIGCHLDs coalesce.
"SIGTERM → exit with stderr blocked" gives each init a stderr that is a
pipe nobody reads, which its only child fills and stays blocked on (a
stalled log driver, a paused `docker attach`); an init that blocks writing
its own log line shows "hung" (not exited 5 s after the SIGTERM). "Processes
left running" runs `sh -c '{ESCAPES_SCRIPT}'` under each init, not as PID 1;
the bench is a child subreaper, so whatever escaped the init comes to it
and is counted, then killed.
Socket submissions are sequential clients (`connect`, `-r /bin/true`, read
`ok PID`, close), timed until the last child is reaped, in blocks of 200
alternating with blocks of raw `posix_spawn` + `waitpid` of `/bin/true`.
"Requests lost per graceful stop" runs Debian's nginx-light and php8.2-fpm
(the root file system and configuration of `tests/it/realapps.rs`, no
engine: `unshare --pid --mount --root`, PID 1 of its own namespace) under
{STOP_CLIENTS} clients on a 200 ms PHP page, SIGQUIT to PID 1 once the load
runs, 30 s before SIGKILL: dinit with the README recipe
(`-stopsignal QUIT -stoporder reverse`), the same with `together`, and
tini with php-fpm in the background of a shell that becomes nginx; a
request is lost when it was in flight at the SIGQUIT and got no 200.
dumb-init is dynamically linked: its size does not include the C library
and loader it needs at run time.

## Targets (issue 5)

{chr(10).join(tlines)}
"""
    notes = notes_for(R, tg)
    if notes:
        doc += "\n## Notes\n\n" + notes + "\n"
    with open(out, "w") as f:
        f.write(doc)
    log(f"bench: wrote {out} ({elapsed:.0f} s)")


def notes_for(R, tg):
    """Explain a missed target from evidence gathered in this run."""
    notes = []
    idle = R["idle"]["dinit"]
    if idle["syscalls"] and idle["ctxt"] == 0:
        calls = "; ".join(idle["syscall_list"])
        notes.append(
            "- Idle syscalls: with nothing attached dinit had "
            f"{idle['ctxt']} context switches in {R['idle_secs']:g} s (it never ran). The "
            f"call(s) strace shows — `{calls}` — are dinit's response to the attach itself: "
            "a ptrace attach makes a blocked `epoll_pwait` return EINTR (epoll waits are never "
            "restarted), and dinit then reads the clock before waiting again. dumb-init "
            "(`rt_sigtimedwait`) and catatonit (`read` on a signalfd) are restarted by the "
            "kernel instead, so strace sees nothing from them."
        )
    if any(label.startswith("peak RSS") and verdict != "met" for label, verdict, _ in tg):
        d = R["idle"]["dinit"]
        rp = d["rss_parts"]
        notes.append(
            f"- Peak RSS: {d['hwm']} KiB. Resident 0.5 s after start (`/proc/PID/smaps`): "
            f"{rp['file']} KiB of the program file (its code and data, mapped in as read: "
            f"a {R['size']['dinit']:,}-byte binary), {rp['stack']} KiB of stack, {rp['anon']} KiB "
            "anonymous (.bss: the fixed tables, touched as used). The 128 KiB target dates from "
            "the 64 KiB size budget (issue 5); issue 14 raised the budget to 96 KiB, and a "
            "resident code page costs what the file holds."
        )
    tr = R.get("storm_trace")
    if tr:
        def desc(n):
            sc = tr[n].get("syscalls") or {}
            top = ", ".join(f"{k} {v:,}" for k, v in sorted(sc.items(), key=lambda kv: -kv[1])[:4])
            return f"{n}: {sum(sc.values()):,} ({top})"

        n = tr["dinit"]["orphans"]
        per = {k: sum((tr[k].get("syscalls") or {}).values()) / n for k in tr}
        notes.append(
            f"- Reaping CPU: system calls of each init during one {n:,}-orphan storm "
            "(`strace -c -p`, a separate diagnostic run after the measured ones): "
            + "; ".join(desc(k) for k in tr)
            + ". Per orphan: "
            + ", ".join(f"{k} {v:.2f}" for k, v in per.items())
            + ". Reaping is one `wait4` per orphan for every init; what an init does "
            "around it (clock reads, wake-ups, signal reads) is what its CPU figure adds."
        )
    return "\n".join(notes)


def cleanup():
    """Kill whatever we started that is still around; remove the stderr files."""
    P.kill_descendants(os.getpid())
    P.reap_all_children()
    if ERRDIR:
        shutil.rmtree(ERRDIR, ignore_errors=True)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda sig, frame: sys.exit(128 + sig))
    try:
        main()
    finally:
        cleanup()
