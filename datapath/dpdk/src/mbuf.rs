//! Owned packet buffers ([`Mbuf`]) and fixed-size bursts of them ([`Burst`]).
//!
//! An `Mbuf` owns one `rte_mbuf` and frees it on drop. It is `Send` (an mbuf
//! can move to another lcore) but not `Sync`. A `Burst<N>` is an inline array
//! of up to `N` owned mbufs that rx fills and tx drains: no allocation per
//! burst.

use std::mem::MaybeUninit;
use std::ptr::NonNull;

use dpuflow_sys as sys;

/// Why an mbuf edit was refused (nothing changed then).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MbufError {
    /// Not enough headroom to prepend.
    #[error("cannot prepend {wanted} bytes: headroom is {available}")]
    NoHeadroom {
        /// Bytes asked for.
        wanted: u16,
        /// Headroom left.
        available: u16,
    },
    /// Not enough tailroom to append.
    #[error("cannot append {wanted} bytes: tailroom is {available}")]
    NoTailroom {
        /// Bytes asked for.
        wanted: u16,
        /// Tailroom left.
        available: u16,
    },
    /// Removing more bytes than the (first segment's) data holds.
    #[error("cannot remove {wanted} bytes from {len} bytes of data")]
    TooShort {
        /// Bytes asked for.
        wanted: u16,
        /// Data length.
        len: u16,
    },
}

/// One owned packet buffer.
#[repr(transparent)]
pub struct Mbuf(NonNull<sys::rte_mbuf>);

// SAFETY: an mbuf is owned by exactly one Mbuf; moving that ownership to
// another thread is how DPDK pipelines work. Shared access (&Mbuf) across
// threads is not allowed: Mbuf is not Sync (NonNull is !Sync).
unsafe impl Send for Mbuf {}

impl Drop for Mbuf {
    fn drop(&mut self) {
        // SAFETY: we own the mbuf (and its segments); it goes back to its pool.
        unsafe { sys::dpuflow_rte_pktmbuf_free(self.0.as_ptr()) }
    }
}

impl std::fmt::Debug for Mbuf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mbuf")
            .field("data_len", &self.len())
            .field("pkt_len", &self.pkt_len())
            .field("port", &self.port())
            .finish()
    }
}

impl Mbuf {
    /// Takes ownership of a raw mbuf.
    ///
    /// # Safety
    /// `raw` must be a valid mbuf that nothing else owns or will free.
    pub unsafe fn from_raw(raw: NonNull<sys::rte_mbuf>) -> Self {
        Mbuf(raw)
    }

    /// Gives up ownership; the caller must free or send the mbuf.
    pub fn into_raw(self) -> NonNull<sys::rte_mbuf> {
        let raw = self.0;
        std::mem::forget(self);
        raw
    }

    /// The raw mbuf (still owned by `self`).
    pub fn as_ptr(&self) -> *mut sys::rte_mbuf {
        self.0.as_ptr()
    }

    /// Bytes of data in the first segment.
    #[inline]
    pub fn len(&self) -> usize {
        // SAFETY: we own a valid mbuf.
        usize::from(unsafe { sys::dpuflow_rte_pktmbuf_data_len(self.0.as_ptr()) })
    }

    /// Whether the first segment holds no data.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes of the whole packet (all segments).
    #[inline]
    pub fn pkt_len(&self) -> u32 {
        // SAFETY: we own a valid mbuf.
        unsafe { sys::dpuflow_rte_pktmbuf_pkt_len(self.0.as_ptr()) }
    }

    /// Whether the packet is one segment (then [`Mbuf::data`] is all of it).
    pub fn is_contiguous(&self) -> bool {
        // SAFETY: we own a valid mbuf.
        unsafe { sys::dpuflow_rte_pktmbuf_is_contiguous(self.0.as_ptr()) != 0 }
    }

    /// The port the mbuf was received on.
    #[inline]
    pub fn port(&self) -> u16 {
        // SAFETY: we own a valid mbuf.
        unsafe { sys::dpuflow_rte_mbuf_port(self.0.as_ptr()) }
    }

    /// The RSS hash the NIC computed (0 when none).
    #[inline]
    pub fn rss_hash(&self) -> u32 {
        // SAFETY: we own a valid mbuf.
        unsafe { sys::dpuflow_rte_mbuf_rss_hash(self.0.as_ptr()) }
    }

    /// Free bytes in front of the data.
    pub fn headroom(&self) -> u16 {
        // SAFETY: we own a valid mbuf.
        unsafe { sys::dpuflow_rte_pktmbuf_headroom(self.0.as_ptr()) }
    }

    /// Free bytes after the data (last segment).
    pub fn tailroom(&self) -> u16 {
        // SAFETY: we own a valid mbuf.
        unsafe { sys::dpuflow_rte_pktmbuf_tailroom(self.0.as_ptr()) }
    }

    /// The first segment's data.
    #[inline]
    pub fn data(&self) -> &[u8] {
        // SAFETY: mtod points at `data_len` initialised bytes of the first
        // segment, which we own and which live as long as `self`.
        unsafe {
            let p = sys::dpuflow_rte_pktmbuf_mtod(self.0.as_ptr()).cast::<u8>();
            std::slice::from_raw_parts(p, self.len())
        }
    }

    /// The first segment's data, writable.
    #[inline]
    pub fn data_mut(&mut self) -> &mut [u8] {
        // SAFETY: as for `data`; `&mut self` makes the access exclusive.
        unsafe {
            let p = sys::dpuflow_rte_pktmbuf_mtod(self.0.as_ptr()).cast::<u8>();
            std::slice::from_raw_parts_mut(p, self.len())
        }
    }

    /// Grows the data by `len` bytes at the front (for encapsulation) and
    /// returns those bytes (uninitialised content: write all of them).
    ///
    /// # Errors
    /// [`MbufError::NoHeadroom`] when the headroom is too small.
    pub fn prepend(&mut self, len: u16) -> Result<&mut [u8], MbufError> {
        // SAFETY: we own the mbuf; DPDK returns NULL (changing nothing) when
        // the headroom is short.
        let p = unsafe { sys::dpuflow_rte_pktmbuf_prepend(self.0.as_ptr(), len) };
        if p.is_null() {
            return Err(MbufError::NoHeadroom {
                wanted: len,
                available: self.headroom(),
            });
        }
        // SAFETY: `p` points at `len` bytes inside our mbuf's buffer.
        Ok(unsafe { std::slice::from_raw_parts_mut(p.cast::<u8>(), usize::from(len)) })
    }

    /// Grows the data by `len` bytes at the end and returns them.
    ///
    /// # Errors
    /// [`MbufError::NoTailroom`] when the tailroom is too small.
    pub fn append(&mut self, len: u16) -> Result<&mut [u8], MbufError> {
        // SAFETY: we own the mbuf; NULL (nothing changed) when no room.
        let p = unsafe { sys::dpuflow_rte_pktmbuf_append(self.0.as_ptr(), len) };
        if p.is_null() {
            return Err(MbufError::NoTailroom {
                wanted: len,
                available: self.tailroom(),
            });
        }
        // SAFETY: `p` points at `len` bytes inside our (last) segment.
        Ok(unsafe { std::slice::from_raw_parts_mut(p.cast::<u8>(), usize::from(len)) })
    }

    /// Removes `len` bytes from the front (for decapsulation).
    ///
    /// # Errors
    /// [`MbufError::TooShort`] when the first segment is shorter.
    pub fn adj(&mut self, len: u16) -> Result<(), MbufError> {
        // SAFETY: we own the mbuf; NULL (nothing changed) when too short.
        let p = unsafe { sys::dpuflow_rte_pktmbuf_adj(self.0.as_ptr(), len) };
        if p.is_null() {
            return Err(self.too_short(len));
        }
        Ok(())
    }

    /// Removes `len` bytes from the end.
    ///
    /// # Errors
    /// [`MbufError::TooShort`] when the last segment is shorter.
    pub fn trim(&mut self, len: u16) -> Result<(), MbufError> {
        // SAFETY: we own the mbuf; -1 (nothing changed) when too short.
        let ret = unsafe { sys::dpuflow_rte_pktmbuf_trim(self.0.as_ptr(), len) };
        if ret != 0 {
            return Err(self.too_short(len));
        }
        Ok(())
    }

    /// Appends `bytes` at the end (convenience over [`Mbuf::append`]).
    ///
    /// # Errors
    /// [`MbufError::NoTailroom`] when they do not fit; nothing is written.
    pub fn extend_from_slice(&mut self, bytes: &[u8]) -> Result<(), MbufError> {
        let len = u16::try_from(bytes.len()).map_err(|_| MbufError::NoTailroom {
            wanted: u16::MAX,
            available: self.tailroom(),
        })?;
        self.append(len)?.copy_from_slice(bytes);
        Ok(())
    }

    fn too_short(&self, wanted: u16) -> MbufError {
        MbufError::TooShort {
            wanted,
            len: u16::try_from(self.len()).unwrap_or(u16::MAX),
        }
    }
}

/// Up to `N` owned mbufs in an inline array: what rx fills and tx drains.
///
/// Dropping a burst frees the mbufs still in it.
pub struct Burst<const N: usize = 32> {
    slots: [MaybeUninit<*mut sys::rte_mbuf>; N],
    len: usize,
}

// SAFETY: a Burst owns its mbufs exactly like a `[Mbuf; len]` would.
unsafe impl<const N: usize> Send for Burst<N> {}

impl<const N: usize> Default for Burst<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> Drop for Burst<N> {
    fn drop(&mut self) {
        self.clear();
    }
}

impl<const N: usize> Burst<N> {
    /// An empty burst.
    pub const fn new() -> Self {
        Self {
            slots: [MaybeUninit::uninit(); N],
            len: 0,
        }
    }

    /// Mbufs held.
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no mbuf is held.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether all `N` slots are taken.
    #[inline]
    pub fn is_full(&self) -> bool {
        self.len == N
    }

    /// `N`.
    pub const fn capacity(&self) -> usize {
        N
    }

    /// The held mbufs.
    #[inline]
    pub fn as_slice(&self) -> &[Mbuf] {
        // SAFETY: slots [0, len) hold owned, non-null mbuf pointers, and Mbuf
        // is repr(transparent) over NonNull<rte_mbuf>, which has the layout
        // of *mut rte_mbuf.
        unsafe { std::slice::from_raw_parts(self.slots.as_ptr().cast::<Mbuf>(), self.len) }
    }

    /// The held mbufs, writable.
    #[inline]
    pub fn as_mut_slice(&mut self) -> &mut [Mbuf] {
        // SAFETY: as for `as_slice`; `&mut self` makes it exclusive.
        unsafe { std::slice::from_raw_parts_mut(self.slots.as_mut_ptr().cast::<Mbuf>(), self.len) }
    }

    /// Adds an mbuf at the end, or gives it back when full.
    ///
    /// # Errors
    /// Returns the mbuf when the burst is full.
    #[inline]
    pub fn push(&mut self, mbuf: Mbuf) -> Result<(), Mbuf> {
        if self.len == N {
            return Err(mbuf);
        }
        self.slots[self.len] = MaybeUninit::new(mbuf.into_raw().as_ptr());
        self.len += 1;
        Ok(())
    }

    /// Takes the last mbuf out.
    #[inline]
    pub fn pop(&mut self) -> Option<Mbuf> {
        if self.len == 0 {
            return None;
        }
        self.len -= 1;
        // SAFETY: slot `len` held an owned, non-null mbuf, now moved out.
        let raw = unsafe { self.slots[self.len].assume_init() };
        // SAFETY: non-null (only non-null pointers are stored); owned by us.
        NonNull::new(raw).map(|p| unsafe { Mbuf::from_raw(p) })
    }

    /// Frees every held mbuf (bulk free).
    pub fn clear(&mut self) {
        if self.len == 0 {
            return;
        }
        let count = u32::try_from(self.len).unwrap_or(u32::MAX);
        // SAFETY: slots [0, len) are owned mbufs; after the call none is ours.
        unsafe {
            sys::rte_pktmbuf_free_bulk(self.slots.as_mut_ptr().cast(), count);
        }
        self.len = 0;
    }

    /// Keeps only the mbufs for which `keep` says true, freeing the others,
    /// in order. Returns how many were freed.
    pub fn retain(&mut self, mut keep: impl FnMut(&mut Mbuf) -> bool) -> usize {
        let mut kept = 0;
        let len = self.len;
        self.len = 0;
        for i in 0..len {
            // SAFETY: slot i < old len holds an owned non-null mbuf; it is
            // either moved to slot `kept` (kept <= i) or freed.
            let raw = unsafe { self.slots[i].assume_init() };
            let Some(ptr) = NonNull::new(raw) else {
                continue;
            };
            // SAFETY: owned, non-null.
            let mut mbuf = unsafe { Mbuf::from_raw(ptr) };
            if keep(&mut mbuf) {
                self.slots[kept] = MaybeUninit::new(mbuf.into_raw().as_ptr());
                kept += 1;
                self.len = kept;
            }
        }
        len - kept
    }

    /// The unused slots, for DPDK to fill (see [`Burst::commit`]).
    pub(crate) fn spare_slots(&mut self) -> &mut [*mut sys::rte_mbuf] {
        let spare = &mut self.slots[self.len..];
        // SAFETY: MaybeUninit<*mut T> has the layout of *mut T; DPDK only
        // writes these slots, and they are read only after `commit`.
        unsafe { std::slice::from_raw_parts_mut(spare.as_mut_ptr().cast(), spare.len()) }
    }

    /// Marks `n` spare slots as filled with owned mbufs.
    ///
    /// # Safety
    /// The first `n` spare slots must hold owned, non-null mbufs.
    pub(crate) unsafe fn commit(&mut self, n: usize) {
        self.len += n.min(N - self.len);
    }

    /// Drops the first `n` mbufs from the burst without freeing them (DPDK
    /// took them), shifting the rest to the front.
    ///
    /// # Safety
    /// The first `n` mbufs must have been handed over to DPDK.
    pub(crate) unsafe fn forget_front(&mut self, n: usize) {
        let n = n.min(self.len);
        self.slots.copy_within(n..self.len, 0);
        self.len -= n;
    }

    /// The held mbufs as raw pointers, for tx.
    pub(crate) fn raw_mut(&mut self) -> &mut [*mut sys::rte_mbuf] {
        let held = &mut self.slots[..self.len];
        // SAFETY: initialised slots; MaybeUninit<*mut T> is layout-compatible.
        unsafe { std::slice::from_raw_parts_mut(held.as_mut_ptr().cast(), held.len()) }
    }
}

impl<const N: usize> std::fmt::Debug for Burst<N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Burst")
            .field("len", &self.len)
            .field("capacity", &N)
            .finish()
    }
}
