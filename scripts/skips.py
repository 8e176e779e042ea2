#!/usr/bin/env python3
"""The end of `make test`: how many tests were skipped, why, and which.

    skips.py LOG

LOG holds one line per skip, `TEST<TAB>WHY`, appended by the integration
tests' `util::record_skip` (the Makefile makes a fresh LOG per run and
points `DINIT_SKIP_LOG` at it). A test may skip only what emulation cannot
do (`util::skip_if_emulated`, WHY starting `under qemu-user:`); any other
skip makes this script exit 1, so it fails `make test` instead of scrolling
away.
"""
import sys
import textwrap

EMULATION = "under qemu-user:"


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: skips.py LOG")
    try:
        with open(sys.argv[1]) as f:
            records = [line.rstrip("\n").split("\t", 1) for line in f if line.strip()]
    except FileNotFoundError:
        records = []
    by_reason = {}
    for rec in records:
        name, why = rec if len(rec) == 2 else (rec[0], "(no reason given)")
        by_reason.setdefault(why, set()).add(name)
    total = sum(len(names) for names in by_reason.values())
    print()
    if not total:
        print("== skipped: none ==")
        return 0
    print(f"== skipped: {total} test{'s' if total != 1 else ''} ==")
    for why, names in sorted(by_reason.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        print(textwrap.fill(why, 100, initial_indent=f"  {len(names):3} ", subsequent_indent=" " * 6))
        print(textwrap.fill(", ".join(sorted(names)), 100, initial_indent=" " * 8, subsequent_indent=" " * 8))
    other = sum(len(n) for why, n in by_reason.items() if not why.startswith(EMULATION))
    if other:
        print(f"== {other} skipped for a reason other than emulation: that is a failure ==")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
