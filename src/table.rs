//! The process table: a fixed array of `PROC_MAX` slots, one per managed
//! child (command-line or submitted). A pid is in the table from the moment
//! `spawn` returns it until the `waitpid` that reaps it removes it in the
//! same step, so every pid here is dinit's own live or zombie child, never a
//! reused pid. Nothing here allocates.

/// Capacity of the table (SPEC §5: at least 256).
pub const PROC_MAX: usize = 256;
/// Bytes of the command kept for log lines and `-list` (longer ones are cut).
pub const CMD_MAX: usize = 120;
/// Bytes of a program's file name kept for `-signal` by name.
pub const NAME_MAX: usize = 64;

/// A command line kept for log lines and `-list`: its words joined by
/// spaces, cut at `CMD_MAX` bytes.
#[derive(Clone, Copy, Debug)]
pub struct CmdText {
    buf: [u8; CMD_MAX],
    len: u8,
    cut: bool,
    /// The length of the first word (the program) when it is there whole;
    /// 0 when it was cut (a program word is never empty).
    first: u8,
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
        first: 0,
    };

    /// Append a word (with a space before all but the first).
    pub fn push_word(&mut self, word: &[u8]) {
        let first = self.len == 0 && !self.cut;
        let sep: &[u8] = if first { b"" } else { b" " };
        for &b in sep.iter().chain(word) {
            if self.len as usize == CMD_MAX {
                self.cut = true;
                return;
            }
            self.buf[self.len as usize] = b;
            self.len += 1;
        }
        if first {
            self.first = self.len;
        }
    }

    /// The first word, the program as it was given (before any `$PATH`
    /// lookup), when it is there whole; empty when it was cut.
    pub fn program(&self) -> &[u8] {
        &self.buf[..usize::from(self.first)]
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

/// A program's file name, the last component of its path, kept apart from
/// the command (which may cut a long path) for `-signal` by name (SPEC
/// §5): `nginx` for `/usr/sbin/nginx`. A name longer than `NAME_MAX` is
/// not kept (it is empty here): such a program is reached by its pid, or
/// its path.
#[derive(Clone, Copy, Debug)]
pub struct ProgName {
    buf: [u8; NAME_MAX],
    len: u8,
}

impl Default for ProgName {
    fn default() -> Self {
        Self::EMPTY
    }
}

impl ProgName {
    pub const EMPTY: ProgName = ProgName {
        buf: [0; NAME_MAX],
        len: 0,
    };

    /// The file name of `program` (a path, or a name looked up in `$PATH`).
    pub fn of(program: &[u8]) -> ProgName {
        let name = crate::role::basename(program);
        let mut n = ProgName::EMPTY;
        if name.len() <= NAME_MAX {
            n.buf[..name.len()].copy_from_slice(name);
            n.len = name.len() as u8;
        }
        n
    }

    /// The name; empty when it was too long to keep.
    pub fn bytes(&self) -> &[u8] {
        &self.buf[..usize::from(self.len)]
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
    /// dinit sent it SIGKILL: it runs nothing any more (it may still be
    /// stuck in the kernel), it only waits to be reaped.
    pub killed: bool,
    pub started_ms: u64,
    pub cmd: CmdText,
    /// Its program's file name (`-signal` by name).
    pub name: ProgName,
    pub state: State,
    /// The socket connection whose line started it (its epoll token), 0
    /// for a command-line process.
    pub conn: u64,
}

/// Where a managed process is in its life. (`repr(u8)`: its tag is a
/// byte of its own, 0 for the first variant, where a bare enum may hide
/// it in `signalled`'s spare values.)
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum State {
    /// Its exec happened. (The first variant: an empty table is all zero
    /// bytes, so it lives in `.bss`, not in the binary.)
    Running,
    /// Forked; its exec has not reported yet. `signalled`: dinit has sent
    /// it a signal since (a stop signal, SIGKILL), which may have ended it
    /// before its exec: end of file on its report pipe then does not say
    /// that it started.
    Starting { signalled: bool },
    /// Its exec failed (reported): no longer managed, only not reaped yet.
    Failed,
}

impl Proc {
    const EMPTY: Proc = Proc {
        pid: 0,
        primary: false,
        killed: false,
        started_ms: 0,
        cmd: CmdText::EMPTY,
        name: ProgName::EMPTY,
        state: State::Running,
        conn: 0,
    };

    /// Whether it counts as a managed process: its exec did not fail.
    pub fn is_managed(&self) -> bool {
        self.state != State::Failed
    }
}

/// The table is full.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Full;

/// A map from pid to a small number, in fixed storage, with O(1) lookup,
/// insertion and removal: open addressing with linear probing, at most
/// half full, and removal by shifting the entries that follow back (no
/// tombstones, so a long run never slows down). Once per reaped child —
/// thousands of times in an orphan storm — dinit asks whether the pid is
/// in the table and in the orphan set; a scan of 256 entries each time was
/// most of what it spent beyond tini there.
pub struct PidMap<const N: usize> {
    /// 0 for an empty slot (pids are positive).
    pids: [i32; N],
    vals: [u16; N],
    len: usize,
}

impl<const N: usize> Default for PidMap<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> PidMap<N> {
    /// The most entries: half the slots, so a probe ends soon.
    pub const CAPACITY: usize = N / 2;

    pub const fn new() -> Self {
        assert!(N.is_power_of_two() && N <= 1 << 16);
        PidMap {
            pids: [0; N],
            vals: [0; N],
            len: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The slot a pid's probe starts at (Fibonacci hashing: consecutive
    /// pids spread over the whole array).
    fn home(pid: i32) -> usize {
        ((pid as u32).wrapping_mul(0x9E37_79B9) >> 16) as usize & (N - 1)
    }

    /// `Ok(slot)` holding `pid`, or `Err(slot)`: the empty one it would go in.
    fn find(&self, pid: i32) -> Result<usize, usize> {
        let mut i = Self::home(pid);
        loop {
            match self.pids[i] {
                0 => return Err(i),
                p if p == pid => return Ok(i),
                _ => i = (i + 1) & (N - 1),
            }
        }
    }

    pub fn get(&self, pid: i32) -> Option<u16> {
        if pid <= 0 {
            return None;
        }
        self.find(pid).ok().map(|i| self.vals[i])
    }

    pub fn contains(&self, pid: i32) -> bool {
        self.get(pid).is_some()
    }

    /// Set `pid`'s value; false when it is new and the map is full (or the
    /// pid is not positive).
    pub fn insert(&mut self, pid: i32, val: u16) -> bool {
        if pid <= 0 {
            return false;
        }
        match self.find(pid) {
            Ok(i) => self.vals[i] = val,
            Err(_) if self.len == Self::CAPACITY => return false,
            Err(i) => {
                self.pids[i] = pid;
                self.vals[i] = val;
                self.len += 1;
            }
        }
        true
    }

    /// Take `pid` out; its value, if it was there.
    pub fn remove(&mut self, pid: i32) -> Option<u16> {
        if pid <= 0 || self.len == 0 {
            return None;
        }
        let mut hole = self.find(pid).ok()?;
        let val = self.vals[hole];
        // Close the hole: an entry further along the run moves back into
        // it unless its home lies (cyclically) after the hole.
        let mut j = hole;
        loop {
            j = (j + 1) & (N - 1);
            let p = self.pids[j];
            if p == 0 {
                break;
            }
            let home = Self::home(p);
            let stays = if hole <= j {
                hole < home && home <= j
            } else {
                hole < home || home <= j
            };
            if !stays {
                self.pids[hole] = p;
                self.vals[hole] = self.vals[j];
                hole = j;
            }
        }
        self.pids[hole] = 0;
        self.len -= 1;
        Some(val)
    }
}

/// Slots of the table's pid index: twice `PROC_MAX`.
const INDEX_SLOTS: usize = 2 * PROC_MAX;

pub struct Table {
    /// The pid in each slot (0 = free), for iteration.
    pids: [i32; PROC_MAX],
    slots: [Proc; PROC_MAX],
    /// pid → slot.
    index: PidMap<INDEX_SLOTS>,
    /// Slots freed by a removal, a stack; slots from `fresh` on were never
    /// used. (So a new table is all zero bytes and lives in `.bss`.)
    free: [u16; PROC_MAX],
    nfree: usize,
    fresh: usize,
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
            index: PidMap::new(),
            free: [0; PROC_MAX],
            nfree: 0,
            fresh: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.index.len()
    }

    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    pub fn is_full(&self) -> bool {
        self.len() == PROC_MAX
    }

    /// Record a new child (`proc.pid` is its pid).
    pub fn insert(&mut self, proc: Proc) -> Result<(), Full> {
        if self.is_full() || self.index.contains(proc.pid) {
            return Err(Full);
        }
        let i = if self.nfree > 0 {
            usize::from(self.free[self.nfree - 1])
        } else {
            self.fresh
        };
        if !self.index.insert(proc.pid, i as u16) {
            return Err(Full);
        }
        if self.nfree > 0 {
            self.nfree -= 1;
        } else {
            self.fresh += 1;
        }
        self.pids[i] = proc.pid;
        self.slots[i] = proc;
        Ok(())
    }

    pub fn get(&self, pid: i32) -> Option<&Proc> {
        self.index.get(pid).map(|i| &self.slots[usize::from(i)])
    }

    pub fn get_mut(&mut self, pid: i32) -> Option<&mut Proc> {
        self.index.get(pid).map(|i| &mut self.slots[usize::from(i)])
    }

    /// Take `pid` out of the table (when it has been reaped).
    pub fn remove(&mut self, pid: i32) -> Option<Proc> {
        let i = usize::from(self.index.remove(pid)?);
        self.pids[i] = 0;
        self.free[self.nfree] = i as u16;
        self.nfree += 1;
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
/// stop signal once however often dinit looks at its children. A pid
/// leaves when it is reaped. When the set is full, a new orphan is not sent
/// the stop signal (it could not be remembered, and a second SIGTERM means
/// "now" to many programs, dinit included) but is still SIGKILLed at the
/// deadline.
#[derive(Default)]
pub struct OrphanSet {
    /// pid → `STOPPED` or `KILLED`.
    pids: PidMap<{ 2 * ORPHAN_MAX }>,
}

const STOPPED: u16 = 1;
const KILLED: u16 = 2;

impl OrphanSet {
    pub const fn new() -> OrphanSet {
        OrphanSet {
            pids: PidMap::new(),
        }
    }

    /// Record that `pid` is about to be sent the stop signal (`kill` false)
    /// or SIGKILL; false when it needs nothing: stop-signalled or killed
    /// before (for the stop signal), killed before (for SIGKILL), or no
    /// room to remember a stop signal.
    pub fn mark(&mut self, pid: i32, kill: bool) -> bool {
        match (self.pids.get(pid), kill) {
            (Some(KILLED), _) | (Some(_), false) => false,
            (_, true) => {
                // Remembered if there is room; sent either way.
                self.pids.insert(pid, KILLED);
                true
            }
            (None, false) => self.pids.insert(pid, STOPPED),
        }
    }

    /// Whether `pid` was marked (stop signal or SIGKILL).
    pub fn contains(&self, pid: i32) -> bool {
        self.pids.contains(pid)
    }

    /// `pid` was reaped.
    pub fn remove(&mut self, pid: i32) {
        if !self.pids.is_empty() {
            self.pids.remove(pid);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: 500,
            rng_algorithm: proptest::test_runner::RngAlgorithm::ChaCha,
            failure_persistence: None,
            ..ProptestConfig::default()
        })]

        /// The map against std's, with pids that collide a lot (a small
        /// range, and multiples of the table size).
        #[test]
        fn pid_map_is_a_map(ops in proptest::collection::vec(
            (0..3u8, prop_oneof![1..40i32, (1..20i32).prop_map(|k| k * 64), -2..1i32], any::<u16>()),
            0..400,
        )) {
            let mut m: PidMap<64> = PidMap::new();
            let mut want: HashMap<i32, u16> = HashMap::new();
            for (op, pid, val) in ops {
                match op {
                    0 => {
                        let fits = pid > 0 && (want.contains_key(&pid) || want.len() < 32);
                        prop_assert_eq!(m.insert(pid, val), fits);
                        if fits {
                            want.insert(pid, val);
                        }
                    }
                    1 => prop_assert_eq!(m.remove(pid), want.remove(&pid)),
                    _ => prop_assert_eq!(m.get(pid), want.get(&pid).copied()),
                }
                prop_assert_eq!(m.len(), want.len());
                for (&p, &v) in &want {
                    prop_assert_eq!(m.get(p), Some(v));
                }
            }
        }
    }

    fn proc(pid: i32, primary: bool, words: &[&[u8]]) -> Proc {
        Proc {
            pid,
            primary,
            cmd: CmdText::from_words(words),
            ..Proc::EMPTY
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
        assert_eq!(t.get(999).unwrap().cmd.bytes(), b"y");
        // A pid already there is refused, whatever the room.
        t.remove(999);
        t.insert(proc(5, false, &[b"z"])).unwrap_err();
        for pid in 1..=PROC_MAX as i32 {
            assert!(t.remove(pid).is_some() || pid == 1);
        }
        assert!(t.is_empty());
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
    fn the_program_is_kept_whole_or_not_at_all() {
        let c = CmdText::from_words(&[b"/opt/my app/run", b"-x"]);
        assert_eq!(c.program(), b"/opt/my app/run");
        let long = [b'a'; CMD_MAX + 1];
        let c = CmdText::from_words(&[&long, b"-x"]);
        assert_eq!(c.program(), b"");
        let exact = [b'b'; CMD_MAX];
        let c = CmdText::from_words(&[&exact, b"-x"]);
        assert_eq!((c.program(), c.cut()), (&exact[..], true));
        // File names: the last path component, whole, or nothing.
        assert_eq!(ProgName::of(b"/usr/sbin/nginx").bytes(), b"nginx");
        assert_eq!(ProgName::of(b"nginx").bytes(), b"nginx");
        assert_eq!(ProgName::of(b"/usr/sbin/").bytes(), b"");
        let name = [b'n'; NAME_MAX];
        let mut path = b"/very/long/directory/".to_vec();
        path.extend_from_slice(&[b'd'; 200]);
        path.push(b'/');
        path.extend_from_slice(&name);
        assert_eq!(ProgName::of(&path).bytes(), &name[..]);
        path.push(b'n');
        assert_eq!(ProgName::of(&path).bytes(), b"");
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
        assert!(o.contains(8));
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
