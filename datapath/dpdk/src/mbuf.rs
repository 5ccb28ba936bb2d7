//! Owned packet buffers ([`Mbuf`]) and fixed-size bursts of them ([`Burst`]).
//!
//! An `Mbuf` owns one `rte_mbuf` and frees it on drop. It is `Send` (an mbuf
//! can move to another lcore) but not `Sync`. A `Burst<N>` is an inline array
//! of up to `N` owned mbufs that rx fills and tx drains: no allocation per
//! burst.

use std::mem::MaybeUninit;
use std::ptr::NonNull;

use dpuflow_sys as sys;

/// The `rte_mbuf` fields [`Mbuf`] reads and writes directly (instead of
/// calling a C shim per field) are at the offsets DPDK 22.11's
/// `rte_mbuf_core.h` gives them on 64-bit targets; a DPDK whose layout
/// differs fails the build here rather than reading the wrong bytes.
/// (bindgen's own layout tests only check the Rust struct against the
/// headers it read; these pin those headers to the ABI this code was
/// written and tested against.)
mod layout {
    use std::mem::{align_of, offset_of, size_of};

    use dpuflow_sys::rte_mbuf as M;

    const _: () = assert!(size_of::<M>() == 128, "rte_mbuf is two cache lines");
    // Cache-line aligned: 64 on x86, 128 on arm64 DPDK builds with
    // 128-byte lines (the field offsets are the same: the second half
    // starts at RTE_CACHE_LINE_MIN_SIZE).
    const _: () = assert!(align_of::<M>() >= 64);
    const _: () = assert!(offset_of!(M, buf_addr) == 0);
    const _: () = assert!(offset_of!(M, data_off) == 16);
    const _: () = assert!(offset_of!(M, nb_segs) == 20);
    const _: () = assert!(offset_of!(M, port) == 22);
    const _: () = assert!(offset_of!(M, ol_flags) == 24);
    // The union holding `packet_type` (its first 4 bytes).
    const _: () = assert!(offset_of!(M, __bindgen_anon_1) == 32);
    const _: () = assert!(offset_of!(M, pkt_len) == 36);
    const _: () = assert!(offset_of!(M, data_len) == 40);
    // The union holding `hash.rss` (its first 4 bytes).
    const _: () = assert!(offset_of!(M, __bindgen_anon_2) == 44);
    const _: () = assert!(offset_of!(M, buf_len) == 54);
    const _: () = assert!(offset_of!(M, next) == 64);
    // The fields are read with their C types, so a change of width does
    // not compile; the two unions (whose first 4 bytes are read) must keep
    // their size.
    const _: () = assert!(size_of::<dpuflow_sys::rte_mbuf__bindgen_ty_1>() == 4);
    const _: () = assert!(size_of::<dpuflow_sys::rte_mbuf__bindgen_ty_2>() == 8);
}

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

/// Free bytes after one segment's data (`rte_pktmbuf_tailroom`).
///
/// # Safety
/// `seg` must be a valid segment of an mbuf the caller owns.
#[inline]
unsafe fn seg_tailroom(seg: *const sys::rte_mbuf) -> u16 {
    // SAFETY: caller's contract; plain field reads.
    unsafe {
        (*seg)
            .buf_len
            .wrapping_sub((*seg).data_off)
            .wrapping_sub((*seg).data_len)
    }
}

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
        usize::from(self.data_len())
    }

    #[inline]
    fn data_len(&self) -> u16 {
        let m = self.0.as_ptr();
        // SAFETY: `m` is a valid mbuf we own (`from_raw`'s contract); the
        // field is read through the pointer, no reference to the whole
        // struct is made (DPDK may update `refcnt` of a shared mbuf).
        unsafe { (*m).data_len }
    }

    /// Whether the first segment holds no data.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.data_len() == 0
    }

    /// Bytes of the whole packet (all segments).
    #[inline]
    pub fn pkt_len(&self) -> u32 {
        let m = self.0.as_ptr();
        // SAFETY: valid, owned mbuf; a plain field read (see `data_len`).
        unsafe { (*m).pkt_len }
    }

    /// Segments in the packet (1 when [`Mbuf::data`] is all of it).
    #[inline]
    pub fn nb_segs(&self) -> u16 {
        let m = self.0.as_ptr();
        // SAFETY: valid, owned mbuf; a plain field read.
        unsafe { (*m).nb_segs }
    }

    /// Whether the packet is one segment (then [`Mbuf::data`] is all of it).
    #[inline]
    pub fn is_contiguous(&self) -> bool {
        self.nb_segs() == 1
    }

    /// The port the mbuf was received on.
    #[inline]
    pub fn port(&self) -> u16 {
        let m = self.0.as_ptr();
        // SAFETY: valid, owned mbuf; a plain field read.
        unsafe { (*m).port }
    }

    /// The RSS hash the NIC computed (meaningful when [`Mbuf::ol_flags`]
    /// has `RTE_MBUF_F_RX_RSS_HASH`).
    #[inline]
    pub fn rss_hash(&self) -> u32 {
        let m = self.0.as_ptr();
        // SAFETY: valid, owned mbuf; `hash` is a union of plain integer
        // structs, so its first 4 bytes are always a valid u32 (`hash.rss`).
        unsafe { (*m).__bindgen_anon_2.hash.rss }
    }

    /// Offload flags (`RTE_MBUF_F_*`): rx checksum/RSS/VLAN results, tx
    /// offload requests.
    #[inline]
    pub fn ol_flags(&self) -> u64 {
        let m = self.0.as_ptr();
        // SAFETY: valid, owned mbuf; a plain field read.
        unsafe { (*m).ol_flags }
    }

    /// The packet type the PMD recognised (`RTE_PTYPE_*`; 0 when unknown).
    #[inline]
    pub fn packet_type(&self) -> u32 {
        let m = self.0.as_ptr();
        // SAFETY: valid, owned mbuf; `packet_type` overlays bitfields of the
        // same 4 bytes, any bit pattern is a valid u32.
        unsafe { (*m).__bindgen_anon_1.packet_type }
    }

    /// Free bytes in front of the data.
    #[inline]
    pub fn headroom(&self) -> u16 {
        let m = self.0.as_ptr();
        // SAFETY: valid, owned mbuf; a plain field read.
        unsafe { (*m).data_off }
    }

    /// Free bytes after the data of the last segment (what
    /// [`Mbuf::append`] can add).
    pub fn tailroom(&self) -> u16 {
        // SAFETY: `last_seg` returns a valid segment of our mbuf.
        unsafe { seg_tailroom(self.last_seg()) }
    }

    /// The last segment (the mbuf itself when contiguous).
    #[inline]
    fn last_seg(&self) -> *mut sys::rte_mbuf {
        let mut m = self.0.as_ptr();
        // SAFETY: a packet's chain is NULL-terminated and each `next` is a
        // valid segment owned with the head (DPDK's invariant for every
        // mbuf it hands out; our edits never touch `next`).
        unsafe {
            while !(*m).next.is_null() {
                m = (*m).next;
            }
        }
        m
    }

    /// Where the first segment's data starts.
    #[inline]
    fn data_ptr(&self) -> *mut u8 {
        let m = self.0.as_ptr();
        // SAFETY: valid, owned mbuf; `buf_addr + data_off` stays inside the
        // buffer (`data_off <= buf_len` for every segment DPDK produces,
        // and our edits keep `data_off + data_len <= buf_len`). Same
        // address as `rte_pktmbuf_mtod`.
        unsafe { (*m).buf_addr.cast::<u8>().add(usize::from((*m).data_off)) }
    }

    /// Asks the CPU to bring the first cache line of the data in (a hint:
    /// the poll loop issues it for a whole burst before parsing it).
    #[inline]
    pub fn prefetch_data(&self) {
        prefetch0(self.data_ptr());
    }

    /// The first segment's data.
    #[inline]
    pub fn data(&self) -> &[u8] {
        // SAFETY: `data_ptr` points at `data_len` initialised bytes of the
        // first segment (data_off + data_len <= buf_len), which we own and
        // which live as long as `self`.
        unsafe { std::slice::from_raw_parts(self.data_ptr(), self.len()) }
    }

    /// The first segment's data, writable.
    #[inline]
    pub fn data_mut(&mut self) -> &mut [u8] {
        // SAFETY: as for `data`; `&mut self` makes the access exclusive.
        unsafe { std::slice::from_raw_parts_mut(self.data_ptr(), self.len()) }
    }

    /// Grows the data by `len` bytes at the front (for encapsulation) and
    /// returns those bytes (uninitialised content: write all of them).
    /// Same effect as `rte_pktmbuf_prepend`.
    ///
    /// # Errors
    /// [`MbufError::NoHeadroom`] when the headroom is too small.
    #[inline]
    pub fn prepend(&mut self, len: u16) -> Result<&mut [u8], MbufError> {
        let available = self.headroom();
        if len > available {
            return Err(MbufError::NoHeadroom {
                wanted: len,
                available,
            });
        }
        let m = self.0.as_ptr();
        // SAFETY: valid mbuf, exclusively ours (`&mut self`); len <= data_off
        // so data_off stays >= 0 and data_off + data_len is unchanged
        // (still <= buf_len).
        unsafe {
            (*m).data_off -= len;
            (*m).data_len += len;
            (*m).pkt_len = (*m).pkt_len.wrapping_add(u32::from(len));
        }
        // SAFETY: the first `len` bytes of the (grown) data, inside our buffer.
        Ok(unsafe { std::slice::from_raw_parts_mut(self.data_ptr(), usize::from(len)) })
    }

    /// Grows the data by `len` bytes at the end (of the last segment) and
    /// returns them. Same effect as `rte_pktmbuf_append`.
    ///
    /// # Errors
    /// [`MbufError::NoTailroom`] when the tailroom is too small.
    #[inline]
    pub fn append(&mut self, len: u16) -> Result<&mut [u8], MbufError> {
        let last = self.last_seg();
        // SAFETY: `last` is a valid segment of our mbuf.
        let available = unsafe { seg_tailroom(last) };
        if len > available {
            return Err(MbufError::NoTailroom {
                wanted: len,
                available,
            });
        }
        let m = self.0.as_ptr();
        // SAFETY: `last` and `m` are valid segments of the mbuf we own
        // exclusively; len <= tailroom keeps data_off + data_len <= buf_len,
        // so `tail .. tail + len` lies inside the last segment's buffer.
        unsafe {
            let tail = (*last)
                .buf_addr
                .cast::<u8>()
                .add(usize::from((*last).data_off) + usize::from((*last).data_len));
            (*last).data_len += len;
            (*m).pkt_len = (*m).pkt_len.wrapping_add(u32::from(len));
            Ok(std::slice::from_raw_parts_mut(tail, usize::from(len)))
        }
    }

    /// Removes `len` bytes from the front (for decapsulation). Same effect
    /// as `rte_pktmbuf_adj`.
    ///
    /// # Errors
    /// [`MbufError::TooShort`] when the first segment is shorter.
    #[inline]
    pub fn adj(&mut self, len: u16) -> Result<(), MbufError> {
        let data_len = self.data_len();
        if len > data_len {
            return Err(MbufError::TooShort {
                wanted: len,
                len: data_len,
            });
        }
        let m = self.0.as_ptr();
        // SAFETY: valid mbuf, exclusively ours; len <= data_len so
        // data_off + data_len is unchanged.
        unsafe {
            (*m).data_len -= len;
            (*m).data_off += len;
            (*m).pkt_len = (*m).pkt_len.wrapping_sub(u32::from(len));
        }
        Ok(())
    }

    /// Removes `len` bytes from the end (of the last segment). Same effect
    /// as `rte_pktmbuf_trim`.
    ///
    /// # Errors
    /// [`MbufError::TooShort`] when the last segment is shorter.
    #[inline]
    pub fn trim(&mut self, len: u16) -> Result<(), MbufError> {
        let last = self.last_seg();
        // SAFETY: `last` is a valid segment of our mbuf.
        let last_len = unsafe { (*last).data_len };
        if len > last_len {
            return Err(MbufError::TooShort {
                wanted: len,
                len: last_len,
            });
        }
        let m = self.0.as_ptr();
        // SAFETY: valid segments of the mbuf we own exclusively; the data
        // only shrinks.
        unsafe {
            (*last).data_len = last_len - len;
            (*m).pkt_len = (*m).pkt_len.wrapping_sub(u32::from(len));
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

    /// Takes every mbuf out, first received first; those the iterator
    /// does not yield before it is dropped are freed.
    #[inline]
    pub fn drain(&mut self) -> Drain<'_, N> {
        let end = self.len;
        // From here the slots [0, end) belong to the Drain.
        self.len = 0;
        Drain {
            burst: self,
            next: 0,
            end,
        }
    }

    /// Prefetches the data of every held mbuf (see
    /// [`Mbuf::prefetch_data`]).
    #[inline]
    pub fn prefetch_data(&self) {
        for m in self.as_slice() {
            m.prefetch_data();
        }
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

/// Asks the CPU to bring the cache line at `p` into every cache level (a
/// hint: any address is fine, nothing is read).
#[inline]
pub fn prefetch0(p: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: PREFETCHT0 is a hint; it never faults, whatever the address,
    // and SSE is part of the x86-64 baseline.
    unsafe {
        std::arch::x86_64::_mm_prefetch(p.cast::<i8>(), std::arch::x86_64::_MM_HINT_T0)
    };
    #[cfg(not(target_arch = "x86_64"))]
    // SAFETY: rte_prefetch0 is a hint that never faults.
    unsafe {
        sys::dpuflow_rte_prefetch0(p.cast())
    };
}

/// The mbufs of a [`Burst`], in order ([`Burst::drain`]).
pub struct Drain<'a, const N: usize> {
    burst: &'a mut Burst<N>,
    next: usize,
    end: usize,
}

impl<const N: usize> Iterator for Drain<'_, N> {
    type Item = Mbuf;

    #[inline]
    fn next(&mut self) -> Option<Mbuf> {
        if self.next >= self.end {
            return None;
        }
        // SAFETY: slots [next, end) hold owned, non-null mbufs the burst
        // gave up in `drain`; slot `next` is moved out exactly once.
        let raw = unsafe { self.burst.slots[self.next].assume_init() };
        self.next += 1;
        // SAFETY: non-null (only non-null pointers are stored); owned.
        NonNull::new(raw).map(|p| unsafe { Mbuf::from_raw(p) })
    }
}

impl<const N: usize> Drop for Drain<'_, N> {
    fn drop(&mut self) {
        if self.next >= self.end {
            return;
        }
        let count = u32::try_from(self.end - self.next).unwrap_or(u32::MAX);
        // SAFETY: slots [next, end) are owned mbufs not yet yielded; after
        // the call none is ours (the burst's len is already 0).
        unsafe {
            sys::rte_pktmbuf_free_bulk(self.burst.slots.as_mut_ptr().add(self.next).cast(), count);
        }
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
