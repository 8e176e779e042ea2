//! The process table: a fixed array of `PROC_MAX` slots, one per managed
//! child (command-line or submitted). A pid is in the table from the moment
//! `spawn` returns it until the `waitpid` that reaps it removes it in the
//! same step, so every pid here is dinit's own live or zombie child, never a
//! reused pid. Nothing here allocates.

/// Capacity of the table (SPEC §5: at least 256).
pub const PROC_MAX: usize = 256;
/// Bytes of the command kept for log lines and `-list` (longer ones are cut).
pub const CMD_MAX: usize = 120;

/// A command line kept for log lines and `-list`: its words joined by
/// spaces, cut at `CMD_MAX` bytes.
#[derive(Clone, Copy, Debug)]
pub struct CmdText {
    buf: [u8; CMD_MAX],
    len: u8,
    cut: bool,
}

impl Default for CmdText {
    fn default() -> Self {
        Self::EMPTY
    }
}

impl CmdText {
    pub const EMPTY: CmdText = CmdText {
        buf: [0; CMD_MAX],
        len: 0,
        cut: false,
    };

    /// Append a word (with a space before all but the first).
    pub fn push_word(&mut self, word: &[u8]) {
        let sep: &[u8] = if self.len == 0 && !self.cut {
            b""
        } else {
            b" "
        };
        for &b in sep.iter().chain(word) {
            if self.len as usize == CMD_MAX {
                self.cut = true;
                return;
            }
            self.buf[self.len as usize] = b;
            self.len += 1;
        }
    }

    pub fn from_words(words: &[&[u8]]) -> CmdText {
        let mut c = CmdText::EMPTY;
        for w in words {
            c.push_word(w);
        }
        c
    }

    /// The command as `/bin/sleep 2` (cut to `CMD_MAX` bytes).
    pub fn bytes(&self) -> &[u8] {
        &self.buf[..self.len as usize]
    }

    /// Whether the command was cut.
    pub fn cut(&self) -> bool {
        self.cut
    }
}

impl core::fmt::Display for CmdText {
    /// `[/bin/sleep 2]`, as the original dinit printed commands.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let cut = if self.cut { " ..." } else { "" };
        write!(f, "[{}{cut}]", crate::error::Bytes(self.bytes()))
    }
}

#[derive(Clone, Copy, Debug)]
pub struct Proc {
    pub pid: i32,
    pub primary: bool,
    /// Its own stop signal (`-r:SIG`), 0 for "the one teardown sends".
    pub stop_signal: u8,
    pub started_ms: u64,
    pub cmd: CmdText,
}

impl Proc {
    const EMPTY: Proc = Proc {
        pid: 0,
        primary: false,
        stop_signal: 0,
        started_ms: 0,
        cmd: CmdText::EMPTY,
    };
}

/// The table is full.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Full;

pub struct Table {
    /// The pid of each slot (0 = free), apart from the slots themselves: a
    /// lookup (once per reaped child, orphans included) scans 1 KiB, not
    /// 256 full slots — that matters in a storm of thousands of orphans.
    pids: [i32; PROC_MAX],
    slots: [Proc; PROC_MAX],
    len: usize,
}

impl Default for Table {
    fn default() -> Self {
        Self::new()
    }
}

impl Table {
    pub const fn new() -> Table {
        Table {
            pids: [0; PROC_MAX],
            slots: [Proc::EMPTY; PROC_MAX],
            len: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn is_full(&self) -> bool {
        self.len == PROC_MAX
    }

    fn index(&self, pid: i32) -> Option<usize> {
        self.pids.iter().position(|&p| p == pid)
    }

    /// Record a new child (`proc.pid` is its pid).
    pub fn insert(&mut self, proc: Proc) -> Result<(), Full> {
        let i = self.index(0).ok_or(Full)?;
        self.pids[i] = proc.pid;
        self.slots[i] = proc;
        self.len += 1;
        Ok(())
    }

    pub fn get(&self, pid: i32) -> Option<&Proc> {
        if pid <= 0 {
            return None;
        }
        self.index(pid).map(|i| &self.slots[i])
    }

    /// Take `pid` out of the table (when it has been reaped).
    pub fn remove(&mut self, pid: i32) -> Option<Proc> {
        if pid <= 0 {
            return None;
        }
        let i = self.index(pid)?;
        self.pids[i] = 0;
        self.len -= 1;
        Some(self.slots[i])
    }

    pub fn iter(&self) -> impl Iterator<Item = &Proc> {
        self.pids
            .iter()
            .zip(self.slots.iter())
            .filter(|(pid, _)| **pid != 0)
            .map(|(_, p)| p)
    }
}

/// How many adopted orphans teardown remembers having signalled at once.
pub const ORPHAN_MAX: usize = PROC_MAX;

/// The orphans teardown has signalled (SPEC §10), so that each gets the
/// stop signal once however often dinit looks at its children: a pid for
/// "sent the stop signal", its negation for "sent SIGKILL". A pid leaves
/// when it is reaped. When the set is full, a new orphan is not sent the
/// stop signal (it could not be remembered, and a second SIGTERM means
/// "now" to many programs, dinit included) but is still SIGKILLed at the
/// deadline.
pub struct OrphanSet {
    pids: [i32; ORPHAN_MAX],
}

impl Default for OrphanSet {
    fn default() -> Self {
        Self::new()
    }
}

impl OrphanSet {
    pub const fn new() -> OrphanSet {
        OrphanSet {
            pids: [0; ORPHAN_MAX],
        }
    }

    /// Record that `pid` is about to be sent the stop signal (`kill` false)
    /// or SIGKILL; false when it needs nothing: stop-signalled or killed
    /// before (for the stop signal), killed before (for SIGKILL), or no
    /// room to remember a stop signal.
    pub fn mark(&mut self, pid: i32, kill: bool) -> bool {
        let want = if kill { -pid } else { pid };
        if let Some(slot) = self.pids.iter_mut().find(|p| **p == pid || **p == -pid) {
            if *slot == -pid || !kill {
                return false;
            }
            *slot = want;
            return true;
        }
        match self.pids.iter_mut().find(|p| **p == 0) {
            Some(slot) => {
                *slot = want;
                true
            }
            None => kill,
        }
    }

    /// Whether `pid` was marked (stop signal or SIGKILL).
    pub fn contains(&self, pid: i32) -> bool {
        pid > 0 && self.pids.iter().any(|&p| p == pid || p == -pid)
    }

    /// `pid` was reaped.
    pub fn remove(&mut self, pid: i32) {
        if pid <= 0 {
            return;
        }
        if let Some(slot) = self.pids.iter_mut().find(|p| **p == pid || **p == -pid) {
            *slot = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proc(pid: i32, primary: bool, words: &[&[u8]]) -> Proc {
        Proc {
            pid,
            primary,
            stop_signal: 0,
            started_ms: 0,
            cmd: CmdText::from_words(words),
        }
    }

    #[test]
    fn insert_remove_full() {
        let mut t = Box::new(Table::new());
        for pid in 1..=PROC_MAX as i32 {
            t.insert(proc(pid, pid == 1, &[b"x"])).unwrap();
        }
        assert!(t.is_full());
        assert_eq!(t.insert(proc(999, false, &[b"x"])), Err(Full));
        assert!(t.remove(1).unwrap().primary);
        assert!(t.remove(1).is_none());
        assert!(t.remove(0).is_none());
        t.insert(proc(999, false, &[b"y"])).unwrap();
        assert_eq!(t.len(), PROC_MAX);
        assert_eq!(t.iter().count(), PROC_MAX);
    }

    #[test]
    fn command_is_kept_and_cut() {
        let mut t = Table::new();
        t.insert(proc(5, false, &[b"/bin/sleep", b"2"])).unwrap();
        let p = t.get(5).unwrap();
        assert_eq!(p.cmd.bytes(), b"/bin/sleep 2");
        assert_eq!(p.cmd.to_string(), "[/bin/sleep 2]");
        let long = [b'a'; 300];
        t.insert(proc(6, false, &[&long])).unwrap();
        let p = t.remove(6).unwrap();
        assert_eq!(p.cmd.bytes().len(), CMD_MAX);
        assert!(p.cmd.cut());
        assert!(p.cmd.to_string().ends_with(" ...]"));
    }

    #[test]
    fn orphan_set_signals_each_once() {
        let mut o = OrphanSet::new();
        assert!(o.mark(7, false));
        assert!(!o.mark(7, false), "a second stop signal");
        assert!(o.mark(7, true), "SIGKILL after the stop signal");
        assert!(!o.mark(7, true), "a second SIGKILL");
        assert!(!o.mark(7, false), "the stop signal after SIGKILL");
        assert!(o.mark(8, true));
        assert!(!o.mark(8, false));
        o.remove(7);
        o.remove(0);
        o.remove(-8);
        assert!(o.mark(7, false), "a reaped pid is forgotten");
        // Full: no stop signal for a newcomer, SIGKILL still.
        let mut o = OrphanSet::new();
        for pid in 1..=ORPHAN_MAX as i32 {
            assert!(o.mark(pid, false));
        }
        assert!(!o.mark(9_999, false));
        assert!(o.mark(9_999, true));
        assert!(o.mark(9_999, true), "not remembered");
        o.remove(3);
        assert!(o.mark(9_999, false));
    }
}
