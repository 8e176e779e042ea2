//! Exit statuses, usage errors, program lookup, version: SPEC §2, §3, §7.
use crate::util::*;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;

#[test]
fn primary_status_is_the_exit_status() {
    for code in [0, 1, 3, 42, 255] {
        let out = Dinit::new("status")
            .args([
                "-socket",
                "",
                "-r",
                "/bin/sh",
                "-c",
                &format!("exit {code}"),
            ])
            .run();
        assert_eq!(out.code, code, "{}", out.dump());
    }
}

#[test]
fn version_line() {
    let out = Dinit::new("version").args(["-version"]).run();
    assert_eq!(out.code, 0);
    let line = out.stdout.trim_end();
    assert!(
        line.starts_with("dinit ") && line.contains("linux-musl"),
        "{line}"
    );
    assert_eq!(out.stdout.lines().count(), 1);
}

#[test]
fn not_found_is_127_and_nothing_starts() {
    let d = Dinit::new("notfound");
    assert_nothing_started(d, "no-such-program-xyz", 127, "no-such-program-xyz");
}

// ---------------------------------------------------------------------------
// Helpers

/// Fail (after killing it) if `pid` is still a live `/bin/sleep`.
fn assert_sleep_gone(pid: i32, out: &Output) {
    let cmdline = fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    if alive(pid) && cmdline.starts_with(b"/bin/sleep\0") {
        // SAFETY: kill has no memory-safety preconditions.
        unsafe { libc::kill(pid, libc::SIGKILL) };
        panic!(
            "pid {pid} ({}) outlived dinit\n{}",
            String::from_utf8_lossy(&cmdline),
            out.dump()
        );
    }
}

/// A program that cannot be started (SPEC §2 Program lookup): after the
/// marker command, `-r prog`; dinit exits `code` naming `named`, and the
/// marker command never ran.
fn assert_nothing_started(d: Dinit, prog: &str, code: i32, named: &str) {
    let marker = d.dir.join("ran");
    let m = marker_cmd(&d.dir);
    let out = d.args(["-socket", ""]).args(m).args(["-r", prog]).run();
    assert_eq!(out.code, code, "{}", out.dump());
    assert!(out.stderr.contains(named), "{}", out.dump());
    assert!(!marker.exists(), "the first command ran");
}

/// The number of CPUs dinit may use, computed the way SPEC §2 says: the
/// affinity mask (`nproc`), limited by a cgroup v2 `cpu.max` quota.
fn cpus_available() -> u32 {
    let out = Command::new("nproc").env_clear().output().expect("nproc");
    let mut cpus: u32 = String::from_utf8(out.stdout)
        .unwrap()
        .trim()
        .parse()
        .expect("nproc output");
    let cgroup = fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    let rel = cgroup
        .lines()
        .find_map(|l| l.strip_prefix("0::"))
        .unwrap_or("/");
    let candidates = [
        format!("/sys/fs/cgroup{}/cpu.max", rel.trim_end_matches('/')),
        "/sys/fs/cgroup/cpu.max".into(),
    ];
    if let Some(text) = candidates.iter().find_map(|p| fs::read_to_string(p).ok()) {
        let mut it = text.split_whitespace();
        let quota = it.next().and_then(|q| q.parse::<u64>().ok());
        let period = it.next().and_then(|p| p.parse::<u64>().ok());
        if let (Some(q), Some(p)) = (quota, period)
            && p > 0
        {
            cpus = cpus.min(q.div_ceil(p).max(1) as u32);
        }
    }
    cpus
}

/// `env` output as sorted lines.
fn env_lines(stdout: &str) -> Vec<String> {
    let mut v: Vec<String> = stdout.lines().map(str::to_string).collect();
    v.sort();
    v
}

// ---------------------------------------------------------------------------
// Command line: usage errors and option spellings

/// SPEC §2 Command line: an unknown option is a usage error naming it.
#[test]
fn unknown_option_is_usage_error() {
    let d = Dinit::new("usage-unknown");
    let m = marker_cmd(&d.dir);
    assert_usage_error(d.args(["-foo", "-socket", ""]).args(m), "-foo");
    let d = Dinit::new("usage-unknown2");
    let m = marker_cmd(&d.dir);
    assert_usage_error(
        d.args(["--no-such-flag=1", "-socket", ""]).args(m),
        "no-such-flag",
    );
}

/// SPEC §2 Command line: a value option followed by `-r` lacks its value.
#[test]
fn missing_value_before_r_is_usage_error() {
    let d = Dinit::new("usage-missing-r");
    let m = marker_cmd(&d.dir);
    assert_usage_error(d.args(["-socket", "", "-timeout"]).args(m), "-timeout");
}

/// SPEC §2 Command line: `dinit -timeout` (value missing, nothing after it)
/// is a usage error naming the option.
#[test]
fn missing_value_at_end_is_usage_error() {
    assert_usage_error(
        Dinit::new("usage-missing-end").args(["-timeout"]),
        "-timeout",
    );
}

/// SPEC §2 Command line: bad values are usage errors naming the option.
#[test]
fn bad_values_are_usage_errors() {
    let cases: &[(&[&str], &str)] = &[
        (&["-timeout", "x"], "-timeout"),
        (&["-timeout=-1"], "-timeout"),
        (&["-success", "300"], "-success"),
        (&["-success", "abc"], "-success"),
        (&["-maxproc", "-1"], "-maxproc"),
        (&["-primary=maybe"], "-primary"),
        (&["--quiet=2"], "-quiet"),
    ];
    for (args, word) in cases {
        let d = Dinit::new("usage-bad");
        let m = marker_cmd(&d.dir);
        assert_usage_error(d.args(["-socket", ""]).args(*args).args(m), word);
    }
}

/// SPEC §2 Command line: no `-r` at all is a usage error.
#[test]
fn no_command_is_usage_error() {
    assert_usage_error(Dinit::new("usage-no-r").args(["-socket", ""]), "-r");
    assert_usage_error(Dinit::new("usage-no-r2"), "-r");
}

/// SPEC §2 Options: a bad environment variable is a usage error naming it.
#[test]
fn bad_env_var_is_usage_error() {
    let d = Dinit::new("usage-env");
    let m = marker_cmd(&d.dir);
    assert_usage_error(
        d.env("DINIT_TIMEOUT", "abc").args(["-socket", ""]).args(m),
        "DINIT_TIMEOUT",
    );
}

/// SPEC §2 Command line: `-name value`, `-name=value`, `--name value` and
/// `--name=value` are all accepted.
#[test]
fn value_option_spellings() {
    for spelling in [
        &["-timeout", "1"][..],
        &["-timeout=1"],
        &["--timeout", "1"],
        &["--timeout=1"],
    ] {
        let out = Dinit::new("spell-timeout")
            .args(["-socket", ""])
            .args(spelling)
            .args(["-r", "/bin/sh", "-c", "exit 4"])
            .run();
        assert_eq!(out.code, 4, "{spelling:?}\n{}", out.dump());
    }
}

/// SPEC §2 Options `-timeout`: the grace period given is the one used (a
/// process ignoring SIGTERM is killed after it, not after the 10s default).
#[test]
fn timeout_value_is_used() {
    let d = Dinit::new("timeout-used");
    let ready = d.dir.join("ready");
    let out = d
        .args(["-socket", "", "--timeout=1", "-r", "/bin/sh", "-c"])
        .args([format!(
            "trap '' TERM; touch {}; exec sleep 60",
            ready.display()
        )])
        .args([
            "-r",
            "/bin/sh",
            "-c",
            &format!("until [ -e {} ]; do sleep 0.02; done", ready.display()),
        ])
        .run();
    assert_eq!(out.code, 0, "{}", out.dump());
    // The teardown started when the primary exited, after the spawn.
    assert_killed_after_1s_timeout(&out, out.elapsed);
}

/// SPEC §2 Command line: booleans as `-primary`, `-primary=true`,
/// `--primary`, and `-primary=false` turns it off.
#[test]
fn boolean_option_spellings() {
    for on in ["-primary", "-primary=true", "--primary", "--primary=true"] {
        // With -primary, the first command's exit decides at once.
        let out = Dinit::new("spell-primary")
            .args([
                "-socket",
                "",
                on,
                "-r",
                "/bin/sh",
                "-c",
                "exit 5",
                "-r",
                "/bin/sleep",
                "100",
            ])
            .run();
        assert_eq!(out.code, 5, "{on}\n{}", out.dump());
    }
    // The last command exits only once the first has been reaped (its pid
    // gone): dinit has dealt with the first exit by then, which with
    // -primary would have decided (5). (`$$` is a literal `$`.)
    let out = Dinit::new("spell-primary-false")
        .args([
            "-socket",
            "",
            "-primary=false",
            "-r",
            "/bin/sh",
            "-c",
            "echo $$$$ > first.pid; exit 5",
            "-r",
            "/bin/sh",
            "-c",
        ])
        .args([
            "until [ -s first.pid ] && ! kill -0 $$(cat first.pid) 2>/dev/null; do sleep 0.01; done; exit 3",
        ])
        .run();
    assert_eq!(out.code, 3, "-primary=false\n{}", out.dump());
    let (first, last) = (
        out.stderr.find("exit status 5"),
        out.stderr.find("exit status 3"),
    );
    assert!(
        matches!((first, last), (Some(a), Some(b)) if a < b),
        "{}",
        out.dump()
    );
}

/// SPEC §1: `-h`, `-help`, `--help` print usage to stdout and exit 0, also
/// after other options (Go's flag package).
#[test]
fn help_prints_usage() {
    for flag in ["-h", "-help", "--help", "-quiet -h", "-timeout 5 --help"] {
        let d = Dinit::new("help");
        let m = marker_cmd(&d.dir);
        let marker = d.dir.join("ran");
        let out = d.args(flag.split(' ')).args(m).run();
        assert_eq!(out.code, 0, "{flag}\n{}", out.dump());
        assert!(
            out.stdout.to_lowercase().contains("usage"),
            "{flag}\n{}",
            out.dump()
        );
        assert!(out.stdout.contains("-r"), "{flag}\n{}", out.dump());
        assert!(out.stderr.is_empty(), "{flag}\n{}", out.dump());
        assert!(!marker.exists(), "{flag} ran a command");
    }
}

/// SPEC §7: `-version`, `--version`, `-V` print `dinit VERSION (TARGET) -
/// git.COMMIT`, also through the `dinit-submit` name, and exit 0.
#[test]
fn version_spellings() {
    let dir = workdir("version-link");
    let link = dir.join("dinit-submit");
    std::os::unix::fs::symlink(bin(), &link).unwrap();
    let mut lines = Vec::new();
    for flag in ["-version", "--version", "-V"] {
        for via_link in [false, true] {
            let mut d = Dinit::new("version-sp").args([flag]);
            if via_link {
                d = d.argv0(link.clone());
            }
            let out = d.run();
            let what = format!("{flag} (dinit-submit: {via_link})");
            assert_eq!(out.code, 0, "{what}\n{}", out.dump());
            assert!(out.stderr.is_empty(), "{what}\n{}", out.dump());
            assert_eq!(out.stdout.lines().count(), 1, "{what}\n{}", out.dump());
            let (target, commit) = version_parts(out.stdout.trim_end());
            assert!(target.contains("-linux-musl"), "{what}: {}", out.stdout);
            assert!(!commit.is_empty(), "{what}: {}", out.stdout);
            lines.push(out.stdout);
        }
    }
    assert!(lines.iter().all(|l| *l == lines[0]), "{lines:?}");
}

/// (TARGET, COMMIT) of `dinit VERSION (TARGET) - git.COMMIT`, read the way
/// dockerd reads its init's version: the part after ` - ` is `git.` and
/// one word without a dot.
pub(crate) fn version_parts(line: &str) -> (&str, &str) {
    let parts = (|| {
        let rest = line.strip_prefix("dinit ")?;
        let (version, rest) = rest.split_once(" (")?;
        let (target, tail) = rest.split_once(") - ")?;
        Some((version, target, tail.strip_prefix("git.")?))
    })();
    let Some((version, target, commit)) = parts else {
        panic!("not `dinit VERSION (TARGET) - git.COMMIT`: {line:?}");
    };
    assert!(!version.is_empty() && !version.contains(' '), "{line:?}");
    assert!(
        !commit.contains('.') && !commit.contains(' ') && !commit.is_empty(),
        "dockerd would not read the commit: {line:?}"
    );
    (target, commit)
}

// ---------------------------------------------------------------------------
// Program lookup

/// SPEC §2 Program lookup: not found with a slash is 127, nothing started.
#[test]
fn not_found_with_slash_is_127() {
    let d = Dinit::new("notfound-slash");
    assert_nothing_started(d, "/no/such/dir/prog", 127, "/no/such/dir/prog");
}

/// SPEC §2 Program lookup: a file without the x bit is 126, nothing started.
#[test]
fn not_executable_file_is_126() {
    let d = Dinit::new("noexec");
    let prog = script(&d.dir, "noexec.sh", "exit 0\n");
    fs::set_permissions(&prog, fs::Permissions::from_mode(0o644)).unwrap();
    assert_nothing_started(d, prog.to_str().unwrap(), 126, "noexec.sh");
}

/// SPEC §2 Program lookup: a non-executable file found in `$PATH` is 126.
#[test]
fn not_executable_in_path_is_126() {
    let d = Dinit::new("noexec-path");
    let bin = d.dir.join("bin");
    fs::create_dir(&bin).unwrap();
    let prog = script(&bin, "dinit-test-noexec", "exit 0\n");
    fs::set_permissions(&prog, fs::Permissions::from_mode(0o644)).unwrap();
    let path = format!("{}:{PATH}", bin.display());
    assert_nothing_started(
        d.env("PATH", &path),
        "dinit-test-noexec",
        126,
        "dinit-test-noexec",
    );
}

/// SPEC §2 Program lookup: a directory is 126, nothing started.
#[test]
fn directory_is_126() {
    let d = Dinit::new("dir");
    let sub = d.dir.join("subdir");
    fs::create_dir(&sub).unwrap();
    assert_nothing_started(d, sub.to_str().unwrap(), 126, "subdir");
}

/// SPEC §2 Program lookup: a program found in `$PATH` runs.
#[test]
fn path_lookup_finds_program() {
    let d = Dinit::new("path-found");
    let bin = d.dir.join("bin");
    fs::create_dir(&bin).unwrap();
    script(&bin, "dinit-test-hello", "echo hello from path\n");
    let path = format!("{}:{PATH}", bin.display());
    let out = d
        .env("PATH", &path)
        .args(["-socket", "", "-r", "dinit-test-hello"])
        .run();
    assert_eq!(out.code, 0, "{}", out.dump());
    assert_eq!(out.stdout, "hello from path\n");
}

/// SPEC §2 Program lookup: an executable without `#!` is 126 with "exec
/// format error", and there is no fallback to /bin/sh.
#[test]
fn enoexec_is_126_without_sh_fallback() {
    let d = Dinit::new("enoexec");
    let prog = d.dir.join("noshebang");
    let marker = d.dir.join("ran");
    fs::write(&prog, format!("touch {}\necho ran\n", marker.display())).unwrap();
    fs::set_permissions(&prog, fs::Permissions::from_mode(0o755)).unwrap();
    let out = d.args(["-socket", "", "-r", prog.to_str().unwrap()]).run();
    assert_eq!(out.code, 126, "{}", out.dump());
    assert!(out.stderr.contains("exec format error"), "{}", out.dump());
    assert!(out.stderr.contains("noshebang"), "{}", out.dump());
    assert!(!marker.exists(), "the script was run through a shell");
    assert!(out.stdout.is_empty(), "{}", out.dump());
    // Exec failure is not an exit of a process that "ran" (SPEC §3).
    assert!(
        !out.messages().iter().any(|m| m.contains("finished")),
        "{}",
        out.dump()
    );
}

/// SPEC §3: a command failing to exec after earlier ones started tears the
/// earlier ones down.
#[test]
fn later_exec_failure_tears_down_earlier() {
    let d = Dinit::new("enoexec-late");
    let prog = d.dir.join("noshebang");
    fs::write(&prog, "echo ran\n").unwrap();
    fs::set_permissions(&prog, fs::Permissions::from_mode(0o755)).unwrap();
    let out = d
        .args([
            "-socket",
            "",
            "-r",
            "/bin/sleep",
            "100",
            "-r",
            prog.to_str().unwrap(),
        ])
        .run();
    assert_eq!(out.code, 126, "{}", out.dump());
    assert!(out.stderr.contains("exec format error"), "{}", out.dump());
    let sleep = out.pid_of("started: [/bin/sleep 100]");
    assert_sleep_gone(sleep, &out);
    assert!(
        out.messages()
            .iter()
            .any(|m| m.starts_with(&format!("pid {sleep} finished:"))),
        "{}",
        out.dump()
    );
}

// ---------------------------------------------------------------------------
// Expansion, `\-r`, extra arguments

/// SPEC §2 Environment expansion: `$NAME`, `${NAME}`, `${NAME:-default}`,
/// `$$`, and a lone `$` stays.
#[test]
fn environment_expansion() {
    let out = Dinit::new("expand")
        .env("FOO", "foo")
        .env("EMPTY", "")
        .args(["-socket", "", "-r", "/bin/echo"])
        .args([
            "$FOO",
            "${FOO}",
            "${FOO:-d0}",
            "${UNSET:-d1}",
            "${EMPTY:-d2}",
            "<$UNSET>",
            "<${UNSET}>",
        ])
        .args([
            "a$$b",
            "$$FOO",
            "$",
            "x$",
            "$-y",
            "$FOO.bar",
            "${FOO}bar",
            "$$$$",
        ])
        .run();
    assert_eq!(out.code, 0, "{}", out.dump());
    assert_eq!(
        out.stdout,
        "foo foo foo d1 d2 <> <> a$b $FOO $ x$ $-y foo.bar foobar $$\n",
        "{}",
        out.dump()
    );
}

/// SPEC §2 Environment expansion: the program name is expanded too.
#[test]
fn expansion_in_program_name() {
    let out = Dinit::new("expand-prog")
        .env("SHELLPROG", "/bin/echo")
        .args(["-socket", "", "-r", "$SHELLPROG", "hello", "${SHELLPROG}"])
        .run();
    assert_eq!(out.code, 0, "{}", out.dump());
    assert_eq!(out.stdout, "hello /bin/echo\n");
}

/// SPEC §2 Environment expansion: `${` without `}` is a usage error.
#[test]
fn unterminated_brace_is_usage_error() {
    let d = Dinit::new("expand-unterminated");
    let m = marker_cmd(&d.dir);
    assert_usage_error(
        d.env("FOO", "foo")
            .args(["-socket", ""])
            .args(m)
            .args(["-r", "/bin/echo", "${FOO"]),
        "${FOO",
    );
    let out = Dinit::new("expand-unterminated-prog")
        .args(["-socket", "", "-r", "${PROG"])
        .run();
    assert_eq!(out.code, 2, "{}", out.dump());
}

/// SPEC §2 Command line: `\-r` is a literal `-r` argument.
#[test]
fn escaped_r_is_literal() {
    let out = Dinit::new("escaped-r")
        .args(["-socket", "", "-r", "/bin/echo", "a", "\\-r", "b"])
        .run();
    assert_eq!(out.code, 0, "{}", out.dump());
    assert_eq!(out.stdout, "a -r b\n");
    let started = out
        .messages()
        .iter()
        .filter(|m| m.contains(" started: "))
        .count();
    assert_eq!(started, 1, "\\-r started a second command\n{}", out.dump());
}

/// SPEC §2 Command line: `docker run IMAGE args` extends the last command.
#[test]
fn extra_args_extend_last_command() {
    // ENTRYPOINT ["dinit", "-r", "/bin/echo"], CMD ["x", "y"].
    let out = Dinit::new("extra-args")
        .args(["-socket", "", "-r", "/bin/echo"])
        .args(["x", "y"])
        .run();
    assert_eq!(out.code, 0, "{}", out.dump());
    assert_eq!(out.stdout, "x y\n");

    // Two groups: only the last one gets them.
    let d = Dinit::new("extra-args-2");
    let first = d.dir.join("first");
    let out = d
        .args(["-socket", "", "-r", "/bin/sh", "-c"])
        .args([format!("echo \"$$#:$$*\" > {}", first.display())])
        // The primary waits for the first command's file, so the first one
        // is not torn down before it has written it.
        .args(["sh0", "-r", "/bin/sh", "-c"])
        .args([format!(
            "until [ -s {} ]; do sleep 0.01; done; echo \"$$@\"",
            first.display()
        )])
        .args(["sh1", "second"])
        .args(["x", "y"])
        .run();
    assert_eq!(out.code, 0, "{}", out.dump());
    assert_eq!(out.stdout, "second x y\n", "{}", out.dump());
    assert_eq!(
        fs::read_to_string(&first).unwrap(),
        "0:\n",
        "the first command got the extra args"
    );
}

// ---------------------------------------------------------------------------
// What children get

/// SPEC §3: children get dinit's stdin (`echo x | dinit -r cat`) and stdout.
#[test]
fn stdin_and_stdout_pass_through() {
    let out = Dinit::new("stdin")
        .stdin(b"hello through dinit\n")
        .args(["-socket", "", "-r", "cat"])
        .run();
    assert_eq!(out.code, 0, "{}", out.dump());
    assert_eq!(out.stdout, "hello through dinit\n");
}

/// SPEC §3: children run in dinit's working directory.
#[test]
fn working_directory_is_dinits() {
    let d = Dinit::new("pwd");
    let dir = fs::canonicalize(&d.dir).unwrap();
    let out = d.args(["-socket", "", "-r", "/bin/pwd", "-P"]).run();
    assert_eq!(out.code, 0, "{}", out.dump());
    assert_eq!(out.stdout.trim_end(), dir.to_str().unwrap());
}

/// SPEC §3: the environment is passed through untouched.
#[test]
fn environment_passes_untouched() {
    let out = Dinit::new("env")
        .env("DINIT_TEST_VAR", "some value with spaces")
        .env("WEIRD", "a=b=$HOME")
        .args(["-socket", "", "-r", "/usr/bin/env"])
        .run();
    assert_eq!(out.code, 0, "{}", out.dump());
    let want = env_lines(&format!(
        "PATH={PATH}\nDINIT_TEST_VAR=some value with spaces\nWEIRD=a=b=$HOME\n"
    ));
    assert_eq!(env_lines(&out.stdout), want, "{}", out.dump());
}

/// SPEC §2 Options `-maxproc`: `GOMAXPROCS=ceil(cpus × F)` is added and
/// logged, nothing else is.
#[test]
fn maxproc_sets_gomaxprocs() {
    let cpus = cpus_available();
    for (flag, fraction_x100) in [
        ("-maxproc", 50u32),
        ("-core-fraction", 50),
        ("-maxproc", 100),
        ("-maxproc", 1),
    ] {
        let value = format!("{}", fraction_x100 as f64 / 100.0);
        let want = (cpus * fraction_x100).div_ceil(100).max(1);
        let out = Dinit::new("maxproc")
            .env("DINIT_TEST_VAR", "x")
            .args(["-socket", "", flag, &value, "-r", "/usr/bin/env"])
            .run();
        assert_eq!(out.code, 0, "{}", out.dump());
        let expect = env_lines(&format!(
            "PATH={PATH}\nDINIT_TEST_VAR=x\nGOMAXPROCS={want}\n"
        ));
        assert_eq!(
            env_lines(&out.stdout),
            expect,
            "{flag} {value} with {cpus} cpus\n{}",
            out.dump()
        );
        assert!((1..=cpus).contains(&want));
        let logged = out
            .messages()
            .iter()
            .any(|m| m.contains("GOMAXPROCS") && m.contains(&want.to_string()));
        assert!(logged, "GOMAXPROCS not logged\n{}", out.dump());
    }
}

/// SPEC §2 Options `-maxproc`: an existing GOMAXPROCS is left alone.
#[test]
fn maxproc_keeps_existing_gomaxprocs() {
    let out = Dinit::new("maxproc-keep")
        .env("GOMAXPROCS", "7")
        .args(["-socket", "", "-maxproc", "0.5", "-r", "/usr/bin/env"])
        .run();
    assert_eq!(out.code, 0, "{}", out.dump());
    let expect = env_lines(&format!("PATH={PATH}\nGOMAXPROCS=7\n"));
    assert_eq!(env_lines(&out.stdout), expect, "{}", out.dump());
}

/// SPEC §2 Options `-maxproc`: 0 changes nothing.
#[test]
fn maxproc_zero_changes_nothing() {
    for args in [&["-maxproc", "0"][..], &[]] {
        let out = Dinit::new("maxproc-zero")
            .args(["-socket", ""])
            .args(args)
            .args(["-r", "/usr/bin/env"])
            .run();
        assert_eq!(out.code, 0, "{}", out.dump());
        assert_eq!(
            env_lines(&out.stdout),
            vec![format!("PATH={PATH}")],
            "{}",
            out.dump()
        );
        assert!(!out.stderr.contains("GOMAXPROCS"), "{}", out.dump());
    }
}

/// SPEC §3: children get no file descriptor of dinit's (not the socket, not
/// the signalfd), an empty signal mask and no ignored signals. A command
/// that is not the primary gets 0–2 only; the primary gets 0–2 and what
/// dinit inherited (SPEC §11: here whatever the test harness leaves open,
/// cargo's jobserver pipe, say), but still nothing of dinit's own.
#[test]
fn children_get_only_stdio() {
    if skip_if_emulated(QEMU_SIGNAL_32) {
        return;
    }
    let d = Dinit::new("fds");
    let sock = d.dir.join("s.sock");
    let mut r = d
        .args(["-socket", sock.to_str().unwrap()])
        .args(["-r", "/bin/sleep", "60", "-r", "/bin/sleep", "61"])
        .spawn();
    r.wait_log("started: [/bin/sleep 61]");
    let messages = messages_of(&r.stderr());
    let pid = find_pid(&messages, "started: [/bin/sleep 60]").expect("pid in log");
    let primary = find_pid(&messages, "started: [/bin/sleep 61]").expect("pid in log");
    let child = fd_table(pid);
    let heir = fd_table(primary);
    let own = fd_table(r.pid());
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    r.signal(libc::SIGTERM);
    let out = r.wait();
    // Nothing but 0–2: neither what dinit opened nor what it inherited.
    for (fd, target) in &child {
        assert!(
            *fd <= 2,
            "child got dinit's fd {fd} -> {target}\nchild: {child:?}\ndinit: {own:?}\n{}",
            out.dump()
        );
    }
    for fd in 0..=2 {
        assert!(
            child.iter().any(|(n, _)| *n == fd),
            "child lacks fd {fd}: {child:?}"
        );
    }
    // The primary: nothing that dinit itself has open above 2 (its
    // inherited ones it closed once the primary started).
    for (fd, target) in heir.iter().filter(|(fd, _)| *fd > 2) {
        assert!(
            !own.iter().any(|(n, t)| *n > 2 && t == target),
            "the primary got dinit's fd {fd} -> {target}\nprimary: {heir:?}\ndinit: {own:?}"
        );
    }
    // The test means something only if dinit had fds of its own open.
    let inherited = inheritable_fds();
    assert!(
        own.iter().any(|(fd, _)| *fd > 2 && !inherited.contains(fd)),
        "dinit had no fd of its own open: {own:?}"
    );
    let field = |name: &str| status_field(&status, name).unwrap_or("?").to_string();
    assert_eq!(
        field("SigBlk"),
        "0000000000000000",
        "child signal mask not empty"
    );
    assert_eq!(
        field("SigIgn"),
        "0000000000000000",
        "child has ignored signals"
    );
}

/// SPEC §11 (formerly issue 2's "only fds 0–2"): a descriptor dinit itself
/// inherited (fd 7 here, opened by a shell that then execs dinit) reaches
/// the primary, at the same number, and no other command.
#[test]
fn inherited_fds_reach_the_primary_only() {
    let d = Dinit::new("inherited-fds");
    let out = d.dir.join("fds");
    let list = |name: &str| format!("ls /proc/self/fd > {}.{name}", out.display());
    let status = std::process::Command::new("/bin/sh")
        .arg("-c")
        .arg("exec 7</dev/null; exec \"$0\" \"$@\"")
        .arg(bin())
        .args(["-socket", "", "-r", "/bin/sh", "-c"])
        .arg(list("other"))
        .args(["-r", "/bin/sh", "-c"])
        .arg(list("primary"))
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let fds = |name: &str| -> Vec<String> {
        fs::read_to_string(format!("{}.{name}", out.display()))
            .unwrap()
            .lines()
            .map(String::from)
            .collect()
    };
    // `ls` itself opens one directory fd (3 in the other, the lowest
    // free) to list /proc/self/fd.
    let other = fds("other");
    assert!(!other.iter().any(|l| l == "7"), "other got fd 7: {other:?}");
    assert!(other.len() <= 4, "other has extra fds: {other:?}");
    let primary = fds("primary");
    assert!(
        primary.iter().any(|l| l == "7"),
        "the primary lacks fd 7: {primary:?}"
    );
}

/// A process's open fds as (number, target), sorted.
fn fd_table(pid: i32) -> Vec<(i32, String)> {
    let mut fds: Vec<(i32, String)> = fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .filter_map(|e| {
            let e = e.ok()?;
            let n = e.file_name().to_str()?.parse().ok()?;
            let target = fs::read_link(e.path()).ok()?.display().to_string();
            Some((n, target))
        })
        .collect();
    fds.sort();
    fds
}

/// The test process's fds above 2 that a child would inherit (no
/// close-on-exec), as dinit inherits them from the harness.
fn inheritable_fds() -> Vec<i32> {
    fd_table(std::process::id() as i32)
        .into_iter()
        .map(|(n, _)| n)
        .filter(|&n| n > 2)
        .filter(|n| {
            let info = fs::read_to_string(format!("/proc/self/fdinfo/{n}")).unwrap_or_default();
            let flags = info
                .lines()
                .find_map(|l| l.strip_prefix("flags:"))
                .and_then(|f| u32::from_str_radix(f.trim(), 8).ok());
            // O_CLOEXEC is 02000000.
            flags.is_some_and(|f| f & 0o2000000 == 0)
        })
        .collect()
}

// ---------------------------------------------------------------------------
// Exit status, -success, -primary

/// SPEC §2 Options `-success`: a listed primary status becomes 0; others are
/// unchanged; the option is repeatable.
#[test]
fn success_codes() {
    let cases: &[(&[&str], &str, i32)] = &[
        (&["-success", "143"], "exit 143", 0),
        (&["-success", "143"], "exit 1", 1),
        (&["-success", "143"], "exit 0", 0),
        (&["--success=143"], "kill -TERM $$$$", 0),
        (&["-success", "143", "-success", "3"], "exit 3", 0),
        (&["-success", "143", "-success=3"], "exit 143", 0),
        (&["-success", "143", "-success", "3"], "exit 4", 4),
        (&[], "kill -TERM $$$$", 143),
    ];
    for (opts, cmd, want) in cases {
        let out = Dinit::new("success")
            .args(["-socket", ""])
            .args(*opts)
            .args(["-r", "/bin/sh", "-c", cmd])
            .run();
        assert_eq!(out.code, *want, "{opts:?} {cmd}\n{}", out.dump());
    }
}

/// SPEC §3: with `-primary`, the first process to exit decides the status
/// and the others are torn down. (It exits once the command after it has
/// started, which says so with a file: a primary whose exit dinit sees
/// before it launches the next command ends the launch, as a stop request
/// does.)
#[test]
fn primary_all_first_exit_decides() {
    let d = Dinit::new("primary-all");
    let up = d.dir.join("up");
    let first = format!(
        "while [ ! -e {up} ]; do sleep 0.01; done; exit 6",
        up = up.display()
    );
    let last = format!("touch {}; exec /bin/sleep 101", up.display());
    let out = d
        .args(["-socket", "", "-primary", "-r", "/bin/sleep", "100"])
        .args(["-r", "/bin/sh", "-c", &first])
        .args(["-r", "/bin/sh", "-c", &last])
        .run();
    assert_eq!(out.code, 6, "{}", out.dump());
    let sh = out.pid_of(&format!("started: [/bin/sh -c {first}]"));
    assert!(
        out.messages()
            .contains(&format!("pid {sh} was primary, signalling other processes")),
        "{}",
        out.dump()
    );
    for cmd in ["/bin/sleep 100".to_string(), format!("/bin/sh -c {last}")] {
        let pid = out.pid_of(&format!("started: [{cmd}]"));
        assert_sleep_gone(pid, &out);
    }
}

/// SPEC §3: without `-primary`, a non-primary exit is logged and dinit
/// carries on until the last command exits. The proof is a sentinel, not a
/// pause: once the non-primary's exit is logged, a SIGHUP goes to dinit and
/// the primary exits 3 on it. Had that exit started a teardown, the
/// primary would have had its SIGTERM before the SIGHUP (143), or dinit
/// would have exited with the non-primary's status (1).
#[test]
fn non_primary_exit_carries_on() {
    let d = Dinit::new("non-primary");
    let ready = d.dir.join("ready");
    let mut r = d
        .args([
            "-socket", "", "-r", "/bin/sh", "-c", "exit 1", "-r", "/bin/sh", "-c",
        ])
        .args([format!(
            "trap 'exit 3' HUP; touch {}; while :; do sleep 0.02; done",
            ready.display()
        )])
        .spawn();
    r.wait_log("finished: [/bin/sh -c exit 1] with error: exit status 1");
    wait_exists(&ready);
    r.signal(libc::SIGHUP);
    let out = r.wait();
    assert_eq!(out.code, 3, "{}", out.dump());
    assert!(
        out.stderr.contains("forwarded SIGHUP to 1 process"),
        "{}",
        out.dump()
    );
    assert!(!out.stderr.contains("was primary"), "{}", out.dump());
    assert!(!out.stderr.contains("signal: terminated"), "{}", out.dump());
}

// ---------------------------------------------------------------------------
// Logging

/// SPEC §6: every line is `YYYY/MM/DD HH:MM:SS dinit: MESSAGE` in UTC, and
/// the original's messages keep their wording.
#[test]
fn log_format_and_messages() {
    let d = Dinit::new("logfmt");
    let ready = d.dir.join("ready");
    let go = Release(d.dir.join("go"));
    let before = utc("%Y/%m/%d");
    let mut r = d
        .args(["-socket", "", "-timeout", "0.5"])
        .args([
            "-r",
            "/bin/sleep",
            "0",
            "-r",
            "/bin/sh",
            "-c",
            "exit 1",
            "-r",
            "/bin/sh",
            "-c",
        ])
        // Relative names (dinit runs in the test's directory): the logged
        // commands stay under the 120-byte cut wherever the checkout lives.
        .args(["trap '' TERM; touch ready; exec sleep 100"])
        .args([
            "-r",
            "/bin/sh",
            "-c",
            "until [ -e go ]; do sleep 0.02; done",
        ])
        .spawn();
    r.wait_log("finished: [/bin/sleep 0]");
    r.wait_log("with error: exit status 1");
    wait_exists(&ready);
    drop(go);
    let out = r.wait();
    let after = utc("%Y/%m/%d");
    assert_eq!(out.code, 0, "{}", out.dump());

    for line in out.stderr.lines() {
        assert!(has_stamp(line), "bad log line {line:?}\n{}", out.dump());
        let date = &line[..10];
        assert!(
            date == before || date == after,
            "log date {date} is not today's UTC date {before}/{after}"
        );
    }
    assert!(out.stderr.ends_with('\n'));

    let sleep0 = out.pid_of("started: [/bin/sleep 0]");
    assert_eq!(out.pid_of("finished: [/bin/sleep 0]"), sleep0);
    let exit1 = out.pid_of("started: [/bin/sh -c exit 1]");
    assert_eq!(
        out.pid_of("finished: [/bin/sh -c exit 1] with error: exit status 1"),
        exit1
    );
    let stubborn_cmd = "[/bin/sh -c trap '' TERM; touch ready; exec sleep 100]";
    let stubborn = out.pid_of(&format!("started: {stubborn_cmd}"));
    assert_eq!(
        out.pid_of(&format!(
            "finished: {stubborn_cmd} with error: signal: killed"
        )),
        stubborn
    );
    let primary_cmd = "[/bin/sh -c until [ -e go ]; do sleep 0.02; done]";
    let primary = out.pid_of(&format!("started: {primary_cmd}"));
    assert_eq!(
        out.pid_of("was primary, signalling other processes"),
        primary
    );
    assert_eq!(
        out.messages().last().map(String::as_str),
        Some("all processes exited, goodbye!"),
        "{}",
        out.dump()
    );
}

/// SPEC §2 Options `-quiet` / `DINIT_QUIET`: only warnings and errors.
#[test]
fn quiet_keeps_only_warnings() {
    for (flag, env) in [
        (Some("-quiet"), None),
        (None, Some("1")),
        (Some("-quiet=true"), None),
    ] {
        let mut d = Dinit::new("quiet");
        if let Some(v) = env {
            d = d.env("DINIT_QUIET", v);
        }
        let ready = d.dir.join("ready");
        let out = d
            .args(["-socket", "", "-timeout", "0.3"])
            .args(flag)
            .args(["-r", "/bin/sh", "-c", "exit 1", "-r", "/bin/sh", "-c"])
            .args([format!(
                "trap '' TERM; touch {}; exec sleep 60",
                ready.display()
            )])
            .args([
                "-r",
                "/bin/sh",
                "-c",
                &format!(
                    "until [ -e {} ]; do sleep 0.02; done; echo out",
                    ready.display()
                ),
            ])
            .run();
        assert_eq!(out.code, 0, "{flag:?} {env:?}\n{}", out.dump());
        assert_eq!(out.stdout, "out\n", "{}", out.dump());
        for word in ["started", "finished", "goodbye", "primary"] {
            assert!(
                !out.stderr.contains(word),
                "{flag:?} {env:?}: info line {word:?} logged\n{}",
                out.dump()
            );
        }
        // The SIGKILL after the grace period is a warning and stays.
        assert!(
            out.stderr.to_lowercase().contains("kill"),
            "{flag:?} {env:?}: warning lost\n{}",
            out.dump()
        );
        assert!(out.stderr.lines().all(has_stamp), "{}", out.dump());
    }
    // Warnings about commands that cannot start stay too.
    let out = Dinit::new("quiet-127")
        .args(["-socket", "", "-quiet", "-r", "no-such-program-xyz"])
        .run();
    assert_eq!(out.code, 127, "{}", out.dump());
    assert!(out.stderr.contains("no-such-program-xyz"), "{}", out.dump());
}

/// SPEC §6: without `-quiet`, the info lines are there (DINIT_QUIET=0 or
/// empty is not quiet).
#[test]
fn not_quiet_by_default() {
    for env in [None, Some("0"), Some("")] {
        let mut d = Dinit::new("not-quiet");
        if let Some(v) = env {
            d = d.env("DINIT_QUIET", v);
        }
        let out = d.args(["-socket", "", "-r", "/bin/true"]).run();
        assert_eq!(out.code, 0, "{env:?}\n{}", out.dump());
        assert!(
            out.stderr.contains("started: [/bin/true]"),
            "{env:?}\n{}",
            out.dump()
        );
        assert!(
            out.stderr.contains("all processes exited, goodbye!"),
            "{env:?}\n{}",
            out.dump()
        );
    }
}

/// SPEC §2: a malformed `-start` string (unterminated `${` or quote) is a
/// usage error (2) like the same mistake in `-stop`, not a start failure (1).
#[test]
fn malformed_start_is_a_usage_error() {
    for bad in ["/bin/echo ${X", "/bin/echo \"x"] {
        for opt in ["-start", "-stop", "-prestop"] {
            let out = Dinit::new("bad-start")
                .args(["-socket", "", opt, bad, "-r", "/bin/true"])
                .run();
            assert_eq!(out.code, 2, "{opt} {bad:?}\n{}", out.dump());
        }
    }
    // A start program that cannot be found is a start failure: 1.
    let out = Dinit::new("start-missing")
        .args(["-socket", "", "-start", "/no/such", "-r", "/bin/true"])
        .run();
    assert_eq!(out.code, 1, "{}", out.dump());
}

/// SPEC §2 `-pgroup`: with a terminal on stdin, the primary's group gets it,
/// so a primary that reads the terminal works instead of being stopped by
/// SIGTTIN (`docker run -it` with `-pgroup`). `script` provides the tty.
#[test]
fn pgroup_primary_can_read_the_terminal() {
    let d = Dinit::new("pgroup-tty");
    let out_file = d.dir.join("got");
    let inner = format!(
        "{} -socket '' -pgroup -r /bin/sh -c 'read x; echo \"got $$x\" > {}'",
        bin().display(),
        out_file.display()
    );
    let mut child = std::process::Command::new("script")
        .args(["-qec", &inner, "/dev/null"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("script (util-linux) must be installed");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(b"hello\n").unwrap();
    }
    let status = wait_child(&mut child, "dinit -pgroup reading the terminal");
    assert!(status.success(), "{status:?}");
    assert_eq!(fs::read_to_string(&out_file).unwrap(), "got hello\n");
}

/// SPEC §6: a primary killed with a core dump is logged as the original Go
/// dinit wrote it, `signal: segmentation fault (core dumped)`, and dinit
/// exits 139. The child raises its core size limit itself; where the
/// kernel is told to pipe cores to a helper (`core_pattern` `|...`) a dump
/// depends on that helper, so this test needs a plain pattern (a file
/// name), and says so when it does not have one.
#[test]
fn a_core_dump_is_logged_as_go_did() {
    let pattern = fs::read_to_string("/proc/sys/kernel/core_pattern").unwrap_or_default();
    assert!(
        !pattern.starts_with('|'),
        "core_pattern pipes cores to {pattern:?}: this test needs a plain \
         pattern (e.g. `core`) so that the child's dump sets the wait \
         status's core bit (error.rs's unit tests cover the wording)"
    );
    let d = Dinit::new("core-dump");
    let dir = d.dir.clone();
    // `$$$$` is the shell's `$$` once dinit has expanded the word.
    let out = d
        .args(["-socket", "", "-r", "/bin/sh", "-c"])
        .args(["ulimit -c unlimited && kill -SEGV $$$$"])
        .run();
    assert_eq!(out.code, 139, "{}", out.dump());
    assert!(
        out.stderr
            .contains("with error: signal: segmentation fault (core dumped)\n"),
        "{}",
        out.dump()
    );
    // The dump itself went where core_pattern says (the test directory,
    // dinit's working directory); it is not needed.
    let _ = fs::remove_file(dir.join(pattern.trim()));
    // Without a dump (a core size limit of 0), the same signal says so.
    let out = Dinit::new("core-nodump")
        .args(["-socket", "", "-r", "/bin/sh", "-c"])
        .args(["ulimit -c 0 && kill -SEGV $$$$"])
        .run();
    assert_eq!(out.code, 139, "{}", out.dump());
    assert!(
        out.stderr
            .contains("with error: signal: segmentation fault\n"),
        "{}",
        out.dump()
    );
}

/// The README's word limit is the one enforced: at most 16,384 argument
/// words after dinit's own name. 16,384 run (the command sees every one of
/// its words); 16,385 are a usage error in one line, nothing started.
#[test]
fn the_argument_word_limit_is_the_readme_s() {
    const ARGS_MAX: usize = 16_384;
    let readme = fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    assert!(
        readme.contains("at most 16,384 argument words"),
        "the README no longer states the limit this test checks"
    );
    // -socket "" -- /bin/sh -c 'echo $#' sh: 7 words before the fillers.
    let head = ["-socket", "", "--", "/bin/sh", "-c", "echo $#", "sh"];
    let fillers = ARGS_MAX - head.len();
    let out = Dinit::new("args-max")
        .args(head)
        .args(std::iter::repeat_n("x", fillers))
        .run();
    assert_eq!(out.code, 0, "{}", out.dump());
    assert_eq!(out.stdout, format!("{fillers}\n"), "{}", out.dump());

    let d = Dinit::new("args-over");
    let m = marker_cmd(&d.dir);
    let fillers = ARGS_MAX + 1 - m.len();
    let d = d.args(&m).args(std::iter::repeat_n("x", fillers));
    let marker = d.dir.join("ran");
    let out = d.run();
    assert_eq!(out.code, 2, "{}", out.dump());
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.dump());
    assert!(
        out.stderr
            .contains("too many arguments: 16385 (the most is 16384)"),
        "{}",
        out.dump()
    );
    assert!(!marker.exists(), "a command ran\n{}", out.dump());
}
