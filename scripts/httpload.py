#!/usr/bin/env python3
"""Bounded HTTP load on 127.0.0.1, counting what a graceful stop loses.

    python3 scripts/httpload.py --port PORT [--path /slow.php] [--clients 8]
                                [--warm N] [--ready-seconds 60] [--max-seconds 120]

Used by tests/it/realapps.rs (as this command) and scripts/bench.py (as a
module: `Load`). Only 127.0.0.1 is ever a target.

CLIENTS threads each send `GET PATH` on a fresh connection (`Connection:
close`, so no request can race the server closing an idle keep-alive
connection) and read the whole response; each request's result is its status
code (`200`, `502`, ...) or `refused` (connect failed), `reset` (the
connection was reset or broken), `eof` (closed before a complete response)
or `timeout` (no answer in 45 s, longer than any stop's grace period). After
a refused connect a client waits 20 ms before the next one (no busy loop
against a stopped server).

Protocol, one word a line:
  * first the server is polled (one request at a time, bounded by
    --ready-seconds) until it answers 200; then the clients start, and once
    WARM requests (default 2 x clients) have been answered 200 the program
    prints `warm`, 50-150 ms later (inside the page's time, not in the
    instant the answered clients reconnect), or `error: ...` and exits 1
    when it cannot get there;
  * `mark` on stdin records the moment of the stop (the caller writes it
    just before it stops the server) and prints `marked`;
  * `end` on stdin (or the end of stdin) stops sending new requests, waits
    for the ones under way (bounded), prints the summary and exits 0.

A request is *in flight at the stop* when its connection was established
before the mark and its response had not been read completely by then; it
is *lost* when its result is anything but 200. The summary is one line of
`key=value` words (for the test to parse), then the same in words:

    summary before=96 inflight=8 lost=0 502=0 after=3 refused=3 reset=0 eof=0 timeout=0 other=0

`before` counts the 200s completed before the mark, `after` the requests
whose connection was made after it; `refused`..`other` count results over
all requests (`other`: any status but 200 and 502).
"""

import argparse
import random
import socket
import sys
import threading
import time

sys.dont_write_bytecode = True

HOST = "127.0.0.1"
REQUEST_TIMEOUT = 45.0


def one_request(port, path, timeout=REQUEST_TIMEOUT):
    """(result, connected_at, done_at): result is a status code as a string,
    or refused / reset / eof / timeout. connected_at is None when the
    connection was never made."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    connected = None
    try:
        try:
            s.connect((HOST, port))
        except ConnectionRefusedError:
            return "refused", None, time.monotonic()
        except socket.timeout:
            return "timeout", None, time.monotonic()
        except OSError:
            return "reset", None, time.monotonic()
        connected = time.monotonic()
        req = f"GET {path} HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n".encode()
        s.sendall(req)
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    except socket.timeout:
        return "timeout", connected, time.monotonic()
    except (ConnectionResetError, BrokenPipeError, ConnectionAbortedError):
        return "reset", connected, time.monotonic()
    except OSError:
        return "reset", connected, time.monotonic()
    finally:
        s.close()
    done = time.monotonic()
    head, sep, body = data.partition(b"\r\n\r\n")
    words = head.split(b"\r\n", 1)[0].split()
    if not sep or len(words) < 2 or not words[0].startswith(b"HTTP/"):
        return "eof", connected, done
    status = words[1].decode(errors="replace")
    # A complete body: Content-Length when given (nginx sends chunked or a
    # length; with Connection: close the end of stream ends it either way).
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            try:
                if len(body) < int(value.strip()):
                    return "eof", connected, done
            except ValueError:
                pass
    if head.lower().find(b"transfer-encoding: chunked") >= 0 and not body.endswith(b"0\r\n\r\n"):
        return "eof", connected, done
    return status, connected, done


def wait_ready(port, path, seconds):
    """Poll until the server answers 200; the last result when it never did."""
    end = time.monotonic() + seconds
    last = None
    while time.monotonic() < end:
        last, _, _ = one_request(port, path, timeout=min(10.0, max(0.5, end - time.monotonic())))
        if last == "200":
            return None
        time.sleep(0.05)
    return last


class Load:
    """`clients` threads sending requests until `end()`; see the module doc."""

    def __init__(self, port, path="/slow.php", clients=8, max_seconds=120.0):
        self.port, self.path = port, path
        self.results = []  # (result, connected_at, done_at)
        self.lock = threading.Lock()
        self.ok = threading.Condition(self.lock)
        self.stopping = threading.Event()
        self.mark_at = None
        self.deadline = time.monotonic() + max_seconds
        self.threads = [threading.Thread(target=self._client, daemon=True) for _ in range(clients)]
        for t in self.threads:
            t.start()

    def _client(self):
        while not self.stopping.is_set() and time.monotonic() < self.deadline:
            r = one_request(self.port, self.path)
            with self.lock:
                self.results.append(r)
                if r[0] == "200":
                    self.ok.notify_all()
            if r[0] == "refused":
                self.stopping.wait(0.02)

    def wait_ok(self, n, seconds):
        """Whether `n` requests have been answered 200 within `seconds`."""
        end = time.monotonic() + seconds
        with self.lock:
            while sum(1 for r in self.results if r[0] == "200") < n:
                left = end - time.monotonic()
                if left <= 0:
                    return False
                self.ok.wait(left)
        return True

    def mark(self):
        self.mark_at = time.monotonic()

    def end(self, seconds=REQUEST_TIMEOUT + 5):
        """Stop sending; wait for what is under way (bounded); the summary."""
        self.stopping.set()
        end = time.monotonic() + seconds
        for t in self.threads:
            t.join(max(0.0, end - time.monotonic()))
        with self.lock:
            return summarize(list(self.results), self.mark_at)


def summarize(results, mark):
    s = {k: 0 for k in ("before", "inflight", "lost", "502", "after", "refused", "reset", "eof", "timeout", "other")}
    for result, connected, done in results:
        if result in ("refused", "reset", "eof", "timeout"):
            s[result] += 1
        elif result == "502":
            s["502"] += 1
        elif result != "200":
            s["other"] += 1
        if mark is None:
            continue
        if connected is not None and connected < mark:
            if done < mark:
                s["before"] += result == "200"
            else:
                s["inflight"] += 1
                s["lost"] += result != "200"
        elif connected is not None or done >= mark:
            s["after"] += 1
    return s


def summary_line(s):
    return "summary " + " ".join(f"{k}={v}" for k, v in s.items())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--path", default="/slow.php")
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--warm", type=int, default=None, help="200s before `warm` (default 2 x clients)")
    ap.add_argument("--ready-seconds", type=float, default=60.0)
    ap.add_argument("--max-seconds", type=float, default=120.0, help="no request starts after this")
    a = ap.parse_args()
    warm = a.warm if a.warm is not None else 2 * a.clients

    def say(line):
        print(line, flush=True)

    last = wait_ready(a.port, a.path, a.ready_seconds)
    if last is not None:
        say(f"error: {HOST}:{a.port}{a.path} not answering 200 after {a.ready_seconds:g} s (last: {last})")
        return 1
    load = Load(a.port, a.path, a.clients, a.max_seconds)
    if not load.wait_ok(warm, a.ready_seconds):
        s = load.end(5)
        say(f"error: fewer than {warm} requests answered 200 in {a.ready_seconds:g} s: {summary_line(s)}")
        return 1
    # Not in the instant the answered clients reconnect all at once: a stop
    # then would find connections still in nginx's listening backlog, which
    # its graceful stop resets whatever the init (see scripts/bench.py).
    time.sleep(random.uniform(0.05, 0.15))
    say("warm")
    for line in sys.stdin:
        word = line.strip()
        if word == "mark":
            load.mark()
            say("marked")
        elif word == "end":
            break
    s = load.end()
    say(summary_line(s))
    say(
        f"{s['inflight']} requests in flight at the stop, {s['lost']} of them lost; "
        f"{s['502']} answered 502 Bad Gateway; {s['before']} answered 200 before the stop"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
