//! Bump storage over a caller-owned slice: startup builds every argv, envp
//! and expanded word in fixed static arrays, and the socket reuses its own
//! for each request. "Out of room" is an explicit `None`, never a panic or
//! a heap allocation.

pub struct Bump<'s, T> {
    rest: &'s mut [T],
}

impl<'s, T> Bump<'s, T> {
    pub fn new(storage: &'s mut [T]) -> Self {
        Bump { rest: storage }
    }

    /// Hand out the next `n` elements (holding whatever was written there
    /// through `spare`).
    pub fn alloc(&mut self, n: usize) -> Option<&'s mut [T]> {
        if n > self.rest.len() {
            return None;
        }
        let (head, tail) = core::mem::take(&mut self.rest).split_at_mut(n);
        self.rest = tail;
        Some(head)
    }

    /// The unused room, to write into before `alloc` hands it out.
    pub fn spare(&mut self) -> &mut [T] {
        self.rest
    }
}

impl<'s> Bump<'s, u8> {
    /// Copy `bytes` plus a NUL; returns the copy with its NUL.
    pub fn cstr(&mut self, bytes: &[u8]) -> Option<&'s [u8]> {
        let room = self.spare();
        if bytes.len() >= room.len() {
            return None;
        }
        room[..bytes.len()].copy_from_slice(bytes);
        room[bytes.len()] = 0;
        Some(self.alloc(bytes.len() + 1)?)
    }
}

impl<'s, T: Copy> Bump<'s, T> {
    /// Copy `items` in; returns the copy.
    pub fn copy(&mut self, items: &[T]) -> Option<&'s mut [T]> {
        let s = self.alloc(items.len())?;
        s.copy_from_slice(items);
        Some(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bump_hands_out_and_refuses() {
        let mut store = [0u8; 8];
        let mut b = Bump::new(&mut store);
        let a = b.cstr(b"abc").unwrap();
        assert_eq!(a, b"abc\0");
        assert!(b.cstr(b"defg").is_none());
        let c = b.cstr(b"de").unwrap();
        assert_eq!(c, b"de\0");
        assert!(b.alloc(2).is_none());
        assert_eq!(b.alloc(1).unwrap().len(), 1);
        assert_eq!(store, *b"abc\0de\0\0");
    }
}
