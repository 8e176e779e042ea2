//! Log lines: `YYYY/MM/DD HH:MM:SS dinit: MESSAGE` in UTC, one `write(2)`
//! each (under PIPE_BUF, so concurrent writers never interleave inside a
//! line). A line is built in a `[u8; LINE_MAX]` on the stack through
//! `core::fmt::Write`; an over-long message is cut with a marker, never an
//! error. Nothing here allocates, and a line stderr cannot take at once is
//! dropped and counted by `sys::out`, never waited for: logging must never
//! hurt PID 1.

use crate::error::{Num, decimal};
use core::fmt;
use core::sync::atomic::{AtomicBool, Ordering};

/// The longest log line, newline included.
pub const LINE_MAX: usize = 512;
// A drop notice and a line go out in one write of at most `OUT_MAX`.
const _: () = assert!(2 * LINE_MAX <= crate::sys::out::OUT_MAX);
const CUT_MARKER: &[u8] = b" [...]\n";

static QUIET: AtomicBool = AtomicBool::new(false);

/// `-quiet`: from now on only warnings and errors are written.
pub fn set_quiet(quiet: bool) {
    QUIET.store(quiet, Ordering::Relaxed);
}

pub fn quiet() -> bool {
    QUIET.load(Ordering::Relaxed)
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Level {
    /// Ordinary events; silenced by `-quiet`.
    Info,
    /// Warnings and errors; always written.
    Warn,
}

/// A line of text under construction: a log line, a socket reply, the
/// submit client's messages and requests. Text past `LINE_MAX` is cut
/// with a marker, never an error.
pub struct LogLine {
    buf: [u8; LINE_MAX],
    len: usize,
    cut: bool,
}

impl Default for LogLine {
    fn default() -> Self {
        Self::new()
    }
}

impl LogLine {
    pub const fn new() -> LogLine {
        LogLine {
            buf: [0; LINE_MAX],
            len: 0,
            cut: false,
        }
    }

    /// Append bytes, keeping room for the cut marker.
    pub fn push(&mut self, bytes: &[u8]) {
        let room = LINE_MAX - CUT_MARKER.len() - self.len;
        let n = bytes.len().min(room);
        self.buf[self.len..self.len + n].copy_from_slice(&bytes[..n]);
        self.len += n;
        if n < bytes.len() {
            self.cut = true;
        }
    }

    /// End the line with `\n` (or the cut marker) and return it.
    pub fn finish(&mut self) -> &[u8] {
        let tail: &[u8] = if self.cut { CUT_MARKER } else { b"\n" };
        self.buf[self.len..self.len + tail.len()].copy_from_slice(tail);
        &self.buf[..self.len + tail.len()]
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    /// `YYYY/MM/DD HH:MM:SS ` for `secs` since the epoch, UTC.
    pub fn stamp(&mut self, secs: i64) {
        write_stamp(self, secs);
    }
}

impl fmt::Write for LogLine {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.push(s.as_bytes());
        Ok(())
    }
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian
/// calendar (Howard Hinnant's `civil_from_days`).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Format and write one line (unless it is `Info` and `-quiet` is on),
/// through the writer that never waits (`sys::out`): a line stderr cannot
/// take at once is dropped and counted there, and the next line that gets
/// through carries the count.
pub fn emit(level: Level, args: fmt::Arguments<'_>) {
    if level == Level::Info && quiet() {
        return;
    }
    // Lines are being dropped and stderr still cannot take one: this one
    // is dropped too, before any clock read or formatting.
    if !crate::sys::out::log_ready() {
        return;
    }
    let secs = crate::sys::realtime_secs();
    let mut line = LogLine::new();
    line.stamp(secs);
    line.push(b"dinit: ");
    let _ = fmt::Write::write_fmt(&mut line, args);
    crate::sys::out::log_line(line.finish(), |buf, n| drop_notice(buf, secs, n));
}

/// `YYYY/MM/DD HH:MM:SS dinit: N log lines dropped` and a newline, into
/// `buf` (cut if it is too short); returns the length. The writer puts it
/// in the same write as the line it comes with, so the two can never be
/// separated. ("lines" even for one: the phrase stays the same for anyone
/// searching a log for it.)
pub fn drop_notice(buf: &mut [u8], secs: i64, dropped: u64) -> usize {
    let mut line = LogLine::new();
    line.stamp(secs);
    let _ = fmt::Write::write_fmt(
        &mut line,
        format_args!("dinit: {} log lines dropped", Num(dropped)),
    );
    let text = line.finish();
    let n = text.len().min(buf.len());
    buf[..n].copy_from_slice(&text[..n]);
    n
}

/// `YYYY/MM/DD HH:MM:SS ` for `secs` since the epoch, UTC.
fn write_stamp(out: &mut LogLine, secs: i64) {
    let days = secs.div_euclid(86_400);
    let tod = secs.rem_euclid(86_400) as u64;
    let (y, m, d) = civil_from_days(days);
    let fields = [
        (y.unsigned_abs(), 4, b'/'),
        (m.into(), 2, b'/'),
        (d.into(), 2, b' '),
        (tod / 3600, 2, b':'),
        (tod / 60 % 60, 2, b':'),
        (tod % 60, 2, b' '),
    ];
    // `{:04}` of the year: a year before 0 keeps its sign.
    let mut neg = y < 0;
    for (n, width, sep) in fields {
        let _ = decimal(out, neg, n, width);
        out.push(&[sep]);
        neg = false;
    }
}

/// An event (silenced by `-quiet`).
#[macro_export]
macro_rules! info {
    ($($arg:tt)*) => { $crate::log::emit($crate::log::Level::Info, format_args!($($arg)*)) };
}

/// A warning or error (always written).
#[macro_export]
macro_rules! warn {
    ($($arg:tt)*) => { $crate::log::emit($crate::log::Level::Warn, format_args!($($arg)*)) };
}

/// Summarizes an event that comes in storms, so that a storm gives a
/// handful of lines, not one per event: reaped orphans (a storm of
/// zombies), and failures that repeat at once (fork under a pids limit or
/// RLIMIT_NPROC, accept out of fds; SPEC §10 wants them rate-limited). The
/// first event is logged at once, later ones are counted and logged as one
/// line per interval. The interval starts at `ORPHAN_LOG_MS` and doubles
/// (up to `ORPHAN_LOG_MAX_MS`) while a storm goes on, so even a long storm
/// writes only a few lines.
#[derive(Debug, Default)]
pub struct Tally {
    pending: u32,
    last_ms: Option<u64>,
    /// The current interval; 0 means `ORPHAN_LOG_MS`.
    interval_ms: u64,
}

/// The least time between two summary lines.
pub const ORPHAN_LOG_MS: u64 = 1000;
/// The most time between two summary lines in a long storm.
pub const ORPHAN_LOG_MAX_MS: u64 = 60_000;

impl Tally {
    /// One event at `now`; returns a count to log now, if any.
    pub fn add(&mut self, now: u64) -> Option<u32> {
        self.pending = self.pending.saturating_add(1);
        self.flush(now)
    }

    /// One event, counted only: it is logged with the next line that is
    /// due (a teardown counts orphans without waking for their line).
    pub fn count(&mut self) {
        self.pending = self.pending.saturating_add(1);
    }

    /// The count to log at `now`, if the quiet interval has passed.
    pub fn flush(&mut self, now: u64) -> Option<u32> {
        if self.pending == 0 {
            return None;
        }
        let interval = self.interval_ms.max(ORPHAN_LOG_MS);
        if let Some(last) = self.last_ms
            && now < last + interval
        {
            return None;
        }
        // The previous line is recent: the storm goes on, space lines out.
        self.interval_ms = match self.last_ms {
            Some(last) if now < last + 2 * interval => (2 * interval).min(ORPHAN_LOG_MAX_MS),
            _ => ORPHAN_LOG_MS,
        };
        self.last_ms = Some(now);
        Some(core::mem::take(&mut self.pending))
    }

    /// When a pending count is due, if one is waiting.
    pub fn deadline(&self) -> Option<u64> {
        match (self.pending, self.last_ms) {
            (0, _) => None,
            (_, Some(last)) => Some(last + self.interval_ms.max(ORPHAN_LOG_MS)),
            (_, None) => Some(0),
        }
    }
}

/// ` (N failures since the last such line)` after a rate-limited warning
/// that stands for more than one failure; nothing for one.
pub struct Since(pub u32);

impl fmt::Display for Since {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            0 | 1 => Ok(()),
            n => write!(f, " ({} failures since the last such line)", Num(n)),
        }
    }
}

/// `1 more time`, `N more times`: a rate-limited warning's summary line.
pub struct More(pub u32);

impl fmt::Display for More {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = if self.0 == 1 { "" } else { "s" };
        write!(f, "{} more time{s}", Num(self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fmt::Write as _;

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        // 2000-02-29: 11016 days after the epoch.
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(11_017), (2000, 3, 1));
        // 2100-03-01 (2100 is not a leap year): 47541 days.
        assert_eq!(civil_from_days(47_540), (2100, 2, 28));
        assert_eq!(civil_from_days(47_541), (2100, 3, 1));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
    }

    #[test]
    fn stamp_format() {
        let mut l = LogLine::new();
        // 2026-11-28 14:20:41 UTC
        l.stamp(1_795_875_641);
        assert_eq!(l.as_bytes(), b"2026/11/28 14:20:41 ");
    }

    #[test]
    fn truncates_with_marker() {
        let mut l = LogLine::new();
        let long = "x".repeat(1000);
        write!(l, "{long}").unwrap();
        let out = l.finish();
        assert_eq!(out.len(), LINE_MAX);
        assert!(out.ends_with(b" [...]\n"));
        let mut s = LogLine::new();
        s.push(b"short");
        assert_eq!(s.finish(), b"short\n");
    }

    #[test]
    fn exactly_full_is_not_cut() {
        let mut l = LogLine::new();
        l.push(&[b'a'; LINE_MAX - CUT_MARKER.len()]);
        assert!(l.finish().ends_with(b"a\n"));
    }

    #[test]
    fn drop_notice_format() {
        let mut buf = [0u8; 2 * LINE_MAX];
        let n = drop_notice(&mut buf, 1_795_875_641, 3);
        assert_eq!(
            &buf[..n],
            b"2026/11/28 14:20:41 dinit: 3 log lines dropped\n"
        );
        let n = drop_notice(&mut buf, 1_795_875_641, 1);
        assert_eq!(
            &buf[..n],
            b"2026/11/28 14:20:41 dinit: 1 log lines dropped\n"
        );
        let n = drop_notice(&mut buf, 0, u64::MAX);
        assert_eq!(
            &buf[..n],
            b"1970/01/01 00:00:00 dinit: 18446744073709551615 log lines dropped\n"
        );
        // Too short a buffer: cut, never a panic.
        let mut small = [0u8; 10];
        assert_eq!(drop_notice(&mut small, 0, 5), 10);
        assert_eq!(&small, b"1970/01/01");
    }

    #[test]
    fn rate_limited_warnings_say_how_many() {
        assert_eq!(format!("x{}", Since(0)), "x");
        assert_eq!(format!("x{}", Since(1)), "x");
        assert_eq!(
            format!("x{}", Since(7)),
            "x (7 failures since the last such line)"
        );
        assert_eq!(format!("{}", More(1)), "1 more time");
        assert_eq!(format!("{}", More(9)), "9 more times");
    }

    #[test]
    fn orphan_log_summarizes() {
        let mut o = Tally::default();
        assert_eq!(o.deadline(), None);
        assert_eq!(o.add(100), Some(1));
        for t in 101..600 {
            assert_eq!(o.add(t), None);
        }
        assert_eq!(o.deadline(), Some(1100));
        assert_eq!(o.flush(1099), None);
        assert_eq!(o.flush(1100), Some(499));
        assert_eq!(o.deadline(), None);
        // The storm went on: the next line comes two intervals later.
        assert_eq!(o.add(1200), None);
        assert_eq!(o.deadline(), Some(3100));
        assert_eq!(o.flush(3099), None);
        assert_eq!(o.flush(3100), Some(1));
        assert_eq!(o.flush(9000), None);
    }

    #[test]
    fn orphan_log_backs_off_in_a_long_storm() {
        let mut o = Tally::default();
        let mut lines = 0;
        // One orphan every 10 ms for 10 minutes.
        for t in (0..600_000).step_by(10) {
            lines += o.add(t).is_some() as u32;
        }
        // 0, 1, 3, 7, 15, 31, 63 s, then once a minute.
        assert!(lines <= 16, "{lines}");
        // After a quiet spell the interval is short again.
        let mut o = Tally::default();
        assert_eq!(o.add(0), Some(1));
        o.add(500);
        assert_eq!(o.flush(1000), Some(1));
        assert_eq!(o.add(100_000), Some(1));
        assert_eq!(o.deadline(), None);
        o.add(100_001);
        assert_eq!(o.deadline(), Some(101_000));
    }
}
