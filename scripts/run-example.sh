#!/usr/bin/env bash
# `make run`: dinit supervising two commands. As root it runs as PID 1 of a
# fresh PID namespace, the way a container starts it. The second command is
# the primary: it sends dinit a SIGHUP (which dinit forwards to both), then
# exits 3; dinit stops the worker with SIGTERM and exits 3 itself.
set -u
bin=${1:-target/x86_64-unknown-linux-musl/release/dinit}
# dinit expands $NAME in every argument (SPEC §2), so a `$` meant for the
# shell is written `$$`.
worker='trap "echo worker: got SIGHUP" HUP; trap "echo worker: got SIGTERM, bye; exit 0" TERM; echo worker: running as pid $$$$; while :; do sleep 1 & wait $$!; done'
primary='trap "echo primary: got SIGHUP" HUP; sleep 1; echo primary: sending SIGHUP to dinit; kill -HUP $$PPID; sleep 1; echo primary: exiting with status 3; exit 3'

if [ "$(id -u)" = 0 ] && unshare --pid --fork --mount-proc true 2>/dev/null; then
    echo "== dinit as PID 1 in a new PID namespace =="
    set -x
    unshare --pid --fork --mount-proc "$bin" -socket "" -timeout 5s -r /bin/sh -c "$worker" -r /bin/sh -c "$primary"
    status=$?
    set +x
else
    echo "== dinit as an ordinary process (not root: no PID namespace) =="
    set -x
    "$bin" -socket "" -timeout 5s -r /bin/sh -c "$worker" -r /bin/sh -c "$primary"
    status=$?
    set +x
fi
echo "dinit exited with status $status (the primary's)"
[ "$status" = 3 ]
