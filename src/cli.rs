//! The init role's command line (SPEC §2), in two steps as in ripgrep:
//! a lexer that accepts Go-flag syntax (`-name value`, `-name=value`,
//! `--name value`, `--name=value`, booleans as `-name` or
//! `-name=true|false`) up to the first `-r` or `--`, then `Config` with
//! flag > environment > default applied and every value validated.
//!
//! `--` (the engines' `INIT -- CMD [ARGS...]`, SPEC §8) is a lexer state,
//! not a second parser: it ends the options like `-r` and marks the words
//! after it as one verbatim command; they are built like a `-r` group
//! except that nothing is unescaped or expanded (`command::build_verbatim`).
//!
//! Works on the argument words in place; nothing here allocates.

use crate::error::{Error, Reason};
use crate::phase::StopOrder;
use crate::signals::{self, Handling, Rewrite, SIGKILL};
use crate::words::{self, END_OF_OPTIONS};

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
    /// `-primary` / `DINIT_PRIMARY`: every command-line process is primary.
    pub primary_all: bool,
    /// Some `-r` group is marked `-r:primary` (SPEC §11): then exactly the
    /// marked ones are primary, not the last one.
    pub primary_marked: bool,
    /// `-start` / `DINIT_START`: the unsplit command string, `None` when
    /// unset or empty.
    pub start: Option<&'a [u8]>,
    /// `-prestop` / `DINIT_PRESTOP`.
    pub prestop: Option<&'a [u8]>,
    /// `-prestoptimer` / `DINIT_PRESTOPTIMER`, in milliseconds.
    pub prestop_timer_ms: u64,
    /// `-stop` / `DINIT_STOP`.
    pub stop: Option<&'a [u8]>,
    /// `-maxproc` / `-core-fraction` / `DINIT_MAXPROC`; 0 means "leave
    /// GOMAXPROCS alone".
    pub maxproc: f64,
    /// `-socket` / `DINIT_SOCKET`; empty disables the socket.
    pub socket: &'a [u8],
    /// `-pgroup` / `DINIT_PGROUP`.
    pub pgroup: bool,
    /// `-quiet` / `DINIT_QUIET`.
    pub quiet: bool,
    /// `-success CODE`, repeatable, / `DINIT_SUCCESS`.
    pub success: CodeSet,
    /// `-stopsignal` / `DINIT_STOPSIGNAL` (SPEC §9): sent at teardown
    /// instead of the default, and itself a stop request.
    pub stop_signal: Option<i32>,
    /// `-rewrite FROM:TO`, repeatable, / `DINIT_REWRITE`.
    pub rewrite: Rewrite,
    /// `-pdeathsig` / `DINIT_PDEATHSIG`: asked for when dinit's parent dies.
    pub pdeathsig: Option<i32>,
    /// `-stoporder` / `DINIT_STOPORDER` (SPEC §11): `together` or `reverse`.
    pub stop_order: StopOrder,
    /// Without `verbatim`: the words from the first `-r` or `-r:...` on
    /// (that word included). With it: the words after `--`, one command
    /// (never empty).
    pub commands: &'a [&'a [u8]],
    /// The command line used the `--` form (SPEC §8): `commands` is one
    /// command whose words are passed on verbatim.
    pub verbatim: bool,
}

impl Config<'_> {
    /// Whether a command-line command is primary (SPEC §3, §11), given
    /// whether its group starter was marked `-r:primary` and whether it is
    /// the last command (the `--` command is the one and so the last):
    /// with `-primary` every one; once any group is marked, exactly the
    /// marked ones; with no mark, the last.
    ///
    /// `-primary` together with marks makes every command primary, marked
    /// or not: `-primary` says "every", and a mark adds nothing to that
    /// (README, "Decisions").
    pub fn is_primary(&self, marked: bool, last: bool) -> bool {
        self.primary_all || if self.primary_marked { marked } else { last }
    }
}

/// Message for a missing `-r` or `--`.
const NO_COMMAND: &str = "no command given; use -r CMD [ARGS...] or -- CMD [ARGS...]";
/// Message for a `--` with no word after it.
const NO_COMMAND_AFTER_DASHDASH: &str = "no command after --; use -- CMD [ARGS...]";
/// Message for `-r` groups with a `--` among their words (SPEC §8: the two
/// forms do not mix), with the escape that makes `--` an argument.
const MIXED: &str = "-r and -- do not mix on one command line (a literal -- argument of a -r command is written \\--)";
/// Message for an option name that is not in [`OPTIONS`] (Go's wording).
const UNKNOWN: &str = "flag provided but not defined";
/// Message for a value option that is the last word before `-r` or `--`.
const NEEDS_VALUE: &str = "option needs a value";
/// Message for a word before `-r` or `--` that is not an option.
const UNEXPECTED: &str = "unexpected argument before -r or --";
/// Message for a `-rewrite` of the `-stopsignal`: a stop request is never
/// forwarded, so the rewrite could never apply (SPEC §9: an error).
const REWRITES_STOP_SIGNAL: &str = "-rewrite cannot rewrite the -stopsignal";

/// What an option sets. `-maxproc` and `-core-fraction` set the same thing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Setting {
    Timeout,
    Primary,
    Start,
    Prestop,
    PrestopTimer,
    Stop,
    Maxproc,
    Socket,
    Pgroup,
    Quiet,
    Success,
    StopSignal,
    Rewrite,
    Pdeathsig,
    StopOrder,
    Submit,
    /// `-h`/`-help` among the options: print the usage (SPEC §1), as Go's
    /// flag package does wherever it sees them.
    Help,
}

impl Setting {
    /// Booleans take a value only as `-name=value`, never from the next word.
    fn is_bool(self) -> bool {
        matches!(
            self,
            Setting::Primary | Setting::Pgroup | Setting::Quiet | Setting::Submit | Setting::Help
        )
    }

    /// Bit for the "given as a flag" mask.
    fn bit(self) -> u32 {
        1 << self as u32
    }
}

/// One option of the init role: how it is written (one dash; `--` works
/// too), the environment variable that sets it when the flag is not given,
/// and what it sets.
struct Opt {
    flag: &'static str,
    /// SPEC §2: every option that takes effect in the init role has one,
    /// because the engines' `--init` pass no options. `None` for what is
    /// no init setting (`-submit`, `-h`) and for an alias whose variable
    /// is listed with the main spelling (`-core-fraction`).
    var: Option<&'static str>,
    setting: Setting,
}

impl Opt {
    /// The name the lexer matches: the flag without its dash.
    fn name(&self) -> &'static [u8] {
        &self.flag.as_bytes()[1..]
    }
}

/// Shorthand for the rows of [`OPTIONS`].
const fn opt(flag: &'static str, var: Option<&'static str>, setting: Setting) -> Opt {
    Opt { flag, var, setting }
}

/// Every option of the init role (`-version` and `-V` are the role
/// dispatcher's, `role.rs`). The variables are read in this order.
const OPTIONS: &[Opt] = &[
    opt("-timeout", Some("DINIT_TIMEOUT"), Setting::Timeout),
    opt("-primary", Some("DINIT_PRIMARY"), Setting::Primary),
    opt("-start", Some("DINIT_START"), Setting::Start),
    opt("-prestop", Some("DINIT_PRESTOP"), Setting::Prestop),
    opt(
        "-prestoptimer",
        Some("DINIT_PRESTOPTIMER"),
        Setting::PrestopTimer,
    ),
    opt("-stop", Some("DINIT_STOP"), Setting::Stop),
    opt("-maxproc", Some("DINIT_MAXPROC"), Setting::Maxproc),
    opt("-core-fraction", None, Setting::Maxproc),
    opt("-socket", Some("DINIT_SOCKET"), Setting::Socket),
    opt("-pgroup", Some("DINIT_PGROUP"), Setting::Pgroup),
    opt("-quiet", Some("DINIT_QUIET"), Setting::Quiet),
    opt("-success", Some("DINIT_SUCCESS"), Setting::Success),
    opt("-stopsignal", Some("DINIT_STOPSIGNAL"), Setting::StopSignal),
    opt("-rewrite", Some("DINIT_REWRITE"), Setting::Rewrite),
    opt("-pdeathsig", Some("DINIT_PDEATHSIG"), Setting::Pdeathsig),
    opt("-stoporder", Some("DINIT_STOPORDER"), Setting::StopOrder),
    opt("-submit", None, Setting::Submit),
    opt("-h", None, Setting::Help),
    opt("-help", None, Setting::Help),
];

/// One option occurrence as the lexer saw it, value not yet interpreted.
struct Flag<'a> {
    spec: &'static Opt,
    /// `None` only for a boolean written without `=`.
    value: Option<&'a [u8]>,
}

/// Step one: turn the words before the first `-r` or `--` into [`Flag`]s,
/// in order.
struct Lexer<'a> {
    words: &'a [&'a [u8]],
}

impl<'a> Iterator for Lexer<'a> {
    type Item = Result<Flag<'a>, Error<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        let (&word, rest) = self.words.split_first()?;
        self.words = rest;
        Some(self.lex(word))
    }
}

impl<'a> Lexer<'a> {
    fn lex(&mut self, word: &'a [u8]) -> Result<Flag<'a>, Error<'a>> {
        // A word without a dash, or `-` (Go's "not a flag"): an unexpected
        // argument. (`--`, Go's terminator, never gets here: it ends the
        // options, see `parse`.)
        let Some(FlagWord {
            name,
            written,
            value,
        }) = split_flag(word).filter(|_| word != b"-")
        else {
            return Err(Error::Usage {
                what: UNEXPECTED,
                word,
            });
        };
        // `-=x`, `---x` and the like name no option either.
        let Some(spec) = OPTIONS.iter().find(|o| o.name() == name) else {
            return Err(Error::Usage {
                what: UNKNOWN,
                word: written,
            });
        };
        let value = match value {
            Some(v) => Some(v),
            None if spec.setting.is_bool() => None,
            None => {
                // Go semantics: the next word is the value even when it
                // starts with `-` (it cannot be `-r` or `--`: the options
                // end there).
                let (&v, rest) = self.words.split_first().ok_or(Error::Usage {
                    what: NEEDS_VALUE,
                    word: written,
                })?;
                self.words = rest;
                Some(v)
            }
        };
        Ok(Flag { spec, value })
    }
}

/// A refused value: why, and the part of the value that is wrong (all of
/// it, or one item of a comma-separated list).
type Refusal<'a> = (Reason, &'a [u8]);

/// Step two, for one value from a flag or the environment: check it and
/// store it. A boolean with no value (a flag written without `=`) is true.
fn apply<'a>(
    cfg: &mut Config<'a>,
    setting: Setting,
    value: Option<&'a [u8]>,
) -> Result<(), Refusal<'a>> {
    let text = value.unwrap_or(b"");
    let nonempty = if text.is_empty() { None } else { Some(text) };
    let whole = |reason| (reason, text);
    match setting {
        Setting::Timeout => {
            cfg.timeout_ms = parse_duration_ms(text).ok_or(whole(Reason::Duration))?;
        }
        Setting::PrestopTimer => {
            cfg.prestop_timer_ms = parse_duration_ms(text).ok_or(whole(Reason::Duration))?;
        }
        Setting::Start => cfg.start = nonempty,
        Setting::Prestop => cfg.prestop = nonempty,
        Setting::Stop => cfg.stop = nonempty,
        Setting::Socket => cfg.socket = text,
        Setting::Maxproc => cfg.maxproc = parse_fraction(text).ok_or(whole(Reason::Fraction))?,
        Setting::Success => parse_codes(text, &mut cfg.success)?,
        Setting::StopSignal => cfg.stop_signal = Some(parse_received(text).map_err(whole)?),
        Setting::Pdeathsig => cfg.pdeathsig = Some(parse_received(text).map_err(whole)?),
        Setting::Rewrite => parse_rewrites(text, &mut cfg.rewrite)?,
        Setting::StopOrder => {
            cfg.stop_order = parse_stop_order(text).ok_or(whole(Reason::StopOrder))?;
        }
        Setting::Primary | Setting::Pgroup | Setting::Quiet | Setting::Submit | Setting::Help => {
            let on = match value {
                None => true,
                Some(v) => parse_bool(v).ok_or(whole(Reason::Bool))?,
            };
            match setting {
                Setting::Primary => cfg.primary_all = on,
                Setting::Pgroup => cfg.pgroup = on,
                Setting::Quiet => cfg.quiet = on,
                // -submit chose the role already (role.rs); -h is read by
                // `parse` before this.
                _ => {}
            }
        }
    }
    Ok(())
}

/// `-stoporder`: `together` or `reverse`, in any case (as signal names).
fn parse_stop_order(text: &[u8]) -> Option<StopOrder> {
    if text.eq_ignore_ascii_case(b"together") {
        Some(StopOrder::Together)
    } else if text.eq_ignore_ascii_case(b"reverse") {
        Some(StopOrder::Reverse)
    } else {
        None
    }
}

/// `-maxproc`: a plain decimal ≥ 0 (`1`, `0.5`, `.5`, `5.`, `+3`; `-0`
/// is `0`), at most 9 fraction digits counted. No exponents: parsing them
/// would pull core's float tables (about 15 KiB) into the binary.
fn parse_fraction(text: &[u8]) -> Option<f64> {
    let (neg, body) = match text {
        [b'+', rest @ ..] => (false, rest),
        [b'-', rest @ ..] => (true, rest),
        _ => (false, text),
    };
    let (int, frac) = match body.iter().position(|&b| b == b'.') {
        Some(i) => (&body[..i], &body[i + 1..]),
        None => (body, &body[body.len()..]),
    };
    if int.is_empty() && frac.is_empty() || !int.iter().chain(frac).all(u8::is_ascii_digit) {
        return None;
    }
    let mut whole: u64 = 0;
    for &d in int {
        whole = whole.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    let (mut num, mut den) = (0u64, 1u64);
    for &d in frac.iter().take(9) {
        num = num * 10 + u64::from(d - b'0');
        den *= 10;
    }
    if neg && (whole != 0 || num != 0) {
        return None;
    }
    Some(whole as f64 + num as f64 / den as f64)
}

/// `-stopsignal`, `-pdeathsig`: a signal dinit can receive and act on, so
/// not SIGCHLD (it drives reaping), SIGKILL/SIGSTOP (nobody can catch them)
/// or a synchronous fault (left unblocked: it would kill dinit). A job
/// control signal may be chosen; it is then a stop request, or forwarded.
fn parse_received(text: &[u8]) -> Result<i32, Reason> {
    let sig = signals::parse(text).ok_or(Reason::Signal)?;
    match signals::default_handling(sig) {
        Some(Handling::Forward | Handling::Stop | Handling::JobControl) => Ok(sig),
        Some(Handling::Uncatchable) if sig == SIGKILL => Err(Reason::SigKill),
        Some(Handling::Uncatchable) => Err(Reason::SigStop),
        Some(Handling::Reap) => Err(Reason::Reaping),
        Some(Handling::Fault) => Err(Reason::Fault),
        None => Err(Reason::Signal),
    }
}

/// `-rewrite FROM:TO[,FROM:TO...]` (the flag takes a list too, as
/// `DINIT_REWRITE` does; spaces around items are ignored). FROM must be a
/// signal dinit forwards: stop requests, SIGCHLD, SIGKILL/SIGSTOP, the job
/// control signals and the faults are never forwarded, so rewriting them
/// is refused, saying why, rather than silently meaningless (the
/// `-stopsignal` is checked once every option is known). TO is any
/// signal, or `0` to drop. A refusal names the item, not the whole list.
fn parse_rewrites<'a>(text: &'a [u8], rewrite: &mut Rewrite) -> Result<(), Refusal<'a>> {
    for item in text.split(|&b| b == b',') {
        let item = item.trim_ascii();
        let pair = |reason| (reason, item);
        let colon = item
            .iter()
            .position(|&b| b == b':')
            .ok_or(pair(Reason::RewritePair))?;
        let (from, to) = (&item[..colon], &item[colon + 1..]);
        let from = signals::parse(from).ok_or(pair(Reason::RewritePair))?;
        let to = match to {
            b"0" => 0,
            _ => signals::parse(to).ok_or(pair(Reason::RewritePair))?,
        };
        match signals::default_handling(from) {
            Some(Handling::Forward) => rewrite.set(from, to),
            Some(Handling::Stop) => return Err(pair(Reason::StopRequest)),
            Some(Handling::Reap) => return Err(pair(Reason::Reaping)),
            Some(Handling::Uncatchable) => return Err(pair(Reason::Uncatchable)),
            Some(Handling::JobControl) => return Err(pair(Reason::JobControl)),
            Some(Handling::Fault) => return Err(pair(Reason::Fault)),
            None => return Err(pair(Reason::RewritePair)),
        }
    }
    Ok(())
}

/// `-success CODE[,CODE...]` (the flag takes a list too, as
/// `DINIT_SUCCESS` does; spaces around items are ignored): each a decimal
/// exit code 0–255, optional leading `+` and leading zeros allowed (as
/// Go's `strconv.Atoi` would). A refusal names the item.
fn parse_codes<'a>(text: &'a [u8], set: &mut CodeSet) -> Result<(), Refusal<'a>> {
    for item in text.split(|&b| b == b',') {
        let item = item.trim_ascii();
        set.insert(parse_code(item).ok_or((Reason::ExitCodes, item))?);
    }
    Ok(())
}

/// One exit code 0–255 (see `parse_codes`).
fn parse_code(text: &[u8]) -> Option<u8> {
    let n = crate::error::parse_decimal(text.strip_prefix(b"+").unwrap_or(text))?;
    u8::try_from(n).ok()
}

/// Parse the init role's arguments (`argv[1..]`). `env` looks up an
/// environment variable by name. Errors are `Error::Usage` naming the
/// option and its problem, or `Error::BadValue` naming the option (or
/// environment variable), the value and why it is refused.
///
/// Details SPEC §2 leaves open, decided here:
/// * The options are exactly the words before the first word that starts
///   a command (`-r` or `-r:...`) or is `--`; without either the options
///   are still checked first (so a missing value is named), then "no
///   command given" is reported. A value option right before `-r` or `--`
///   (`-start -r ...`, `-socket -- x`) is missing its value: neither is
///   ever taken as a value (`-socket=--` is). Any other next word is, even
///   one starting with `-` (Go semantics: `-timeout -1` is a bad value,
///   not an option).
/// * After `--` (SPEC §8) every word, `-r`, `--`, `-h` and `$X` included,
///   belongs to the one command; `--` with nothing after it is a usage
///   error. `-r` groups with a `--` anywhere among their words are a usage
///   error naming both (SPEC: a `-r` before `--`); `\--` is the literal
///   argument there (see `words::unescape`).
/// * Options are applied left to right, the last one winning (`-success`
///   and `-rewrite` add instead); every occurrence is validated, and the
///   first problem is reported. Flags are checked before the environment.
/// * A flag given with an empty value counts as given: `-start=` means no
///   start command even when `DINIT_START` is set; `-socket=` disables the
///   socket; `-timeout=` is a bad value.
/// * An environment variable set to the empty string counts as unset, except
///   `DINIT_SOCKET=` which disables the socket (as `-socket=` does). An
///   environment variable whose option was given as a flag is not read.
/// * `-success` and `-rewrite` take comma-separated lists as flags too, as
///   their variables do; a refused list is reported by its bad item.
/// * `-` alone is an unexpected argument. `---x`, `-=x` are unknown
///   options. `-h`/`-help` anywhere among the options ask for the usage
///   (`Error::Help`, exit 0), as with Go's flag package. `-version`,
///   `--version` and `-V` anywhere among the options are taken by the role
///   dispatcher (`role.rs`) before this runs; here they are unknown.
/// * `-submit[=BOOL]` is a boolean that is validated and otherwise ignored:
///   the dispatcher chose the init role, so it ended up false
///   (`-submit=false`, or `-submit -submit=false`: the last one wins).
/// * Empty command groups (`-r -r x`, a trailing `-r`) and the words after
///   `-r:` are not checked here but when each group is built
///   (`command::build`); here only whether any group is marked `primary`.
pub fn parse<'a>(
    args: &'a [&'a [u8]],
    env: &dyn Fn(&[u8]) -> Option<&'a [u8]>,
) -> Result<Config<'a>, Error<'a>> {
    // Options are checked even without a `-r`, so `dinit -timeout` names
    // the option that lacks its value (SPEC §2) rather than only saying
    // that no command was given.
    let end = args
        .iter()
        .position(|w| words::is_run_flag(w) || *w == END_OF_OPTIONS)
        .unwrap_or(args.len());
    // The lexer state `--` puts the rest in: one command, verbatim.
    let verbatim = args.get(end).is_some_and(|w| *w == END_OF_OPTIONS);
    let commands = if verbatim {
        &args[end + 1..]
    } else {
        &args[end..]
    };
    let primary_marked =
        !verbatim && words::groups(commands).any(|(flag, _)| words::marks_primary(flag));
    let mut cfg = Config {
        timeout_ms: DEFAULT_TIMEOUT_MS,
        primary_all: false,
        primary_marked,
        start: None,
        prestop: None,
        prestop_timer_ms: 0,
        stop: None,
        maxproc: 0.0,
        socket: DEFAULT_SOCKET,
        pgroup: false,
        quiet: false,
        success: CodeSet::default(),
        stop_signal: None,
        rewrite: Rewrite::NONE,
        pdeathsig: None,
        stop_order: StopOrder::Together,
        commands,
        verbatim,
    };
    let mut given: u32 = 0;
    // The -stopsignal as written, for the message when it is rewritten.
    let mut stop_word: &[u8] = b"";
    for flag in (Lexer {
        words: &args[..end],
    }) {
        let Flag { spec, value } = flag?;
        if spec.setting == Setting::Help && value.is_none_or(|v| parse_bool(v) == Some(true)) {
            return Err(Error::Help);
        }
        apply(&mut cfg, spec.setting, value).map_err(|(why, bad)| Error::BadValue {
            option: spec.flag,
            value: bad,
            why,
        })?;
        given |= spec.setting.bit();
        if spec.setting == Setting::StopSignal {
            stop_word = value.unwrap_or(b"");
        }
    }
    let what = if end == args.len() {
        Some(NO_COMMAND)
    } else if verbatim && commands.is_empty() {
        Some(NO_COMMAND_AFTER_DASHDASH)
    } else if !verbatim && commands.contains(&END_OF_OPTIONS) {
        Some(MIXED)
    } else {
        None
    };
    if let Some(what) = what {
        return Err(Error::Usage { what, word: b"" });
    }
    for spec in OPTIONS {
        let Some(var) = spec.var else { continue };
        if given & spec.setting.bit() != 0 {
            continue;
        }
        let Some(value) = env(var.as_bytes()) else {
            continue;
        };
        if value.is_empty() && spec.setting != Setting::Socket {
            continue;
        }
        apply(&mut cfg, spec.setting, Some(value)).map_err(|(why, bad)| Error::BadValue {
            option: var,
            value: bad,
            why,
        })?;
        if spec.setting == Setting::StopSignal {
            stop_word = value;
        }
    }
    // The -stopsignal is a stop request, and stop requests are not
    // forwarded, so rewriting it could never apply (SPEC §9: an error).
    if let Some(sig) = cfg.stop_signal
        && cfg.rewrite.get(sig) != sig
    {
        return Err(Error::Usage {
            what: REWRITES_STOP_SIGNAL,
            word: stop_word,
        });
    }
    Ok(cfg)
}

/// Nanoseconds in one second.
const SECOND_NS: u64 = 1_000_000_000;
/// Nanoseconds in one millisecond.
const MILLI_NS: u64 = 1_000_000;
/// Go's `time.Duration` is an `int64` of nanoseconds: durations past this
/// are overflow there and here.
const MAX_NS: u64 = i64::MAX as u64;
/// Fraction digits kept; further ones are checked but cannot change the
/// whole-nanosecond result by more than a rounding at the 19th place.
const FRACTION_DIGITS: usize = 19;

/// Go's duration units in nanoseconds (`µ` is U+00B5, `μ` is U+03BC).
fn unit_ns(unit: &[u8]) -> Option<u64> {
    Some(match unit {
        b"ns" => 1,
        b"us" | b"\xC2\xB5s" | b"\xCE\xBCs" => 1_000,
        b"ms" => MILLI_NS,
        b"s" => SECOND_NS,
        b"m" => 60 * SECOND_NS,
        b"h" => 3_600 * SECOND_NS,
        _ => return None,
    })
}

/// One decimal number at the start of `text`: `12`, `1.5`, `.5`, `1.`
/// (at least one digit). Returns the integer part, the kept fraction
/// digits, and the rest of `text`. An integer part past `MAX_NS` is
/// overflow whatever the unit.
fn number(text: &[u8]) -> Option<(u64, &[u8], &[u8])> {
    let int_len = text.iter().take_while(|c| c.is_ascii_digit()).count();
    let mut int: u64 = 0;
    for &d in &text[..int_len] {
        // Past u64 is past MAX_NS.
        int = int.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
        if int > MAX_NS {
            return None;
        }
    }
    let mut rest = &text[int_len..];
    let mut frac: &[u8] = &[];
    let mut frac_len = 0;
    if let Some(after_dot) = rest.strip_prefix(b".") {
        frac_len = after_dot.iter().take_while(|c| c.is_ascii_digit()).count();
        frac = &after_dot[..frac_len.min(FRACTION_DIGITS)];
        rest = &after_dot[frac_len..];
    }
    (int_len + frac_len > 0).then_some((int, frac, rest))
}

/// `floor(0.DIGITS × unit)`, exactly, in 64-bit integers: Horner's rule
/// from the last digit, where flooring at each step gives the same result
/// as flooring once at the end (the partial value stays below `unit`, so
/// nothing can overflow). No 128-bit division: on aarch64 that alone pulls
/// in almost 1 KiB of compiler-builtins.
fn fraction_ns(digits: &[u8], unit: u64) -> u64 {
    digits
        .iter()
        .rev()
        .fold(0, |below, &d| (u64::from(d - b'0') * unit + below) / 10)
}

/// Parse a duration: plain seconds (`10`, `2.5`) or a Go duration (`500ms`,
/// `10s`, `1m30s`, `1h`, `1.5h`, `100us`, `100µs`, `10ns`). Negative values
/// and garbage are `None`. The result is in milliseconds, rounded up.
///
/// As Go's `time.ParseDuration`: an optional leading `+`, then one or more
/// numbers each with a unit (`1.s` and `.5s` are fine). A bare number (the
/// whole text, no unit) is seconds; `1.` is one second as `strconv.ParseFloat`
/// reads it. The value is computed in whole nanoseconds (sub-nanosecond
/// parts dropped, as Go's `Duration` does), must fit Go's `int64`
/// nanoseconds (about 292 years), and is then rounded up to milliseconds.
/// Any `-` sign, including `-0`, is rejected. No floating point is used.
pub fn parse_duration_ms(text: &[u8]) -> Option<u64> {
    let mut rest = text.strip_prefix(b"+").unwrap_or(text);
    if rest.is_empty() {
        return None;
    }
    let mut total: u64 = 0;
    let mut first = true;
    while !rest.is_empty() {
        let (int, frac, after) = number(rest)?;
        let unit_len = after
            .iter()
            .position(|&c| c == b'.' || c.is_ascii_digit())
            .unwrap_or(after.len());
        let (unit, after) = after.split_at(unit_len);
        let unit = if unit.is_empty() {
            // Only a lone number may go without a unit: `1m30` is garbage.
            if !(first && after.is_empty()) {
                return None;
            }
            SECOND_NS
        } else {
            unit_ns(unit)?
        };
        // A sum past u64 is past MAX_NS.
        total = total
            .checked_add(int.checked_mul(unit)?)?
            .checked_add(fraction_ns(frac, unit))?;
        if total > MAX_NS {
            return None;
        }
        rest = after;
        first = false;
    }
    Some(total.div_ceil(MILLI_NS))
}

/// A word in Go-flag form, `-name`, `--name`, `-name=value` or
/// `--name=value`, taken apart (the name not yet looked up).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FlagWord<'a> {
    /// Without dashes: `socket`.
    pub name: &'a [u8],
    /// The option as written, without any `=value`: `--socket` (the whole
    /// word when the name is empty: `-=x`).
    pub written: &'a [u8],
    /// The text after the first `=`, if any.
    pub value: Option<&'a [u8]>,
}

/// Take a flag word apart; `None` for a word without a leading dash. The
/// one reader of the Go-flag form: the lexer, [`option_word`] and the
/// submit client's own flags all ask here.
pub fn split_flag(word: &[u8]) -> Option<FlagWord<'_>> {
    let body = word
        .strip_prefix(b"--")
        .or_else(|| word.strip_prefix(b"-"))?;
    let (name, value) = match body.iter().position(|&c| c == b'=') {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let written = if name.is_empty() {
        word
    } else {
        &word[..word.len() - body.len() + name.len()]
    };
    Some(FlagWord {
        name,
        written,
        value,
    })
}

/// One of the init role's option words, read the way the lexer reads it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OptionWord<'a> {
    /// The option's name without dashes: `socket`.
    pub name: &'static [u8],
    /// What it sets.
    pub setting: Setting,
    /// The option as written, without any `=value`: `--socket`.
    pub written: &'a [u8],
    /// The text after `=`, if any.
    pub value: Option<&'a [u8]>,
    /// The next word is the value (a value option written without `=`).
    pub takes_next: bool,
}

/// `word` as one of the init role's options in any Go-flag spelling, or
/// `None` when it names none. For the role dispatcher and the submit client,
/// which step over option values exactly as `parse` does: in
/// `-start -submit -r x`, `-submit` is the start command (Go semantics).
pub fn option_word(word: &[u8]) -> Option<OptionWord<'_>> {
    let FlagWord {
        name,
        written,
        value,
    } = split_flag(word)?;
    let spec = OPTIONS.iter().find(|o| o.name() == name)?;
    Some(OptionWord {
        name: spec.name(),
        setting: spec.setting,
        written,
        value,
        takes_next: value.is_none() && !spec.setting.is_bool(),
    })
}

/// Parse a boolean the way Go's strconv.ParseBool does:
/// 1 t T TRUE true True / 0 f F FALSE false False.
pub fn parse_bool(text: &[u8]) -> Option<bool> {
    match text {
        b"1" | b"t" | b"T" | b"TRUE" | b"true" | b"True" => Some(true),
        b"0" | b"f" | b"F" | b"FALSE" | b"false" | b"False" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Env = &'static [(&'static str, &'static str)];

    /// Run `parse` on string words; the words are leaked so the result is
    /// `'static` and easy to compare.
    fn run(args: &[&'static str], env: Env) -> Result<Config<'static>, Error<'static>> {
        let words: Vec<&'static [u8]> = args.iter().map(|s| s.as_bytes()).collect();
        let words: &'static [&'static [u8]] = Box::leak(words.into_boxed_slice());
        let lookup = move |name: &[u8]| -> Option<&'static [u8]> {
            env.iter()
                .find(|(k, _)| k.as_bytes() == name)
                .map(|(_, v)| v.as_bytes())
        };
        parse(words, &lookup)
    }

    fn ok(args: &[&'static str], env: Env) -> Config<'static> {
        run(args, env).unwrap_or_else(|e| panic!("{args:?} {env:?}: unexpected error {e}"))
    }

    /// The error as (what, word): for a bad value, `invalid value for
    /// OPTION` and the value (or the refused item of a list).
    fn err(args: &[&'static str], env: Env) -> (&'static str, String) {
        let text = |b: &[u8]| String::from_utf8(b.to_vec()).unwrap();
        match run(args, env) {
            Ok(c) => panic!("{args:?} {env:?}: expected an error, got {c:?}"),
            Err(Error::Usage { what, word }) => (what, text(word)),
            Err(Error::BadValue { option, value, .. }) => {
                let what = format!("invalid value for {option}");
                (Box::leak(what.into_boxed_str()), text(value))
            }
            Err(e) => panic!("{args:?}: not a usage error: {e:?}"),
        }
    }

    /// Why a value was refused.
    fn why(args: &[&'static str], env: Env) -> Reason {
        match run(args, env) {
            Err(Error::BadValue { why, .. }) => why,
            other => panic!("{args:?} {env:?}: expected a bad value, got {other:?}"),
        }
    }

    fn s(b: Option<&[u8]>) -> Option<&str> {
        b.map(|b| core::str::from_utf8(b).unwrap())
    }

    /// All four spellings of a value option, followed by `-r x`.
    fn spellings(name: &str, value: &str) -> Vec<Vec<&'static str>> {
        let leak = |t: String| -> &'static str { Box::leak(t.into_boxed_str()) };
        vec![
            vec![leak(format!("-{name}")), leak(value.into()), "-r", "x"],
            vec![leak(format!("-{name}={value}")), "-r", "x"],
            vec![leak(format!("--{name}")), leak(value.into()), "-r", "x"],
            vec![leak(format!("--{name}={value}")), "-r", "x"],
        ]
    }

    #[test]
    fn defaults() {
        let c = ok(&["-r", "sleep", "10"], &[]);
        assert_eq!(c.timeout_ms, 10_000);
        assert!(!c.primary_all);
        assert_eq!(c.start, None);
        assert_eq!(c.prestop, None);
        assert_eq!(c.prestop_timer_ms, 0);
        assert_eq!(c.stop, None);
        assert_eq!(c.maxproc, 0.0);
        assert_eq!(c.socket, DEFAULT_SOCKET);
        assert!(!c.pgroup);
        assert!(!c.quiet);
        assert_eq!(c.success, CodeSet::default());
        assert_eq!(c.commands, &[b"-r" as &[u8], b"sleep", b"10"]);
    }

    #[test]
    fn every_spelling_of_every_value_option() {
        type Check = fn(&Config<'static>) -> bool;
        let table: &[(&str, &str, Check)] = &[
            ("timeout", "2.5", |c| c.timeout_ms == 2_500),
            ("timeout", "500ms", |c| c.timeout_ms == 500),
            ("prestoptimer", "3", |c| c.prestop_timer_ms == 3_000),
            ("prestoptimer", "1m30s", |c| c.prestop_timer_ms == 90_000),
            ("start", "echo hi", |c| c.start == Some(b"echo hi")),
            ("prestop", "nginx -s quit", |c| {
                c.prestop == Some(b"nginx -s quit")
            }),
            ("stop", "rm -f /x", |c| c.stop == Some(b"rm -f /x")),
            ("socket", "/run/d.sock", |c| c.socket == b"/run/d.sock"),
            ("socket", "", |c| c.socket.is_empty()),
            ("maxproc", "0.5", |c| c.maxproc == 0.5),
            ("core-fraction", "2", |c| c.maxproc == 2.0),
            ("success", "143", |c| {
                c.success.contains(143) && !c.success.contains(0)
            }),
            // Values that start with `-` are still values.
            ("start", "-x", |c| c.start == Some(b"-x")),
            ("socket", "--x", |c| c.socket == b"--x"),
        ];
        for &(name, value, check) in table {
            for args in spellings(name, value) {
                let c = ok(&args, &[]);
                assert!(check(&c), "{args:?}: {c:?}");
                assert_eq!(c.commands, &[b"-r" as &[u8], b"x"], "{args:?}");
            }
        }
    }

    #[test]
    fn booleans() {
        type Get = fn(&Config<'static>) -> bool;
        let opts: &[(&str, Get)] = &[
            ("primary", |c| c.primary_all),
            ("pgroup", |c| c.pgroup),
            ("quiet", |c| c.quiet),
        ];
        let table: &[(&str, bool)] = &[
            ("", true),
            ("=true", true),
            ("=1", true),
            ("=t", true),
            ("=T", true),
            ("=TRUE", true),
            ("=True", true),
            ("=false", false),
            ("=0", false),
            ("=f", false),
            ("=F", false),
            ("=FALSE", false),
            ("=False", false),
        ];
        for &(name, get) in opts {
            for &(suffix, want) in table {
                for dashes in ["-", "--"] {
                    let word: &'static str = Box::leak(format!("{dashes}{name}{suffix}").into());
                    let c = ok(&[word, "-r", "x"], &[]);
                    assert_eq!(get(&c), want, "{word}");
                }
            }
            // The last one wins.
            let on: &'static str = Box::leak(format!("-{name}").into());
            let off: &'static str = Box::leak(format!("-{name}=false").into());
            assert!(!get(&ok(&[on, off, "-r", "x"], &[])));
            assert!(get(&ok(&[off, on, "-r", "x"], &[])));
        }
        // A boolean never takes the next word.
        let c = ok(&["-primary", "-quiet", "-r", "x"], &[]);
        assert!(c.primary_all && c.quiet && !c.pgroup);
        assert_eq!(
            err(&["-primary", "false", "-r", "x"], &[]),
            (UNEXPECTED, "false".into())
        );
        assert_eq!(
            err(&["--quiet", "1", "-r", "x"], &[]),
            (UNEXPECTED, "1".into())
        );
    }

    #[test]
    fn bad_boolean_values() {
        let table: &[(&str, &str, &str)] = &[
            ("-primary=yes", "invalid value for -primary", "yes"),
            ("--primary=", "invalid value for -primary", ""),
            ("-pgroup=on", "invalid value for -pgroup", "on"),
            ("-quiet=tRuE", "invalid value for -quiet", "tRuE"),
            ("-quiet=2", "invalid value for -quiet", "2"),
        ];
        for &(word, what, bad) in table {
            assert_eq!(err(&[word, "-r", "x"], &[]), (what, bad.into()), "{word}");
        }
    }

    #[test]
    fn all_options_together() {
        let c = ok(
            &[
                "-timeout",
                "5",
                "--primary",
                "-start=a b",
                "--prestop",
                "p",
                "-prestoptimer=2s",
                "--stop=s",
                "-maxproc",
                "1.5",
                "-socket=",
                "-pgroup",
                "--quiet=true",
                "-success",
                "143",
                "--success=0",
                "-r",
                "a",
                "-r",
                "b",
                "c",
            ],
            &[],
        );
        assert_eq!(c.timeout_ms, 5_000);
        assert!(c.primary_all && c.pgroup && c.quiet);
        assert_eq!(s(c.start), Some("a b"));
        assert_eq!(s(c.prestop), Some("p"));
        assert_eq!(c.prestop_timer_ms, 2_000);
        assert_eq!(s(c.stop), Some("s"));
        assert_eq!(c.maxproc, 1.5);
        assert_eq!(c.socket, b"");
        assert!(c.success.contains(143) && c.success.contains(0));
        assert_eq!(c.commands, &[b"-r" as &[u8], b"a", b"-r", b"b", b"c"]);
    }

    #[test]
    fn repeated_options() {
        // Last one wins.
        assert_eq!(
            ok(&["-timeout", "1", "-timeout=2", "-r", "x"], &[]).timeout_ms,
            2_000
        );
        assert_eq!(
            ok(&["-maxproc", "1", "-core-fraction=0.25", "-r", "x"], &[]).maxproc,
            0.25
        );
        assert_eq!(
            ok(&["-core-fraction", "1", "-maxproc=3", "-r", "x"], &[]).maxproc,
            3.0
        );
        assert_eq!(
            s(ok(&["-start", "a", "-start=", "-r", "x"], &[]).start),
            None
        );
        // Every occurrence is validated, even one later overridden.
        assert_eq!(
            err(&["-timeout", "bad", "-timeout", "2", "-r", "x"], &[]),
            ("invalid value for -timeout", "bad".into())
        );
        // -success adds.
        let c = ok(
            &[
                "-success",
                "143",
                "-success",
                "0",
                "--success=255",
                "-r",
                "x",
            ],
            &[],
        );
        for code in 0..=255u8 {
            assert_eq!(
                c.success.contains(code),
                matches!(code, 0 | 143 | 255),
                "{code}"
            );
        }
    }

    #[test]
    fn empty_start_prestop_stop_are_none() {
        for name in ["start", "prestop", "stop"] {
            for args in spellings(name, "") {
                let c = ok(&args, &[]);
                assert_eq!((c.start, c.prestop, c.stop), (None, None, None), "{args:?}");
            }
        }
    }

    #[test]
    fn success_codes() {
        let good: &[(&str, u8)] = &[
            ("0", 0),
            ("1", 1),
            ("143", 143),
            ("255", 255),
            ("0143", 143),
            ("+2", 2),
            // Spaces around an item are ignored, as in lists.
            (" 1", 1),
        ];
        for &(v, code) in good {
            for args in spellings("success", v) {
                let c = ok(&args, &[]);
                assert!(c.success.contains(code), "{args:?}");
                assert_eq!(c.success.0.iter().map(|w| w.count_ones()).sum::<u32>(), 1);
            }
        }
        for v in [
            "256",
            "-1",
            "",
            "1x",
            "x",
            "1.0",
            "1 2",
            "99999999999999999999",
            "+",
        ] {
            for args in spellings("success", v) {
                assert_eq!(
                    err(&args, &[]),
                    ("invalid value for -success", v.into()),
                    "{args:?}"
                );
                assert_eq!(why(&args, &[]), Reason::ExitCodes);
            }
        }
        // Lists, in the flag as in DINIT_SUCCESS; a bad item is named.
        for (list, codes) in [
            ("0,143", &[0u8, 143][..]),
            ("143, 0 ,1", &[0, 1, 143]),
            ("7,7", &[7]),
        ] {
            for c in [
                ok(&["-success", list, "-r", "x"], &[]),
                ok(
                    &["-r", "x"],
                    Box::leak(vec![("DINIT_SUCCESS", list)].into()),
                ),
            ] {
                let all: Vec<u8> = (0..=255u8).filter(|&n| c.success.contains(n)).collect();
                assert_eq!(all, codes, "{list}");
            }
        }
        for (list, item) in [("0,256", "256"), ("1,,2", ""), ("143,", ""), ("x,1", "x")] {
            assert_eq!(
                err(&["--success", list, "-r", "x"], &[]),
                ("invalid value for -success", item.into()),
                "{list}"
            );
            let env: Env = Box::leak(vec![("DINIT_SUCCESS", list)].into());
            assert_eq!(
                err(&["-r", "x"], env),
                ("invalid value for DINIT_SUCCESS", item.into()),
                "{list}"
            );
        }
    }

    #[test]
    fn maxproc_values() {
        let good: &[(&str, f64)] = &[
            ("0", 0.0),
            ("-0", 0.0),
            ("0.5", 0.5),
            (".5", 0.5),
            ("2.", 2.0),
            ("+3", 3.0),
            ("0.25", 0.25),
        ];
        for &(v, want) in good {
            for name in ["maxproc", "core-fraction"] {
                for args in spellings(name, v) {
                    let got = ok(&args, &[]).maxproc;
                    assert_eq!(got, want, "{args:?}");
                    assert!(got.is_sign_positive(), "{args:?}");
                }
            }
        }
        for v in [
            "-1",
            "-0.5",
            "NaN",
            "nan",
            "inf",
            "-inf",
            "infinity",
            "",
            "x",
            "1x",
            " 1",
            "1e999",
            "1e-1",
            ".",
            "1.2.3",
            "99999999999999999999",
        ] {
            assert_eq!(
                err(&["-maxproc", v, "-r", "x"], &[]),
                ("invalid value for -maxproc", v.into())
            );
            assert_eq!(
                err(&["--core-fraction", v, "-r", "x"], &[]),
                ("invalid value for -core-fraction", v.into())
            );
        }
        assert_eq!(
            err(&["-maxproc=\u{ff}", "-r", "x"], &[]).0,
            "invalid value for -maxproc"
        );
    }

    #[test]
    fn bad_values_name_the_option() {
        let table: &[(&[&str], &str, &str)] = &[
            (&["-timeout", "x"], "invalid value for -timeout", "x"),
            (&["--timeout=-1"], "invalid value for -timeout", "-1"),
            (&["-timeout", "-5"], "invalid value for -timeout", "-5"),
            (&["-timeout="], "invalid value for -timeout", ""),
            (&["-timeout", "10x"], "invalid value for -timeout", "10x"),
            (
                &["-prestoptimer", "soon"],
                "invalid value for -prestoptimer",
                "soon",
            ),
            (&["--prestoptimer="], "invalid value for -prestoptimer", ""),
            (&["-success", "256"], "invalid value for -success", "256"),
            (&["-maxproc", "-1"], "invalid value for -maxproc", "-1"),
        ];
        for &(opts, what, word) in table {
            let mut args = opts.to_vec();
            args.extend(["-r", "x"]);
            assert_eq!(err(&args, &[]), (what, word.into()), "{args:?}");
        }
    }

    #[test]
    fn errors() {
        let table: &[(&[&str], &str, &str)] = &[
            // No -r: the options are still checked first.
            (&[], NO_COMMAND, ""),
            (&["-timeout", "5"], NO_COMMAND, ""),
            (&["-primary"], NO_COMMAND, ""),
            (&["sleep", "10"], UNEXPECTED, "sleep"),
            (&["-R", "x"], UNKNOWN, "-R"),
            (&["--r", "x"], UNKNOWN, "--r"),
            (&["\\-r", "x"], UNEXPECTED, "\\-r"),
            (&["-foo"], UNKNOWN, "-foo"),
            (&["-timeout"], NEEDS_VALUE, "-timeout"),
            (&["-timeout", "x"], "invalid value for -timeout", "x"),
            // Unknown options, named as written.
            (&["-foo", "-r", "x"], UNKNOWN, "-foo"),
            (&["--foo", "-r", "x"], UNKNOWN, "--foo"),
            (&["-foo=1", "-r", "x"], UNKNOWN, "-foo"),
            (&["--foo=", "-r", "x"], UNKNOWN, "--foo"),
            (&["-Timeout", "5", "-r", "x"], UNKNOWN, "-Timeout"),
            (&["---timeout", "5", "-r", "x"], UNKNOWN, "---timeout"),
            (&["-=5", "-r", "x"], UNKNOWN, "-=5"),
            (&["--=5", "-r", "x"], UNKNOWN, "--=5"),
            (&["-h=maybe", "-r", "x"], "invalid value for -h", "maybe"),
            (&["-version", "-r", "x"], UNKNOWN, "-version"),
            (&["-t", "5", "-r", "x"], UNKNOWN, "-t"),
            (&["-quiet", "-bogus", "-r", "x"], UNKNOWN, "-bogus"),
            // Not options.
            (&["sleep", "-r", "x"], UNEXPECTED, "sleep"),
            (&["-", "-r", "x"], UNEXPECTED, "-"),
            (&["\\--", "x"], UNEXPECTED, "\\--"),
            (&["", "-r", "x"], UNEXPECTED, ""),
            (&["-quiet", "x", "-r", "y"], UNEXPECTED, "x"),
            (&["-primary", "false", "-r", "x"], UNEXPECTED, "false"),
            // A value option with no value before -r: -r is not a value.
            (&["-timeout", "-r", "x"], NEEDS_VALUE, "-timeout"),
            (&["--start", "-r", "x"], NEEDS_VALUE, "--start"),
            (&["-quiet", "-socket", "-r", "x"], NEEDS_VALUE, "-socket"),
            (&["-success", "-r"], NEEDS_VALUE, "-success"),
            (
                &["--core-fraction", "-r", "x"],
                NEEDS_VALUE,
                "--core-fraction",
            ),
            // -submit is a checked boolean (the dispatcher acts on it).
            (
                &["-submit=maybe", "-r", "x"],
                "invalid value for -submit",
                "maybe",
            ),
            (&["-submit", "x", "-r", "y"], UNEXPECTED, "x"),
        ];
        for &(args, what, word) in table {
            let got = err(args, &[]);
            assert_eq!(got, (what, word.into()), "{args:?}");
        }
        // Every value option reports a missing value, in both spellings.
        for name in [
            "timeout",
            "start",
            "prestop",
            "prestoptimer",
            "stop",
            "maxproc",
            "core-fraction",
            "socket",
            "success",
            "stopsignal",
            "rewrite",
            "pdeathsig",
        ] {
            for dashes in ["-", "--"] {
                let w: &'static str = Box::leak(format!("{dashes}{name}").into());
                assert_eq!(err(&[w, "-r", "x"], &[]), (NEEDS_VALUE, w.into()));
            }
        }
    }

    #[test]
    fn help_anywhere_among_the_options() {
        for args in [
            &["-h", "-r", "x"][..],
            &["-quiet", "-help", "-r", "x"],
            &["--help"],
            &["-timeout", "5", "--h=true", "-r", "x"],
        ] {
            assert_eq!(run(args, &[]), Err(Error::Help), "{args:?}");
        }
        assert!(run(&["-h=false", "-r", "x"], &[]).is_ok());
        // After -r it is an argument of the command.
        assert!(run(&["-r", "x", "-h"], &[]).is_ok());
        assert_eq!(Error::Help.exit_code(), 0);
    }

    #[test]
    fn usage_messages() {
        let e = run(&["-foo", "-r", "x"], &[]).unwrap_err();
        assert_eq!(e.to_string(), "flag provided but not defined: -foo");
        assert_eq!(e.exit_code(), 2);
        let e = run(&[], &[]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "no command given; use -r CMD [ARGS...] or -- CMD [ARGS...]"
        );
        let e = run(&["--"], &[]).unwrap_err();
        assert_eq!(e.to_string(), "no command after --; use -- CMD [ARGS...]");
        assert_eq!(e.exit_code(), 2);
        let e = run(&["-r", "x", "--", "y"], &[]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "-r and -- do not mix on one command line \
             (a literal -- argument of a -r command is written \\--)"
        );
        assert_eq!(e.exit_code(), 2);
        let e = run(&["-timeout"], &[]).unwrap_err();
        assert_eq!(e.to_string(), "option needs a value: -timeout");
        let e = run(&["-timeout", "1x", "-r", "x"], &[]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid value for -timeout: 1x (expected seconds or a Go duration: 10, 2.5, 500ms, 1m30s)"
        );
        let e = run(&["-r", "x"], &[("DINIT_QUIET", "yes")]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid value for DINIT_QUIET: yes (expected true or false, 1 or 0, t or f)"
        );
        let e = run(&["--submit=2", "-r", "x"], &[]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid value for -submit: 2 (expected true or false, 1 or 0, t or f)"
        );
        assert_eq!(e.exit_code(), 2);
    }

    /// Issue 15: the messages that helped nobody say what is expected, or
    /// why the value cannot be, in one line.
    #[test]
    fn bad_values_say_why() {
        let table: &[(&[&str], &str)] = &[
            (
                &["-rewrite", "WINCH"],
                "invalid value for -rewrite: WINCH (expected FROM:TO with two signals, \
                 or TO 0 to drop FROM: HUP:USR1, WINCH:0)",
            ),
            (
                &["-rewrite", "TERM:0"],
                "invalid value for -rewrite: TERM:0 (SIGTERM and SIGINT are stop requests: \
                 they start teardown and are never forwarded, so there is nothing to rewrite)",
            ),
            (
                &["-rewrite", "HUP:USR1, INT:0"],
                "invalid value for -rewrite: INT:0 (SIGTERM and SIGINT are stop requests: \
                 they start teardown and are never forwarded, so there is nothing to rewrite)",
            ),
            (
                &["-rewrite", "CHLD:HUP"],
                "invalid value for -rewrite: CHLD:HUP \
                 (SIGCHLD tells dinit a child exited; it cannot mean anything else)",
            ),
            (
                &["-rewrite", "KILL:TERM"],
                "invalid value for -rewrite: KILL:TERM (SIGKILL and SIGSTOP cannot be caught: \
                 dinit never receives them to forward)",
            ),
            (
                &["-rewrite", "TSTP:0"],
                "invalid value for -rewrite: TSTP:0 (SIGTSTP, SIGTTIN and SIGTTOU are never \
                 forwarded: a stopped child would have no one to resume it)",
            ),
            (
                &["-stopsignal", "KILL"],
                "invalid value for -stopsignal: KILL (SIGKILL cannot be caught and allows no \
                 graceful stop; teardown sends it anyway once -timeout has passed)",
            ),
            (
                &["-stopsignal", "SIGSTOP"],
                "invalid value for -stopsignal: SIGSTOP (SIGSTOP cannot be caught and only \
                 pauses a process: it can never stop one)",
            ),
            (
                &["-pdeathsig", "SEGV"],
                "invalid value for -pdeathsig: SEGV (fault signals (SEGV, BUS, ILL, FPE, ABRT, \
                 TRAP, SYS) are left to end dinit if it crashes: it never receives them)",
            ),
            (
                &["-stopsignal", "QUITE"],
                "invalid value for -stopsignal: QUITE \
                 (expected a signal name or number: QUIT, SIGQUIT, RTMIN+3, 3)",
            ),
            (
                &["-maxproc", "1e3"],
                "invalid value for -maxproc: 1e3 (expected a decimal number, 0 or more: 0.5, 1, 2)",
            ),
            (
                &["-success", "143,256"],
                "invalid value for -success: 256 \
                 (expected exit codes 0-255, comma-separated: 143 or 0,143)",
            ),
            (
                &["-timeout="],
                "invalid value for -timeout: empty \
                 (expected seconds or a Go duration: 10, 2.5, 500ms, 1m30s)",
            ),
        ];
        for &(opts, want) in table {
            let mut args = opts.to_vec();
            args.extend(["-r", "x"]);
            let e = run(&args, &[]).unwrap_err();
            assert_eq!(e.to_string(), want, "{args:?}");
            assert_eq!(e.exit_code(), 2);
            assert!(!e.to_string().contains('\n'));
        }
        // The same reasons through the variables, which are named.
        let e = run(&["-r", "x"], &[("DINIT_STOPSIGNAL", "9")]).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("invalid value for DINIT_STOPSIGNAL: 9 (SIGKILL cannot be caught"),
            "{e}"
        );
        assert_eq!(
            why(&["-r", "x"], &[("DINIT_REWRITE", "HUP:USR1,SIGTERM:HUP")]),
            Reason::StopRequest
        );
    }

    #[test]
    fn submit_that_ended_up_false_is_ignored() {
        // The dispatcher (role.rs) picked the init role for these.
        for args in [
            &["-submit=false", "-r", "x"][..],
            &["-submit", "-submit=false", "-r", "x"],
            &["-quiet", "--submit=0", "-r", "x"],
        ] {
            let c = ok(args, &[]);
            assert_eq!(c.commands, &[b"-r" as &[u8], b"x"], "{args:?}");
        }
    }

    #[test]
    fn option_words_read_as_the_lexer_reads_them() {
        // (word, (name, written, value, takes_next))
        type Read = Option<(&'static str, &'static str, Option<&'static str>, bool)>;
        let table: &[(&str, Read)] = &[
            ("-socket", Some(("socket", "-socket", None, true))),
            ("--socket", Some(("socket", "--socket", None, true))),
            ("-socket=/s", Some(("socket", "-socket", Some("/s"), false))),
            ("--socket=", Some(("socket", "--socket", Some(""), false))),
            ("-start", Some(("start", "-start", None, true))),
            ("-submit", Some(("submit", "-submit", None, false))),
            (
                "--submit=false",
                Some(("submit", "--submit", Some("false"), false)),
            ),
            ("-quiet", Some(("quiet", "-quiet", None, false))),
            ("-h", Some(("h", "-h", None, false))),
            (
                "-core-fraction",
                Some(("core-fraction", "-core-fraction", None, true)),
            ),
            ("-version", None),
            ("-V", None),
            ("-list", None),
            ("---socket", None),
            ("-", None),
            ("--", None),
            ("-=x", None),
            ("socket", None),
            ("-r", None),
        ];
        for &(word, want) in table {
            let got = option_word(word.as_bytes()).map(|o| {
                (
                    core::str::from_utf8(o.name).unwrap(),
                    core::str::from_utf8(o.written).unwrap(),
                    o.value.map(|v| core::str::from_utf8(v).unwrap()),
                    o.takes_next,
                )
            });
            assert_eq!(got, want, "{word}");
        }
        // Every option the lexer knows is known here, with the same arity:
        // a value option followed by a value parses.
        for spec in OPTIONS {
            let w = spec.flag;
            let o = option_word(w.as_bytes()).unwrap();
            assert_eq!(o.takes_next, !spec.setting.is_bool(), "{w}");
        }
    }

    #[test]
    fn commands_slice() {
        let table: &[(&[&str], &[&str])] = &[
            (&["-r"], &["-r"]),
            (&["-r", "x"], &["-r", "x"]),
            (&["-r", "-r"], &["-r", "-r"]),
            // Everything after the first -r is command words, options or not.
            (
                &["-r", "cmd", "-timeout", "5"],
                &["-r", "cmd", "-timeout", "5"],
            ),
            (
                &["-r", "cmd", "-foo", "\\--", "-"],
                &["-r", "cmd", "-foo", "\\--", "-"],
            ),
            (
                &["-quiet", "-r", "a", "\\-r", "-r", "b"],
                &["-r", "a", "\\-r", "-r", "b"],
            ),
            (&["-start", "-x", "-r", "a"], &["-r", "a"]),
        ];
        for &(args, want) in table {
            let c = ok(args, &[]);
            let got: Vec<&str> = c
                .commands
                .iter()
                .map(|w| core::str::from_utf8(w).unwrap())
                .collect();
            assert_eq!(got, want, "{args:?}");
        }
        // Options after -r are not applied.
        let c = ok(&["-r", "cmd", "-timeout", "5", "-quiet"], &[]);
        assert_eq!(c.timeout_ms, DEFAULT_TIMEOUT_MS);
        assert!(!c.quiet);
        // -r as the first word: no options at all, environment still applies.
        let c = ok(&["-r", "x"], &[("DINIT_TIMEOUT", "3")]);
        assert_eq!(c.timeout_ms, 3_000);
        // The commands slice borrows from args.
        let words: Vec<&[u8]> = vec![b"-quiet", b"-r", b"a"];
        let c = parse(&words, &|_| None).unwrap();
        assert!(core::ptr::eq(c.commands, &words[1..]));
    }

    /// SPEC §8: `-- CMD [ARGS...]` ends the options like `-r` and hands on
    /// every later word as one verbatim command.
    #[test]
    fn dashdash_form() {
        let table: &[(&[&str], &[&str])] = &[
            (&["--", "x"], &["x"]),
            (&["--", "x", "a", "b"], &["x", "a", "b"]),
            (&["-timeout", "5", "--", "cmd"], &["cmd"]),
            // Nothing after `--` is an option, a group or an escape here.
            (
                &["--", "sh", "-r", "y", "--", "\\-r", "\\--", "-quiet"],
                &["sh", "-r", "y", "--", "\\-r", "\\--", "-quiet"],
            ),
            (&["--", "--"], &["--"]),
            (&["--", "-r"], &["-r"]),
            (&["--", "$HOME", "$$", "${X"], &["$HOME", "$$", "${X"]),
            // What would be roles or help before `--` are arguments after it.
            (&["--", "-h"], &["-h"]),
            (&["--", "/bin/echo", "-help"], &["/bin/echo", "-help"]),
            (&["--", "-version"], &["-version"]),
            (&["--", "/bin/echo", "-submit"], &["/bin/echo", "-submit"]),
            (&["--", ""], &[""]),
        ];
        for &(args, want) in table {
            let c = ok(args, &[]);
            assert!(c.verbatim, "{args:?}");
            let got: Vec<&str> = c
                .commands
                .iter()
                .map(|w| core::str::from_utf8(w).unwrap())
                .collect();
            assert_eq!(got, want, "{args:?}");
        }
        // Options before `--` apply; words after it that look like options
        // do not.
        let c = ok(
            &["-timeout", "5", "--quiet", "--", "x", "-timeout", "1"],
            &[],
        );
        assert_eq!((c.timeout_ms, c.quiet), (5_000, true));
        let c = ok(&["--", "x", "-quiet", "-timeout", "1", "-primary"], &[]);
        assert_eq!(c.timeout_ms, DEFAULT_TIMEOUT_MS);
        assert!(!c.quiet && !c.primary_all);
        // The environment still applies.
        let c = ok(
            &["--", "x"],
            &[("DINIT_TIMEOUT", "3"), ("DINIT_QUIET", "1")],
        );
        assert_eq!((c.timeout_ms, c.quiet), (3_000, true));
        // `--` as a value only with `=`.
        let c = ok(&["-socket=--", "--", "x"], &[]);
        assert_eq!(
            (c.socket, c.commands),
            (b"--" as &[u8], &[b"x" as &[u8]][..])
        );
        // Help before `--` is help; -h=false is not.
        assert_eq!(run(&["-h", "--", "x"], &[]), Err(Error::Help));
        assert!(ok(&["-h=false", "--", "x"], &[]).verbatim);
        // The -r form is not verbatim, and \-- is an ordinary word there.
        let c = ok(&["-r", "x", "\\--", "-r", "y"], &[]);
        assert!(!c.verbatim);
        assert_eq!(c.commands.len(), 5);
        // The commands slice borrows from args, past the `--`.
        let words: Vec<&[u8]> = vec![b"-quiet", b"--", b"a", b"b"];
        let c = parse(&words, &|_| None).unwrap();
        assert!(core::ptr::eq(c.commands, &words[2..]));
    }

    #[test]
    fn dashdash_errors() {
        let table: &[(&[&str], &str, &str)] = &[
            // Nothing after `--`.
            (&["--"], NO_COMMAND_AFTER_DASHDASH, ""),
            (
                &["-quiet", "-timeout", "5", "--"],
                NO_COMMAND_AFTER_DASHDASH,
                "",
            ),
            // `-r` groups and `--` do not mix, wherever the `--` stands.
            (&["-r", "x", "--", "y"], MIXED, ""),
            (&["-r", "x", "--"], MIXED, ""),
            (&["-r", "--"], MIXED, ""),
            (&["-r", "a", "-r", "b", "--", "c"], MIXED, ""),
            (&["-quiet", "-r", "x", "a", "--", "-r", "y"], MIXED, ""),
            // Options before `--` are checked as before -r.
            (&["-timeout", "--", "x"], NEEDS_VALUE, "-timeout"),
            (&["-socket", "--", "--", "x"], NEEDS_VALUE, "-socket"),
            (&["-success", "--"], NEEDS_VALUE, "-success"),
            (&["-foo", "--", "x"], UNKNOWN, "-foo"),
            (
                &["-timeout", "x", "--", "y"],
                "invalid value for -timeout",
                "x",
            ),
            (&["sleep", "--", "x"], UNEXPECTED, "sleep"),
            (&["-", "--", "x"], UNEXPECTED, "-"),
            // Option errors come first, as with -r.
            (&["-foo", "--"], UNKNOWN, "-foo"),
            (&["-foo", "-r", "x", "--"], UNKNOWN, "-foo"),
        ];
        for &(args, what, word) in table {
            assert_eq!(err(args, &[]), (what, word.into()), "{args:?}");
        }
        // A bad environment value is still reported with the `--` form.
        assert_eq!(
            err(&["--", "x"], &[("DINIT_TIMEOUT", "x")]),
            ("invalid value for DINIT_TIMEOUT", "x".into())
        );
    }

    #[test]
    fn environment_applies_when_no_flag() {
        type Check = fn(&Config<'static>) -> bool;
        let table: &[(&str, &str, Check)] = &[
            ("DINIT_TIMEOUT", "2.5", |c| c.timeout_ms == 2_500),
            ("DINIT_TIMEOUT", "1m", |c| c.timeout_ms == 60_000),
            ("DINIT_START", "echo a", |c| c.start == Some(b"echo a")),
            ("DINIT_PRESTOP", "p q", |c| c.prestop == Some(b"p q")),
            ("DINIT_PRESTOPTIMER", "4", |c| c.prestop_timer_ms == 4_000),
            ("DINIT_PRESTOPTIMER", "250ms", |c| c.prestop_timer_ms == 250),
            ("DINIT_STOP", "s", |c| c.stop == Some(b"s")),
            ("DINIT_SOCKET", "/s", |c| c.socket == b"/s"),
            ("DINIT_PGROUP", "1", |c| c.pgroup),
            ("DINIT_PGROUP", "true", |c| c.pgroup),
            ("DINIT_PGROUP", "false", |c| !c.pgroup),
            ("DINIT_QUIET", "T", |c| c.quiet),
            ("DINIT_QUIET", "0", |c| !c.quiet),
            ("DINIT_PRIMARY", "1", |c| c.primary_all),
            ("DINIT_PRIMARY", "true", |c| c.primary_all),
            ("DINIT_PRIMARY", "False", |c| !c.primary_all),
            ("DINIT_SUCCESS", "143", |c| {
                c.success.contains(143) && !c.success.contains(0)
            }),
            ("DINIT_SUCCESS", "0,143", |c| {
                c.success.contains(143) && c.success.contains(0)
            }),
            ("DINIT_SUCCESS", " 3 , 4", |c| {
                c.success.contains(3) && c.success.contains(4)
            }),
            ("DINIT_MAXPROC", "0.5", |c| c.maxproc == 0.5),
            ("DINIT_MAXPROC", "2", |c| c.maxproc == 2.0),
            ("DINIT_MAXPROC", "0", |c| c.maxproc == 0.0),
            ("DINIT_STOPSIGNAL", "QUIT", |c| c.stop_signal == Some(3)),
            ("DINIT_PDEATHSIG", "SIGHUP", |c| c.pdeathsig == Some(1)),
            ("DINIT_REWRITE", "HUP:USR1", |c| c.rewrite.get(1) == 10),
        ];
        for &(var, value, check) in table {
            let env: Env = Box::leak(vec![(var, value)].into_boxed_slice());
            let c = ok(&["-r", "x"], env);
            assert!(check(&c), "{var}={value}: {c:?}");
        }
    }

    #[test]
    fn empty_environment_is_unset_except_socket() {
        let env: Env = &[
            ("DINIT_TIMEOUT", ""),
            ("DINIT_STOPSIGNAL", ""),
            ("DINIT_REWRITE", ""),
            ("DINIT_PDEATHSIG", ""),
            ("DINIT_START", ""),
            ("DINIT_PRESTOP", ""),
            ("DINIT_PRESTOPTIMER", ""),
            ("DINIT_STOP", ""),
            ("DINIT_PGROUP", ""),
            ("DINIT_QUIET", ""),
            ("DINIT_PRIMARY", ""),
            ("DINIT_SUCCESS", ""),
            ("DINIT_MAXPROC", ""),
        ];
        let c = ok(&["-r", "x"], env);
        assert_eq!(c, ok(&["-r", "x"], &[]));
        // DINIT_SOCKET="" disables the socket.
        assert_eq!(ok(&["-r", "x"], &[("DINIT_SOCKET", "")]).socket, b"");
        // ...and a flag still beats it.
        assert_eq!(
            ok(&["-socket", "/a", "-r", "x"], &[("DINIT_SOCKET", "")]).socket,
            b"/a"
        );
    }

    #[test]
    fn flag_beats_environment() {
        type Check = fn(&Config<'static>) -> bool;
        // (flag words, variable, its value, check that the flag won)
        let table: &[(&[&str], &str, &str, Check)] = &[
            (&["-timeout", "1"], "DINIT_TIMEOUT", "7", |c| {
                c.timeout_ms == 1_000
            }),
            (&["-start", "f"], "DINIT_START", "e", |c| {
                c.start == Some(b"f")
            }),
            (&["-start="], "DINIT_START", "e", |c| c.start.is_none()),
            (&["-prestop", "f"], "DINIT_PRESTOP", "e", |c| {
                c.prestop == Some(b"f")
            }),
            (&["--prestop="], "DINIT_PRESTOP", "e", |c| {
                c.prestop.is_none()
            }),
            (&["-prestoptimer", "1"], "DINIT_PRESTOPTIMER", "9", |c| {
                c.prestop_timer_ms == 1_000
            }),
            (&["-stop", "f"], "DINIT_STOP", "e", |c| c.stop == Some(b"f")),
            (&["-stop="], "DINIT_STOP", "e", |c| c.stop.is_none()),
            (&["-socket", "/f"], "DINIT_SOCKET", "/e", |c| {
                c.socket == b"/f"
            }),
            (&["-socket="], "DINIT_SOCKET", "/e", |c| c.socket.is_empty()),
            (&["-pgroup=false"], "DINIT_PGROUP", "true", |c| !c.pgroup),
            (&["-pgroup"], "DINIT_PGROUP", "false", |c| c.pgroup),
            (&["-quiet=0"], "DINIT_QUIET", "1", |c| !c.quiet),
            (&["--quiet"], "DINIT_QUIET", "0", |c| c.quiet),
            // A bad environment value is not even read when the flag is given.
            (&["-timeout", "1"], "DINIT_TIMEOUT", "bogus", |c| {
                c.timeout_ms == 1_000
            }),
            (&["-prestoptimer=0"], "DINIT_PRESTOPTIMER", "-3", |c| {
                c.prestop_timer_ms == 0
            }),
            (&["-pgroup"], "DINIT_PGROUP", "maybe", |c| c.pgroup),
            (&["-quiet=f"], "DINIT_QUIET", "loud", |c| !c.quiet),
            (&["-primary=false"], "DINIT_PRIMARY", "1", |c| {
                !c.primary_all
            }),
            (&["-primary"], "DINIT_PRIMARY", "0", |c| c.primary_all),
            (&["-primary"], "DINIT_PRIMARY", "sure", |c| c.primary_all),
            // The flag's codes replace the variable's list; they do not add.
            (&["-success", "3"], "DINIT_SUCCESS", "143", |c| {
                c.success.contains(3) && !c.success.contains(143)
            }),
            (&["-success=1,2"], "DINIT_SUCCESS", "x", |c| {
                c.success.contains(1) && c.success.contains(2)
            }),
            (&["-maxproc", "1"], "DINIT_MAXPROC", "3", |c| {
                c.maxproc == 1.0
            }),
            (&["-maxproc=0"], "DINIT_MAXPROC", "3", |c| c.maxproc == 0.0),
            // -core-fraction is -maxproc: it beats DINIT_MAXPROC too.
            (&["-core-fraction", "0.25"], "DINIT_MAXPROC", "3", |c| {
                c.maxproc == 0.25
            }),
            (&["-stopsignal", "HUP"], "DINIT_STOPSIGNAL", "KILL", |c| {
                c.stop_signal == Some(1)
            }),
        ];
        for &(flags, var, value, check) in table {
            let env: Env = Box::leak(vec![(var, value)].into_boxed_slice());
            let mut args = flags.to_vec();
            args.extend(["-r", "x"]);
            let c = ok(&args, env);
            assert!(check(&c), "{args:?} {var}={value}: {c:?}");
        }
    }

    #[test]
    fn environment_not_looked_up_for_given_flags() {
        let asked = core::cell::RefCell::new(Vec::new());
        let words: Vec<&[u8]> = vec![b"-timeout", b"1", b"-quiet", b"-r", b"x"];
        let lookup = |name: &[u8]| -> Option<&[u8]> {
            asked
                .borrow_mut()
                .push(String::from_utf8(name.to_vec()).unwrap());
            None
        };
        parse(&words, &lookup).unwrap();
        let asked = asked.into_inner();
        assert!(
            !asked
                .iter()
                .any(|n| n == "DINIT_TIMEOUT" || n == "DINIT_QUIET"),
            "{asked:?}"
        );
        assert!(asked.iter().any(|n| n == "DINIT_SOCKET"), "{asked:?}");
    }

    #[test]
    fn bad_environment_values_name_the_variable() {
        let table: &[(&str, &str)] = &[
            ("DINIT_TIMEOUT", "x"),
            ("DINIT_TIMEOUT", "-1"),
            ("DINIT_TIMEOUT", "10 s"),
            ("DINIT_PRESTOPTIMER", "1x"),
            ("DINIT_PRESTOPTIMER", "s"),
            ("DINIT_PGROUP", "yes"),
            ("DINIT_PGROUP", " 1"),
            ("DINIT_QUIET", "on"),
            ("DINIT_PRIMARY", "yes"),
            ("DINIT_PRIMARY", "2"),
            ("DINIT_SUCCESS", "256"),
            ("DINIT_SUCCESS", "-1"),
            ("DINIT_SUCCESS", "ok"),
            ("DINIT_MAXPROC", "-1"),
            ("DINIT_MAXPROC", "half"),
            ("DINIT_MAXPROC", "1e3"),
            ("DINIT_STOPSIGNAL", "NOPE"),
            ("DINIT_PDEATHSIG", "KILL"),
        ];
        for &(var, value) in table {
            let env: Env = Box::leak(vec![(var, value)].into_boxed_slice());
            let what = format!("invalid value for {var}");
            let (got_what, got_word) = err(&["-r", "x"], env);
            assert_eq!(
                (got_what, got_word.as_str()),
                (what.as_str(), value),
                "{var}={value}"
            );
        }
        // Flag errors come before environment errors.
        assert_eq!(
            err(&["-foo", "-r", "x"], &[("DINIT_TIMEOUT", "x")]),
            (UNKNOWN, "-foo".into())
        );
    }

    #[test]
    fn unrelated_environment_is_ignored() {
        let env: Env = &[
            ("TIMEOUT", "x"),
            ("DINIT_TIMEOUTS", "x"),
            ("dinit_timeout", "x"),
            ("DINIT_CORE_FRACTION", "x"),
            ("DINIT_SUBMIT", "x"),
            ("DINIT_H", "x"),
            ("DINIT_HELP", "x"),
            ("DINIT_VERSION", "x"),
        ];
        assert_eq!(ok(&["-r", "x"], env), ok(&["-r", "x"], &[]));
    }

    /// SPEC §2: every option that takes effect in the init role has a
    /// variable, and each variable sets one option.
    #[test]
    fn every_init_option_has_a_variable() {
        let mut vars: Vec<&str> = Vec::new();
        for o in OPTIONS {
            match (o.var, o.setting) {
                (None, Setting::Submit | Setting::Help) => {}
                // The alias: its variable is -maxproc's.
                (None, Setting::Maxproc) => assert_eq!(o.flag, "-core-fraction"),
                (None, _) => panic!("{} has no variable", o.flag),
                (Some(v), _) => {
                    let want = format!("DINIT_{}", o.flag[1..].to_ascii_uppercase());
                    assert_eq!(v, want, "{}", o.flag);
                    assert!(!vars.contains(&v), "{v} twice");
                    vars.push(v);
                }
            }
        }
        for v in ["DINIT_PRIMARY", "DINIT_SUCCESS", "DINIT_MAXPROC"] {
            assert!(vars.contains(&v), "{v}");
        }
    }

    /// SPEC §3, §11: who is primary, for every combination of `-primary`,
    /// a mark on this command, a mark on any command, and being the last.
    #[test]
    fn primaries() {
        // (-primary, any group marked, this one marked, this one last, want)
        let table: &[(bool, bool, bool, bool, bool)] = &[
            // No -primary, no mark anywhere: the last only.
            (false, false, false, false, false),
            (false, false, false, true, true),
            // Marks: exactly the marked ones; the last is no longer implied.
            (false, true, true, false, true),
            (false, true, true, true, true),
            (false, true, false, true, false),
            (false, true, false, false, false),
            // -primary: every one, marked or not.
            (true, false, false, false, true),
            (true, false, false, true, true),
            (true, true, false, false, true),
            (true, true, true, true, true),
        ];
        for &(all, any, marked, last, want) in table {
            let mut c = ok(&["-r", "x"], &[]);
            c.primary_all = all;
            c.primary_marked = any;
            assert_eq!(
                c.is_primary(marked, last),
                want,
                "-primary {all}, marks {any}, marked {marked}, last {last}"
            );
        }
        // primary_marked comes from the group starters, in any spelling.
        let marked: &[(&[&str], bool)] = &[
            (&["-r", "a", "-r", "b"], false),
            (&["-r:primary", "a", "-r", "b"], true),
            (&["-r", "a", "-r:QUIT,primary", "b"], true),
            (&["-r:PRIMARY,9", "a"], true),
            (&["-r:QUIT", "a", "-r", "b"], false),
            // A literal word is no mark, nor a word after `--`.
            (&["-r", "a", "\\-r:primary", "-r", "b"], false),
            (&["--", "-r:primary", "x"], false),
            (&["-quiet", "-r", "a", "-r:primary"], true),
        ];
        for &(args, want) in marked {
            assert_eq!(ok(args, &[]).primary_marked, want, "{args:?}");
        }
        // -primary and DINIT_PRIMARY beside marks: parsed as given.
        let c = ok(&["-primary", "-r:primary", "a", "-r", "b"], &[]);
        assert!(c.primary_all && c.primary_marked);
        assert!(c.is_primary(false, true) && c.is_primary(true, false));
        let c = ok(&["-r:primary", "a", "-r", "b"], &[("DINIT_PRIMARY", "1")]);
        assert!(c.is_primary(false, true));
    }

    #[test]
    fn durations() {
        let table: &[(&str, Option<u64>)] = &[
            // Plain seconds.
            ("10", Some(10_000)),
            ("2.5", Some(2_500)),
            ("0", Some(0)),
            ("00", Some(0)),
            ("0.0", Some(0)),
            (".5", Some(500)),
            ("1.", Some(1_000)),
            ("+10", Some(10_000)),
            ("0.0001", Some(1)),
            ("0.001", Some(1)),
            ("0.0011", Some(2)),
            ("1.000000001", Some(1_001)),
            ("1.0000000001", Some(1_000)), // below a nanosecond: dropped, as in Go
            ("007", Some(7_000)),
            // Go durations.
            ("500ms", Some(500)),
            ("10s", Some(10_000)),
            ("1m30s", Some(90_000)),
            ("1h", Some(3_600_000)),
            ("1.5h", Some(5_400_000)),
            ("1h2m3.5s", Some(3_723_500)),
            ("1s1s", Some(2_000)),
            ("100us", Some(1)),
            ("100\u{b5}s", Some(1)),
            ("100\u{3bc}s", Some(1)),
            ("1500us", Some(2)),
            ("1ns", Some(1)),
            ("1000000ns", Some(1)),
            ("1000001ns", Some(2)),
            ("0s", Some(0)),
            ("0ns", Some(0)),
            ("+1s", Some(1_000)),
            ("1.s", Some(1_000)),
            (".5s", Some(500)),
            ("0.5m", Some(30_000)),
            ("1.0000000000000000000001h", Some(3_600_000)),
            ("2562047h", Some(9_223_369_200_000)),
            ("9223372036854775807ns", Some(9_223_372_036_855)),
            ("9223372036.854775807s", Some(9_223_372_036_855)),
            ("9223372036", Some(9_223_372_036_000)),
            // Garbage.
            ("", None),
            ("+", None),
            ("-", None),
            ("-1", None),
            ("-0", None),
            ("-1s", None),
            ("1x", None),
            ("s", None),
            ("ms", None),
            (".", None),
            (".s", None),
            ("1..5", None),
            ("1.5.5", None),
            ("1m30", None),
            ("30s1", None),
            ("1 s", None),
            (" 1", None),
            ("1 ", None),
            ("1e3", None),
            ("1S", None),
            ("1H", None),
            ("1sec", None),
            ("1d", None),
            ("++1", None),
            ("+-1", None),
            ("1s-1s", None),
            ("\u{b5}s", None),
            ("1\u{b5}", None),
            ("inf", None),
            ("NaN", None),
            ("0x10", None),
            ("1_000", None),
            // Overflow of Go's int64 nanoseconds.
            ("9223372036854775808ns", None),
            ("9223372037", None),
            ("2562048h", None),
            ("2562047h48m", None),
            ("99999999999999999999999999999999999999999999", None),
            ("99999999999999999999999999999999999999999999h", None),
            ("1h9223372036854775807ns", None),
        ];
        for &(text, want) in table {
            assert_eq!(parse_duration_ms(text.as_bytes()), want, "{text:?}");
        }
        assert_eq!(parse_duration_ms(b"1\xffs"), None);
        assert_eq!(parse_duration_ms(b"1\xc2s"), None);
    }

    #[test]
    fn duration_spellings_agree() {
        for n in [0u64, 1, 7, 59, 60, 3599, 3600, 86_400] {
            let want = Some(n * 1_000);
            let plain = n.to_string();
            assert_eq!(parse_duration_ms(plain.as_bytes()), want, "{plain}");
            assert_eq!(parse_duration_ms(format!("{n}s").as_bytes()), want);
            assert_eq!(
                parse_duration_ms(format!("{}ms", n * 1_000).as_bytes()),
                want
            );
            assert_eq!(
                parse_duration_ms(format!("{}us", n * 1_000_000).as_bytes()),
                want
            );
            let hms = format!("{}h{}m{}s", n / 3600, n / 60 % 60, n % 60);
            assert_eq!(parse_duration_ms(hms.as_bytes()), want, "{hms}");
        }
    }

    #[test]
    fn bools() {
        for t in ["1", "t", "T", "TRUE", "true", "True"] {
            assert_eq!(parse_bool(t.as_bytes()), Some(true), "{t}");
        }
        for f in ["0", "f", "F", "FALSE", "false", "False"] {
            assert_eq!(parse_bool(f.as_bytes()), Some(false), "{f}");
        }
        for bad in [
            "", "yes", "no", "tRUE", "fALSE", "2", "-1", " true", "true ", "on", "off", "y", "n",
        ] {
            assert_eq!(parse_bool(bad.as_bytes()), None, "{bad}");
        }
    }

    #[test]
    fn stop_order() {
        assert_eq!(ok(&["-r", "x"], &[]).stop_order, StopOrder::Together);
        for v in ["reverse", "REVERSE", "Reverse"] {
            for args in spellings("stoporder", v) {
                assert_eq!(ok(&args, &[]).stop_order, StopOrder::Reverse, "{args:?}");
            }
        }
        let env: Env = &[("DINIT_STOPORDER", "reverse")];
        assert_eq!(ok(&["-r", "x"], env).stop_order, StopOrder::Reverse);
        // The flag beats the variable.
        let c = ok(&["-stoporder", "together", "-r", "x"], env);
        assert_eq!(c.stop_order, StopOrder::Together);
        for bad in ["", "backwards", "reversed", "1"] {
            assert_eq!(
                err(&["-stoporder", bad, "-r", "x"], &[]),
                ("invalid value for -stoporder", bad.into())
            );
        }
        assert_eq!(
            err(&["-r", "x"], &[("DINIT_STOPORDER", "up")]),
            ("invalid value for DINIT_STOPORDER", "up".into())
        );
    }

    #[test]
    fn stop_signal_pdeathsig_and_rewrite() {
        // Every spelling of a signal, in both options and their variables.
        for v in ["QUIT", "SIGQUIT", "quit", "3"] {
            for args in spellings("stopsignal", v) {
                assert_eq!(ok(&args, &[]).stop_signal, Some(3), "{args:?}");
            }
            for args in spellings("pdeathsig", v) {
                assert_eq!(ok(&args, &[]).pdeathsig, Some(3), "{args:?}");
            }
        }
        let env: Env = &[("DINIT_STOPSIGNAL", "RTMIN+2"), ("DINIT_PDEATHSIG", "HUP")];
        let c = ok(&["-r", "x"], env);
        assert_eq!((c.stop_signal, c.pdeathsig), (Some(36), Some(1)));
        let c = ok(&["-stopsignal=WINCH", "-pdeathsig", "TERM", "-r", "x"], env);
        assert_eq!((c.stop_signal, c.pdeathsig), (Some(28), Some(15)));
        // Defaults: none.
        let c = ok(&["-r", "x"], &[]);
        assert_eq!((c.stop_signal, c.pdeathsig), (None, None));
        assert_eq!(c.rewrite, Rewrite::NONE);
        // Job control may be chosen; what dinit cannot receive may not.
        assert_eq!(
            ok(&["-stopsignal", "TSTP", "-r", "x"], &[]).stop_signal,
            Some(20)
        );
        let refused: &[(&str, Reason)] = &[
            ("", Reason::Signal),
            ("0", Reason::Signal),
            ("65", Reason::Signal),
            ("FOO", Reason::Signal),
            ("-r", Reason::Signal),
            ("CHLD", Reason::Reaping),
            ("KILL", Reason::SigKill),
            ("9", Reason::SigKill),
            ("SIGKILL", Reason::SigKill),
            ("STOP", Reason::SigStop),
            ("SEGV", Reason::Fault),
            ("ABRT", Reason::Fault),
        ];
        for &(bad, reason) in refused {
            for name in ["stopsignal", "pdeathsig"] {
                let what = format!("invalid value for -{name}");
                let opt: &'static str = Box::leak(format!("-{name}={bad}").into());
                assert_eq!(err(&[opt, "-r", "x"], &[]), (&*what, bad.into()));
                assert_eq!(why(&[opt, "-r", "x"], &[]), reason, "{opt}");
            }
        }
        assert_eq!(
            err(&["-r", "x"], &[("DINIT_STOPSIGNAL", "KILL")]),
            ("invalid value for DINIT_STOPSIGNAL", "KILL".into())
        );

        // -rewrite: repeatable, lists, 0 drops.
        let c = ok(
            &["-rewrite", "HUP:USR1", "--rewrite=WINCH:0", "-r", "x"],
            &[],
        );
        assert_eq!((c.rewrite.get(1), c.rewrite.get(28)), (10, 0));
        assert_eq!(c.rewrite.get(10), 10);
        let c = ok(
            &["-rewrite", "sighup:12, 28:0 ,RTMIN:RTMAX", "-r", "x"],
            &[],
        );
        assert_eq!(c.rewrite.get(1), 12);
        assert_eq!(c.rewrite.get(28), 0);
        assert_eq!(c.rewrite.get(34), 64);
        // The variable, and the flag beating it.
        let env: Env = &[("DINIT_REWRITE", "HUP:USR2,WINCH:0")];
        let c = ok(&["-r", "x"], env);
        assert_eq!((c.rewrite.get(1), c.rewrite.get(28)), (12, 0));
        let c = ok(&["-rewrite=QUIT:TERM", "-r", "x"], env);
        assert_eq!((c.rewrite.get(1), c.rewrite.get(3)), (1, 15));
        // Rewriting to a stop request or SIGKILL is allowed (it only
        // changes what is sent).
        assert_eq!(
            ok(&["-rewrite", "USR1:KILL", "-r", "x"], &[])
                .rewrite
                .get(10),
            9
        );
        // Signals dinit never forwards cannot be rewritten, and malformed
        // pairs are refused; a list is refused by its first bad item.
        let refused: &[(&str, &str, Reason)] = &[
            ("TERM:USR1", "TERM:USR1", Reason::StopRequest),
            ("INT:0", "INT:0", Reason::StopRequest),
            ("CHLD:HUP", "CHLD:HUP", Reason::Reaping),
            ("KILL:TERM", "KILL:TERM", Reason::Uncatchable),
            ("STOP:CONT", "STOP:CONT", Reason::Uncatchable),
            ("TSTP:STOP", "TSTP:STOP", Reason::JobControl),
            ("TTOU:0", "TTOU:0", Reason::JobControl),
            ("SEGV:HUP", "SEGV:HUP", Reason::Fault),
            ("HUP", "HUP", Reason::RewritePair),
            ("WINCH", "WINCH", Reason::RewritePair),
            ("HUP:", "HUP:", Reason::RewritePair),
            (":HUP", ":HUP", Reason::RewritePair),
            ("HUP:FOO", "HUP:FOO", Reason::RewritePair),
            ("FOO:HUP", "FOO:HUP", Reason::RewritePair),
            ("HUP:USR1,", "", Reason::RewritePair),
            ("HUP:USR1:USR2", "HUP:USR1:USR2", Reason::RewritePair),
            ("HUP:00", "HUP:00", Reason::RewritePair),
            ("", "", Reason::RewritePair),
            ("HUP:USR1, TERM:0 ,x", "TERM:0", Reason::StopRequest),
        ];
        for &(bad, item, reason) in refused {
            let args = ["-rewrite", bad, "-r", "x"];
            assert_eq!(
                err(&args, &[]),
                ("invalid value for -rewrite", item.into()),
                "{bad}"
            );
            assert_eq!(why(&args, &[]), reason, "{bad}");
        }
        assert_eq!(
            err(&["-r", "x"], &[("DINIT_REWRITE", "HUP:1,TERM:2")]),
            ("invalid value for DINIT_REWRITE", "TERM:2".into())
        );
        // Nor can the -stopsignal, wherever either comes from.
        let msg = "-rewrite cannot rewrite the -stopsignal";
        assert_eq!(
            err(
                &["-stopsignal", "QUIT", "-rewrite", "QUIT:TERM", "-r", "x"],
                &[]
            ),
            (msg, "QUIT".into())
        );
        assert_eq!(
            err(
                &["-rewrite", "SIGQUIT:0", "-stopsignal", "3", "-r", "x"],
                &[]
            ),
            (msg, "3".into())
        );
        assert_eq!(
            err(
                &["-rewrite", "QUIT:0", "-r", "x"],
                &[("DINIT_STOPSIGNAL", "quit")]
            ),
            (msg, "quit".into())
        );
        // Other rewrites beside a -stopsignal are fine.
        let c = ok(
            &["-stopsignal", "QUIT", "-rewrite", "HUP:QUIT", "-r", "x"],
            &[],
        );
        assert_eq!(c.rewrite.get(1), 3);
    }

    #[test]
    fn a_run_flag_with_a_signal_ends_the_options() {
        let c = ok(&["-quiet", "-r:QUIT", "nginx", "-r", "php"], &[]);
        assert!(c.quiet);
        assert_eq!(c.commands, &[b"-r:QUIT" as &[u8], b"nginx", b"-r", b"php"]);
        // A value option right before it lacks its value.
        assert_eq!(
            err(&["-stopsignal", "-r:QUIT", "x"], &[]),
            (NEEDS_VALUE, "-stopsignal".into())
        );
        // \-r:QUIT before any command is no option.
        assert_eq!(
            err(&["\\-r:QUIT", "x"], &[]),
            (UNEXPECTED, "\\-r:QUIT".into())
        );
    }

    #[test]
    fn code_set() {
        let mut set = CodeSet::default();
        for c in [0u8, 63, 64, 127, 128, 191, 192, 255] {
            assert!(!set.contains(c));
            set.insert(c);
            assert!(set.contains(c));
        }
        assert!(!set.contains(1) && !set.contains(254));
    }
}
