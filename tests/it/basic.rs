//! Exit statuses, usage errors, program lookup, version: SPEC §2, §3, §7.
use crate::util::*;

#[test]
fn primary_status_is_the_exit_status() {
    for code in [0, 1, 3, 42, 255] {
        let out = Dinit::new("status").args(["-socket", "", "-r", "/bin/sh", "-c", &format!("exit {code}")]).run();
        assert_eq!(out.code, code, "{}", out.dump());
    }
}

#[test]
fn version_line() {
    let out = Dinit::new("version").args(["-version"]).run();
    assert_eq!(out.code, 0);
    let line = out.stdout.trim_end();
    assert!(line.starts_with("dinit ") && line.contains("linux-musl"), "{line}");
    assert_eq!(out.stdout.lines().count(), 1);
}

#[test]
fn not_found_is_127_and_nothing_starts() {
    let d = Dinit::new("notfound");
    let marker = d.dir.join("ran");
    let out = d
        .args(["-socket", "", "-r", "/bin/sh", "-c", &format!("touch {}", marker.display()), "-r", "no-such-program-xyz"])
        .run();
    assert_eq!(out.code, 127, "{}", out.dump());
    assert!(out.stderr.contains("no-such-program-xyz"), "{}", out.dump());
    assert!(!marker.exists(), "the first command ran");
}
