//! Fixed static storage, handed out once. It lives in `.bss`: it costs
//! neither binary size nor memory until a page of it is touched.

use super::Static;
use crate::command::Program;
use crate::table::{PROC_MAX, Table};

/// Bytes for startup's expanded words, copied strings and resolved paths.
pub const STARTUP_BYTES: usize = 256 * 1024;
/// argv/envp pointer slots for startup (every argument word plus one NULL
/// per command, and the environment when GOMAXPROCS is added).
pub const STARTUP_PTRS: usize = 24 * 1024;

/// Bytes and argv slots for one socket request (reused for each).
pub const SOCKET_BYTES: usize = 16 * 1024;
pub const SOCKET_PTRS: usize = 1024;

pub struct Startup {
    pub socket_bytes: &'static mut [u8],
    pub socket_ptrs: &'static mut [*const u8],
    pub bytes: &'static mut [u8],
    pub ptrs: &'static mut [*const u8],
    pub programs: &'static mut heapless::Vec<Program<'static>, PROC_MAX>,
    pub table: &'static mut Table,
}

static BYTES: Static<[u8; STARTUP_BYTES]> = Static::new([0; STARTUP_BYTES]);
static PTRS: Static<[*const u8; STARTUP_PTRS]> = Static::new([core::ptr::null(); STARTUP_PTRS]);
static PROGRAMS: Static<heapless::Vec<Program<'static>, PROC_MAX>> =
    Static::new(heapless::Vec::new());
static TABLE: Static<Table> = Static::new(Table::new());
static SOCKET_BYTES_: Static<[u8; SOCKET_BYTES]> = Static::new([0; SOCKET_BYTES]);
static SOCKET_PTRS_: Static<[*const u8; SOCKET_PTRS]> =
    Static::new([core::ptr::null(); SOCKET_PTRS]);
static TAKEN: Static<bool> = Static::new(false);

/// The startup storage; `None` on a second call.
pub fn startup() -> Option<Startup> {
    // SAFETY: one thread; TAKEN is only touched here, and the references
    // below are handed out once (guarded by TAKEN), so none alias.
    unsafe {
        let taken = TAKEN.get();
        if *taken {
            return None;
        }
        *taken = true;
        Some(Startup {
            socket_bytes: SOCKET_BYTES_.get(),
            socket_ptrs: SOCKET_PTRS_.get(),
            bytes: BYTES.get(),
            ptrs: PTRS.get(),
            programs: PROGRAMS.get(),
            table: TABLE.get(),
        })
    }
}

static CONNS: Static<heapless::Vec<crate::socket::Conn, { crate::socket::SLOTS }>> =
    Static::new(heapless::Vec::new());
static CONNS_TAKEN: Static<bool> = Static::new(false);

/// The socket's connection slots; `None` on a second call.
pub fn connections()
-> Option<&'static mut heapless::Vec<crate::socket::Conn, { crate::socket::SLOTS }>> {
    // SAFETY: one thread; handed out once (guarded by CONNS_TAKEN), so the
    // reference never aliases.
    unsafe {
        let taken = CONNS_TAKEN.get();
        if *taken {
            return None;
        }
        *taken = true;
        Some(CONNS.get())
    }
}
