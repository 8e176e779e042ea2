//! Linux errno values, the same on x86_64 and aarch64: what the kernel
//! returns as `-errno` ([`super::check`] decodes it). Their names and
//! meanings for messages are `error::Errno`'s business.

pub const EPERM: i32 = 1;
pub const ENOENT: i32 = 2;
pub const ESRCH: i32 = 3;
pub const EINTR: i32 = 4;
pub const EIO: i32 = 5;
pub const E2BIG: i32 = 7;
pub const ENOEXEC: i32 = 8;
pub const EBADF: i32 = 9;
pub const ECHILD: i32 = 10;
pub const EAGAIN: i32 = 11;
pub const ENOMEM: i32 = 12;
pub const EACCES: i32 = 13;
pub const EEXIST: i32 = 17;
pub const ENOTDIR: i32 = 20;
pub const EISDIR: i32 = 21;
pub const EINVAL: i32 = 22;
pub const ENFILE: i32 = 23;
pub const EMFILE: i32 = 24;
pub const ETXTBSY: i32 = 26;
pub const ENOSPC: i32 = 28;
pub const EROFS: i32 = 30;
pub const EPIPE: i32 = 32;
pub const ENAMETOOLONG: i32 = 36;
pub const ELOOP: i32 = 40;
pub const ENOTSOCK: i32 = 88;
pub const EADDRINUSE: i32 = 98;
pub const ECONNRESET: i32 = 104;
pub const ECONNREFUSED: i32 = 111;
