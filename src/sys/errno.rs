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
pub const ENOSYS: i32 = 38;
pub const ELOOP: i32 = 40;
pub const EPROTO: i32 = 71;
pub const ELIBBAD: i32 = 80;
pub const ENOTSOCK: i32 = 88;
pub const EOPNOTSUPP: i32 = 95;
pub const EADDRINUSE: i32 = 98;
pub const ECONNABORTED: i32 = 103;
pub const ECONNRESET: i32 = 104;
pub const ENOBUFS: i32 = 105;
pub const ENOTCONN: i32 = 107;
pub const ETOOMANYREFS: i32 = 109;
pub const ETIMEDOUT: i32 = 110;
pub const ECONNREFUSED: i32 = 111;
pub const EHOSTUNREACH: i32 = 113;
pub const ESTALE: i32 = 116;

#[cfg(test)]
mod tests {
    /// The numbers are the kernel's, on this target as libc has them.
    #[test]
    fn numbers_are_the_kernels() {
        for (ours, libc) in [
            (super::EPERM, libc::EPERM),
            (super::ENOENT, libc::ENOENT),
            (super::ESRCH, libc::ESRCH),
            (super::EINTR, libc::EINTR),
            (super::EIO, libc::EIO),
            (super::E2BIG, libc::E2BIG),
            (super::ENOEXEC, libc::ENOEXEC),
            (super::EBADF, libc::EBADF),
            (super::ECHILD, libc::ECHILD),
            (super::EAGAIN, libc::EAGAIN),
            (super::ENOMEM, libc::ENOMEM),
            (super::EACCES, libc::EACCES),
            (super::EEXIST, libc::EEXIST),
            (super::ENOTDIR, libc::ENOTDIR),
            (super::EISDIR, libc::EISDIR),
            (super::EINVAL, libc::EINVAL),
            (super::ENFILE, libc::ENFILE),
            (super::EMFILE, libc::EMFILE),
            (super::ETXTBSY, libc::ETXTBSY),
            (super::ENOSPC, libc::ENOSPC),
            (super::EROFS, libc::EROFS),
            (super::EPIPE, libc::EPIPE),
            (super::ENAMETOOLONG, libc::ENAMETOOLONG),
            (super::ENOSYS, libc::ENOSYS),
            (super::ELOOP, libc::ELOOP),
            (super::EPROTO, libc::EPROTO),
            (super::ELIBBAD, libc::ELIBBAD),
            (super::ENOTSOCK, libc::ENOTSOCK),
            (super::EOPNOTSUPP, libc::EOPNOTSUPP),
            (super::EADDRINUSE, libc::EADDRINUSE),
            (super::ECONNABORTED, libc::ECONNABORTED),
            (super::ECONNRESET, libc::ECONNRESET),
            (super::ENOBUFS, libc::ENOBUFS),
            (super::ENOTCONN, libc::ENOTCONN),
            (super::ETOOMANYREFS, libc::ETOOMANYREFS),
            (super::ETIMEDOUT, libc::ETIMEDOUT),
            (super::ECONNREFUSED, libc::ECONNREFUSED),
            (super::EHOSTUNREACH, libc::EHOSTUNREACH),
            (super::ESTALE, libc::ESTALE),
        ] {
            assert_eq!(ours, libc);
        }
    }
}
