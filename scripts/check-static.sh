#!/usr/bin/env bash
# Fails unless every binary given is fully static: no program interpreter and
# no dynamic section (not even static-pie). Each binary is judged on its own.
set -euo pipefail
status=0
for b in "$@"; do
    if [ ! -f "$b" ]; then echo "check-static: $b missing" >&2; status=1; continue; fi
    hdr=$(LC_ALL=C readelf -lW "$b" 2>/dev/null || true)
    bad=0
    if grep -q 'INTERP' <<<"$hdr"; then echo "check-static: $b has a program interpreter" >&2; bad=1; fi
    if grep -q 'DYNAMIC' <<<"$hdr"; then echo "check-static: $b has a dynamic section" >&2; bad=1; fi
    if [ $bad = 0 ]; then echo "static ok: $b"; else status=1; fi
done
exit $status
