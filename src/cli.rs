//! The init role's command line (SPEC §2), in two steps as in ripgrep:
//! a lexer that accepts Go-flag syntax (`-name value`, `-name=value`,
//! `--name value`, `--name=value`, booleans as `-name` or
//! `-name=true|false`) up to the first `-r`, then `Config` with
//! flag > environment > default applied and every value validated.
//!
//! Works on the argument words in place; nothing here allocates.

use crate::error::Error;

/// `/tmp/dinit.sock`, the socket path when neither `-socket` nor
/// `DINIT_SOCKET` says otherwise.
pub const DEFAULT_SOCKET: &[u8] = b"/tmp/dinit.sock";
/// Grace period between the stop signal and SIGKILL (SPEC §2: 10s).
pub const DEFAULT_TIMEOUT_MS: u64 = 10_000;

/// The exit codes listed with `-success`, as a 256-bit set.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CodeSet(pub [u64; 4]);

impl CodeSet {
    pub fn insert(&mut self, code: u8) {
        self.0[(code >> 6) as usize] |= 1 << (code & 63);
    }
    pub fn contains(&self, code: u8) -> bool {
        self.0[(code >> 6) as usize] & (1 << (code & 63)) != 0
    }
}

/// Everything the init role was asked to do, validated.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Config<'a> {
    /// `-timeout` / `DINIT_TIMEOUT`, in milliseconds (sub-millisecond
    /// durations round up).
    pub timeout_ms: u64,
    /// `-primary`: every command-line process is primary.
    pub primary_all: bool,
    /// `-start` / `DINIT_START`: the unsplit command string, `None` when
    /// unset or empty.
    pub start: Option<&'a [u8]>,
    /// `-prestop` / `DINIT_PRESTOP`.
    pub prestop: Option<&'a [u8]>,
    /// `-prestoptimer` / `DINIT_PRESTOPTIMER`, in milliseconds.
    pub prestop_timer_ms: u64,
    /// `-stop` / `DINIT_STOP`.
    pub stop: Option<&'a [u8]>,
    /// `-maxproc` / `-core-fraction`; 0 means "leave GOMAXPROCS alone".
    pub maxproc: f64,
    /// `-socket` / `DINIT_SOCKET`; empty disables the socket.
    pub socket: &'a [u8],
    /// `-pgroup` / `DINIT_PGROUP`.
    pub pgroup: bool,
    /// `-quiet` / `DINIT_QUIET`.
    pub quiet: bool,
    /// `-success CODE`, repeatable.
    pub success: CodeSet,
    /// The words from the first `-r` on (that `-r` included).
    pub commands: &'a [&'a [u8]],
}

/// Parse the init role's arguments (`argv[1..]`). `env` looks up an
/// environment variable by name. Errors are `Error::Usage` naming the
/// option (or environment variable) and its problem.
pub fn parse<'a>(
    args: &'a [&'a [u8]],
    env: &dyn Fn(&[u8]) -> Option<&'a [u8]>,
) -> Result<Config<'a>, Error<'a>> {
    todo!()
}

/// Parse a duration: plain seconds (`10`, `2.5`) or a Go duration (`500ms`,
/// `10s`, `1m30s`, `1h`, `1.5h`, `100us`, `100µs`, `10ns`). Negative values
/// and garbage are `None`. The result is in milliseconds, rounded up.
pub fn parse_duration_ms(text: &[u8]) -> Option<u64> {
    todo!()
}

/// Parse a boolean the way Go's strconv.ParseBool does:
/// 1 t T TRUE true True / 0 f F FALSE false False.
pub fn parse_bool(text: &[u8]) -> Option<bool> {
    todo!()
}
