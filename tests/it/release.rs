//! The release files (`make release`, in `dist/`) read as their users read
//! them, with no engine: the binaries' dependency section (what Trivy,
//! Syft/Grype and `cargo audit bin` decode) against Cargo.lock, the SBOM
//! against the same, SHA256SUMS against every file, and the image archive
//! as an OCI image layout and as a `docker save` archive whose images hold
//! exactly the release binaries. `make it` runs `make release` first; the
//! engine tests (engines.rs) load the same archive into Docker and Podman.
//! A missing file fails the test: these never skip.
use crate::json::Json;
use crate::util::*;
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The platforms of a release, as scripts/release.sh's table has them: the
/// plain binary's architecture, the image's platform and its tag's suffix.
pub const PLATFORMS: [Platform; 2] = [
    Platform {
        arch: "x86_64",
        os: "linux",
        architecture: "amd64",
        variant: None,
        suffix: "amd64",
    },
    Platform {
        arch: "aarch64",
        os: "linux",
        architecture: "arm64",
        variant: Some("v8"),
        suffix: "arm64",
    },
];

pub struct Platform {
    pub arch: &'static str,
    pub os: &'static str,
    pub architecture: &'static str,
    pub variant: Option<&'static str>,
    pub suffix: &'static str,
}

impl Platform {
    /// `dinit:VERSION-SUFFIX`, as the archive tags it.
    pub fn tag(&self) -> String {
        format!("dinit:{VERSION}-{}", self.suffix)
    }

    /// `dist/dinit-VERSION-ARCH`, the plain binary.
    pub fn binary(&self) -> PathBuf {
        dist(&format!("dinit-{VERSION}-{}", self.arch))
    }

    /// The Rust target, as the version line names it.
    pub fn target(&self) -> String {
        format!("{}-unknown-linux-musl", self.arch)
    }

    /// The platform the engines run on: the image a user of this machine
    /// would `COPY --from`.
    pub fn host() -> &'static Platform {
        PLATFORMS
            .iter()
            .find(|p| p.arch == std::env::consts::ARCH)
            .unwrap_or_else(|| panic!("no release platform for {}", std::env::consts::ARCH))
    }
}

/// `dist/NAME` of this checkout, which must exist.
pub fn dist(name: &str) -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("dist")
        .join(name);
    assert!(
        p.exists(),
        "{} is missing: `make release` writes it (`make it` runs it first)",
        p.display()
    );
    p
}

/// `dist/dinit-VERSION-oci.tar`.
pub fn archive() -> PathBuf {
    dist(&format!("dinit-{VERSION}-oci.tar"))
}

/// One member of a ustar archive.
struct Member {
    name: String,
    mode: u32,
    uid: u64,
    gid: u64,
    mtime: u64,
    kind: u8,
    link: String,
    data: Vec<u8>,
}

/// The members of a ustar archive (what scripts/oci-image.py writes), in
/// order; fails on anything else.
fn untar(bytes: &[u8]) -> Vec<Member> {
    fn text(field: &[u8]) -> String {
        let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
        String::from_utf8(field[..end].to_vec()).expect("a tar field that is not UTF-8")
    }
    fn octal(field: &[u8]) -> u64 {
        let t = text(field);
        u64::from_str_radix(t.trim(), 8).unwrap_or_else(|_| panic!("bad octal {t:?}"))
    }
    let mut out = Vec::new();
    let mut at = 0;
    while at + 512 <= bytes.len() {
        let h = &bytes[at..at + 512];
        if h.iter().all(|&b| b == 0) {
            break;
        }
        assert_eq!(&h[257..263], b"ustar\0", "not a ustar header at {at}");
        let sum: u64 = h
            .iter()
            .enumerate()
            .map(|(i, &b)| {
                if (148..156).contains(&i) {
                    32
                } else {
                    b as u64
                }
            })
            .sum();
        assert_eq!(sum, octal(&h[148..156]), "bad header checksum at {at}");
        let prefix = text(&h[345..500]);
        let name = text(&h[0..100]);
        let size = octal(&h[124..136]) as usize;
        let data = bytes[at + 512..at + 512 + size].to_vec();
        out.push(Member {
            name: if prefix.is_empty() {
                name
            } else {
                format!("{prefix}/{name}")
            },
            mode: octal(&h[100..108]) as u32,
            uid: octal(&h[108..116]),
            gid: octal(&h[116..124]),
            mtime: octal(&h[136..148]),
            kind: h[156],
            link: text(&h[157..257]),
            data,
        });
        at += 512 + size.div_ceil(512) * 512;
    }
    out
}

/// The bytes of section `name` of a 64-bit little-endian ELF file.
fn elf_section<'a>(elf: &'a [u8], name: &str) -> Option<&'a [u8]> {
    assert_eq!(&elf[..6], b"\x7fELF\x02\x01", "not a 64-bit LE ELF file");
    let u16_at = |o: usize| u16::from_le_bytes(elf[o..o + 2].try_into().unwrap()) as usize;
    let u32_at = |o: usize| u32::from_le_bytes(elf[o..o + 4].try_into().unwrap()) as usize;
    let u64_at = |o: usize| u64::from_le_bytes(elf[o..o + 8].try_into().unwrap()) as usize;
    let (shoff, shentsize, shnum, shstrndx) =
        (u64_at(0x28), u16_at(0x3a), u16_at(0x3c), u16_at(0x3e));
    // (offset, size) of section header i.
    let section = |i: usize| {
        let h = shoff + i * shentsize;
        (u64_at(h + 24), u64_at(h + 32), u32_at(h))
    };
    let (names, _, _) = section(shstrndx);
    (0..shnum).find_map(|i| {
        let (off, size, name_at) = section(i);
        let start = names + name_at;
        let end = start + elf[start..].iter().position(|&b| b == 0)?;
        (&elf[start..end] == name.as_bytes()).then(|| &elf[off..off + size])
    })
}

/// The dependency list `cargo auditable` wrote into `binary`: the `.dep-v0`
/// section, zlib-compressed JSON.
fn dependency_section(binary: &Path) -> Json {
    let elf = fs::read(binary).unwrap();
    let packed = elf_section(&elf, ".dep-v0")
        .unwrap_or_else(|| panic!("{} has no .dep-v0 section", binary.display()));
    let json = miniz_oxide::inflate::decompress_to_vec_zlib(packed)
        .unwrap_or_else(|e| panic!("{}: .dep-v0 is not zlib: {e:?}", binary.display()));
    Json::parse(&json)
}

/// Cargo.lock's packages: name -> (version, checksum), one version each
/// (dinit's tree has no duplicates; a second version fails here, to be
/// handled when it happens).
fn cargo_lock() -> BTreeMap<String, (String, Option<String>)> {
    let lock =
        fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.lock")).unwrap();
    let mut out = BTreeMap::new();
    for block in lock.split("[[package]]").skip(1) {
        let field = |k: &str| {
            block.lines().find_map(|l| {
                l.strip_prefix(&format!("{k} = \""))
                    .and_then(|v| v.strip_suffix('"'))
                    .map(String::from)
            })
        };
        let name = field("name").expect("a package without a name");
        let version = field("version").expect("a package without a version");
        let old = out.insert(name.clone(), (version, field("checksum")));
        assert!(old.is_none(), "two versions of {name} in Cargo.lock");
    }
    out
}

/// The crates the dinit binary is built from for `target`, by `cargo
/// metadata` (Cargo.lock, --locked): dinit's normal and build dependencies,
/// followed to the end; never its dev-dependencies. name -> its own such
/// dependencies.
fn built_from(target: &str) -> BTreeMap<String, BTreeSet<String>> {
    let out = Command::new(env!("CARGO"))
        .args(["metadata", "--locked", "--offline", "--format-version", "1"])
        .args(["--filter-platform", target])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cannot run cargo metadata");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: Json = Json::parse(&out.stdout);
    let name_of: BTreeMap<&str, &str> = meta["packages"]
        .items()
        .iter()
        .map(|p| (p["id"].as_str().unwrap(), p["name"].as_str().unwrap()))
        .collect();
    let nodes: BTreeMap<&str, &Json> = meta["resolve"]["nodes"]
        .items()
        .iter()
        .map(|n| (n["id"].as_str().unwrap(), n))
        .collect();
    let mut found = BTreeMap::new();
    let mut todo = vec![meta["resolve"]["root"].as_str().unwrap()];
    while let Some(id) = todo.pop() {
        let name = name_of[id].to_string();
        if found.contains_key(&name) {
            continue;
        }
        let deps: Vec<&str> = nodes[id]["deps"]
            .items()
            .iter()
            .filter(|d| {
                d["dep_kinds"]
                    .items()
                    .iter()
                    .any(|k| k["kind"].as_str() != Some("dev"))
            })
            .map(|d| d["pkg"].as_str().unwrap())
            .collect();
        found.insert(name, deps.iter().map(|d| name_of[d].to_string()).collect());
        todo.extend(deps);
    }
    found
}

/// Each release binary's dependency section decodes to the crates it is
/// built from, with Cargo.lock's versions and dependency edges: dinit
/// (local, the root, this version) and every crate of its normal
/// dependency tree (from crates.io), no dev-dependency, nothing else.
#[test]
fn dependency_section_lists_the_crates_of_cargo_lock() {
    let lock = cargo_lock();
    for p in &PLATFORMS {
        let want = built_from(&p.target());
        let info = dependency_section(&p.binary());
        let packages = info["packages"].items();
        let names: Vec<&str> = packages
            .iter()
            .map(|q| q["name"].as_str().unwrap())
            .collect();
        let mut got = BTreeMap::new();
        for q in packages {
            let name = q["name"].as_str().unwrap();
            let version = q["version"].as_str().unwrap();
            let deps: BTreeSet<String> = q["dependencies"]
                .items()
                .iter()
                .map(|i| names[i.as_u64().unwrap() as usize].to_string())
                .collect();
            if name == "dinit" {
                assert_eq!(version, VERSION, "{info}");
                assert_eq!(q["source"], "local", "{info}");
                assert_eq!(q["root"], true, "{info}");
            } else {
                assert_eq!(q["source"], "crates.io", "{name}: {info}");
                assert!(q["root"].is_null() || q["root"] == false, "{name}: {info}");
                assert_eq!(
                    Some(version),
                    lock.get(name).map(|(v, _)| v.as_str()),
                    "{name}: the binary's version is not Cargo.lock's"
                );
            }
            assert_ne!(
                q["kind"], "build",
                "{name} is a build dependency: not expected"
            );
            got.insert(name.to_string(), deps);
        }
        assert_eq!(
            got,
            want,
            "{}: the dependency section",
            p.binary().display()
        );
        // What the binary is known to use (README, "How it is built").
        for dep in ["rustix", "sc", "heapless"] {
            assert!(got["dinit"].contains(dep), "{dep} missing: {info}");
        }
        for dev in ["proptest", "libc", "miniz_oxide"] {
            assert!(
                !got.contains_key(dev),
                "dev-dependency {dev} listed: {info}"
            );
        }
    }
}

/// The SBOM (CycloneDX JSON) lists the same crates as the dependency
/// sections, with Cargo.lock's versions and checksums and their purls, the
/// same dependency edges, and dinit itself as the application; its time
/// stamp and serial number are fixed by the commit (no time of the build).
#[test]
fn sbom_lists_the_same_crates() {
    let lock = cargo_lock();
    let path = dist(&format!("dinit-{VERSION}.cdx.json"));
    let bom: Json = Json::parse(&fs::read(&path).unwrap());
    assert_eq!(bom["bomFormat"], "CycloneDX");
    assert_eq!(bom["specVersion"], "1.5");
    let serial = bom["serialNumber"].as_str().unwrap();
    assert!(
        serial.starts_with("urn:uuid:") && serial.len() == 45,
        "{serial}"
    );
    let app = &bom["metadata"]["component"];
    assert_eq!(
        (app["name"].as_str(), app["version"].as_str()),
        (Some("dinit"), Some(VERSION))
    );
    assert_eq!(app["type"], "application");

    // The build's time never appears: the stamp is the commit's.
    let git = Command::new("git")
        .args([
            "log",
            "-1",
            "--format=%cd",
            "--date=format-local:%Y-%m-%dT%H:%M:%SZ",
        ])
        .env("TZ", "UTC")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert_eq!(
        bom["metadata"]["timestamp"].as_str().unwrap(),
        String::from_utf8_lossy(&git.stdout).trim(),
        "the SBOM's time stamp is not HEAD's commit time (is dist/ from another commit?)"
    );

    let mut want: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for p in &PLATFORMS {
        want.extend(built_from(&p.target()));
    }
    let mut got = BTreeMap::new();
    for c in bom["components"].items() {
        let name = c["name"].as_str().unwrap();
        let version = c["version"].as_str().unwrap();
        let (lock_version, checksum) = lock
            .get(name)
            .unwrap_or_else(|| panic!("{name} not in Cargo.lock"));
        assert_eq!(version, lock_version, "{name}");
        assert_eq!(
            c["purl"].as_str(),
            Some(format!("pkg:cargo/{name}@{version}").as_str()),
            "{name}"
        );
        assert_eq!(c["bom-ref"], c["purl"], "{name}");
        assert_eq!(c["hashes"][0]["alg"], "SHA-256", "{name}");
        assert_eq!(
            c["hashes"][0]["content"].as_str(),
            checksum.as_deref(),
            "{name}"
        );
        got.insert(name.to_string(), BTreeSet::new());
    }
    for d in bom["dependencies"].items() {
        let name = |r: &str| {
            r.trim_start_matches("pkg:cargo/")
                .split('@')
                .next()
                .unwrap()
                .to_string()
        };
        let deps = d["dependsOn"]
            .items()
            .iter()
            .map(|r| name(r.as_str().unwrap()))
            .collect();
        got.insert(name(d["ref"].as_str().unwrap()), deps);
    }
    assert_eq!(got, want, "the SBOM's crates and edges");

    // And the same as each binary says of itself.
    for p in &PLATFORMS {
        let info = dependency_section(&p.binary());
        let in_binary: BTreeSet<(String, String)> = info["packages"]
            .items()
            .iter()
            .filter(|q| q["name"] != "dinit")
            .map(|q| {
                (
                    q["name"].as_str().unwrap().into(),
                    q["version"].as_str().unwrap().into(),
                )
            })
            .collect();
        let in_sbom: BTreeSet<(String, String)> = bom["components"]
            .items()
            .iter()
            .map(|c| {
                (
                    c["name"].as_str().unwrap().into(),
                    c["version"].as_str().unwrap().into(),
                )
            })
            .collect();
        assert_eq!(in_binary, in_sbom, "{}", p.binary().display());
    }
}

/// SHA256SUMS lists every release file, and each checks out; the tarballs
/// hold the plain binaries (the same bytes) and the dinit-submit symlink.
#[test]
fn sha256sums_cover_every_release_file() {
    let sums = fs::read_to_string(dist("SHA256SUMS")).unwrap();
    let listed: BTreeSet<&str> = sums
        .lines()
        .map(|l| l.split_once("  ").expect("not a sha256sum line").1)
        .collect();
    let mut want = BTreeSet::new();
    let owned: Vec<String> = PLATFORMS
        .iter()
        .flat_map(|p| {
            [
                format!("dinit-{VERSION}-{}", p.arch),
                format!("dinit-{VERSION}-{}-linux-musl.tar.gz", p.arch),
            ]
        })
        .chain([
            format!("dinit-{VERSION}-oci.tar"),
            format!("dinit-{VERSION}.cdx.json"),
        ])
        .collect();
    want.extend(owned.iter().map(String::as_str));
    assert_eq!(listed, want);
    let check = Command::new("sha256sum")
        .args(["--check", "--strict", "SHA256SUMS"])
        .current_dir(dist("."))
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );

    for p in &PLATFORMS {
        let dir = workdir(&format!("tarball-{}", p.arch));
        let tarball = dist(&format!("dinit-{VERSION}-{}-linux-musl.tar.gz", p.arch));
        let out = Command::new("tar")
            .arg("-xzf")
            .arg(&tarball)
            .arg("-C")
            .arg(&dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            fs::read(dir.join("dinit")).unwrap(),
            fs::read(p.binary()).unwrap()
        );
        assert_eq!(
            fs::read_link(dir.join("dinit-submit")).unwrap(),
            Path::new("dinit")
        );
    }
}

/// The commit time, as scripts/release.sh stamps every file.
fn commit_epoch() -> u64 {
    let out = Command::new("git")
        .args(["log", "-1", "--format=%ct"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

/// The image archive is an OCI image layout (every blob named by its
/// SHA-256) whose index.json tags a multi-platform image index VERSION and
/// each platform's image VERSION-SUFFIX, and a `docker save` archive whose
/// manifest.json tags the same images dinit:VERSION-SUFFIX. Each image: one
/// layer of exactly /dinit (the release binary, 0755), /dinit-submit ->
/// dinit and /tmp (1777), ENTRYPOINT ["/dinit"], the OCI labels; every file
/// in it and in the archive owned by 0:0 and dated at the commit.
#[test]
fn image_archive_is_an_oci_layout_and_a_docker_archive() {
    let epoch = commit_epoch();
    let members = untar(&fs::read(archive()).unwrap());
    let names: Vec<&str> = members.iter().map(|m| m.name.as_str()).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted, "members not sorted");
    for m in &members {
        assert_eq!(
            (m.uid, m.gid, m.mtime),
            (0, 0, epoch),
            "{}: owner and time are not 0:0 and HEAD's commit time (is dist/ from another commit?)",
            m.name
        );
    }
    let file = |name: &str| -> &[u8] {
        &members
            .iter()
            .find(|m| m.name == name)
            .unwrap_or_else(|| panic!("no {name} in the archive: {names:?}"))
            .data
    };
    let json = |name: &str| -> Json { Json::parse(file(name)) };
    let blob_name = |digest: &Json| format!("blobs/{}", digest.as_str().unwrap().replace(':', "/"));
    let blob = |desc: &Json| -> Json {
        let data = file(&blob_name(&desc["digest"]));
        assert_eq!(data.len() as u64, desc["size"].as_u64().unwrap());
        Json::parse(data)
    };

    // Every blob is named by its digest.
    let dir = workdir("oci-blobs");
    let blobs: Vec<&Member> = members
        .iter()
        .filter(|m| m.name.starts_with("blobs/sha256/") && m.kind == b'0')
        .collect();
    for m in &blobs {
        fs::write(
            dir.join(m.name.trim_start_matches("blobs/sha256/")),
            &m.data,
        )
        .unwrap();
    }
    let sums = Command::new("sha256sum")
        .args(
            blobs
                .iter()
                .map(|m| m.name.trim_start_matches("blobs/sha256/")),
        )
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(
        sums.status.success(),
        "{}",
        String::from_utf8_lossy(&sums.stderr)
    );
    let lines: Vec<String> = String::from_utf8_lossy(&sums.stdout)
        .lines()
        .map(String::from)
        .collect();
    assert_eq!(lines.len(), blobs.len(), "one sum per blob");
    for line in &lines {
        let (sum, name) = line.split_once("  ").unwrap();
        assert_eq!(sum, name, "a blob not named by its digest");
    }

    assert_eq!(json("oci-layout")["imageLayoutVersion"], "1.0.0");
    let top = json("index.json");
    let entries = top["manifests"].items();
    let tagged = |tag: &str| {
        entries
            .iter()
            .find(|e| e["annotations"]["org.opencontainers.image.ref.name"] == tag)
            .unwrap_or_else(|| panic!("nothing tagged {tag} in index.json: {top}"))
    };
    assert_eq!(entries.len(), 1 + PLATFORMS.len(), "{top}");
    let multi = tagged(VERSION);
    assert_eq!(
        multi["mediaType"],
        "application/vnd.oci.image.index.v1+json"
    );
    let index = blob(multi);
    let in_index = index["manifests"].items();
    assert_eq!(in_index.len(), PLATFORMS.len(), "{index}");
    let docker = json("manifest.json");
    assert_eq!(docker.items().len(), PLATFORMS.len(), "{docker}");

    for (p, listed) in PLATFORMS.iter().zip(in_index) {
        let variant = p.variant.map(|v| format!(r#","variant":"{v}""#));
        let platform = Json::parse(
            format!(
                r#"{{"os":"{}","architecture":"{}"{}}}"#,
                p.os,
                p.architecture,
                variant.unwrap_or_default()
            )
            .as_bytes(),
        );
        assert_eq!(listed["platform"], platform, "{index}");
        let own = tagged(&format!("{VERSION}-{}", p.suffix));
        assert_eq!(own["digest"], listed["digest"]);
        assert_eq!(own["platform"], platform);

        let manifest = blob(listed);
        assert_eq!(
            manifest["mediaType"],
            "application/vnd.oci.image.manifest.v1+json"
        );
        let layers = manifest["layers"].items();
        assert_eq!(layers.len(), 1, "{manifest}");
        let config = blob(&manifest["config"]);
        assert_eq!(config["os"], p.os);
        assert_eq!(config["architecture"], p.architecture);
        assert_eq!(config["variant"].as_str(), p.variant);
        assert_eq!(
            config["config"]["Entrypoint"],
            Json::parse(br#"["/dinit"]"#)
        );
        assert_eq!(config["rootfs"]["diff_ids"][0], layers[0]["digest"]);
        let labels = &config["config"]["Labels"];
        assert_eq!(labels["org.opencontainers.image.version"], VERSION);
        assert_eq!(
            labels["org.opencontainers.image.licenses"],
            "MIT OR Apache-2.0"
        );
        assert_eq!(labels["org.opencontainers.image.title"], "dinit");
        let revision = labels["org.opencontainers.image.revision"]
            .as_str()
            .unwrap();
        assert!(
            revision.len() >= 40 && revision[..40].bytes().all(|b| b.is_ascii_hexdigit()),
            "{labels}"
        );

        // docker load's entry for the same config and layer.
        let entry = docker
            .items()
            .iter()
            .find(|e| e["RepoTags"] == Json::Arr(vec![Json::Str(p.tag())]))
            .unwrap_or_else(|| panic!("no {} in manifest.json: {docker}", p.tag()));
        assert_eq!(
            entry["Config"].as_str(),
            Some(blob_name(&manifest["config"]["digest"]).as_str())
        );
        assert_eq!(
            entry["Layers"],
            Json::Arr(vec![Json::Str(blob_name(&layers[0]["digest"]))])
        );

        // The layer: the release binary and nothing else.
        let layer = untar(file(&blob_name(&layers[0]["digest"])));
        let got: Vec<(&str, u8, u32, &str)> = layer
            .iter()
            .map(|m| (m.name.as_str(), m.kind, m.mode, m.link.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("dinit", b'0', 0o755, ""),
                ("dinit-submit", b'2', 0o777, "dinit"),
                ("tmp/", b'5', 0o1777, ""),
            ]
        );
        for m in &layer {
            assert_eq!(
                (m.uid, m.gid, m.mtime),
                (0, 0, epoch),
                "{}: owner and time are not 0:0 and HEAD's commit time (is dist/ from another commit?)",
                m.name
            );
        }
        assert!(
            layer[0].data == fs::read(p.binary()).unwrap(),
            "/dinit of {} is not {}",
            p.tag(),
            p.binary().display()
        );
    }
}

/// The image IDs the archive's images get in an engine (their configs'
/// SHA-256, hex), by tag: from manifest.json, which `docker load` reads.
pub fn image_ids() -> BTreeMap<String, String> {
    let members = untar(&fs::read(archive()).unwrap());
    let manifest = members
        .iter()
        .find(|m| m.name == "manifest.json")
        .expect("no manifest.json in the archive");
    let docker: Json = Json::parse(&manifest.data);
    let mut ids = BTreeMap::new();
    for e in docker.items() {
        let config = e["Config"].as_str().unwrap();
        let hex = config
            .strip_prefix("blobs/sha256/")
            .expect("a config outside blobs/sha256");
        for tag in e["RepoTags"].items() {
            ids.insert(tag.as_str().unwrap().to_string(), hex.to_string());
        }
    }
    ids
}
