//! The init role: decide everything at startup, then hand over to the
//! supervisor. Parse and validate the command line, build and resolve every
//! program (so a missing one is 127 with nothing started), build the
//! children's environment, size every table, create the signalfd — and only
//! then start anything. Startup fills fixed static arenas; nothing here or
//! later allocates.

use crate::arena::Bump;
use crate::cli::{self, Config};
use crate::command::Program;
use crate::command::{self, Builder, Lookup};
use crate::error::{Errno, Error, Num, parse_decimal};
use crate::inherit::{self, Inherited};
use crate::supervisor::{Plan, Supervisor};
use crate::sys::TakeOnce;
use crate::sys::args::getenv;
use crate::sys::fdpass::{INHERITED_MAX, LISTEN_PID_ENTRY, PidSlot};
use crate::table::{PROC_MAX, Table};
use crate::{info, signals, sys, warn, words};
use core::fmt::Write as _;

/// Bytes for startup's expanded words, copied strings and resolved paths.
const STARTUP_BYTES: usize = 256 * 1024;
/// argv/envp pointer slots for startup (every argument word plus one NULL
/// per command, and the environment when GOMAXPROCS is added).
const STARTUP_PTRS: usize = 24 * 1024;
/// Bytes and argv slots for one socket request (reused for each).
const SOCKET_BYTES: usize = 16 * 1024;
const SOCKET_PTRS: usize = 1024;

// Startup's fixed storage, in `.bss`: nothing is touched (or costs memory)
// until it is used.
static BYTES: TakeOnce<[u8; STARTUP_BYTES]> = TakeOnce::new([0; STARTUP_BYTES]);
static PTRS: TakeOnce<[*const u8; STARTUP_PTRS]> = TakeOnce::new([core::ptr::null(); STARTUP_PTRS]);
static PROGRAMS: TakeOnce<heapless::Vec<Program<'static>, PROC_MAX>> =
    TakeOnce::new(heapless::Vec::new());
static TABLE: TakeOnce<Table> = TakeOnce::new(Table::new());
static REQUEST_BYTES: TakeOnce<[u8; SOCKET_BYTES]> = TakeOnce::new([0; SOCKET_BYTES]);
static REQUEST_PTRS: TakeOnce<[*const u8; SOCKET_PTRS]> =
    TakeOnce::new([core::ptr::null(); SOCKET_PTRS]);

/// The refusal of a command line with more `-r` groups than the table holds
/// (`PROC_MAX`, which a test checks the text against).
const TOO_MANY_COMMANDS: &str = "too many commands (the most is 256)";

/// Run the init role; returns dinit's exit code.
pub fn run(args: &'static [&'static [u8]]) -> u8 {
    // First: from here on nothing dinit writes to stderr ever waits (SPEC
    // §10), usage errors included; a PID 1 that cannot start must still
    // exit, full log pipe or not.
    sys::out::init_stderr();
    match prepare_and_run(args) {
        Ok(code) => code,
        Err(Error::Help) => {
            let _ = sys::write_all(1, crate::version::USAGE.as_bytes());
            0
        }
        Err(e) => {
            warn!("{e}");
            e.exit_code()
        }
    }
}

fn prepare_and_run(args: &'static [&'static [u8]]) -> Result<u8, Error<'static>> {
    // First, for -pdeathsig: the parent as it was when dinit started, to
    // tell after the prctl whether it died before the kernel could be asked.
    let ppid = sys::getppid();
    // Put back any disposition dinit inherited as "ignored" before any child
    // can inherit it (see sys::signals::reset_dispositions).
    sys::signals::reset_dispositions();
    // Descriptors above 2 that dinit inherited go to the primary alone
    // (SPEC §11): listed now and close-on-exec from here on, so that no
    // other child gets one; the primary's fork child opens them up again.
    let inherited = Inherited::take();
    let cfg: Config<'static> = cli::parse(args.get(1..).unwrap_or(&[]), &getenv)?;
    let cfg = &cfg;
    crate::log::set_quiet(cfg.quiet);
    if inherited.skipped > 0 {
        warn!(
            "{} inherited descriptors beyond the first {} are passed to no process",
            Num(inherited.skipped),
            Num(INHERITED_MAX)
        );
    }
    let parent_gone = cfg.pdeathsig.and_then(|sig| pdeathsig(sig, ppid));

    const TWICE: Error<'static> = Error::Failed {
        what: "startup storage taken twice",
    };
    let programs = PROGRAMS.take().ok_or(TWICE)?;
    let mut b = Builder {
        bytes: Bump::new(BYTES.take().ok_or(TWICE)?),
        ptrs: Bump::new(PTRS.take().ok_or(TWICE)?),
        envp: sys::spawn::process_env(),
    };

    // The children's environment: dinit's, plus GOMAXPROCS when asked;
    // when socket activation was meant for dinit, without the LISTEN_*
    // variables for all but the primary, whose LISTEN_PID is its own pid
    // (SPEC §11).
    let gomaxprocs = if cfg.maxproc > 0.0 && getenv(b"GOMAXPROCS").is_none() {
        Some(gomaxprocs(cfg.maxproc, &mut b)?)
    } else {
        None
    };
    let env = || sys::args::environ_with_nul().chain(gomaxprocs);
    if gomaxprocs.is_some() || inherited.activated {
        b.envp = inherit::envp(env, inherited.activated, None, &mut b.ptrs).ok_or(ENV_TOO_BIG)?;
    }
    let mut listen_pid = None;
    let mut heir_envp = None;
    if inherited.activated {
        let storage = b.bytes.alloc(LISTEN_PID_ENTRY).ok_or(ENV_TOO_BIG)?;
        let storage: &mut [u8; LISTEN_PID_ENTRY] = storage.try_into().map_err(|_| ENV_TOO_BIG)?;
        let (entry, slot) = PidSlot::new(storage);
        let envp = inherit::envp(env, true, Some(entry), &mut b.ptrs).ok_or(ENV_TOO_BIG)?;
        heir_envp = Some(envp);
        listen_pid = Some(slot);
    }

    if cfg.verbatim {
        // `-- CMD [ARGS...]` (SPEC §8): one command, the primary, its words
        // as given. The table is empty, so it fits.
        let prog = command::build_verbatim(cfg.commands, &mut b)?;
        let _ = programs.push(prog);
    } else {
        for (flag, group) in words::groups(cfg.commands) {
            let prog = command::build(flag, group, Lookup::Now, &mut b)?;
            programs.push(prog).map_err(|_| Error::Usage {
                what: TOO_MANY_COMMANDS,
                word: b"-r",
            })?;
        }
    }
    // The primary that gets the inherited descriptors: the last one
    // (README, Decisions: a LISTEN_PID names one process).
    let n = programs.len();
    let heir = inherit::recipient(
        programs
            .iter()
            .enumerate()
            .map(|(i, p)| cfg.is_primary(p.marked_primary, i + 1 == n)),
    );
    if let (Some(h), Some(envp)) = (heir, heir_envp) {
        programs[h].exec = programs[h].exec.with_envp(envp);
    }
    let start = match cfg.start {
        // SPEC §2: a start command that cannot start aborts dinit with 1;
        // a malformed one (bad quoting, `${`) is a usage error like any.
        Some(text) => Some(command::build_string(text, Lookup::Now, &mut b).map_err(
            |e| match e {
                Error::Usage { .. } => e,
                _ => {
                    warn!("start command: {e}");
                    Error::Failed {
                        what: "start command cannot be run",
                    }
                }
            },
        )?),
        None => None,
    };
    // Checked now, for a clear error before anything starts; looked up
    // again by the child when they run (no path can stall PID 1).
    let prestop = cfg
        .prestop
        .map(|t| command::build_string(t, Lookup::NowAndInChild, &mut b))
        .transpose()?;
    let stop = cfg
        .stop
        .map(|t| command::build_string(t, Lookup::NowAndInChild, &mut b))
        .transpose()?;

    let sigfd = sys::signals::signalfd(signals::CATCHABLE).map_err(|errno| Error::Sys {
        what: "unable to create signalfd",
        errno,
    })?;
    if sys::getpid() != 1 {
        // Orphans of our children come to us instead of the host's init.
        // Not fatal: qemu-user, for one, refuses it with EINVAL.
        if let Err(errno) = sys::set_child_subreaper() {
            warn!("unable to become a child subreaper: {}", Errno(errno));
        }
    }
    let plan = Plan {
        programs,
        start,
        prestop,
        stop,
        envp: b.envp,
        socket_bytes: REQUEST_BYTES.take().ok_or(TWICE)?,
        socket_ptrs: REQUEST_PTRS.take().ok_or(TWICE)?,
        parent_gone,
        inherited,
        heir,
        listen_pid,
    };
    let table = TABLE.take().ok_or(TWICE)?;
    // The supervisor (some 23 KiB: the machine, its action queue, the
    // children's maps) runs where `new` put it: moving it out of the
    // Result would give this frame a second copy, and every page of a
    // stack frame is touched (the stack probe), so each copy is resident.
    match &mut Supervisor::new(cfg, plan, table, sigfd, crate::children::System) {
        Ok(sup) => Ok(sup.run()),
        Err(e) => Err(*e),
    }
}

/// `-pdeathsig SIG`: ask the kernel for SIG when dinit's parent exits;
/// returns SIG when the parent is gone already (dinit was reparented since
/// `ppid` was read), so the supervisor acts on it at once.
///
/// What cannot be seen: a parent that died before dinit read `ppid` (the
/// reaper it was handed to looks like the parent), and, as PID 1, any
/// parent at all (it is outside the PID namespace: `getppid()` is 0). As
/// PID 1 the prctl is still made: the parent outside (`unshare`, a runtime
/// shim) can exit, and the kernel delivers SIG to a namespace's init
/// because dinit blocks it.
fn pdeathsig(sig: i32, ppid: i32) -> Option<i32> {
    if let Err(errno) = sys::set_pdeathsig(sig) {
        warn!("unable to set -pdeathsig: {}", Errno(errno));
        return None;
    }
    (ppid != 0 && sys::getppid() != ppid).then_some(sig)
}

/// The environment is too large for startup's arena.
const ENV_TOO_BIG: Error<'static> = Error::Usage {
    what: "environment too large for dinit's fixed buffers",
    word: b"",
};

/// The `GOMAXPROCS=ceil(cpus × fraction)` entry for the children's
/// environment, with its NUL, in the arena.
#[inline(never)] // cold path: keep its buffers out of the event loop's stack frame
fn gomaxprocs(fraction: f64, b: &mut Builder<'static>) -> Result<&'static [u8], Error<'static>> {
    let mut cpus = sys::cpus_allowed().unwrap_or(1);
    if let Some(q) = cgroup_cpu_limit() {
        cpus = cpus.min(q);
    }
    let n = gomaxprocs_for(cpus, fraction);
    let mut text = crate::log::LogLine::new();
    let _ = write!(text, "GOMAXPROCS={}", Num(n));
    let entry = b.bytes.cstr(text.as_bytes()).ok_or(ENV_TOO_BIG)?;
    info!(
        "GOMAXPROCS set to {} ({} cpus available)",
        Num(n),
        Num(cpus)
    );
    Ok(entry)
}

/// `ceil(cpus × fraction)`, at least 1.
pub fn gomaxprocs_for(cpus: u32, fraction: f64) -> u32 {
    let x = cpus as f64 * fraction;
    let t = x as u32; // saturating truncation
    let c = if (t as f64) < x {
        t.saturating_add(1)
    } else {
        t
    };
    c.max(1)
}

/// The CPU limit of dinit's cgroup v2 (`cpu.max` = "QUOTA PERIOD"), rounded
/// up, or `None` when there is no limit or no cgroup v2.
#[inline(never)] // cold path: keep its buffers out of the event loop's stack frame
fn cgroup_cpu_limit() -> Option<u32> {
    let mut cgroup = [0u8; 512];
    let n = read_file(c"/proc/self/cgroup", &mut cgroup).unwrap_or(0);
    // dinit's own cgroup (the cgroup v2 line is `0::/PATH`), then the root
    // of the hierarchy (what a cgroup namespace shows as dinit's own).
    let own = cgroup[..n]
        .split(|&c| c == b'\n')
        .find_map(|l| l.strip_prefix(b"0::"))
        .unwrap_or_default();
    let mut path: heapless::Vec<u8, 640> = heapless::Vec::new();
    let mut buf = [0u8; 512];
    for dir in [own, b""] {
        path.clear();
        // A path too long for the buffer is left without its NUL: skipped.
        let _ = [&b"/sys/fs/cgroup"[..], dir, b"/cpu.max\0"]
            .iter()
            .try_for_each(|part| path.extend_from_slice(part));
        let Ok(c) = core::ffi::CStr::from_bytes_with_nul(&path) else {
            continue;
        };
        if let Some(n) = read_file(c, &mut buf) {
            return parse_cpu_max(&buf[..n]);
        }
    }
    None
}

fn read_file(path: &core::ffi::CStr, buf: &mut [u8]) -> Option<usize> {
    use rustix::fs::{Mode, OFlags};
    let fd = rustix::fs::open(path, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty()).ok()?;
    rustix::io::read(&fd, buf).ok()
}

/// Parse cgroup v2 `cpu.max`: `max PERIOD` is no limit, `QUOTA PERIOD` is
/// QUOTA/PERIOD CPUs, rounded up. The kernel writes it in ASCII; it is read
/// as bytes (white space around it trimmed, words split at ASCII white
/// space, as `str::trim` and `split_ascii_whitespace` do for ASCII), since
/// the `str` route links Unicode tables and UTF-8 validation: over 1 KiB
/// of the binary. A file with any other byte is no limit.
pub fn parse_cpu_max(text: &[u8]) -> Option<u32> {
    if !text.is_ascii() {
        return None;
    }
    // `str::trim` also takes the vertical tab, which
    // `is_ascii_whitespace` leaves out.
    let blank = |b: &u8| b.is_ascii_whitespace() || *b == 0x0b;
    let start = text.iter().position(|b| !blank(b)).unwrap_or(text.len());
    let end = text
        .iter()
        .rposition(|b| !blank(b))
        .map_or(start, |i| i + 1);
    let mut it = text[start..end]
        .split(u8::is_ascii_whitespace)
        .filter(|w| !w.is_empty());
    let quota = parse_u64(it.next()?)?;
    let period = it.next().map_or(Some(100_000), parse_u64)?;
    if period == 0 {
        return None;
    }
    Some(quota.div_ceil(period).clamp(1, u32::MAX as u64) as u32)
}

/// A decimal number as `str::parse::<u64>` reads one: an optional `+`,
/// then digits only, no overflow.
fn parse_u64(word: &[u8]) -> Option<u64> {
    parse_decimal(word.strip_prefix(b"+").unwrap_or(word))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn too_many_commands_names_the_table_size() {
        assert!(TOO_MANY_COMMANDS.contains(&format!("the most is {PROC_MAX})")));
    }

    #[test]
    fn gomaxprocs_rounds_up() {
        assert_eq!(gomaxprocs_for(2, 0.5), 1);
        assert_eq!(gomaxprocs_for(3, 0.5), 2);
        assert_eq!(gomaxprocs_for(4, 1.0), 4);
        assert_eq!(gomaxprocs_for(1, 0.01), 1);
        assert_eq!(gomaxprocs_for(8, 0.75), 6);
        assert_eq!(gomaxprocs_for(2, 1e30), u32::MAX);
    }

    #[test]
    fn cpu_max() {
        assert_eq!(parse_cpu_max(b"max 100000\n"), None);
        assert_eq!(parse_cpu_max(b"200000 100000\n"), Some(2));
        assert_eq!(parse_cpu_max(b"150000 100000"), Some(2));
        assert_eq!(parse_cpu_max(b"50000 100000"), Some(1));
        assert_eq!(parse_cpu_max(b"100 0"), None);
        assert_eq!(parse_cpu_max(b""), None);
    }
}
