//! Inherited descriptors and socket activation (SPEC §11): what dinit's
//! parent handed down above fd 2 (`podman run --preserve-fds N`, systemd's
//! `LISTEN_FDS`, a parent's pipe) goes, with the same numbers, to the
//! primary and to no other process; dinit uses none of them and closes its
//! copies once the primary has started.
//!
//! The life of an inherited descriptor:
//! 1. startup, before the first child: [`Inherited::take`] lists them
//!    and makes every one close-on-exec, so no child gets one by accident;
//! 2. the primary's fork child, just before `execve`: they are opened up
//!    again (`sys::fdpass::keep_on_exec`) and, when dinit was socket
//!    activated, the child's own pid is written into its `LISTEN_PID`
//!    (`sys::fdpass::PidSlot::fill`);
//! 3. once the primary has exec'd: [`Inherited::close`].
//!
//! The environments: when `LISTEN_PID` in dinit's environment is dinit's
//! own pid ([`activated`]), the primary gets `LISTEN_PID=<its pid>` (what
//! `sd_listen_fds` checks) and `LISTEN_FDS`/`LISTEN_FDNAMES` as they were,
//! and every other process gets all three removed ([`env_entries`]). When
//! it names another process, or is unset, every environment stays as it
//! was: the variables were not addressed to dinit, so they are not dinit's
//! to rewrite. The descriptors go to the primary either way.
//!
//! Decided here (README, "Decisions SPEC leaves open"): with several
//! primaries (`-primary`, or several `-r:primary`), the descriptors go to
//! one of them, the last on the command line ([`recipient`]): a
//! `LISTEN_PID` can name only one process, and with `--` or a single `-r`
//! that is the one SPEC names.
//!
//! Nothing here allocates: the list is a fixed array, the environments are
//! built as pointer arrays in the caller's arena.

use crate::arena::Bump;
use crate::sys;
use crate::sys::fdpass::INHERITED_MAX;
use crate::sys::spawn::{Argv, ArgvBuilder};

/// The variables of socket activation (`sd_listen_fds(3)`).
pub const LISTEN_VARS: [&[u8]; 3] = [b"LISTEN_PID", b"LISTEN_FDS", b"LISTEN_FDNAMES"];

/// What dinit inherited, found at startup.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Inherited {
    fds: heapless::Vec<i32, INHERITED_MAX>,
    /// How many more there were than `INHERITED_MAX`: close-on-exec like
    /// the rest, and never passed on (startup says so in a warning).
    pub skipped: usize,
    /// `LISTEN_PID` named dinit: the environments are rewritten.
    pub activated: bool,
}

impl Inherited {
    /// List the descriptors above 2 that dinit inherited and make every
    /// descriptor above 2 close-on-exec (this replaces
    /// `sys::cloexec_inherited_fds` at startup), and read `LISTEN_PID`.
    /// Any time before the first child is forked will do (see
    /// `sys::fdpass::take_inherited`).
    pub fn take() -> Inherited {
        let mut found = Inherited::default();
        // In ascending order, as the fork child's close_range calls around
        // them want: `/proc/self/fd` lists them so, and so does the probe
        // without it.
        sys::fdpass::take_inherited(|fd| found.add(fd));
        found.activated = activated(sys::args::getenv(b"LISTEN_PID"), sys::getpid());
        found
    }

    fn add(&mut self, fd: i32) {
        // Ascending is what is kept: a number out of order (not seen from
        // any kernel) is passed to no process rather than sorted in.
        let ascending = self.fds.last().is_none_or(|&last| last < fd);
        if !ascending || self.fds.push(fd).is_err() {
            self.skipped += 1;
        }
    }

    /// The descriptors the primary gets, in ascending order.
    pub fn fds(&self) -> &[i32] {
        &self.fds
    }

    /// Close dinit's copies, once the primary has started (or cannot be):
    /// from then on the primary alone holds them. Safe to call twice.
    pub fn close(&mut self) {
        sys::fdpass::close_all(&self.fds);
        self.fds.clear();
    }
}

/// Whether socket activation was meant for dinit: `LISTEN_PID` is its own
/// pid, in decimal (digits only, as `sd_listen_fds` parses it).
pub fn activated(listen_pid: Option<&[u8]>, own_pid: i32) -> bool {
    let Some(text) = listen_pid.filter(|t| t.len() <= 10) else {
        return false;
    };
    crate::error::parse_decimal(text) == Some(own_pid as u64)
}

/// Which command gets the inherited descriptors: the last primary, by its
/// index among the commands (`primary` in command-line order); `None` when
/// there is none.
pub fn recipient(primary: impl IntoIterator<Item = bool>) -> Option<usize> {
    primary
        .into_iter()
        .enumerate()
        .filter_map(|(i, p)| p.then_some(i))
        .last()
}

/// The name of an environment entry `NAME=value` (NUL or not).
fn name_of(entry: &[u8]) -> &[u8] {
    let end = entry
        .iter()
        .position(|&b| b == b'=' || b == 0)
        .unwrap_or(entry.len());
    &entry[..end]
}

/// The environment entries a child gets, handed one by one to `push` (in
/// order; `None` from `push` stops with `None`), from `env`, dinit's own
/// (`NAME=value` entries with their NUL, `GOMAXPROCS` already added):
/// * not `activated`: all of them, unchanged;
/// * the primary (`listen_pid` is its slot's entry, from
///   `sys::fdpass::PidSlot::new`): the first `LISTEN_PID` entry replaced
///   by the slot, later ones dropped, everything else unchanged;
/// * any other process (`listen_pid` is `None`): without `LISTEN_PID`,
///   `LISTEN_FDS` and `LISTEN_FDNAMES`.
pub fn env_entries<'s>(
    env: impl IntoIterator<Item = &'s [u8]>,
    activated: bool,
    listen_pid: Option<&'s [u8]>,
    mut push: impl FnMut(&'s [u8]) -> Option<()>,
) -> Option<()> {
    let mut slot = listen_pid;
    for entry in env {
        let name = name_of(entry);
        if !activated || !LISTEN_VARS.contains(&name) {
            push(entry)?;
        } else if listen_pid.is_some() {
            match name {
                b"LISTEN_PID" => {
                    if let Some(s) = slot.take() {
                        push(s)?;
                    }
                }
                _ => push(entry)?,
            }
        }
    }
    Some(())
}

/// [`env_entries`] as an `execve` environment built in `ptrs`: `None` when
/// the arena is too small. `env` gives the entries afresh each call (it is
/// walked twice: to count, then to fill), e.g.
/// `|| sys::args::environ_with_nul().chain(gomaxprocs)`.
pub fn envp<'s, I>(
    env: impl Fn() -> I,
    activated: bool,
    listen_pid: Option<&'s [u8]>,
    ptrs: &mut Bump<'s, *const u8>,
) -> Option<Argv<'s>>
where
    I: IntoIterator<Item = &'s [u8]>,
{
    let count = env().into_iter().count();
    let mut argv = ArgvBuilder::new(ptrs.alloc(count + 1)?);
    env_entries(env(), activated, listen_pid, |e| argv.push(e))?;
    Some(argv.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_pid_names_dinit_or_not() {
        // (LISTEN_PID, dinit's pid, meant for dinit)
        let table: &[(Option<&str>, i32, bool)] = &[
            (Some("1"), 1, true),
            (Some("4242"), 4242, true),
            (Some("4243"), 4242, false),
            (Some("04242"), 4242, true), // digits, read as decimal
            (None, 1, false),
            (Some(""), 1, false),
            (Some(" 1"), 1, false),
            (Some("1 "), 1, false),
            (Some("+1"), 1, false),
            (Some("-1"), 1, false),
            (Some("0x1"), 1, false),
            (Some("99999999999999999999"), 1, false),
            (Some("2147483647"), i32::MAX, true),
        ];
        for &(v, pid, want) in table {
            assert_eq!(activated(v.map(str::as_bytes), pid), want, "{v:?} {pid}");
        }
    }

    #[test]
    fn the_last_primary_gets_them() {
        assert_eq!(recipient([true]), Some(0));
        assert_eq!(recipient([false, false, true]), Some(2));
        assert_eq!(recipient([true, false, true, false]), Some(2));
        assert_eq!(recipient([true, true, true]), Some(2));
        assert_eq!(recipient([false, false]), None);
        assert_eq!(recipient([]), None);
    }

    const ENV: &[&str] = &[
        "PATH=/bin\0",
        "LISTEN_FDS=2\0",
        "LISTEN_PIDX=keep\0",
        "LISTEN_PID=77\0",
        "LISTEN_FDNAMES=http:https\0",
        "HOME=/\0",
        "LISTEN_PID=78\0",
        "LISTEN_FDS\0", // no `=`: still the variable's name
    ];

    fn entries(activated: bool, slot: Option<&'static str>) -> Vec<String> {
        let mut out = Vec::new();
        let env = ENV.iter().map(|e| e.as_bytes());
        env_entries(env, activated, slot.map(str::as_bytes), |e| {
            out.push(String::from_utf8(e.to_vec()).unwrap());
            Some(())
        })
        .unwrap();
        out
    }

    #[test]
    fn environments() {
        let all: Vec<String> = ENV.iter().map(|s| s.to_string()).collect();
        // Not meant for dinit: nobody's environment changes.
        assert_eq!(entries(false, None), all);
        assert_eq!(entries(false, Some("LISTEN_PID=\0")), all);
        // Meant for dinit: the others lose all three...
        assert_eq!(
            entries(true, None),
            ["PATH=/bin\0", "LISTEN_PIDX=keep\0", "HOME=/\0"]
        );
        // ...the primary gets its slot in place of the first LISTEN_PID.
        assert_eq!(
            entries(true, Some("LISTEN_PID=\0")),
            [
                "PATH=/bin\0",
                "LISTEN_FDS=2\0",
                "LISTEN_PIDX=keep\0",
                "LISTEN_PID=\0",
                "LISTEN_FDNAMES=http:https\0",
                "HOME=/\0",
                "LISTEN_FDS\0",
            ]
        );
    }

    #[test]
    fn a_full_sink_stops_the_walk() {
        let mut n = 0;
        let env = ENV.iter().map(|e| e.as_bytes());
        let r = env_entries(env, false, None, |_| {
            n += 1;
            (n < 3).then_some(())
        });
        assert_eq!((r, n), (None, 3));
    }

    #[test]
    fn envp_fits_or_says_not() {
        let mut store = [core::ptr::null(); 9];
        let mut ptrs = Bump::new(&mut store);
        let env = || ENV.iter().map(|e| e.as_bytes());
        assert!(envp(env, true, None, &mut ptrs).is_some());
        // 8 entries and the NULL do not fit in what is left.
        assert!(envp(env, false, None, &mut ptrs).is_none());
        // dinit's own environment, as startup would pass it.
        let store: &'static mut [*const u8; 64] = Box::leak(Box::new([core::ptr::null(); 64]));
        let mut ptrs = Bump::new(store);
        assert!(envp(sys::args::environ_with_nul, true, None, &mut ptrs).is_some());
    }

    #[test]
    fn listing_and_closing() {
        let mut i = Inherited::default();
        for fd in 3..(3 + INHERITED_MAX as i32 + 2) {
            i.add(fd);
        }
        assert_eq!(i.fds().len(), INHERITED_MAX);
        assert_eq!(i.skipped, 2);
        assert_eq!(i.fds()[0], 3);
        // Only ascending numbers are kept (the fork child's close_range
        // calls go around them in order).
        let mut j = Inherited::default();
        for fd in [3, 7, 5, 9] {
            j.add(fd);
        }
        assert_eq!((j.fds(), j.skipped), (&[3, 7, 9][..], 1));
        // Closing forgets them (the descriptors themselves are not real
        // here: closing a number that is not open is harmless, EBADF).
        let mut none = Inherited::default();
        none.close();
        assert!(none.fds().is_empty());
    }
}
