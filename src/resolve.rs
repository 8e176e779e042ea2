//! Program lookup as `execvp` does it (SPEC §2): a name with a `/` is used as
//! is; any other is searched in each `$PATH` directory in order (an empty
//! entry is the current directory). A candidate that exists but cannot be
//! executed is remembered and the search goes on; if nothing executable is
//! found, that makes the result "not executable" (126) rather than "not
//! found" (127). The file system is reached only through the `probe` the
//! caller passes, so this is tested without touching the disk.

use crate::error::{EACCES, ENAMETOOLONG, Error};

/// `PATH` when the environment has none (SPEC §2).
pub const DEFAULT_PATH: &[u8] = b"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// What probing a candidate path found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Probe {
    /// A regular file with execute permission.
    Executable,
    /// There, but not executable (a directory, no x bit, ...): the errno
    /// `execve` would give.
    NotExecutable(i32),
    /// Nothing there.
    Missing,
}

/// Resolve `name` into `out` as a NUL-terminated path; returns its length
/// without the NUL. `probe` gets each candidate path with its NUL.
pub fn resolve<'w>(
    name: &'w [u8],
    path_env: Option<&[u8]>,
    probe: &mut dyn FnMut(&[u8]) -> Probe,
    out: &mut [u8],
) -> Result<usize, Error<'w>> {
    if name.is_empty() {
        return Err(Error::NotFound { word: name });
    }
    if name.contains(&b'/') {
        let n = copy_path(out, &[name]).ok_or(Error::NotExecutable {
            word: name,
            errno: ENAMETOOLONG,
        })?;
        return match probe(&out[..=n]) {
            Probe::Executable => Ok(n),
            Probe::NotExecutable(errno) => Err(Error::NotExecutable { word: name, errno }),
            Probe::Missing => Err(Error::NotFound { word: name }),
        };
    }
    let path = match path_env {
        Some(p) => p,
        None => DEFAULT_PATH,
    };
    let mut denied = None;
    for dir in path.split(|&b| b == b':') {
        let dir: &[u8] = if dir.is_empty() { b"." } else { dir };
        let Some(n) = copy_path(out, &[dir, b"/", name]) else {
            continue;
        };
        match probe(&out[..=n]) {
            Probe::Executable => return Ok(n),
            Probe::NotExecutable(errno) => {
                denied.get_or_insert(errno);
            }
            Probe::Missing => {}
        }
    }
    match denied {
        Some(errno) => Err(Error::NotExecutable { word: name, errno }),
        None => Err(Error::NotFound { word: name }),
    }
}

/// Concatenate `parts` plus a NUL into `out`; `None` if it does not fit.
fn copy_path(out: &mut [u8], parts: &[&[u8]]) -> Option<usize> {
    let total: usize = parts.iter().map(|p| p.len()).sum();
    if total + 1 > out.len() {
        return None;
    }
    let mut n = 0;
    for p in parts {
        out[n..n + p.len()].copy_from_slice(p);
        n += p.len();
    }
    out[n] = 0;
    Some(n)
}

/// The errno `execve` gives for a directory or a file without x permission.
pub const DENIED: i32 = EACCES;

#[cfg(test)]
mod tests {
    use super::*;

    fn fake<'a>(files: &'a [(&'a str, Probe)]) -> impl FnMut(&[u8]) -> Probe + 'a {
        move |p: &[u8]| {
            let p = std::str::from_utf8(p.strip_suffix(b"\0").unwrap()).unwrap();
            files
                .iter()
                .find(|(f, _)| *f == p)
                .map(|(_, r)| *r)
                .unwrap_or(Probe::Missing)
        }
    }

    fn run(name: &str, path: Option<&str>, files: &[(&str, Probe)]) -> Result<String, u8> {
        let mut out = [0u8; 256];
        let mut probe = fake(files);
        match resolve(
            name.as_bytes(),
            path.map(str::as_bytes),
            &mut probe,
            &mut out,
        ) {
            Ok(n) => {
                assert_eq!(out[n], 0);
                Ok(String::from_utf8(out[..n].to_vec()).unwrap())
            }
            Err(e) => Err(e.exit_code()),
        }
    }

    #[test]
    fn lookup_cases() {
        use Probe::*;
        let files = [
            ("/bin/sh", Executable),
            ("/usr/bin/sh", Executable),
            ("/opt/noexec", NotExecutable(EACCES)),
            ("/a/tool", NotExecutable(EACCES)),
            ("/b/tool", Executable),
            ("/a/only", NotExecutable(EACCES)),
            ("./rel", Executable),
            ("/sbin/ip", Executable),
        ];
        assert_eq!(run("/bin/sh", None, &files), Ok("/bin/sh".into()));
        assert_eq!(
            run("sh", Some("/usr/bin:/bin"), &files),
            Ok("/usr/bin/sh".into())
        );
        assert_eq!(run("sh", None, &files), Ok("/usr/bin/sh".into()));
        assert_eq!(run("ip", None, &files), Ok("/sbin/ip".into()));
        assert_eq!(run("tool", Some("/a:/b"), &files), Ok("/b/tool".into()));
        assert_eq!(run("only", Some("/a:/b"), &files), Err(126));
        assert_eq!(run("nothere", None, &files), Err(127));
        assert_eq!(run("/opt/noexec", None, &files), Err(126));
        assert_eq!(run("/opt/missing", None, &files), Err(127));
        assert_eq!(run("", None, &files), Err(127));
        assert_eq!(run("rel", Some(":/x"), &files), Ok("./rel".into()));
        assert_eq!(run("sh", Some(""), &files), Err(127));
    }

    #[test]
    fn too_long_paths() {
        let long = "a".repeat(300);
        assert_eq!(run(&format!("/{long}"), None, &[]), Err(126));
        assert_eq!(run(&long, None, &[]), Err(127));
    }
}
