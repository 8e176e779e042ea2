//! `dinit -version` (SPEC §7) and `-help`.

/// `dinit VERSION (TARGET) - git.COMMIT`, baked in by build.rs.
///
/// The ` - git.COMMIT` tail is the form dockerd reads from its init's
/// `--version` (tini prints `tini version 0.19.0 - git.de40ad0`): dockerd
/// splits the line at ` - ` and, when the second part is `git.` and one
/// word without a dot, shows that word as `docker info`'s
/// `InitCommit.ID`; anything else is logged as "unknown output format".
/// So COMMIT (a short hash, `-dirty` after it for a changed tree, or
/// `unknown` outside git) never holds a `.` or a blank: build.rs checks.
pub const VERSION_LINE: &str = concat!(
    "dinit ",
    env!("CARGO_PKG_VERSION"),
    " (",
    env!("DINIT_TARGET"),
    ") - git.",
    env!("DINIT_COMMIT"),
    "\n"
);

pub const USAGE: &str = "\
usage: dinit [OPTIONS] -r[:LIST] CMD [ARGS...] [-r[:LIST] CMD [ARGS...]]...
       dinit [OPTIONS] -- CMD [ARGS...]   (one command, its words verbatim)
       dinit -submit [-socket PATH] -r CMD [ARGS...]   (or dinit-submit ...)
       dinit -submit [-socket PATH] -list
       dinit -submit [-socket PATH] -wait -r CMD [ARGS...]
             (runs with this stdin/stdout/stderr; exits with its status)
       dinit -submit [-socket PATH] -signal SIG TARGET...   (a pid or a program name)
       dinit -version

A PID 1 for containers: runs the commands, passes on signals, reaps zombies,
never restarts anything, and exits with the status of the primary command:
the last one, or those marked -r:primary. Options (Go flag syntax: -name
value, -name=value, --name value); a flag beats its variable:

  OPTION            VARIABLE            MEANING
  -timeout D        DINIT_TIMEOUT       grace between stop signal and SIGKILL (10s)
  -primary          DINIT_PRIMARY       every command primary: the first to exit ends all
  -start CMD        DINIT_START         run before anything else; failure aborts
  -prestop CMD      DINIT_PRESTOP       run on SIGTERM/SIGINT before passing it on
  -prestoptimer D   DINIT_PRESTOPTIMER  wait between prestop and the stop signal (0)
  -stop CMD         DINIT_STOP          run after every process has exited
  -maxproc F        DINIT_MAXPROC       set GOMAXPROCS=ceil(cpus*F) if unset
  -socket PATH      DINIT_SOCKET        control socket (/tmp/dinit.sock; empty: none)
  -pgroup           DINIT_PGROUP        run each command in its own process group
  -quiet            DINIT_QUIET         log only warnings and errors
  -success CODE     DINIT_SUCCESS       the primary exiting with CODE is success (list)
  -stopsignal SIG   DINIT_STOPSIGNAL    stop signal instead of SIGTERM; a stop request
  -rewrite FROM:TO  DINIT_REWRITE       forward FROM as TO; TO 0 drops it (list)
  -pdeathsig SIG    DINIT_PDEATHSIG     ask for SIG when dinit's parent exits
  -stoporder ORDER  DINIT_STOPORDER     together (default), or reverse: last started first

-core-fraction is -maxproc. -r:LIST is a signal, the word primary, or both
(-r:QUIT,primary): the command's own stop signal, and marking it primary.
Without -prestop, -prestoptimer delays the stop signal. SIG: QUIT, SIGQUIT,
RTMIN+3, 3. A literal -r, -r:LIST or -- argument of a -r command is written
\\-r, \\-r:LIST, \\--. $NAME, ${NAME} and ${NAME:-default} are expanded in -r
commands and arguments; $$ is a literal $. After -- (the form docker/podman
--init use) nothing is expanded or unescaped, and -r and -- do not mix.
";

#[cfg(test)]
mod tests {
    use super::*;

    /// What dockerd does with its init's `--version` output (moby's
    /// `parseInitVersion`, restated): the commit, or `None` where dockerd
    /// would log "unknown output format" (for a line not from tini).
    fn dockerd_commit(out: &str) -> Option<&str> {
        let mut parts = out.trim().split(" - ");
        let _name_and_version = parts.next()?;
        let (git, commit) = parts.next()?.split_once('.')?;
        (git == "git" && !commit.contains('.') && !commit.is_empty()).then_some(commit)
    }

    #[test]
    fn version_line_shape() {
        let v = VERSION_LINE;
        assert_eq!(v.lines().count(), 1);
        assert!(v.ends_with('\n'));
        let want = format!(
            "dinit {} ({}) - git.{}\n",
            env!("CARGO_PKG_VERSION"),
            env!("DINIT_TARGET"),
            env!("DINIT_COMMIT")
        );
        assert_eq!(v, want);
        assert_eq!(dockerd_commit(v), Some(env!("DINIT_COMMIT")));
    }

    #[test]
    fn dockerd_reads_the_commit() {
        let table: &[(&str, Option<&str>)] = &[
            ("tini version 0.19.0 - git.de40ad0\n", Some("de40ad0")),
            (
                "dinit 0.1.0 (x86_64-unknown-linux-musl) - git.0123456789ab\n",
                Some("0123456789ab"),
            ),
            (
                "dinit 0.1.0 (x) - git.0123456789ab-dirty",
                Some("0123456789ab-dirty"),
            ),
            ("dinit 0.1.0 (x) - git.unknown\n", Some("unknown")),
            // The forms dockerd cannot read.
            (
                "dinit 0.1.0 (x86_64-unknown-linux-musl, 0123456789ab)\n",
                None,
            ),
            ("dinit 0.1.0 (x) - git.1.2\n", None),
            ("dinit 0.1.0 (x) - 0123456789ab\n", None),
        ];
        for &(line, want) in table {
            assert_eq!(dockerd_commit(line), want, "{line:?}");
        }
    }

    #[test]
    fn usage_names_every_variable() {
        for var in [
            "DINIT_TIMEOUT",
            "DINIT_PRIMARY",
            "DINIT_START",
            "DINIT_PRESTOP",
            "DINIT_PRESTOPTIMER",
            "DINIT_STOP",
            "DINIT_MAXPROC",
            "DINIT_SOCKET",
            "DINIT_PGROUP",
            "DINIT_QUIET",
            "DINIT_SUCCESS",
            "DINIT_STOPSIGNAL",
            "DINIT_REWRITE",
            "DINIT_PDEATHSIG",
        ] {
            assert!(USAGE.contains(var), "{var}");
        }
        assert!(
            USAGE.lines().all(|l| l.len() <= 90),
            "a line over 90 columns"
        );
    }
}
