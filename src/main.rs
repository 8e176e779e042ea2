//! Entry point. See `dinit::init` and friends.
// The C entry point and the no-op personality are exported symbols, which
// the unsafe_code lint counts as unsafe; nothing else here is.
#![allow(unsafe_code)]
#![no_std]
#![no_main]

// musl supplies _start and __libc_start_main, which calls `main` below.
#[link(name = "c", kind = "static")]
unsafe extern "C" {}

#[unsafe(no_mangle)]
pub extern "C" fn main(_argc: i32, _argv: *const *const u8, _envp: *const *const u8) -> i32 {
    3
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    loop {}
}

#[unsafe(no_mangle)]
extern "C" fn rust_eh_personality() {}
