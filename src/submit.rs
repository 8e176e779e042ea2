//! The submit role (SPEC §5). Arrives with the socket.

pub fn run(_args: &'static [&'static [u8]]) -> u8 {
    let _ = crate::sys::write_all(2, b"dinit-submit: the submit role is not implemented yet\n");
    1
}
