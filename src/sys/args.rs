//! argv and envp as byte slices, in place: the strings are the kernel's,
//! only the slice headers are stored, in fixed static storage.

use super::Static;
use core::mem::MaybeUninit;

/// The most argument words dinit accepts after its own name (beyond that:
/// a usage error); the README states this number.
pub const ARGS_MAX: usize = 16384;

/// argv: dinit's name and up to `ARGS_MAX` arguments.
static ARGS: Static<[MaybeUninit<&'static [u8]>; ARGS_MAX + 1]> =
    Static::new([const { MaybeUninit::uninit() }; ARGS_MAX + 1]);
static ENVP: Static<*const *const u8> = Static::new(core::ptr::null());

/// The length of a NUL-terminated string.
///
/// # Safety
///
/// `p` must point to a NUL-terminated string that lives for `'static`.
unsafe fn cstr(p: *const u8) -> &'static [u8] {
    let mut n = 0;
    // SAFETY: the string is NUL-terminated (contract), so every byte up to
    // and including the NUL is readable.
    while unsafe { *p.add(n) } != 0 {
        n += 1;
    }
    // SAFETY: `n` bytes from `p` were just read; they live for 'static.
    unsafe { core::slice::from_raw_parts(p, n) }
}

/// Turn `main`'s argv into `&[&[u8]]` and remember envp. Returns `None` when
/// there are more than `ARGS_MAX` arguments after argv[0]. Call once, from
/// `main`.
///
/// # Safety
///
/// `argv` must hold `argc` valid pointers to NUL-terminated strings and
/// `envp` a NULL-terminated array of them, all living for the process
/// (as `__libc_start_main` passes them), and this must be called only once.
pub unsafe fn init(
    argc: i32,
    argv: *const *const u8,
    envp: *const *const u8,
) -> Option<&'static [&'static [u8]]> {
    // SAFETY: called once (contract), so no other reference to ENVP/ARGS exists.
    unsafe { *ENVP.get() = envp };
    let n = usize::try_from(argc).unwrap_or(0);
    if n > ARGS_MAX + 1 {
        return None;
    }
    // SAFETY: called once (contract), no other reference to ARGS exists.
    let store = unsafe { ARGS.get() };
    for (i, slot) in store.iter_mut().take(n).enumerate() {
        // SAFETY: i < argc, and each argv[i] is a valid string (contract).
        slot.write(unsafe { cstr(*argv.add(i)) });
    }
    // SAFETY: the first `n` elements were just initialized.
    Some(unsafe { core::slice::from_raw_parts(store.as_ptr() as *const &'static [u8], n) })
}

/// The environment dinit was given, as the raw NULL-terminated array, for
/// passing to children unchanged.
pub fn envp() -> *const *const u8 {
    // SAFETY: ENVP is written once in `init`, before any reader runs.
    unsafe { *ENVP.get() }
}

/// Every `NAME=value` entry of the environment (without its NUL).
pub fn environ() -> impl Iterator<Item = &'static [u8]> {
    Environ { p: envp() }.map(|e| &e[..e.len() - 1])
}

/// Every `NAME=value` entry of the environment, each with its NUL.
pub fn environ_with_nul() -> impl Iterator<Item = &'static [u8]> {
    Environ { p: envp() }
}

struct Environ {
    p: *const *const u8,
}

impl Iterator for Environ {
    type Item = &'static [u8];
    fn next(&mut self) -> Option<&'static [u8]> {
        if self.p.is_null() {
            return None;
        }
        // SAFETY: `p` walks a NULL-terminated array of valid strings (init's
        // contract) and stops at the NULL.
        let s = unsafe { *self.p };
        if s.is_null() {
            self.p = core::ptr::null();
            return None;
        }
        // SAFETY: as above; advancing stays within the array.
        self.p = unsafe { self.p.add(1) };
        // SAFETY: `s` is a valid NUL-terminated string living for 'static;
        // its NUL is part of it, so len + 1 bytes are readable.
        Some(unsafe {
            let without = cstr(s);
            core::slice::from_raw_parts(s, without.len() + 1)
        })
    }
}

/// `getenv(name)`: the value of the first `name=` entry.
pub fn getenv(name: &[u8]) -> Option<&'static [u8]> {
    environ().find_map(|e| match e.strip_prefix(name) {
        Some([b'=', value @ ..]) => Some(value),
        _ => None,
    })
}
