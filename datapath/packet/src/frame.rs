//! A frame the edits can change: contiguous bytes that can grow or shrink
//! at either end without moving, as a DPDK mbuf segment does
//! (`rte_pktmbuf_prepend`/`adj`/`append`/`trim`). The DPDK layer's `Mbuf`
//! is to implement [`Frame`] (on its first segment); [`VecFrame`] is the
//! same contract over a `Vec`, for tests and fuzzing.

/// Bytes of headroom a DPDK mbuf has by default (`RTE_PKTMBUF_HEADROOM`).
pub const DEFAULT_HEADROOM: usize = 128;
/// Bytes of data room after the headroom in a default mbuf
/// (`RTE_MBUF_DEFAULT_DATAROOM`).
pub const DEFAULT_DATAROOM: usize = 2048;

/// A contiguous Ethernet frame (one segment, no FCS) with room around it.
///
/// Every resize either succeeds whole or changes nothing; bytes a push
/// adds are unspecified (an mbuf leaves whatever was there), so the edit
/// that pushes them writes every one.
pub trait Frame {
    /// The frame.
    fn bytes(&self) -> &[u8];
    /// The frame, writable.
    fn bytes_mut(&mut self) -> &mut [u8];
    /// Grows the frame by `n` bytes at the front; `false` (and no change)
    /// when the headroom is shorter.
    fn push_front(&mut self, n: usize) -> bool;
    /// Removes `n` bytes from the front; `false` (and no change) when the
    /// frame is shorter.
    fn pull_front(&mut self, n: usize) -> bool;
    /// Grows the frame by `n` bytes at the back; `false` (and no change)
    /// when the tailroom is shorter.
    fn push_back(&mut self, n: usize) -> bool;
    /// Removes `n` bytes from the back; `false` (and no change) when the
    /// frame is shorter.
    fn trim_back(&mut self, n: usize) -> bool;

    /// The frame's length.
    fn len(&self) -> usize {
        self.bytes().len()
    }

    /// Whether the frame is empty.
    fn is_empty(&self) -> bool {
        self.bytes().is_empty()
    }

    /// Sets the length to `len`, growing or trimming at the back; `false`
    /// (and no change) when the tailroom is too short.
    fn set_len(&mut self, len: usize) -> bool {
        let now = self.len();
        if len >= now {
            self.push_back(len - now)
        } else {
            self.trim_back(now - len)
        }
    }
}

/// Fill of bytes a push adds: not zero, so a test catches an edit that
/// forgets to write one (an mbuf would hold stale bytes there).
const POISON: u8 = 0xa5;

/// A frame in a `Vec` with headroom and tailroom, shaped like an mbuf.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VecFrame {
    buf: Vec<u8>,
    start: usize,
    end: usize,
}

impl VecFrame {
    /// `frame` with a default mbuf's headroom (128 bytes) and data room
    /// (2048 bytes, or the frame's length when longer).
    pub fn new(frame: &[u8]) -> Self {
        let tailroom = DEFAULT_DATAROOM.saturating_sub(frame.len());
        VecFrame::with_room(frame, DEFAULT_HEADROOM, tailroom)
    }

    /// `frame` with exactly `headroom` bytes before it and `tailroom`
    /// after it.
    pub fn with_room(frame: &[u8], headroom: usize, tailroom: usize) -> Self {
        let mut buf = vec![POISON; headroom + frame.len() + tailroom];
        buf[headroom..headroom + frame.len()].copy_from_slice(frame);
        VecFrame {
            buf,
            start: headroom,
            end: headroom + frame.len(),
        }
    }

    /// Replaces the frame with `frame`, with a default mbuf's headroom, in
    /// the same buffer (as a driver reuses an mbuf; nothing allocates while
    /// the buffer is large enough). Returns `false`, changing nothing, when
    /// it is not.
    pub fn refill(&mut self, frame: &[u8]) -> bool {
        let end = DEFAULT_HEADROOM + frame.len();
        let Some(dst) = self.buf.get_mut(DEFAULT_HEADROOM..end) else {
            return false;
        };
        dst.copy_from_slice(frame);
        self.start = DEFAULT_HEADROOM;
        self.end = end;
        true
    }

    /// Bytes free before the frame.
    pub fn headroom(&self) -> usize {
        self.start
    }

    /// Bytes free after the frame.
    pub fn tailroom(&self) -> usize {
        self.buf.len() - self.end
    }
}

impl Frame for VecFrame {
    fn bytes(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    fn bytes_mut(&mut self) -> &mut [u8] {
        &mut self.buf[self.start..self.end]
    }

    fn push_front(&mut self, n: usize) -> bool {
        if n > self.start {
            return false;
        }
        self.start -= n;
        self.buf[self.start..self.start + n].fill(POISON);
        true
    }

    fn pull_front(&mut self, n: usize) -> bool {
        if n > self.end - self.start {
            return false;
        }
        self.start += n;
        true
    }

    fn push_back(&mut self, n: usize) -> bool {
        if n > self.tailroom() {
            return false;
        }
        self.buf[self.end..self.end + n].fill(POISON);
        self.end += n;
        true
    }

    fn trim_back(&mut self, n: usize) -> bool {
        if n > self.end - self.start {
            return false;
        }
        self.end -= n;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resizes_within_the_room_and_refuses_beyond_it() {
        let mut f = VecFrame::with_room(&[1, 2, 3], 2, 1);
        assert!(!f.push_front(3));
        assert!(f.push_front(2));
        assert_eq!(f.bytes(), &[POISON, POISON, 1, 2, 3]);
        assert!(!f.push_back(2));
        assert!(f.push_back(1));
        assert!(!f.pull_front(7));
        assert!(f.pull_front(3));
        assert!(f.trim_back(1));
        assert_eq!(f.bytes(), &[2, 3]);
        assert_eq!((f.headroom(), f.tailroom()), (3, 1));
        assert!(!f.set_len(4));
        assert!(f.set_len(0));
        assert!(f.is_empty());
    }
}
