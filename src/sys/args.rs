//! argv and envp as byte slices, in place: the strings are the kernel's,
//! only the slice headers are stored, in fixed static storage. Also the
//! auxiliary vector, for the page size.

use super::Static;
use core::mem::MaybeUninit;

/// The most argument words dinit accepts after its own name (beyond that:
/// a usage error); the README states this number.
pub const ARGS_MAX: usize = 16384;

/// argv: dinit's name and up to `ARGS_MAX` arguments.
static ARGS: Static<[MaybeUninit<&'static [u8]>; ARGS_MAX + 1]> =
    Static::new([const { MaybeUninit::uninit() }; ARGS_MAX + 1]);
static ENVP: Static<*const *const u8> = Static::new(core::ptr::null());
/// The auxiliary vector: (key, value) pairs up to the key `AT_NULL` (0).
static AUXV: Static<*const usize> = Static::new(core::ptr::null());

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

/// Read what the kernel put on the initial stack at `sp` (the System V ABI
/// process start, the same on x86_64 and aarch64): `argc`, the `argc`
/// pointers of argv and a NULL, the environment's pointers and a NULL,
/// then the auxiliary vector. Returns argv as `&[&[u8]]`, or `Err(argc)`
/// when there are more than `ARGS_MAX` arguments after argv[0]; remembers
/// envp and the auxiliary vector. Call once, from the
/// entry point.
///
/// # Safety
///
/// `sp` must be the stack pointer the kernel started the process with, and
/// this must be called only once.
pub unsafe fn init(sp: *const usize) -> Result<&'static [&'static [u8]], usize> {
    // SAFETY: the kernel's layout (contract): argc, then argv and its NULL.
    let (n, argv) = unsafe { (*sp, sp.add(1) as *const *const u8) };
    // SAFETY: the environment follows argv's NULL, and the auxiliary
    // vector follows the environment's NULL.
    let envp = unsafe { argv.add(n + 1) };
    let mut end = envp;
    // SAFETY: the environment is NULL-terminated (the kernel's layout).
    while !unsafe { *end }.is_null() {
        // SAFETY: before the NULL, so within the array.
        end = unsafe { end.add(1) };
    }
    // SAFETY: called once (contract), so no other reference to ENVP, AUXV
    // or ARGS exists; the auxiliary vector starts after the NULL.
    unsafe {
        *ENVP.get() = envp;
        *AUXV.get() = end.add(1) as *const usize;
    }
    if n > ARGS_MAX + 1 {
        return Err(n);
    }
    // SAFETY: called once (contract), no other reference to ARGS exists.
    let store = unsafe { ARGS.get() };
    for (i, slot) in store.iter_mut().take(n).enumerate() {
        // SAFETY: i < argc, and each argv[i] is a valid string (the
        // kernel's layout).
        slot.write(unsafe { cstr(*argv.add(i)) });
    }
    // SAFETY: the first `n` elements were just initialized.
    Ok(unsafe { core::slice::from_raw_parts(store.as_ptr() as *const &'static [u8], n) })
}

/// `getauxval(key)`: the value the kernel gave for `key` (`AT_PAGESZ`,
/// ...) in the auxiliary vector; `None` when it gave none.
pub fn auxv(key: usize) -> Option<usize> {
    // SAFETY: AUXV is written once in `init`, before any reader runs; it is
    // null or the kernel's vector.
    let found = unsafe { aux_value(*AUXV.get(), key) };
    // The unit tests start through std and libc, not through dinit's
    // entry, so `init` never ran there: libc kept the vector.
    #[cfg(test)]
    let found = found.or_else(|| {
        unsafe extern "C" {
            fn getauxval(key: core::ffi::c_ulong) -> core::ffi::c_ulong;
        }
        // SAFETY: libc's getauxval takes an integer and reads the vector
        // its start-up saved.
        let v = unsafe { getauxval(key as core::ffi::c_ulong) };
        (v != 0).then_some(v as usize)
    });
    found
}

/// The value for `key` in the auxiliary vector at `p`, if `p` is not null.
///
/// # Safety
///
/// `p` is null or points to (key, value) pairs ending with key 0.
unsafe fn aux_value(mut p: *const usize, key: usize) -> Option<usize> {
    if p.is_null() {
        return None;
    }
    loop {
        // SAFETY: `p` walks the (key, value) pairs, which end at key 0
        // (AT_NULL), and stops there.
        let (k, v) = unsafe { (*p, *p.add(1)) };
        match k {
            0 => return None,
            _ if k == key => return Some(v),
            // SAFETY: not the last pair, so the next one is in the vector.
            _ => p = unsafe { p.add(2) },
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aux_values_are_found_by_key() {
        const AT_PAGESZ: usize = 6;
        let v: [usize; 6] = [3, 7, AT_PAGESZ, 4096, 0, 0];
        // SAFETY: `v` is a vector of pairs that ends with key 0.
        unsafe {
            assert_eq!(aux_value(v.as_ptr(), AT_PAGESZ), Some(4096));
            assert_eq!(aux_value(v.as_ptr(), 3), Some(7));
            assert_eq!(aux_value(v.as_ptr(), 25), None);
            assert_eq!(aux_value(core::ptr::null(), AT_PAGESZ), None);
        }
    }
}
