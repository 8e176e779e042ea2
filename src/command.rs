//! Turning words into a program ready for `execve`: `\-r` unescaped, `$`
//! expanded against dinit's environment, the program looked up in `$PATH`,
//! and NUL-terminated argv built in a caller-owned arena (every word is
//! copied there, so the arena alone backs the program). Shared by the
//! command line, the start/prestop/stop strings and the socket. Nothing
//! here allocates.

use crate::arena::Bump;
use crate::error::{EACCES, EISDIR, ENOENT, ENOTDIR, Error};
use crate::expand::{self, ExpandError};
use crate::resolve::{self, Probe};
use crate::sys::args::getenv;
use crate::sys::spawn::{Argv, ArgvBuilder, Exec};
use crate::table::CmdText;
use crate::words::{self, SplitError};

/// A program ready to start. Its pointers point into the arena it was
/// built in.
#[derive(Clone, Copy)]
pub struct Program<'s> {
    pub exec: Exec<'s>,
    /// The expanded words, for log lines and `-list`.
    pub cmd: CmdText,
    /// Its own stop signal (`-r:SIG`, SPEC §9), 0 for none.
    pub stop_signal: u8,
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

/// Build one `-r` group (from `words::groups`) into a program: the
/// starter's `-r:SIG` is its own stop signal (empty for none), and every
/// word is unescaped, expanded and copied with its NUL into the arena.
#[inline(never)] // cold path: keep its buffers out of the event loop's stack frame
pub fn build<'x>(
    flag: &'x [u8],
    words: &[&'x [u8]],
    b: &mut Builder<'x>,
) -> Result<Program<'x>, Error<'x>> {
    let stop_signal = match words::run_flag_signal(flag) {
        Some(sig) => crate::sys::signals::parse(sig).ok_or(Error::Usage {
            what: "unknown stop signal",
            word: flag,
        })?,
        None => 0,
    };
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
        let w = words::unescape(raw);
        let room = b.bytes.spare();
        let cap = room.len().saturating_sub(1);
        let n = if expand::needs_expansion(w) {
            match expand::expand(w, &getenv, &mut room[..cap]) {
                Ok(n) => n,
                Err(ExpandError::Unterminated) => {
                    return Err(Error::Usage {
                        what: "unterminated ${ in",
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
            program = word;
        }
    }
    let argv = argv.finish();

    let room = b.bytes.spare();
    let n = resolve::resolve(program, getenv(b"PATH"), &mut probe, room)?;
    let path: &'x [u8] = b.bytes.alloc(n + 1).ok_or(TOO_LONG)?;
    let exec = Exec::new(path, argv, b.envp).ok_or(TOO_LONG)?;
    Ok(Program {
        exec,
        cmd,
        stop_signal: stop_signal as u8,
    })
}

/// Split a start/prestop/stop string into words (SPEC §2: white space,
/// double quotes group, `""` in quotes is a quote) and build it. The string
/// is copied into the arena first, since splitting rewrites it.
#[inline(never)] // cold path: keep its buffers out of the event loop's stack frame
pub fn build_string<'x>(text: &'x [u8], b: &mut Builder<'x>) -> Result<Program<'x>, Error<'x>> {
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
    build(b"", &list, b)
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
