#!/usr/bin/env python3
"""The release's images as one file, written without any container engine.

    oci-image.py --out dist/dinit-VERSION-oci.tar --name dinit --version V
                 --revision COMMIT --epoch SECONDS [--label KEY=VALUE]...
                 --image BINARY OS/ARCH[/VARIANT] SUFFIX TARGET [--image ...]

One image per --image: a single layer holding /dinit (the binary, 0755),
/dinit-submit (a symlink to it) and /tmp (1777, for dinit's socket), with
ENTRYPOINT ["/dinit"] and the given labels (org.opencontainers.image.*).
The output tar is two things at once, sharing its blobs:

  * an OCI image layout (oci-layout, index.json, blobs/sha256/...). Its
    index.json names an image index, tagged VERSION, that lists every
    platform's image (what a registry calls a multi-arch image: `skopeo copy
    --all oci-archive:FILE:VERSION docker://...` publishes it), and each
    platform's image again, tagged VERSION-SUFFIX;
  * a `docker save` archive: manifest.json, one entry per platform tagged
    NAME:VERSION-SUFFIX. That is what `docker load` reads (Docker 20.10
    reads nothing else; its image store holds one platform per name) and
    what `podman load` falls back to when an OCI layout names more than one
    image, as this one does: both load every platform's tag.

Deterministic, so a rebuild gives the same bytes: every time stamp is
--epoch (the commit's), owners are 0:0 with no names, entries are sorted,
JSON keys are sorted, the layer is an uncompressed tar (no gzip header), and
nothing depends on the files' own metadata on this machine.
"""
import argparse
import hashlib
import io
import json
import os
import sys
import tarfile
import time

LAYOUT = {"imageLayoutVersion": "1.0.0"}
INDEX = "application/vnd.oci.image.index.v1+json"
MANIFEST = "application/vnd.oci.image.manifest.v1+json"
CONFIG = "application/vnd.oci.image.config.v1+json"
LAYER = "application/vnd.oci.image.layer.v1.tar"
REF_NAME = "org.opencontainers.image.ref.name"


def canonical(obj):
    """Blob bytes of a JSON document: sorted keys, no spaces."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def entry(name, epoch, kind=tarfile.REGTYPE, mode=0o644, size=0, link=""):
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = mode
    info.size = size
    info.linkname = link
    info.mtime = epoch
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def tar_bytes(members):
    """A ustar archive of (TarInfo, bytes or None) in the order given."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return out.getvalue()


class Blobs:
    """Content-addressed blobs: digest -> bytes."""

    def __init__(self):
        self.data = {}

    def add(self, media_type, data):
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        self.data[digest] = data
        return {"mediaType": media_type, "digest": digest, "size": len(data)}


def path_of(digest):
    return "blobs/" + digest.replace(":", "/")


def platform_of(spec):
    parts = spec.split("/")
    if len(parts) not in (2, 3) or not all(parts):
        sys.exit(f"oci-image: platform {spec!r} is not OS/ARCH or OS/ARCH/VARIANT")
    platform = {"os": parts[0], "architecture": parts[1]}
    if len(parts) == 3:
        platform["variant"] = parts[2]
    return platform


def image(blobs, binary, platform, target, args, labels, created):
    """Layer, config and manifest of one platform's image; its manifest's descriptor."""
    with open(binary, "rb") as f:
        exe = f.read()
    layer = tar_bytes(
        [
            (entry("dinit", args.epoch, mode=0o755, size=len(exe)), exe),
            (entry("dinit-submit", args.epoch, tarfile.SYMTYPE, 0o777, link="dinit"), None),
            (entry("tmp", args.epoch, tarfile.DIRTYPE, 0o1777), None),
        ]
    )
    layer_desc = blobs.add(LAYER, layer)
    config = dict(platform)
    config.update(
        {
            "created": created,
            "config": {"Entrypoint": ["/dinit"], "Labels": labels},
            # Uncompressed: the layer's diff ID is its digest.
            "rootfs": {"type": "layers", "diff_ids": [layer_desc["digest"]]},
            "history": [
                {
                    "created": created,
                    "created_by": f"dinit {args.version} ({target}): /dinit, /dinit-submit -> dinit, /tmp (1777)",
                }
            ],
        }
    )
    config_desc = blobs.add(CONFIG, canonical(config))
    manifest = {
        "schemaVersion": 2,
        "mediaType": MANIFEST,
        "config": config_desc,
        "layers": [layer_desc],
        "annotations": labels,
    }
    desc = blobs.add(MANIFEST, canonical(manifest))
    desc["platform"] = platform
    return desc, config_desc, layer_desc


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--version", required=True)
    p.add_argument("--revision", required=True)
    p.add_argument("--epoch", required=True, type=int)
    p.add_argument("--label", action="append", default=[])
    p.add_argument("--image", action="append", nargs=4, required=True,
                   metavar=("BINARY", "PLATFORM", "SUFFIX", "TARGET"))
    args = p.parse_args()

    created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(args.epoch))
    labels = {
        "org.opencontainers.image.created": created,
        "org.opencontainers.image.version": args.version,
        "org.opencontainers.image.revision": args.revision,
    }
    for kv in args.label:
        key, sep, value = kv.partition("=")
        if not sep:
            sys.exit(f"oci-image: label {kv!r} is not KEY=VALUE")
        labels[key] = value

    blobs = Blobs()
    platforms = []  # the image index's entries
    tagged = []  # index.json's per-platform entries
    docker = []  # manifest.json
    for binary, spec, suffix, target in args.image:
        desc, config, layer = image(blobs, binary, platform_of(spec), target, args, labels, created)
        tag = f"{args.version}-{suffix}"
        platforms.append(desc)
        tagged.append(dict(desc, annotations={REF_NAME: tag}))
        docker.append(
            {
                "Config": path_of(config["digest"]),
                "RepoTags": [f"{args.name}:{tag}"],
                "Layers": [path_of(layer["digest"])],
            }
        )
    index = blobs.add(
        INDEX,
        canonical({"schemaVersion": 2, "mediaType": INDEX, "manifests": platforms, "annotations": labels}),
    )
    index["annotations"] = {REF_NAME: args.version}
    top = {"schemaVersion": 2, "mediaType": INDEX, "manifests": [index] + tagged}

    files = {
        "oci-layout": canonical(LAYOUT),
        "index.json": canonical(top),
        "manifest.json": canonical(docker),
    }
    for digest, data in blobs.data.items():
        files[path_of(digest)] = data
    members = [
        (entry("blobs", args.epoch, tarfile.DIRTYPE, 0o755), None),
        (entry("blobs/sha256", args.epoch, tarfile.DIRTYPE, 0o755), None),
    ]
    members += [(entry(n, args.epoch, size=len(d)), d) for n, d in sorted(files.items())]
    members.sort(key=lambda m: m[0].name)

    tmp = args.out + ".tmp"
    with open(tmp, "wb") as f:
        f.write(tar_bytes(members))
    os.replace(tmp, args.out)
    print(f"oci-image: {args.out}: index {index['digest']} ({args.name}:{args.version})")
    for d, (_, _, suffix, _) in zip(platforms, args.image):
        p = d["platform"]
        where = "/".join(p[k] for k in ("os", "architecture", "variant") if k in p)
        print(f"oci-image:   {args.name}:{args.version}-{suffix} {where} manifest {d['digest']}")


if __name__ == "__main__":
    main()
