//! Turning words into a program ready for `execve`: `\-r` unescaped, `$`
//! expanded against dinit's environment (neither for the verbatim words
//! after `--`, SPEC §8), the program looked up in `$PATH` (now, at startup,
//! or by the child itself: [`Lookup`]), and NUL-terminated argv built in a
//! caller-owned arena (every word is copied there, so the arena alone backs
//! the program). Shared by the command line, the start/prestop/stop strings
//! and the socket. Also how a failed start is told. Nothing here allocates.

use crate::arena::Bump;
use crate::error::{Bytes, EACCES, EISDIR, ENOENT, ENOTDIR, Errno, Error};
use crate::expand::{self, ExpandError};
use crate::resolve::{self, DEFAULT_PATH, Probe};
use crate::sys::args::getenv;
use crate::sys::spawn::{Argv, ArgvBuilder, Exec, Failure, SpawnError};
use crate::table::{CmdText, ProgName};
use crate::words::{self, SplitError};

/// A program ready to start. Its pointers point into the arena it was
/// built in.
#[derive(Clone, Copy)]
pub struct Program<'s> {
    pub exec: Exec<'s>,
    /// The expanded words, for log lines and `-list`.
    pub cmd: CmdText,
    /// The program's file name, for `-signal` by name.
    pub name: ProgName,
    /// Its own stop signal (`-r:SIG`, SPEC §9), 0 for none.
    pub stop_signal: u8,
    /// Marked `-r:primary` (SPEC §11); whether it is primary is
    /// `cli::Config::is_primary`'s call.
    pub marked_primary: bool,
}

/// Where the program is looked up in `$PATH` (SPEC §2, §10).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lookup {
    /// Now, and the path found is what the child execs: the command line's
    /// `-r` programs and `-start`, so that 127 and 126 come before any
    /// process exists (no child exists yet to protect from a slow lookup).
    Now,
    /// Now, to refuse a command line naming a program that is not there,
    /// and again in the child when it runs (`-prestop`, `-stop`): once the
    /// loop runs dinit touches no path itself.
    NowAndInChild,
    /// In the child only: a socket submission. dinit touches no path a
    /// client named; the child reports what the lookup found.
    InChild,
}

/// The arena a program is built in.
pub struct Builder<'s> {
    pub bytes: Bump<'s, u8>,
    pub ptrs: Bump<'s, *const u8>,
    /// The environment children get.
    pub envp: Argv<'s>,
}

const TOO_LONG: Error<'static> = Error::Usage {
    what: "command too long for dinit's fixed buffers",
    word: b"",
};

/// A `${...}` form `expand` refuses (SPEC §2); the message says how to
/// hand one to a shell instead.
const UNSUPPORTED: &str = "unsupported ${...} form (only ${NAME} and ${NAME:-default} are expanded; write $${...} to pass it to a shell)";
/// The program word is empty, as given (`-r ""`) or once expanded.
const EMPTY_PROGRAM: &str = "empty program name after -r";

/// Build one `-r` group (from `words::groups`) into a program: the
/// starter's `-r:SIG,primary` list gives its own stop signal and its
/// primary mark (`words::RunFlag`), and every word is unescaped, expanded
/// and copied with its NUL into the arena.
pub fn build<'x>(
    flag: &'x [u8],
    words: &[&'x [u8]],
    lookup: Lookup,
    b: &mut Builder<'x>,
) -> Result<Program<'x>, Error<'x>> {
    let run = words::RunFlag::parse(flag, crate::signals::parse)?;
    if words.is_empty() {
        // Named as written: `-r` or `-r:QUIT`.
        return Err(Error::Usage {
            what: "-r needs a command",
            word: flag,
        });
    }
    let stop_signal = run.signal.unwrap_or(0);
    let prog = build_words(words, false, stop_signal, lookup, b, EMPTY_PROGRAM)?;
    Ok(Program {
        marked_primary: run.primary,
        ..prog
    })
}

/// Build the words after `--` (SPEC §8) into a program: copied as they are,
/// nothing unescaped or expanded, since an engine hands over exec-form
/// words meant for the program itself. The lookup in `$PATH` is the same.
pub fn build_verbatim<'x>(
    words: &[&'x [u8]],
    b: &mut Builder<'x>,
) -> Result<Program<'x>, Error<'x>> {
    build_words(
        words,
        true,
        0,
        Lookup::Now,
        b,
        "empty program name after --",
    )
}

/// `build` and `build_verbatim`: `stop_signal` is the command's own (0 for
/// none), `empty` the message for an empty program name.
#[inline(never)] // cold path: keep its buffers out of the event loop's stack frame
fn build_words<'x>(
    words: &[&'x [u8]],
    verbatim: bool,
    stop_signal: i32,
    lookup: Lookup,
    b: &mut Builder<'x>,
    empty: &'static str,
) -> Result<Program<'x>, Error<'x>> {
    let Some(&first) = words.first() else {
        return Err(Error::Usage {
            what: "-r needs a command",
            word: b"-r",
        });
    };
    let mut argv = ArgvBuilder::new(b.ptrs.alloc(words.len() + 1).ok_or(TOO_LONG)?);
    let mut cmd = CmdText::EMPTY;
    let mut program: &'x [u8] = first;
    for (i, &raw) in words.iter().enumerate() {
        let w = if verbatim { raw } else { words::unescape(raw) };
        let room = b.bytes.spare();
        let cap = room.len().saturating_sub(1);
        let n = if !verbatim && expand::needs_expansion(w) {
            match expand::expand(w, &getenv, &mut room[..cap]) {
                Ok(n) => n,
                Err(ExpandError::Unterminated) => {
                    return Err(Error::Usage {
                        what: "unterminated ${ in",
                        word: raw,
                    });
                }
                Err(ExpandError::Unsupported) => {
                    return Err(Error::Usage {
                        what: UNSUPPORTED,
                        word: raw,
                    });
                }
                Err(ExpandError::TooLong) => return Err(TOO_LONG),
            }
        } else if w.len() <= cap {
            room[..w.len()].copy_from_slice(w);
            w.len()
        } else {
            return Err(TOO_LONG);
        };
        room[n] = 0;
        let with_nul: &'x [u8] = b.bytes.alloc(n + 1).ok_or(TOO_LONG)?;
        argv.push(with_nul).ok_or(TOO_LONG)?;
        let word = &with_nul[..n];
        cmd.push_word(word);
        if i == 0 {
            // An empty name would be "not found" (127) with a message that
            // names nothing; it is a mistake on the command line instead.
            if word.is_empty() {
                return Err(Error::Usage {
                    what: empty,
                    word: raw,
                });
            }
            program = word;
        }
    }
    let argv = argv.finish();

    let path_env = getenv(b"PATH").unwrap_or(DEFAULT_PATH);
    let exec = if lookup == Lookup::InChild {
        in_child(program, path_env, argv, b)?
    } else {
        // Resolved into the arena's spare room, which only `Now` keeps.
        let room = b.bytes.spare();
        let n = resolve::resolve(program, Some(path_env), &mut probe, room)?;
        match lookup {
            Lookup::Now => {
                let path: &'x [u8] = b.bytes.alloc(n + 1).ok_or(TOO_LONG)?;
                Exec::new(path, argv, b.envp).ok_or(TOO_LONG)?
            }
            // Refused now if missing; the child looks it up again.
            _ => in_child(program, path_env, argv, b)?,
        }
    };
    Ok(Program {
        exec,
        cmd,
        name: ProgName::of(program),
        stop_signal: stop_signal as u8,
        marked_primary: false,
    })
}

/// An `Exec` that finds `program` itself: a name without `/` is searched in
/// `path_env` by the child, anything else is execed as it is.
fn in_child<'x>(
    program: &'x [u8],
    path_env: &'x [u8],
    argv: Argv<'x>,
    b: &mut Builder<'x>,
) -> Result<Exec<'x>, Error<'x>> {
    let file = b.bytes.cstr(program).ok_or(TOO_LONG)?;
    let exec = if program.contains(&b'/') {
        Exec::new(file, argv, b.envp)
    } else {
        Exec::search(file, path_env, argv, b.envp)
    };
    exec.ok_or(TOO_LONG)
}

/// Split a start/prestop/stop string into words (SPEC §2: white space,
/// double quotes group, `""` in quotes is a quote) and build it. The string
/// is copied into the arena first, since splitting rewrites it.
#[inline(never)] // cold path: keep its buffers out of the event loop's stack frame
pub fn build_string<'x>(
    text: &'x [u8],
    lookup: Lookup,
    b: &mut Builder<'x>,
) -> Result<Program<'x>, Error<'x>> {
    let copy = b.bytes.copy(text).ok_or(Error::Usage {
        what: "command too long",
        word: text,
    })?;
    let list = match words::split_words(copy) {
        Ok(list) => list,
        Err(SplitError::UnterminatedQuote) => {
            return Err(Error::Usage {
                what: "unterminated quote in",
                word: text,
            });
        }
        Err(_) => {
            return Err(Error::Usage {
                what: "too many words in",
                word: text,
            });
        }
    };
    if list.is_empty() {
        return Err(Error::Usage {
            what: "empty command",
            word: text,
        });
    }
    build_words(&list, false, 0, lookup, b, "empty program name")
}

/// Look at a candidate path the way `execve` will: missing, a directory or
/// without execute permission, or executable.
fn probe(path: &[u8]) -> Probe {
    let Ok(c) = core::ffi::CStr::from_bytes_with_nul(path) else {
        return Probe::Missing;
    };
    match rustix::fs::stat(c) {
        Err(e) => match e.raw_os_error() {
            ENOENT | ENOTDIR => Probe::Missing,
            errno => Probe::NotExecutable(errno),
        },
        Ok(st) if rustix::fs::FileType::from_raw_mode(st.st_mode).is_dir() => {
            Probe::NotExecutable(EISDIR)
        }
        Ok(_) => match rustix::fs::access(c, rustix::fs::Access::EXEC_OK) {
            Ok(()) => Probe::Executable,
            Err(_) => Probe::NotExecutable(EACCES),
        },
    }
}

/// Why a program did not start, told in one line for the log and the
/// socket reply: `unable to start [CMD]: REASON`, or `unable to fork for
/// [CMD]: ...` when the fork itself failed.
pub struct StartFailure<'p> {
    cmd: &'p CmdText,
    err: SpawnError,
    /// The child's report, for an exec failure: a script's missing `#!`
    /// interpreter, when that is the reason.
    report: Option<&'p Failure>,
}

impl<'p> StartFailure<'p> {
    /// A failure before the child could run (`Pipe`, `Fork`).
    pub fn new(cmd: &'p CmdText, err: SpawnError) -> Self {
        StartFailure {
            cmd,
            err,
            report: None,
        }
    }

    /// The failure a child reported. The kernel answers ENOENT both for a
    /// program that is not there and for a script whose `#!` interpreter
    /// is not there: the child looked, and when it is the interpreter, that
    /// is what the message names (as bash does), instead of a "not found"
    /// about a script that is right there. A `\r` left by a CRLF line end
    /// is part of the name for the kernel, and is shown (`/bin/sh\x0d`).
    pub fn reported(cmd: &'p CmdText, report: &'p Failure) -> Self {
        StartFailure {
            cmd,
            err: SpawnError::Exec(report.errno),
            report: Some(report),
        }
    }
}

/// The exit status SPEC §3 gives a failed start (127, 126, 1).
pub fn exit_code(err: SpawnError) -> u8 {
    match err {
        SpawnError::Exec(errno) => Error::from_exec_errno(b"", errno).exit_code(),
        SpawnError::Pipe(_) | SpawnError::Fork(_) => crate::error::EXIT_FAILURE,
    }
}

impl core::fmt::Display for StartFailure<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let interp = self.report.and_then(Failure::interpreter);
        match self.err {
            SpawnError::Fork(e) => write!(f, "unable to fork for {}: {}", self.cmd, Errno(e)),
            SpawnError::Exec(_) if interp.is_some() => write!(
                f,
                "unable to start {}: interpreter {} not found",
                self.cmd,
                Bytes(interp.unwrap_or_default())
            ),
            SpawnError::Exec(ENOENT | ENOTDIR) => {
                write!(f, "unable to start {}: executable file not found", self.cmd)
            }
            // No descriptors for the report pipe: nothing was forked.
            SpawnError::Exec(e) | SpawnError::Pipe(e) => {
                write!(f, "unable to start {}: {}", self.cmd, Errno(e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_are_told_in_one_line() {
        let cmd = CmdText::from_words(&[b"/app", b"-x"]);
        let line = |f: StartFailure<'_>| f.to_string();
        assert_eq!(
            line(StartFailure::new(&cmd, SpawnError::Fork(11))),
            "unable to fork for [/app -x]: resource temporarily unavailable (EAGAIN)"
        );
        assert_eq!(
            line(StartFailure::new(&cmd, SpawnError::Pipe(24))),
            "unable to start [/app -x]: too many open files (EMFILE)"
        );
        let r = Failure::new(ENOENT);
        assert_eq!(
            line(StartFailure::reported(&cmd, &r)),
            "unable to start [/app -x]: executable file not found"
        );
        let r = Failure::new(8);
        assert_eq!(
            line(StartFailure::reported(&cmd, &r)),
            "unable to start [/app -x]: exec format error (ENOEXEC)"
        );
        assert_eq!(exit_code(SpawnError::Exec(ENOENT)), 127);
        assert_eq!(exit_code(SpawnError::Exec(EACCES)), 126);
        assert_eq!(exit_code(SpawnError::Exec(8)), 126);
        assert_eq!(exit_code(SpawnError::Fork(11)), 1);
    }
}
