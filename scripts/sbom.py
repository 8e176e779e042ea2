#!/usr/bin/env python3
"""The release's SBOM: CycloneDX 1.5 JSON of the crates built into dinit.

    sbom.py --out dist/dinit-VERSION.cdx.json --version V --commit C
            --epoch SECONDS --toolchain CHANNEL TARGET...

The crates are those of `cargo metadata` (run --locked --offline, so they
are Cargo.lock's) that the dinit binary is built from for any of the
TARGETs: dinit's normal and build dependencies, followed to the end, never
its dev-dependencies (the tests' crates are not in the binary). That is the
list `cargo auditable` writes into the binary's .dep-v0 section, so the two
agree (tests/it/release.rs checks both against Cargo.lock). Each crate has
its purl (pkg:cargo/NAME@VERSION), the SHA-256 of its .crate from Cargo.lock,
its license, and its dependencies.

Reproducible: the time stamp is the commit's (--epoch), the serial number a
name-based UUID of version and commit, components are sorted, and nothing
names a path of this machine.
"""
import argparse
import json
import os
import subprocess
import sys
import time
import tomllib
import uuid

CRATES_IO = "registry+https://github.com/rust-lang/crates.io-index"


def metadata(target):
    out = subprocess.run(
        ["cargo", "metadata", "--locked", "--offline", "--format-version", "1",
         "--filter-platform", target],
        check=True, capture_output=True, text=True,
    ).stdout
    return json.loads(out)


def closure(meta):
    """Package ids the root is built from (not dev-dependencies), with their
    non-dev dependency edges."""
    nodes = {n["id"]: n for n in meta["resolve"]["nodes"]}
    root = meta["resolve"]["root"]
    edges, todo = {}, [root]
    while todo:
        pid = todo.pop()
        if pid in edges:
            continue
        deps = [
            d["pkg"] for d in nodes[pid]["deps"]
            if any(k["kind"] != "dev" for k in d["dep_kinds"])
        ]
        edges[pid] = deps
        todo.extend(deps)
    return root, edges


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", required=True)
    p.add_argument("--version", required=True)
    p.add_argument("--commit", required=True)
    p.add_argument("--epoch", required=True, type=int)
    p.add_argument("--toolchain", required=True)
    p.add_argument("targets", nargs="+")
    args = p.parse_args()

    with open("Cargo.lock", "rb") as f:
        lock = tomllib.load(f)
    checksums = {(q["name"], q["version"]): q.get("checksum") for q in lock["package"]}

    packages, edges, root = {}, {}, None
    for target in args.targets:
        meta = metadata(target)
        packages.update({q["id"]: q for q in meta["packages"]})
        root, more = closure(meta)
        for pid, deps in more.items():
            edges.setdefault(pid, set()).update(deps)

    def ref(pid):
        q = packages[pid]
        if pid == root:
            return f"{q['name']}@{q['version']}"
        return f"pkg:cargo/{q['name']}@{q['version']}"

    components = []
    for pid in edges:
        if pid == root:
            continue
        q = packages[pid]
        if q["source"] != CRATES_IO:
            sys.exit(f"sbom: {q['name']} {q['version']} is not from crates.io ({q['source']})")
        c = {
            "type": "library",
            "bom-ref": ref(pid),
            "name": q["name"],
            "version": q["version"],
            "scope": "required",
            "purl": ref(pid),
        }
        checksum = checksums.get((q["name"], q["version"]))
        if not checksum:
            sys.exit(f"sbom: no checksum for {q['name']} {q['version']} in Cargo.lock")
        c["hashes"] = [{"alg": "SHA-256", "content": checksum}]
        if q.get("license"):
            c["licenses"] = [{"expression": q["license"]}]
        if q.get("repository"):
            c["externalReferences"] = [{"type": "vcs", "url": q["repository"]}]
        components.append(c)
    components.sort(key=lambda c: (c["name"], c["version"]))

    me = packages[root]
    created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(args.epoch))
    serial = uuid.uuid5(uuid.NAMESPACE_URL, f"dinit/{args.version}/{args.commit}")
    bom = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "serialNumber": f"urn:uuid:{serial}",
        "version": 1,
        "metadata": {
            "timestamp": created,
            "component": {
                # No purl: dinit is not a crates.io crate, and pkg:cargo/dinit
                # would name whatever crate has that name there.
                "type": "application",
                "bom-ref": ref(root),
                "name": me["name"],
                "version": me["version"],
                "description": me.get("description") or "",
                "licenses": [{"expression": me["license"]}],
                "properties": [
                    {"name": "dinit:commit", "value": args.commit},
                    {"name": "dinit:rust-toolchain", "value": args.toolchain},
                    {"name": "dinit:targets", "value": " ".join(args.targets)},
                ],
            },
        },
        "components": components,
        "dependencies": sorted(
            (
                {"ref": ref(pid), "dependsOn": sorted(ref(d) for d in deps)}
                for pid, deps in edges.items()
            ),
            key=lambda d: d["ref"],
        ),
    }
    tmp = args.out + ".tmp"
    with open(tmp, "w") as f:
        json.dump(bom, f, indent=2)
        f.write("\n")
    os.replace(tmp, args.out)


if __name__ == "__main__":
    main()
