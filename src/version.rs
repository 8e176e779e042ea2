//! `dinit -version` (SPEC §7) and `-help`.

/// `dinit VERSION (TARGET, COMMIT)`, baked in by build.rs.
pub const VERSION_LINE: &str = concat!(
    "dinit ",
    env!("CARGO_PKG_VERSION"),
    " (",
    env!("DINIT_TARGET"),
    ", ",
    env!("DINIT_COMMIT"),
    ")\n"
);

pub const USAGE: &str = "\
usage: dinit [OPTIONS] -r[:SIG] CMD [ARGS...] [-r[:SIG] CMD [ARGS...]]...
       dinit [OPTIONS] -- CMD [ARGS...]   (one command, its words verbatim)
       dinit -submit [-socket PATH] -r CMD [ARGS...]   (or dinit-submit ...)
       dinit -submit [-socket PATH] -list
       dinit -version

A PID 1 for containers: runs the commands, passes on signals, reaps zombies,
never restarts anything, and exits with the status of the primary (last)
command. Options (Go flag syntax: -name value, -name=value, --name value):

  -timeout D        grace period between stop signal and SIGKILL (DINIT_TIMEOUT, default 10s)
  -primary          every command is primary: the first to exit ends them all
  -start CMD        run before anything else; failure aborts (DINIT_START)
  -prestop CMD      run on SIGTERM/SIGINT before passing it on (DINIT_PRESTOP)
  -prestoptimer D   wait between prestop and passing the signal on (DINIT_PRESTOPTIMER, default 0)
  -stop CMD         run after every process has exited (DINIT_STOP)
  -maxproc F        set GOMAXPROCS=ceil(cpus*F) if unset (alias -core-fraction)
  -socket PATH      control socket (DINIT_SOCKET, default /tmp/dinit.sock, empty disables)
  -pgroup           run each command in its own process group (DINIT_PGROUP)
  -quiet            log only warnings and errors (DINIT_QUIET)
  -success CODE     treat the primary's exit status CODE as success (repeatable)
  -stopsignal SIG   stop signal instead of SIGTERM, also a stop request (DINIT_STOPSIGNAL)
  -rewrite FROM:TO  forward FROM as TO; TO 0 drops it (repeatable, DINIT_REWRITE)
  -pdeathsig SIG    ask for SIG when dinit's parent exits (DINIT_PDEATHSIG)
  -stoporder ORDER  together (default) or reverse: stop the last started first (DINIT_STOPORDER)

-r:SIG CMD gives CMD its own stop signal. Without -prestop, -prestoptimer
delays the stop signal. SIG: QUIT, SIGQUIT, RTMIN+3, 3. A literal -r,
-r:SIG or -- argument of a -r command is written \\-r, \\-r:SIG, \\--.
$NAME, ${NAME} and ${NAME:-default} are expanded in -r commands and
arguments; $$ is a literal $. After -- (the form docker/podman --init use)
nothing is expanded or unescaped, and -r and -- do not mix.
";

#[cfg(test)]
mod tests {
    #[test]
    fn version_line_shape() {
        let v = super::VERSION_LINE;
        assert!(v.starts_with("dinit "));
        assert!(v.ends_with(")\n"));
        assert_eq!(v.lines().count(), 1);
    }
}
