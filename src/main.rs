//! Entry point: block signals first, collect argv in place, run the role,
//! exit with its code. No options, no other syscalls here.
// The C entry point, the panic handler and the no-op personality are
// exported symbols, which the unsafe_code lint counts as unsafe.
#![allow(unsafe_code)]
#![no_std]
#![no_main]

// musl supplies _start and __libc_start_main, which calls `main` below.
#[link(name = "c", kind = "static")]
unsafe extern "C" {}

/// # Safety
///
/// Called once by `__libc_start_main` with the kernel's argv and envp.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn main(argc: i32, argv: *const *const u8, envp: *const *const u8) -> i32 {
    // First thing: block every catchable signal, so none is lost (or, as
    // PID 1, dropped) before the signalfd exists (SPEC §4).
    let old_mask = dinit::sys::signals::block(dinit::signals::CATCHABLE);
    // SAFETY: argc/argv/envp come straight from __libc_start_main, once.
    let args = unsafe { dinit::sys::args::init(argc, argv, envp) };
    let code = match args {
        Some(args) => dinit::run(args, old_mask),
        None => {
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
