//! Entry point: block signals first, collect argv in place, run the role,
//! exit with its code. No options, no other syscalls here.
//!
//! The kernel starts dinit at `dinit_start` (build.rs makes it the ELF
//! entry), not at musl's `_start`: dinit needs nothing of musl's start-up
//! (`__libc_start_main`: thread-local storage and the thread pointer,
//! constructors, atexit, stdio). It has one thread and no thread-locals,
//! registers no constructors, never calls `exit` (it leaves with
//! `exit_group`), and reads errno from raw syscall returns, never from
//! libc's `errno`; of musl it links only memcpy and its kin, which need no
//! set-up. argv, envp and the auxiliary vector are read straight from the
//! initial stack (`sys::args::init`). This saves about 1.5 KiB of
//! start-up code that did nothing for dinit. Two things musl's start-up
//! did are left out on purpose: self-relocation (dinit is linked plain
//! static, never static-pie; build.rs refuses a build without
//! `relocation-model=static`), and the secure-exec check that reopens a
//! closed fd 0-2 on `/dev/null` for a setuid program (dinit is never
//! installed setuid or with file capabilities; as PID 1 it is started by
//! the runtime with 0-2 open).
// The entry points and the panic handler are exported symbols, which the
// unsafe_code lint counts as unsafe.
#![allow(unsafe_code)]
#![no_std]
#![no_main]

// musl's memcpy, memmove, memset, memcmp and strlen, which core calls.
#[link(name = "c", kind = "static")]
unsafe extern "C" {}

// `dinit_start`: the stack pointer the kernel set (pointing at argc) to
// `start` as its argument, the stack aligned to 16 bytes as the ABI wants
// at a call, and no return address or frame to unwind into.
#[cfg(target_arch = "x86_64")]
core::arch::global_asm!(
    ".text",
    ".p2align 4",
    ".globl dinit_start",
    ".type dinit_start, @function",
    "dinit_start:",
    "xor ebp, ebp",
    "mov rdi, rsp",
    "and rsp, -16",
    "call {start}",
    "ud2",
    ".size dinit_start, . - dinit_start",
    start = sym start,
);
#[cfg(target_arch = "aarch64")]
core::arch::global_asm!(
    ".text",
    ".p2align 2",
    ".globl dinit_start",
    ".type dinit_start, %function",
    "dinit_start:",
    "mov x29, xzr",
    "mov x30, xzr",
    "mov x0, sp",
    "and sp, x0, #-16",
    "bl {start}",
    "brk #0",
    ".size dinit_start, . - dinit_start",
    start = sym start,
);

/// # Safety
///
/// Called once, by `dinit_start`, with the kernel's initial stack pointer.
unsafe extern "C" fn start(sp: *const usize) -> ! {
    // First thing: block every catchable signal, so none is lost (or, as
    // PID 1, dropped) before the signalfd exists (SPEC §4).
    let old_mask = dinit::sys::signals::block(dinit::signals::CATCHABLE);
    // SAFETY: `sp` is the kernel's initial stack pointer, read once.
    let args = unsafe { dinit::sys::args::init(sp) };
    let code = match args {
        Ok(args) => dinit::run(args, old_mask),
        Err(argc) => {
            dinit::warn!(
                "too many arguments: {} (the most is {})",
                dinit::error::Num(argc.saturating_sub(1)),
                dinit::error::Num(dinit::sys::args::ARGS_MAX)
            );
            dinit::error::EXIT_USAGE
        }
    };
    dinit::sys::exit(code)
}

/// With `panic = "abort"` and no unwinding, a panic in PID 1 is a bug: say
/// so in one line and end the process.
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    dinit::sys::out::last_words(b"dinit: internal error (panic)\n");
    dinit::sys::exit(1)
}

/// Debug builds of libcore reference the personality routine; with
/// `panic = "abort"` it is never called.
#[unsafe(no_mangle)]
extern "C" fn rust_eh_personality() {}
