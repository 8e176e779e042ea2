//! Turning words into a program ready for `execve`: `\-r` unescaped, `$`
//! expanded against dinit's environment (neither for the verbatim words
//! after `--`, SPEC §8), the program looked up in `$PATH`,
//! and NUL-terminated argv built in a caller-owned arena (every word is
//! copied there, so the arena alone backs the program). Shared by the
//! command line, the start/prestop/stop strings and the socket. Also how a
//! failed start is told. Nothing here allocates.

use crate::arena::Bump;
use crate::error::{Bytes, EACCES, EISDIR, ENOENT, ENOTDIR, Errno, Error};
use crate::expand::{self, ExpandError};
use crate::resolve::{self, Probe};
use crate::sys::args::getenv;
use crate::sys::spawn::{Argv, ArgvBuilder, Exec, SpawnError};
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

/// A `${...}` form `expand` refuses (SPEC §2); the message says how to
/// hand one to a shell instead.
const UNSUPPORTED: &str = "unsupported ${...} form (only ${NAME} and ${NAME:-default} are expanded; write $${...} to pass it to a shell)";
/// The program word is empty, as given (`-r ""`) or once expanded.
const EMPTY_PROGRAM: &str = "empty program name after -r";

/// Build one `-r` group (from `words::groups`) into a program: the
/// starter's `-r:SIG` is its own stop signal (empty for none), and every
/// word is unescaped, expanded and copied with its NUL into the arena.
pub fn build<'x>(
    flag: &'x [u8],
    words: &[&'x [u8]],
    b: &mut Builder<'x>,
) -> Result<Program<'x>, Error<'x>> {
    let stop_signal = match words::run_flag_signal(flag) {
        Some(sig) => crate::signals::parse(sig).ok_or(Error::Usage {
            what: "unknown stop signal",
            word: flag,
        })?,
        None => 0,
    };
    if words.is_empty() {
        // Named as written: `-r` or `-r:QUIT`.
        return Err(Error::Usage {
            what: "-r needs a command",
            word: flag,
        });
    }
    build_words(words, false, stop_signal, b, EMPTY_PROGRAM)
}

/// Build the words after `--` (SPEC §8) into a program: copied as they are,
/// nothing unescaped or expanded, since an engine hands over exec-form
/// words meant for the program itself. The lookup in `$PATH` is the same.
pub fn build_verbatim<'x>(
    words: &[&'x [u8]],
    b: &mut Builder<'x>,
) -> Result<Program<'x>, Error<'x>> {
    build_words(words, true, 0, b, "empty program name after --")
}

/// `build` and `build_verbatim`: `stop_signal` is the command's own (0 for
/// none), `empty` the message for an empty program name.
#[inline(never)] // cold path: keep its buffers out of the event loop's stack frame
fn build_words<'x>(
    words: &[&'x [u8]],
    verbatim: bool,
    stop_signal: i32,
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
    build_words(&list, false, 0, b, "empty program name")
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

/// The most of a file the kernel reads to find a `#!` line
/// (`BINPRM_BUF_SIZE`).
const SHEBANG_MAX: usize = 256;

/// Why a program did not start, told in one line for the log and the
/// socket reply: `unable to start [CMD]: REASON`, or `unable to fork for
/// [CMD]: ...` when the fork itself failed.
pub struct StartFailure<'p> {
    cmd: &'p CmdText,
    err: SpawnError,
    /// A script's missing `#!` interpreter, when that is the reason.
    interp: heapless::Vec<u8, SHEBANG_MAX>,
}

impl<'p> StartFailure<'p> {
    /// `err` for `prog`. The kernel answers ENOENT both for a program that
    /// is not there and for a script whose `#!` interpreter is not there;
    /// lookup has found the program, so when the file exists and names an
    /// interpreter that does not, that is what the message names (as bash
    /// does), instead of a "no such file or directory" about a script that
    /// is right there. A `\r` left by a CRLF line end is part of the name
    /// for the kernel, and is shown (`/bin/sh\x0d`).
    pub fn new(prog: &'p Program<'_>, err: SpawnError) -> Self {
        let mut interp = heapless::Vec::new();
        let mut head = [0u8; SHEBANG_MAX];
        if err == SpawnError::Exec(ENOENT)
            && let Some(i) = missing_interpreter(prog.exec.path(), &mut head)
        {
            let _ = interp.extend_from_slice(i);
        }
        StartFailure {
            cmd: &prog.cmd,
            err,
            interp,
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
        match self.err {
            SpawnError::Fork(e) => write!(f, "unable to fork for {}: {}", self.cmd, Errno(e)),
            SpawnError::Exec(_) if !self.interp.is_empty() => write!(
                f,
                "unable to start {}: interpreter {} not found",
                self.cmd,
                Bytes(&self.interp)
            ),
            // No descriptors for the error pipe: nothing was forked.
            SpawnError::Exec(e) | SpawnError::Pipe(e) => {
                write!(f, "unable to start {}: {}", self.cmd, Errno(e))
            }
        }
    }
}

/// The `#!` interpreter of the file at `path` (with its NUL), read into
/// `head`, when the file names one that does not exist: then it, not the
/// file, is what execve could not find.
fn missing_interpreter<'h>(path: &[u8], head: &'h mut [u8; SHEBANG_MAX]) -> Option<&'h [u8]> {
    use rustix::fs::{Access, Mode, OFlags};
    let c = core::ffi::CStr::from_bytes_with_nul(path).ok()?;
    let fd = rustix::fs::open(c, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty()).ok()?;
    let n = rustix::io::read(&fd, &mut head[..]).ok()?;
    let (start, len) = shebang(head.get(..n)?)?;
    // NUL-terminate it in place (over the blank or newline that ended it;
    // a name that fills the buffer is not checked).
    *head.get_mut(start + len)? = 0;
    let name = head.get(start..=start + len)?;
    let missing = rustix::fs::access(
        core::ffi::CStr::from_bytes_with_nul(name).ok()?,
        Access::EXISTS,
    )
    .is_err_and(|e| matches!(e.raw_os_error(), ENOENT | ENOTDIR));
    missing.then(|| &name[..len])
}

/// Where the interpreter of a `#!` line is in `head` (start, length): the
/// first word after `#!` (blanks before it skipped), ending at a space, tab
/// or the line's end, as the kernel's binfmt_script reads it. `None` for a
/// file without one.
pub fn shebang(head: &[u8]) -> Option<(usize, usize)> {
    let rest = head.strip_prefix(b"#!")?;
    let start = rest.iter().position(|&b| b != b' ' && b != b'\t')?;
    let n = rest[start..]
        .iter()
        .position(|&b| matches!(b, b' ' | b'\t' | b'\n' | 0))
        .unwrap_or(rest.len() - start);
    (n > 0).then_some((start + 2, n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shebang_lines() {
        let table: &[(&[u8], Option<&[u8]>)] = &[
            (b"#!/bin/sh\necho", Some(b"/bin/sh")),
            (b"#!/bin/sh", Some(b"/bin/sh")),
            (b"#! /usr/bin/env python3\n", Some(b"/usr/bin/env")),
            (b"#!\t/bin/bash -e\n", Some(b"/bin/bash")),
            (b"#!/nonexistent/interp\n", Some(b"/nonexistent/interp")),
            (b"#!/bin/sh\r\n", Some(b"/bin/sh\r")),
            (b"#!python3\n", Some(b"python3")),
            (b"#!\n", None),
            (b"#!   \n", None),
            (b"#!", None),
            (b"# /bin/sh\n", None),
            (b"\x7fELF\x02", None),
            (b"", None),
            (b"echo hi\n", None),
        ];
        for &(head, want) in table {
            let got = shebang(head).map(|(start, n)| &head[start..start + n]);
            assert_eq!(got, want, "{:?}", head.escape_ascii().to_string());
        }
    }

    #[test]
    fn missing_interpreters() {
        let dir = std::env::temp_dir().join(format!("dinit-shebang-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        type Case = (&'static str, &'static [u8], Option<&'static [u8]>);
        let table: &[Case] = &[
            (
                "missing",
                b"#!/nonexistent/interp -x\n",
                Some(b"/nonexistent/interp"),
            ),
            ("notdir", b"#!/etc/passwd/sh\n", Some(b"/etc/passwd/sh")),
            ("crlf", b"#!/bin/sh\r\n", Some(b"/bin/sh\r")),
            ("present", b"#!/bin/sh\n", None),
            ("plain", b"\x7fELF", None),
            ("empty", b"", None),
        ];
        let mut head = [0u8; SHEBANG_MAX];
        for &(name, body, want) in table {
            let p = dir.join(name);
            std::fs::write(&p, body).unwrap();
            let mut c = p.to_str().unwrap().as_bytes().to_vec();
            c.push(0);
            assert_eq!(missing_interpreter(&c, &mut head), want, "{name}");
        }
        // A name that fills the whole buffer is not checked.
        let p = dir.join("long");
        let mut body = b"#!/".to_vec();
        body.resize(SHEBANG_MAX + 10, b'a');
        std::fs::write(&p, &body).unwrap();
        let mut c = p.to_str().unwrap().as_bytes().to_vec();
        c.push(0);
        assert_eq!(missing_interpreter(&c, &mut head), None);
        assert_eq!(
            missing_interpreter(b"/nonexistent/script\0", &mut head),
            None
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
