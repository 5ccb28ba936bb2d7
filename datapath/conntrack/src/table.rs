//! The table: records, the two-choice bucket index, owners, handles,
//! sweeping and the control thread's read side. See the crate docs for the
//! protocol; comments here say why each ordering is what it is.

use std::collections::VecDeque;
use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{fence, AtomicU64, Ordering};
use std::sync::Arc;

use crossbeam_utils::CachePadded;
use foldhash::fast::FoldHasher;
use foldhash::SharedSeed;

use crate::key::{Dir, FlowKey, Packed, KEY_WORDS};
use crate::state::{self, ConnState, Fins, Timeouts, TimeoutsMs};

/// Words of caller data stored with each connection, written once at
/// creation (the pipeline keeps its verdict, route and table generation
/// there).
pub const PAYLOAD_WORDS: usize = 4;

/// Caller data stored with each connection.
pub type Payload = [u64; PAYLOAD_WORDS];

/// Largest supported capacity (the slot word holds a 32-bit index; this
/// keeps the index arrays' sizes far from overflow too).
const MAX_CAPACITY: u32 = 1 << 28;
/// Slots per bucket: 8 words, one 64-byte cache line.
const BUCKET_SLOTS: usize = 8;
/// Index slots per connection at least (two keys, at most half full).
const SLOTS_PER_CONN: usize = 4;
/// Rounds a creator backs off for a concurrent create of the same key.
const CONTENDED_ROUNDS: u32 = 16;

/// Table configuration.
#[derive(Clone, Debug)]
pub struct Config {
    /// Connections the table holds; every byte for them is allocated by
    /// [`Conntrack::new`].
    pub capacity: u32,
    /// Idle timeouts per protocol and state.
    pub timeouts: Timeouts,
    /// Hash seed; `None` (the default) draws one from the OS. Fixed seeds
    /// make bucket placement reproducible, for tests.
    pub hash_seed: Option<u64>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            capacity: 262_144,
            timeouts: Timeouts::default(),
            hash_seed: None,
        }
    }
}

/// A configuration [`Conntrack::new`] refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// Capacity 0.
    #[error("conntrack capacity must be at least 1")]
    ZeroCapacity,
    /// No worker to own the records.
    #[error("conntrack needs at least one worker")]
    NoWorkers,
    /// Capacity above the supported maximum.
    #[error("conntrack capacity {capacity} is above the maximum {max}")]
    TooLarge {
        /// Asked.
        capacity: u32,
        /// Supported.
        max: u32,
    },
}

/// Why [`Owner::create`] created nothing. The table is unchanged.
pub enum CreateError<'a> {
    /// No free record in this owner's share. Nothing was evicted; the
    /// caller counts the refusal.
    Full,
    /// A record was free, but both index buckets of one of the keys were
    /// full. Rare below capacity (the index has at least 4 slots per
    /// connection and two-choice placement); a steady count means the
    /// index is the bottleneck or someone found colliding tuples.
    BucketFull {
        /// The key that found no slot.
        key: Dir,
    },
    /// One of the two keys already belongs to a live connection: a create
    /// that lost a race for the same flow, or a reply key that collides
    /// with another connection (for example a NAT choice already in use).
    Exists {
        /// The existing connection.
        conn: Conn<'a>,
        /// Which of the new connection's keys collided.
        key: Dir,
    },
    /// Another worker was creating a connection with the same key at the
    /// same instant, and the race did not settle within a few rounds.
    /// Retrying the packet resolves it (it finds the winner).
    Contended,
}

impl fmt::Debug for CreateError<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CreateError::Full => f.write_str("Full"),
            CreateError::BucketFull { key } => {
                f.debug_struct("BucketFull").field("key", key).finish()
            }
            CreateError::Exists { conn, key } => f
                .debug_struct("Exists")
                .field("conn", conn)
                .field("key", key)
                .finish(),
            CreateError::Contended => f.write_str("Contended"),
        }
    }
}

impl fmt::Display for CreateError<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CreateError::Full => f.write_str("connection table full"),
            CreateError::BucketFull { key } => {
                write!(f, "no index slot for the {key:?} key (both buckets full)")
            }
            CreateError::Exists { key, .. } => {
                write!(f, "the {key:?} key belongs to an existing connection")
            }
            CreateError::Contended => {
                f.write_str("a concurrent create of the same key did not settle")
            }
        }
    }
}

impl std::error::Error for CreateError<'_> {}

/// A connection's identity: record index and the generation of that
/// record, so an id outliving its connection never names the record's
/// next occupant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ConnId {
    /// Record index.
    pub index: u32,
    /// Record generation.
    pub gen: u32,
}

/// What [`Owner::sweep`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SweepStats {
    /// Records examined.
    pub scanned: usize,
    /// Connections removed for idling past their timeout.
    pub expired: usize,
    /// Killed connections removed.
    pub killed: usize,
    /// Removed records returned to the free list (their grace period over).
    pub freed: usize,
}

/// A consistent snapshot of one connection, for the control thread.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnView {
    /// Identity (for [`Conntrack::kill`]).
    pub id: ConnId,
    /// Worker owning the record.
    pub owner: usize,
    /// Forward key (first packet, as seen).
    pub forward: FlowKey,
    /// Reply key (the reply as it arrives).
    pub reply: FlowKey,
    /// Protocol state.
    pub state: ConnState,
    /// Caller data.
    pub payload: Payload,
    /// Packets per direction, indexed forward then reply.
    pub packets: [u64; 2],
    /// Bytes per direction, indexed forward then reply.
    pub bytes: [u64; 2],
    /// Creation time (caller's milliseconds).
    pub created: u64,
    /// Time of the latest packet (caller's milliseconds).
    pub last_seen: u64,
    /// Directions (forward then reply) handed to the offload manager
    /// ([`Conn::claim_offload`]).
    pub offload_claimed: [bool; 2],
}

impl ConnView {
    /// Milliseconds since creation.
    pub fn age(&self, now: u64) -> u64 {
        now.saturating_sub(self.created)
    }

    /// Milliseconds since the latest packet.
    pub fn idle(&self, now: u64) -> u64 {
        now.saturating_sub(self.last_seen)
    }
}

// ---------------------------------------------------------------------------
// Slot words: state in bits 0-1, direction in bit 2, record index in bits
// 3-34, hash tag in bits 35-63. An empty slot is all zeroes, so a slot
// needs no version against ABA: only the claimer changes a busy slot, only
// the record's owner empties a live one, and a creator's CAS expects the
// empty word, whatever happened in between.

const SLOT_EMPTY: u64 = 0;
const SLOT_BUSY: u64 = 1;
const SLOT_LIVE: u64 = 2;
const SLOT_STATE: u64 = 3;
const TAG_SHIFT: u32 = 35;

fn slot_word(state: u64, tag: u64, index: u32, dir: Dir) -> u64 {
    let dir = match dir {
        Dir::Forward => 0,
        Dir::Reply => 1,
    };
    state | dir << 2 | u64::from(index) << 3 | tag << TAG_SHIFT
}

fn slot_index(word: u64) -> usize {
    // 32 bits by construction.
    (word >> 3 & u64::from(u32::MAX)) as usize
}

fn slot_dir(word: u64) -> Dir {
    if word >> 2 & 1 == 0 {
        Dir::Forward
    } else {
        Dir::Reply
    }
}

#[repr(align(64))]
struct Bucket([AtomicU64; BUCKET_SLOTS]);

struct Hashed {
    buckets: [usize; 2],
    tag: u64,
}

impl Hashed {
    /// The candidate buckets, once each.
    fn candidates(&self) -> &[usize] {
        if self.buckets[0] == self.buckets[1] {
            &self.buckets[..1]
        } else {
            &self.buckets
        }
    }
}

// ---------------------------------------------------------------------------
// Record state word: connection state code in bits 0-2, FINs seen in bits
// 3-4, LIVE bit 8, KILLED bit 9, generation in bits 32-63. A record is
// free (or unlinked, waiting for its grace period) when LIVE is clear.

const REC_CODE: u64 = 7;
const REC_FINS_SHIFT: u32 = 3;
const REC_LIVE: u64 = 1 << 8;
const REC_KILLED: u64 = 1 << 9;
/// Bits 10 (forward) and 11 (reply): the direction was handed to the
/// offload manager. Zero in a new record's state word.
const REC_OFFLOAD_SHIFT: u32 = 10;
const REC_GEN_SHIFT: u32 = 32;

fn rec_gen(s: u64) -> u32 {
    // The top 32 bits.
    (s >> REC_GEN_SHIFT) as u32
}

fn rec_state(s: u64) -> (ConnState, Fins) {
    (
        ConnState::from_code(s & REC_CODE),
        (s >> REC_FINS_SHIFT & 3) as Fins,
    )
}

fn rec_with_state(s: u64, state: ConnState, fins: Fins) -> u64 {
    (s & !(REC_CODE | 3 << REC_FINS_SHIFT)) | state.code() | u64::from(fins) << REC_FINS_SHIFT
}

fn rec_offload_bit(dir: Dir) -> u64 {
    1 << (REC_OFFLOAD_SHIFT + dir.index() as u32)
}

fn rec_usable(s: u64) -> bool {
    s & (REC_LIVE | REC_KILLED) == REC_LIVE
}

#[derive(Default)]
struct Record {
    state: AtomicU64,
    last_seen: AtomicU64,
    created: AtomicU64,
    keys: [[AtomicU64; KEY_WORDS]; 2],
    payload: [AtomicU64; PAYLOAD_WORDS],
    packets: [AtomicU64; 2],
    bytes: [AtomicU64; 2],
}

impl Record {
    fn key(&self, dir: Dir) -> Packed {
        let words = &self.keys[dir.index()];
        Packed(std::array::from_fn(|i| words[i].load(Ordering::Relaxed)))
    }

    fn key_is(&self, dir: Dir, key: &Packed) -> bool {
        self.keys[dir.index()]
            .iter()
            .zip(key.0)
            .all(|(w, k)| w.load(Ordering::Relaxed) == k)
    }

    fn proto(&self) -> u8 {
        Packed([0, 0, 0, 0, self.keys[0][4].load(Ordering::Relaxed)]).proto()
    }
}

/// Per-worker shared words, each on its own cache line.
struct WorkerShared {
    /// Epoch seen at the worker's latest quiescent point.
    seen: AtomicU64,
    /// Records of this worker not on its free list (written by it only).
    in_use: AtomicU64,
}

/// `seen` of a worker that left: never holds up reclamation.
const OFFLINE: u64 = u64::MAX;

/// The shared connection table. Made by [`Conntrack::new`] with one
/// [`Owner`] per worker; shared as `Arc<Conntrack>`.
pub struct Conntrack {
    buckets: Box<[Bucket]>,
    bucket_mask: usize,
    records: Box<[Record]>,
    seed: SharedSeed,
    per_hasher_seed: u64,
    timeouts: TimeoutsMs,
    epoch: CachePadded<AtomicU64>,
    workers: Box<[CachePadded<WorkerShared>]>,
    /// First record index of each worker's range, ascending.
    starts: Box<[u32]>,
}

impl fmt::Debug for Conntrack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Conntrack")
            .field("capacity", &self.capacity())
            .field("len", &self.len())
            .field("buckets", &self.buckets.len())
            .field("workers", &self.workers.len())
            .finish_non_exhaustive()
    }
}

fn random_seed(salt: u64) -> u64 {
    // std's RandomState is keyed from the OS's randomness; hashing a
    // constant through it yields 64 unpredictable bits without a new
    // dependency.
    std::collections::hash_map::RandomState::new().hash_one(salt)
}

impl Conntrack {
    /// Allocates a table for `config.capacity` connections and splits its
    /// records into one contiguous share per worker (sizes differing by at
    /// most one).
    ///
    /// # Errors
    ///
    /// [`ConfigError`] for a zero or too large capacity, or zero workers.
    pub fn new(
        config: Config,
        workers: usize,
    ) -> Result<(Arc<Conntrack>, Vec<Owner>), ConfigError> {
        let capacity = config.capacity;
        if capacity == 0 {
            return Err(ConfigError::ZeroCapacity);
        }
        if capacity > MAX_CAPACITY {
            return Err(ConfigError::TooLarge {
                capacity,
                max: MAX_CAPACITY,
            });
        }
        if workers == 0 {
            return Err(ConfigError::NoWorkers);
        }
        let cap = capacity as usize;
        let slots = (cap * SLOTS_PER_CONN)
            .next_power_of_two()
            .max(2 * BUCKET_SLOTS);
        let nbuckets = slots / BUCKET_SLOTS;
        let (seed, per_hasher_seed) = match config.hash_seed {
            Some(s) => (s, s.rotate_left(32) ^ 0x6a09_e667_f3bc_c908),
            None => (random_seed(1), random_seed(2)),
        };

        let mut starts = Vec::with_capacity(workers);
        let (base, extra) = (cap / workers, cap % workers);
        let mut next = 0usize;
        for w in 0..workers {
            starts.push(next);
            next += base + usize::from(w < extra);
        }
        let ranges: Vec<(u32, u32)> = (0..workers)
            .map(|w| {
                let end = starts.get(w + 1).copied().unwrap_or(cap);
                (to_u32(starts[w]), to_u32(end))
            })
            .collect();

        let table = Arc::new(Conntrack {
            buckets: (0..nbuckets).map(|_| Bucket(Default::default())).collect(),
            bucket_mask: nbuckets - 1,
            records: (0..cap).map(|_| Record::default()).collect(),
            seed: SharedSeed::from_u64(seed),
            per_hasher_seed,
            timeouts: TimeoutsMs::from(&config.timeouts),
            epoch: CachePadded::new(AtomicU64::new(1)),
            workers: (0..workers)
                .map(|_| {
                    CachePadded::new(WorkerShared {
                        seen: AtomicU64::new(0),
                        in_use: AtomicU64::new(0),
                    })
                })
                .collect(),
            starts: starts.into_iter().map(to_u32).collect(),
        });
        let owners = ranges
            .into_iter()
            .enumerate()
            .map(|(worker, (start, end))| Owner {
                ct: Arc::clone(&table),
                worker,
                start,
                end,
                cursor: start,
                // Popped from the back: the share is handed out in order.
                free: (start..end).rev().collect(),
                limbo: VecDeque::with_capacity((end - start) as usize),
            })
            .collect();
        Ok((table, owners))
    }

    /// Connections the table holds at most.
    pub fn capacity(&self) -> usize {
        self.records.len()
    }

    /// Records in use: live connections, plus killed or expired ones whose
    /// owner has not freed them yet. This is what counts against
    /// [`capacity`](Self::capacity).
    pub fn len(&self) -> usize {
        self.workers
            .iter()
            .map(|w| w.in_use.load(Ordering::Relaxed) as usize)
            .sum()
    }

    /// No record in use.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes allocated per connection of capacity: records, both index
    /// slots (at least 4 slots per connection, rounded up to a power of
    /// two), and the owners' free list and grace queue. 220–252 bytes.
    pub fn bytes_per_connection(&self) -> usize {
        let cap = self.records.len();
        let total = std::mem::size_of_val(&*self.records)
            + std::mem::size_of_val(&*self.buckets)
            + cap * (std::mem::size_of::<u32>() + std::mem::size_of::<(u64, u32)>());
        total.div_ceil(cap)
    }

    /// Marks a connection killed: lookups stop finding it now, and its
    /// owner frees it when its sweep reaches it. Any thread may call this.
    /// Returns whether this call killed it (false: already killed, gone,
    /// or `id` names an earlier occupant of the record).
    pub fn kill(&self, id: ConnId) -> bool {
        let Some(rec) = self.records.get(id.index as usize) else {
            return false;
        };
        let mut s = rec.state.load(Ordering::Relaxed);
        loop {
            if rec_gen(s) != id.gen || !rec_usable(s) {
                return false;
            }
            match rec.state.compare_exchange_weak(
                s,
                s | REC_KILLED,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return true,
                Err(now) => s = now,
            }
        }
    }

    /// Calls `f` with a snapshot of every live (not killed) connection.
    /// Never blocks a worker: each record is read optimistically and
    /// skipped if it was recycled while being read. Not a point-in-time
    /// image of the whole table.
    pub fn iter_live(&self, mut f: impl FnMut(&ConnView)) {
        for index in 0..self.records.len() {
            if let Some(view) = self.snapshot(index) {
                f(&view);
            }
        }
    }

    /// Kills every live connection `pred` selects (the builder thread's
    /// invalidation after a table change); returns how many this call
    /// killed.
    pub fn kill_where(&self, mut pred: impl FnMut(&ConnView) -> bool) -> usize {
        let mut killed = 0;
        self.iter_live(|view| {
            if pred(view) && self.kill(view.id) {
                killed += 1;
            }
        });
        killed
    }

    /// A snapshot of the connection `id` names, if it is still live.
    pub fn view(&self, id: ConnId) -> Option<ConnView> {
        self.snapshot(id.index as usize)
            .filter(|v| v.id.gen == id.gen)
    }

    /// Adds traffic counted elsewhere (a hardware rule's counters) to
    /// connection `id`'s direction `dir`, seen at `now`, so that its idle
    /// timer sees offloaded packets. Returns false when `id` no longer names
    /// a live connection. Should the record be recycled between the check
    /// and the adds, its next occupant gets one fold's worth of counts and
    /// a fresher idle time: harmless, and the offload manager removes the
    /// rules of connections that are gone.
    pub fn credit(&self, id: ConnId, dir: Dir, packets: u64, bytes: u64, now: u64) -> bool {
        let Some(rec) = self.records.get(id.index as usize) else {
            return false;
        };
        let s = rec.state.load(Ordering::Acquire);
        if rec_gen(s) != id.gen || !rec_usable(s) {
            return false;
        }
        rec.packets[dir.index()].fetch_add(packets, Ordering::Relaxed);
        rec.bytes[dir.index()].fetch_add(bytes, Ordering::Relaxed);
        if packets > 0 {
            rec.last_seen.fetch_max(now, Ordering::Relaxed);
        }
        true
    }

    /// Takes back direction `dir` of connection `id` from the offload
    /// manager (its request could not be handed over, or its rule was
    /// removed while the connection lives on), so that a later packet asks
    /// again. Returns false when `id` is gone or the direction was not
    /// claimed.
    pub fn release_offload(&self, id: ConnId, dir: Dir) -> bool {
        let Some(rec) = self.records.get(id.index as usize) else {
            return false;
        };
        let bit = rec_offload_bit(dir);
        let mut s = rec.state.load(Ordering::Relaxed);
        loop {
            if rec_gen(s) != id.gen || s & bit == 0 {
                return false;
            }
            match rec
                .state
                .compare_exchange_weak(s, s & !bit, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return true,
                Err(now) => s = now,
            }
        }
    }

    /// Hands `hint` the addresses of the index lines a lookup of `key`
    /// reads first (its candidate buckets), so that a worker can prefetch
    /// them for a whole burst and overlap the misses; the table is not
    /// touched.
    #[inline]
    pub fn prefetch(&self, key: &FlowKey, mut hint: impl FnMut(*const u8)) {
        let hashed = self.hash(&key.pack());
        for &b in hashed.candidates() {
            if let Some(bucket) = self.buckets.get(b) {
                hint(std::ptr::from_ref(bucket).cast());
            }
        }
    }

    /// A snapshot of the live connection that has `key` in either
    /// direction, for the control thread (workers use [`Owner::lookup`]).
    pub fn get(&self, key: &FlowKey) -> Option<ConnView> {
        let packed = key.pack();
        let hashed = self.hash(&packed);
        for &b in hashed.candidates() {
            for slot in &self.buckets[b].0 {
                let w = slot.load(Ordering::Acquire);
                if w & SLOT_STATE != SLOT_LIVE || w >> TAG_SHIFT != hashed.tag {
                    continue;
                }
                if let Some(view) = self.snapshot(slot_index(w)) {
                    let found = match slot_dir(w) {
                        Dir::Forward => view.forward,
                        Dir::Reply => view.reply,
                    };
                    if found == *key {
                        return Some(view);
                    }
                }
            }
        }
        None
    }

    /// Seqlock read of a record: valid only if it was live and of the same
    /// generation before and after every field was read.
    fn snapshot(&self, index: usize) -> Option<ConnView> {
        let rec = self.records.get(index)?;
        let s1 = rec.state.load(Ordering::Acquire);
        if !rec_usable(s1) {
            return None;
        }
        let forward = rec.key(Dir::Forward);
        let reply = rec.key(Dir::Reply);
        let payload = std::array::from_fn(|i| rec.payload[i].load(Ordering::Relaxed));
        let packets = [0, 1].map(|d| rec.packets[d].load(Ordering::Relaxed));
        let bytes = [0, 1].map(|d| rec.bytes[d].load(Ordering::Relaxed));
        let created = rec.created.load(Ordering::Relaxed);
        let last_seen = rec.last_seen.load(Ordering::Relaxed);
        // Pairs with the release fence a creator puts between freeing and
        // rewriting a record: if any field above came from the rewrite,
        // the load below sees the record no longer live or of a newer
        // generation.
        fence(Ordering::Acquire);
        let s2 = rec.state.load(Ordering::Relaxed);
        if rec_gen(s1) != rec_gen(s2) || !rec_usable(s2) {
            return None;
        }
        let index = to_u32(index);
        Some(ConnView {
            id: ConnId {
                index,
                gen: rec_gen(s2),
            },
            owner: self.owner_of(index),
            forward: forward.unpack(),
            reply: reply.unpack(),
            state: rec_state(s2).0,
            payload,
            packets,
            bytes,
            created,
            last_seen,
            offload_claimed: [Dir::Forward, Dir::Reply].map(|d| s2 & rec_offload_bit(d) != 0),
        })
    }

    fn owner_of(&self, index: u32) -> usize {
        self.starts
            .partition_point(|&s| s <= index)
            .saturating_sub(1)
    }

    fn hash(&self, key: &Packed) -> Hashed {
        let mut h = FoldHasher::with_seed(self.per_hasher_seed, &self.seed);
        for w in key.0 {
            h.write_u64(w);
        }
        let h = h.finish();
        Hashed {
            // Two independent halves pick the two buckets; the tag mixes
            // all 64 bits so keys sharing a bucket rarely share a tag.
            buckets: [
                (h & 0xffff_ffff) as usize & self.bucket_mask,
                (h >> 32) as usize & self.bucket_mask,
            ],
            tag: h.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> TAG_SHIFT,
        }
    }

    /// The usable connection with `key`, found through a live slot.
    /// Workers only: the record is not recycled before their next
    /// quiescent point, so its key needs no re-validation.
    fn find(&self, key: &Packed, hashed: &Hashed) -> Option<(u32, Dir, u32)> {
        for &b in hashed.candidates() {
            for slot in &self.buckets[b].0 {
                let w = slot.load(Ordering::Acquire);
                if w & SLOT_STATE != SLOT_LIVE || w >> TAG_SHIFT != hashed.tag {
                    continue;
                }
                let index = slot_index(w);
                let Some(rec) = self.records.get(index) else {
                    continue;
                };
                let s = rec.state.load(Ordering::Acquire);
                let dir = slot_dir(w);
                if rec_usable(s) && rec.key_is(dir, key) {
                    return Some((to_u32(index), dir, rec_gen(s)));
                }
            }
        }
        None
    }

    /// Claims a slot for `key` → (`index`, `dir`): busy on success, to be
    /// published by [`Self::publish`] or undone by [`Self::release`].
    fn claim(
        &self,
        key: &Packed,
        hashed: &Hashed,
        index: u32,
        dir: Dir,
    ) -> Result<&AtomicU64, Claim> {
        let busy = slot_word(SLOT_BUSY, hashed.tag, index, dir);
        let mut rounds = 0;
        loop {
            if let Some(hit) = self.find(key, hashed) {
                return Err(Claim::Exists(hit));
            }
            let slot = self.emptiest(hashed).ok_or(Claim::Full)?;
            // SeqCst claim, then SeqCst rescan: of two creators racing on
            // one key, the later claim's rescan sees the earlier one.
            if slot
                .compare_exchange(SLOT_EMPTY, busy, Ordering::SeqCst, Ordering::Relaxed)
                .is_err()
            {
                continue; // another creator took it: it made progress
            }
            match self.rival(key, hashed, slot) {
                None => return Ok(slot),
                Some(Rival::Live(hit)) => {
                    slot.store(SLOT_EMPTY, Ordering::SeqCst);
                    return Err(Claim::Exists(hit));
                }
                Some(Rival::Busy) => {
                    slot.store(SLOT_EMPTY, Ordering::SeqCst);
                    rounds += 1;
                    if rounds >= CONTENDED_ROUNDS {
                        return Err(Claim::Contended);
                    }
                    std::hint::spin_loop();
                }
            }
        }
    }

    /// An empty slot in the candidate bucket with more empty slots.
    fn emptiest(&self, hashed: &Hashed) -> Option<&AtomicU64> {
        let mut best: Option<(usize, &AtomicU64)> = None;
        for &b in hashed.candidates() {
            let mut empties = 0;
            let mut first = None;
            for slot in &self.buckets[b].0 {
                if slot.load(Ordering::Relaxed) == SLOT_EMPTY {
                    empties += 1;
                    first = first.or(Some(slot));
                }
            }
            if let Some(slot) = first {
                if best.is_none_or(|(n, _)| empties > n) {
                    best = Some((empties, slot));
                }
            }
        }
        best.map(|(_, slot)| slot)
    }

    /// Another slot of the same key, busy or usable, besides `mine`.
    fn rival(&self, key: &Packed, hashed: &Hashed, mine: &AtomicU64) -> Option<Rival> {
        for &b in hashed.candidates() {
            for slot in &self.buckets[b].0 {
                if std::ptr::eq(slot, mine) {
                    continue;
                }
                let w = slot.load(Ordering::SeqCst);
                let state = w & SLOT_STATE;
                if state == SLOT_EMPTY || w >> TAG_SHIFT != hashed.tag {
                    continue;
                }
                let index = slot_index(w);
                let Some(rec) = self.records.get(index) else {
                    continue;
                };
                let dir = slot_dir(w);
                // A busy slot's record may be rewritten under us if its
                // creator backed off and reused it: a torn key can only
                // cause a needless retry, never a missed rival, because
                // that creator's claim is gone.
                if !rec.key_is(dir, key) {
                    continue;
                }
                if state == SLOT_BUSY {
                    return Some(Rival::Busy);
                }
                let s = rec.state.load(Ordering::Acquire);
                if rec_usable(s) {
                    return Some(Rival::Live((to_u32(index), dir, rec_gen(s))));
                }
            }
        }
        None
    }

    /// Empties the live slot of (`index`, `dir`), whose key is `key`.
    fn unlink_slot(&self, key: &Packed, index: u32, dir: Dir) {
        let hashed = self.hash(key);
        let live = slot_word(SLOT_LIVE, hashed.tag, index, dir);
        for &b in hashed.candidates() {
            for slot in &self.buckets[b].0 {
                if slot
                    .compare_exchange(live, SLOT_EMPTY, Ordering::Release, Ordering::Relaxed)
                    .is_ok()
                {
                    return;
                }
            }
        }
    }
}

enum Claim {
    Full,
    Exists((u32, Dir, u32)),
    Contended,
}

enum Rival {
    Busy,
    Live((u32, Dir, u32)),
}

fn to_u32(i: usize) -> u32 {
    // Indices are below MAX_CAPACITY, checked in `new`.
    u32::try_from(i).unwrap_or(u32::MAX)
}

/// A worker's handle on the table: the only way to create, look up, age
/// and free connections, and the worker's identity in the grace-period
/// scheme. One per worker thread, for the thread's lifetime.
pub struct Owner {
    ct: Arc<Conntrack>,
    worker: usize,
    start: u32,
    end: u32,
    cursor: u32,
    free: Vec<u32>,
    /// Unlinked records, each with the epoch after which it may be freed;
    /// epochs ascend, so the front is always the next to free.
    limbo: VecDeque<(u64, u32)>,
}

impl fmt::Debug for Owner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Owner")
            .field("worker", &self.worker)
            .field("records", &(self.start..self.end))
            .field("free", &self.free.len())
            .field("limbo", &self.limbo.len())
            .finish_non_exhaustive()
    }
}

impl Owner {
    /// The shared table.
    pub fn table(&self) -> &Arc<Conntrack> {
        &self.ct
    }

    /// This owner's worker number (0-based, as handed out by `new`).
    pub fn worker(&self) -> usize {
        self.worker
    }

    /// Records of this owner's share that are free for [`create`](Self::create).
    pub fn free_records(&self) -> usize {
        self.free.len()
    }

    /// Whether `conn` was created by this owner (its record is in this
    /// owner's share): `false` for a reply landing on another worker's
    /// queue. One range check, for per-packet counters.
    #[inline]
    pub fn owns(&self, conn: &Conn<'_>) -> bool {
        (self.start..self.end).contains(&conn.index)
    }

    /// The live connection with `key` in either direction, whoever created
    /// it. A killed connection is not found.
    pub fn lookup(&self, key: &FlowKey) -> Option<Conn<'_>> {
        let packed = key.pack();
        let hashed = self.ct.hash(&packed);
        let (index, dir, gen) = self.ct.find(&packed, &hashed)?;
        Some(Conn {
            ct: &self.ct,
            index,
            dir,
            gen,
        })
    }

    /// The connection `id` names, in its forward direction, if it is still
    /// live and not killed.
    pub fn conn(&self, id: ConnId) -> Option<Conn<'_>> {
        let s = self
            .ct
            .records
            .get(id.index as usize)?
            .state
            .load(Ordering::Acquire);
        (rec_usable(s) && rec_gen(s) == id.gen).then_some(Conn {
            ct: &self.ct,
            index: id.index,
            dir: Dir::Forward,
            gen: id.gen,
        })
    }

    /// Creates a connection from its first packet: `forward` is that
    /// packet's key, `reply` the key replies will carry (after NAT; without
    /// NAT, `forward.reversed()`). `tcp_flags` chooses the starting state
    /// (ignored unless the protocol is TCP); the packet itself is not
    /// counted — call [`Conn::update`] for it as for every packet (it does
    /// not move the starting state). Returns the connection in its
    /// forward direction.
    ///
    /// # Errors
    ///
    /// [`CreateError::Full`] with no free record, [`CreateError::BucketFull`]
    /// with no index slot for a key;
    /// [`CreateError::Exists`] when a key is taken (the other connection
    /// is returned); [`CreateError::Contended`] on an unsettled race for
    /// the same key. The table is unchanged in every case.
    pub fn create(
        &mut self,
        forward: FlowKey,
        reply: FlowKey,
        payload: Payload,
        tcp_flags: u8,
        now: u64,
    ) -> Result<Conn<'_>, CreateError<'_>> {
        let ct: &Conntrack = &self.ct;
        let fwd = forward.pack();
        let rep = reply.pack();
        let index = self.free.pop().ok_or(CreateError::Full)?;
        let Some(rec) = ct.records.get(index as usize) else {
            return Err(CreateError::Full);
        };
        // The record has been free since its grace period; no worker can
        // reach it. The control thread may still be reading it: the fence
        // makes its snapshot see the record's non-live state if it reads
        // any value written below (see `snapshot`).
        let free_state = rec.state.load(Ordering::Relaxed);
        fence(Ordering::Release);
        for (d, key) in [fwd, rep].iter().enumerate() {
            for (w, k) in rec.keys[d].iter().zip(key.0) {
                w.store(k, Ordering::Relaxed);
            }
        }
        for (w, p) in rec.payload.iter().zip(payload) {
            w.store(p, Ordering::Relaxed);
        }
        for d in 0..2 {
            rec.packets[d].store(0, Ordering::Relaxed);
            rec.bytes[d].store(0, Ordering::Relaxed);
        }
        rec.created.store(now, Ordering::Relaxed);
        rec.last_seen.store(now, Ordering::Relaxed);

        let fwd_hash = ct.hash(&fwd);
        let fwd_slot = match ct.claim(&fwd, &fwd_hash, index, Dir::Forward) {
            Ok(slot) => slot,
            Err(e) => {
                self.free.push(index);
                return Err(claim_error(ct, e, Dir::Forward));
            }
        };
        // A tuple that is its own reversal (same address and port both
        // ways) has one key and one slot.
        let rep_hash = ct.hash(&rep);
        let rep_slot = if rep == fwd {
            None
        } else {
            match ct.claim(&rep, &rep_hash, index, Dir::Reply) {
                Ok(slot) => Some(slot),
                Err(e) => {
                    fwd_slot.store(SLOT_EMPTY, Ordering::SeqCst);
                    self.free.push(index);
                    return Err(claim_error(ct, e, Dir::Reply));
                }
            }
        };

        let (st, fins) = state::initial(forward.proto, tcp_flags);
        let gen = rec_gen(free_state).wrapping_add(1);
        let live = rec_with_state(u64::from(gen) << REC_GEN_SHIFT | REC_LIVE, st, fins);
        // Record first, then slots: a lookup that sees a live slot (acquire)
        // sees the live record and everything written above.
        rec.state.store(live, Ordering::Release);
        fwd_slot.store(
            slot_word(SLOT_LIVE, fwd_hash.tag, index, Dir::Forward),
            Ordering::Release,
        );
        if let Some(slot) = rep_slot {
            slot.store(
                slot_word(SLOT_LIVE, rep_hash.tag, index, Dir::Reply),
                Ordering::Release,
            );
        }
        let shared = &ct.workers[self.worker];
        let in_use = shared.in_use.load(Ordering::Relaxed);
        shared.in_use.store(in_use + 1, Ordering::Relaxed);
        Ok(Conn {
            ct,
            index,
            dir: Dir::Forward,
            gen,
        })
    }

    /// Announces a quiescent point: this worker holds no [`Conn`] (the
    /// borrow checker guarantees it). Call it between bursts when not
    /// sweeping; records other owners removed are freed only after every
    /// worker has done so.
    pub fn quiesce(&mut self) {
        let epoch = self.ct.epoch.load(Ordering::Acquire);
        self.ct.workers[self.worker]
            .seen
            .store(epoch, Ordering::Release);
    }

    /// Ages this owner's records incrementally: quiesces, frees removed
    /// records whose grace period is over, then examines at most `budget`
    /// records (round robin over the share) and removes those killed or
    /// idle for at least their state's timeout. Cheap enough to call when
    /// a poll returns nothing.
    pub fn sweep(&mut self, now: u64, budget: usize) -> SweepStats {
        self.quiesce();
        let ct: &Conntrack = &self.ct;
        let mut stats = SweepStats::default();

        if !self.limbo.is_empty() {
            let safe = ct
                .workers
                .iter()
                .map(|w| w.seen.load(Ordering::Acquire))
                .min()
                .unwrap_or(OFFLINE);
            while let Some(&(epoch, index)) = self.limbo.front() {
                if epoch > safe {
                    break;
                }
                self.limbo.pop_front();
                self.free.push(index);
                stats.freed += 1;
            }
        }

        let share = (self.end - self.start) as usize;
        let mut unlinked = 0;
        for _ in 0..budget.min(share) {
            let index = self.cursor;
            self.cursor = if index + 1 >= self.end {
                self.start
            } else {
                index + 1
            };
            stats.scanned += 1;
            let Some(rec) = ct.records.get(index as usize) else {
                continue;
            };
            let s = rec.state.load(Ordering::Relaxed);
            if s & REC_LIVE == 0 {
                continue;
            }
            let killed = s & REC_KILLED != 0;
            if !killed {
                let idle = now.saturating_sub(rec.last_seen.load(Ordering::Relaxed));
                if idle < ct.timeouts.get(rec.proto(), rec_state(s).0) {
                    continue;
                }
            }
            // Unlink: lookups (which check LIVE) stop at once; then the
            // slots go, so new lookups do not even reach the record.
            rec.state.fetch_and(!REC_LIVE, Ordering::AcqRel);
            let fwd = rec.key(Dir::Forward);
            let rep = rec.key(Dir::Reply);
            ct.unlink_slot(&fwd, index, Dir::Forward);
            if rep != fwd {
                ct.unlink_slot(&rep, index, Dir::Reply);
            }
            self.limbo.push_back((0, index));
            unlinked += 1;
            if killed {
                stats.killed += 1;
            } else {
                stats.expired += 1;
            }
        }
        if unlinked > 0 {
            // A worker whose quiescent point saw this epoch (or a later
            // one) loaded it after the slots above were emptied, so it can
            // no longer reach these records.
            let epoch = ct.epoch.fetch_add(1, Ordering::AcqRel) + 1;
            for entry in self.limbo.iter_mut().rev().take(unlinked) {
                entry.0 = epoch;
            }
        }
        let in_use = (self.end - self.start) as usize - self.free.len();
        ct.workers[self.worker]
            .in_use
            .store(in_use as u64, Ordering::Relaxed);
        stats
    }
}

impl Drop for Owner {
    fn drop(&mut self) {
        // Out of the grace-period scheme: a departed worker holds nothing.
        self.ct.workers[self.worker]
            .seen
            .store(OFFLINE, Ordering::Release);
    }
}

fn claim_error(ct: &Conntrack, e: Claim, key: Dir) -> CreateError<'_> {
    match e {
        Claim::Full => CreateError::BucketFull { key },
        Claim::Contended => CreateError::Contended,
        Claim::Exists((index, dir, gen)) => CreateError::Exists {
            conn: Conn {
                ct,
                index,
                dir,
                gen,
            },
            key,
        },
    }
}

/// A connection as one packet found it: the record and the direction the
/// packet matched. Borrows the worker's [`Owner`], so it cannot outlive
/// the worker's next quiescent point — until then the record cannot be
/// recycled, and every access through it is to this connection.
#[derive(Clone, Copy)]
pub struct Conn<'a> {
    ct: &'a Conntrack,
    index: u32,
    dir: Dir,
    gen: u32,
}

impl fmt::Debug for Conn<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Conn")
            .field("id", &self.id())
            .field("dir", &self.dir)
            .finish()
    }
}

impl Conn<'_> {
    fn rec(&self) -> &Record {
        // In range: the index came from a slot or a bounds-checked id, and
        // records are never removed from the array.
        &self.ct.records[self.index as usize]
    }

    /// Identity of the connection.
    pub fn id(&self) -> ConnId {
        ConnId {
            index: self.index,
            gen: self.gen,
        }
    }

    /// Which of the connection's keys the packet matched.
    pub fn dir(&self) -> Dir {
        self.dir
    }

    /// The forward key (first packet, as seen).
    pub fn forward(&self) -> FlowKey {
        self.rec().key(Dir::Forward).unpack()
    }

    /// The reply key (the reply as it arrives).
    pub fn reply(&self) -> FlowKey {
        self.rec().key(Dir::Reply).unpack()
    }

    /// The tuple this packet must carry after NAT: the other direction's
    /// key reversed (the packet's own key when there is no NAT).
    pub fn translated(&self) -> FlowKey {
        self.rec().key(self.dir.opposite()).unpack().reversed()
    }

    /// The caller data stored at creation.
    pub fn payload(&self) -> Payload {
        let rec = self.rec();
        std::array::from_fn(|i| rec.payload[i].load(Ordering::Relaxed))
    }

    /// The current state.
    pub fn state(&self) -> ConnState {
        rec_state(self.rec().state.load(Ordering::Relaxed)).0
    }

    /// Whether the connection was killed (or removed) since it was found.
    pub fn is_killed(&self) -> bool {
        !rec_usable(self.rec().state.load(Ordering::Relaxed))
    }

    /// Accounts one packet of `len` bytes in this handle's direction, seen
    /// at `now`, with TCP `tcp_flags` (ignored for other protocols), and
    /// returns the state after it. Any worker may update any connection:
    /// counters are relaxed adds, the state moves by CAS.
    pub fn update(&self, len: u32, tcp_flags: u8, now: u64) -> ConnState {
        let rec = self.rec();
        let d = self.dir.index();
        rec.packets[d].fetch_add(1, Ordering::Relaxed);
        rec.bytes[d].fetch_add(u64::from(len), Ordering::Relaxed);
        // Most packets share their burst's millisecond: a load, rarely a
        // store. Racing stores may leave a time a burst older; harmless.
        if rec.last_seen.load(Ordering::Relaxed) < now {
            rec.last_seen.store(now, Ordering::Relaxed);
        }
        let proto = rec.proto();
        let reply = self.dir == Dir::Reply;
        let mut s = rec.state.load(Ordering::Relaxed);
        loop {
            let (st, fins) = rec_state(s);
            let (next, next_fins) = state::next(proto, st, fins, reply, tcp_flags);
            if (next, next_fins) == (st, fins) || s & REC_LIVE == 0 {
                return st;
            }
            match rec.state.compare_exchange_weak(
                s,
                rec_with_state(s, next, next_fins),
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return next,
                Err(now) => s = now,
            }
        }
    }

    /// Claims this handle's direction for the offload manager: true once,
    /// for the first caller, while the connection lives; a plain load when
    /// it is already claimed (every packet of an offered direction).
    #[inline]
    pub fn claim_offload(&self) -> bool {
        let rec = self.rec();
        let bit = rec_offload_bit(self.dir);
        let s = rec.state.load(Ordering::Relaxed);
        if s & bit != 0 || !rec_usable(s) {
            return false;
        }
        let before = rec.state.fetch_or(bit, Ordering::Relaxed);
        before & bit == 0 && rec_usable(before)
    }

    /// Kills the connection (see [`Conntrack::kill`]).
    pub fn kill(&self) -> bool {
        self.ct.kill(self.id())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::tcp_flags::{ACK, FIN, SYN};
    use std::net::{IpAddr, Ipv4Addr};
    use std::time::Duration;

    fn ip(a: u8, b: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(10, a, 0, b))
    }

    fn key(proto: u8, sport: u16) -> FlowKey {
        FlowKey {
            zone: 3,
            proto,
            src: ip(1, 5),
            dst: ip(96, 10),
            sport,
            dport: 80,
        }
    }

    /// The reply key after DNAT of `k` to endpoint 10.2.0.7:8080.
    fn dnat_reply(k: FlowKey) -> FlowKey {
        FlowKey {
            src: ip(2, 7),
            sport: 8080,
            dst: k.src,
            dport: k.sport,
            ..k
        }
    }

    fn table(capacity: u32, workers: usize) -> (Arc<Conntrack>, Vec<Owner>) {
        let config = Config {
            capacity,
            hash_seed: Some(0x5eed),
            ..Config::default()
        };
        Conntrack::new(config, workers).unwrap()
    }

    #[test]
    fn prefetch_names_the_buckets_a_lookup_reads_first() {
        let (ct, mut owners) = table(64, 1);
        let k = key(6, 1000);
        assert!(owners[0].create(k, dnat_reply(k), [0; 4], SYN, 1).is_ok());
        let mut hinted = Vec::new();
        ct.prefetch(&k, |p| hinted.push(p as usize));
        let hashed = ct.hash(&k.pack());
        let expected: Vec<usize> = hashed
            .candidates()
            .iter()
            .map(|&b| std::ptr::from_ref(&ct.buckets[b]) as usize)
            .collect();
        assert_eq!(hinted, expected);
        // The key's slot lies in one of them.
        let (index, _, _) = ct.find(&k.pack(), &hashed).unwrap();
        let holds = hashed.candidates().iter().any(|&b| {
            ct.buckets[b]
                .0
                .iter()
                .any(|s| slot_index(s.load(Ordering::Relaxed)) == index as usize)
        });
        assert!(holds);
    }

    #[test]
    fn both_directions_find_the_connection_from_any_worker() {
        let (ct, mut owners) = table(16, 2);
        let fwd = key(6, 40000);
        let rep = dnat_reply(fwd);
        let id = owners[0]
            .create(fwd, rep, [7, 8, 9, 10], SYN, 5)
            .unwrap()
            .id();
        for owner in &owners {
            let f = owner.lookup(&fwd).unwrap();
            assert_eq!((f.id(), f.dir()), (id, Dir::Forward));
            assert_eq!(f.translated(), rep.reversed());
            let r = owner.lookup(&rep).unwrap();
            assert_eq!((r.id(), r.dir()), (id, Dir::Reply));
            assert_eq!(r.translated(), fwd.reversed());
            assert_eq!(r.payload(), [7, 8, 9, 10]);
            assert_eq!((r.forward(), r.reply()), (fwd, rep));
        }
        // Neither reversed key is a key of this connection (NAT changed it).
        assert!(owners[1].lookup(&fwd.reversed()).is_none());
        assert!(owners[1].lookup(&rep.reversed()).is_none());
        // Only the creator owns it, whichever key another worker found.
        assert!(owners[0].owns(&owners[0].lookup(&rep).unwrap()));
        assert!(!owners[1].owns(&owners[1].lookup(&rep).unwrap()));
        assert!(!owners[1].owns(&owners[1].lookup(&fwd).unwrap()));
        let view = ct.get(&rep).unwrap();
        assert_eq!(
            (view.id, view.owner, view.forward, view.reply),
            (id, 0, fwd, rep)
        );
        assert_eq!(view.created, 5);
        assert_eq!(ct.len(), 1);
    }

    #[test]
    fn the_tcp_handshake_moves_through_updates_from_two_workers() {
        let (ct, mut owners) = table(16, 2);
        let fwd = key(6, 40001);
        let rep = dnat_reply(fwd);
        let (w0, w1) = owners.split_at_mut(1);
        let c = w0[0].create(fwd, rep, [0; 4], SYN, 0).unwrap();
        assert_eq!(c.update(60, SYN, 0), ConnState::SynSent);
        let r = w1[0].lookup(&rep).unwrap();
        assert_eq!(r.update(60, SYN | ACK, 1), ConnState::SynRecv);
        assert_eq!(c.update(52, ACK, 2), ConnState::Established);
        assert_eq!(r.update(1000, ACK, 3), ConnState::Established);
        assert_eq!(c.update(52, FIN | ACK, 4), ConnState::FinWait);
        assert_eq!(r.update(52, FIN | ACK, 5), ConnState::TimeWait);
        assert_eq!(c.state(), ConnState::TimeWait);
        let view = ct.get(&fwd).unwrap();
        assert_eq!(view.packets, [3, 3]);
        assert_eq!(view.bytes, [164, 1112]);
        assert_eq!(view.last_seen, 5);
        assert_eq!((view.age(9), view.idle(9)), (9, 4));
    }

    #[test]
    fn udp_becomes_replied_on_the_reply() {
        let (_ct, mut owners) = table(4, 1);
        let fwd = key(17, 5353);
        let c = owners[0].create(fwd, fwd.reversed(), [0; 4], 0, 0).unwrap();
        assert_eq!(c.update(100, 0, 0), ConnState::Unreplied);
        let id = c.id();
        let r = owners[0].lookup(&fwd.reversed()).unwrap();
        assert_eq!(r.id(), id);
        assert_eq!(r.update(100, 0, 1), ConnState::Replied);
    }

    #[test]
    fn a_taken_forward_key_is_exists_and_changes_nothing() {
        let (ct, mut owners) = table(8, 2);
        let fwd = key(6, 1);
        let first = owners[0]
            .create(fwd, fwd.reversed(), [1; 4], SYN, 0)
            .unwrap()
            .id();
        let free = owners[1].free_records();
        let other_reply = dnat_reply(fwd);
        match owners[1].create(fwd, other_reply, [2; 4], SYN, 0) {
            Err(CreateError::Exists { conn, key }) => {
                assert_eq!(
                    (conn.id(), conn.dir(), key),
                    (first, Dir::Forward, Dir::Forward)
                );
            }
            other => panic!("expected Exists, got {other:?}"),
        }
        assert_eq!(owners[1].free_records(), free);
        assert!(owners[1].lookup(&other_reply).is_none());
        assert_eq!(ct.len(), 1);
    }

    #[test]
    fn a_reply_key_collision_rolls_back_the_forward_key() {
        let (ct, mut owners) = table(8, 1);
        let a = key(17, 1000);
        owners[0].create(a, a.reversed(), [0; 4], 0, 0).unwrap();
        // A second connection whose NAT'd reply key is the first's forward key.
        let b = key(17, 2000);
        match owners[0].create(b, a, [0; 4], 0, 0) {
            Err(CreateError::Exists { key, conn }) => {
                assert_eq!(key, Dir::Reply);
                assert_eq!(conn.dir(), Dir::Forward);
            }
            other => panic!("expected Exists, got {other:?}"),
        }
        assert!(owners[0].lookup(&b).is_none(), "forward key left behind");
        assert_eq!((ct.len(), owners[0].free_records()), (1, 7));
        // The rolled-back record and slots are reusable.
        owners[0].create(b, b.reversed(), [0; 4], 0, 0).unwrap();
        assert_eq!(ct.len(), 2);
    }

    #[test]
    fn capacity_is_exact_and_split_between_owners() {
        let (ct, mut owners) = table(5, 2);
        assert_eq!(
            owners.iter().map(Owner::free_records).collect::<Vec<_>>(),
            [3, 2]
        );
        let mut port = 0;
        for owner in owners.iter_mut() {
            let n = owner.free_records();
            for _ in 0..n {
                port += 1;
                let k = key(17, port);
                owner.create(k, k.reversed(), [0; 4], 0, 0).unwrap();
            }
            let k = key(17, 999);
            assert!(matches!(
                owner.create(k, k.reversed(), [0; 4], 0, 0),
                Err(CreateError::Full)
            ));
        }
        assert_eq!((ct.len(), ct.capacity()), (5, 5));
        let mut seen = 0;
        ct.iter_live(|_| seen += 1);
        assert_eq!(seen, 5);
    }

    #[test]
    fn both_buckets_full_is_bucket_full_and_changes_nothing() {
        let (ct, mut owners) = table(32, 1);
        // Self-reversed tuples (same address and port both ways) take one
        // slot each; collect those whose two buckets are exactly 0 and 1.
        let pinned: Vec<FlowKey> = (0..u16::MAX)
            .map(|p| FlowKey {
                zone: 0,
                proto: 17,
                src: ip(9, 9),
                dst: ip(9, 9),
                sport: p,
                dport: p,
            })
            .filter(|k| {
                let b = ct.hash(&k.pack()).buckets;
                b == [0, 1] || b == [1, 0]
            })
            .take(2 * BUCKET_SLOTS + 1)
            .collect();
        assert_eq!(pinned.len(), 2 * BUCKET_SLOTS + 1);
        for k in &pinned[..2 * BUCKET_SLOTS] {
            owners[0].create(*k, *k, [0; 4], 0, 0).unwrap();
        }
        let free = owners[0].free_records();
        assert!(free > 0);
        let last = pinned[2 * BUCKET_SLOTS];
        assert!(matches!(
            owners[0].create(last, last, [0; 4], 0, 0),
            Err(CreateError::BucketFull { key: Dir::Forward })
        ));
        assert_eq!(owners[0].free_records(), free);
        assert!(owners[0].lookup(&last).is_none());
        assert_eq!(ct.len(), 2 * BUCKET_SLOTS);
    }

    #[test]
    fn a_self_reversed_tuple_has_one_key_and_is_removed_cleanly() {
        let (ct, mut owners) = table(4, 1);
        let k = FlowKey {
            zone: 0,
            proto: 6,
            src: ip(1, 1),
            dst: ip(1, 1),
            sport: 7,
            dport: 7,
        };
        let id = owners[0]
            .create(k, k.reversed(), [0; 4], SYN, 0)
            .unwrap()
            .id();
        assert_eq!(
            owners[0].lookup(&k).map(|c| (c.id(), c.dir())),
            Some((id, Dir::Forward))
        );
        assert!(ct.kill(id));
        let stats = owners[0].sweep(0, 4);
        assert_eq!(stats.killed, 1);
        assert_eq!(owners[0].sweep(0, 0).freed, 1);
        assert!(ct.is_empty());
        assert!(ct
            .buckets
            .iter()
            .all(|b| b.0.iter().all(|s| s.load(Ordering::Relaxed) == 0)));
    }

    #[test]
    fn kill_hides_at_once_and_the_owner_reclaims_after_the_grace_period() {
        let (ct, mut owners) = table(8, 2);
        let fwd = key(6, 4242);
        let rep = dnat_reply(fwd);
        let id = owners[1].create(fwd, rep, [0; 4], SYN, 0).unwrap().id();
        assert!(ct.kill(id));
        assert!(!ct.kill(id), "second kill reports nothing new");
        assert!(owners[0].lookup(&fwd).is_none());
        assert!(owners[0].lookup(&rep).is_none());
        assert!(ct.get(&fwd).is_none());
        let mut live = 0;
        ct.iter_live(|_| live += 1);
        assert_eq!(live, 0);
        // A new connection for the same tuple may be created before the sweep.
        let again = owners[0].create(fwd, rep, [0; 4], SYN, 0).unwrap().id();
        assert_eq!(owners[1].lookup(&rep).map(|c| c.id()), Some(again));

        let stats = owners[1].sweep(0, 8);
        assert_eq!((stats.killed, stats.expired, stats.freed), (1, 0, 0));
        // Worker 0 has not passed a quiescent point since: not freed yet.
        assert_eq!(owners[1].sweep(0, 0).freed, 0);
        assert_eq!(ct.len(), 2);
        owners[0].quiesce();
        assert_eq!(owners[1].sweep(0, 0).freed, 1);
        assert_eq!(ct.len(), 1);
        assert_eq!(owners[1].lookup(&fwd).map(|c| c.id()), Some(again));

        // The record's next occupant has a new generation: the old id
        // names nothing.
        let k = key(17, 1);
        let reused = owners[1]
            .create(k, k.reversed(), [0; 4], 0, 0)
            .unwrap()
            .id();
        assert_eq!(reused.index, id.index);
        assert_ne!(reused.gen, id.gen);
        assert!(!ct.kill(id));
        assert!(owners[1].conn(id).is_none());
        assert_eq!(owners[1].conn(reused).map(|c| c.id()), Some(reused));
    }

    #[test]
    fn a_dropped_owner_does_not_hold_up_reclamation() {
        let (ct, mut owners) = table(4, 2);
        let w1 = owners.pop().unwrap();
        let k = key(6, 1);
        let id = owners[0]
            .create(k, k.reversed(), [0; 4], SYN, 0)
            .unwrap()
            .id();
        assert!(ct.kill(id));
        owners[0].sweep(0, 4);
        assert_eq!(owners[0].sweep(0, 0).freed, 0);
        drop(w1);
        assert_eq!(owners[0].sweep(0, 0).freed, 1);
    }

    #[test]
    fn idle_connections_expire_by_protocol_and_state() {
        let config = Config {
            capacity: 8,
            hash_seed: Some(1),
            timeouts: Timeouts {
                udp_unreplied: Duration::from_millis(100),
                udp_replied: Duration::from_millis(500),
                tcp_established: Duration::from_millis(1000),
                ..Timeouts::default()
            },
        };
        let (ct, mut owners) = Conntrack::new(config, 1).unwrap();
        let o = &mut owners[0];
        let lone = key(17, 1);
        o.create(lone, lone.reversed(), [0; 4], 0, 0).unwrap();
        let chatty = key(17, 2);
        o.create(chatty, chatty.reversed(), [0; 4], 0, 0).unwrap();
        o.lookup(&chatty.reversed()).unwrap().update(10, 0, 0);
        let tcp = key(6, 3);
        o.create(tcp, tcp.reversed(), [0; 4], ACK, 0).unwrap();

        assert_eq!(o.sweep(99, 8).expired, 0);
        assert_eq!(o.sweep(100, 8).expired, 1);
        assert!(o.lookup(&lone).is_none());
        // Traffic keeps a connection alive.
        o.lookup(&chatty).unwrap().update(10, 0, 400);
        assert_eq!(o.sweep(899, 8).expired, 0);
        assert_eq!(o.sweep(900, 8).expired, 1);
        assert_eq!(o.sweep(999, 8).expired, 0);
        assert_eq!(o.sweep(1000, 8).expired, 1);
        assert!(o.lookup(&tcp).is_none());
        // Freed (back to the free list) by the sweep after the one that
        // removed them: the grace period of a lone worker.
        assert_eq!(o.sweep(1000, 0).freed, 1);
        assert!(ct.is_empty());
        assert_eq!(o.free_records(), 8);
    }

    #[test]
    fn sweep_examines_at_most_its_budget() {
        let config = Config {
            capacity: 10,
            hash_seed: Some(2),
            ..Config::default()
        };
        let (ct, mut owners) = Conntrack::new(config, 1).unwrap();
        let o = &mut owners[0];
        for p in 0..10 {
            let k = key(17, p);
            o.create(k, k.reversed(), [0; 4], 0, 0).unwrap();
        }
        let late = 3_600_000;
        let runs: Vec<(usize, usize)> = (0..4)
            .map(|_| {
                let s = o.sweep(late, 3);
                (s.scanned, s.expired)
            })
            .collect();
        assert_eq!(runs, [(3, 3), (3, 3), (3, 3), (3, 1)]);
        assert_eq!(ct.len(), 1, "the last one waits for its grace period");
        assert_eq!(o.sweep(late, 0).freed, 1);
        assert!(ct.is_empty());
    }

    #[test]
    fn kill_where_kills_exactly_what_the_predicate_selects() {
        let (ct, mut owners) = table(16, 2);
        for p in 0..12u16 {
            let o = &mut owners[usize::from(p % 2)];
            let k = key(17, p);
            o.create(k, dnat_reply(k), [u64::from(p % 3), 0, 0, 0], 0, 0)
                .unwrap();
        }
        assert_eq!(ct.kill_where(|v| v.payload[0] == 1), 4);
        assert_eq!(ct.kill_where(|v| v.payload[0] == 1), 0);
        let mut left = Vec::new();
        ct.iter_live(|v| left.push(v.forward.sport));
        left.sort_unstable();
        assert_eq!(left, [0, 2, 3, 5, 6, 8, 9, 11]);
        for p in [1u16, 4, 7, 10] {
            assert!(owners[0].lookup(&key(17, p)).is_none());
        }
    }

    #[test]
    fn bad_configs_are_refused() {
        let with = |capacity| Config {
            capacity,
            ..Config::default()
        };
        assert_eq!(
            Conntrack::new(with(0), 1).unwrap_err(),
            ConfigError::ZeroCapacity
        );
        assert_eq!(
            Conntrack::new(with(8), 0).unwrap_err(),
            ConfigError::NoWorkers
        );
        assert!(matches!(
            Conntrack::new(with(MAX_CAPACITY + 1), 1),
            Err(ConfigError::TooLarge { .. })
        ));
        // More workers than records: some shares are empty, and full at once.
        let (_ct, mut owners) = Conntrack::new(with(2), 3).unwrap();
        let k = key(17, 1);
        assert!(matches!(
            owners[2].create(k, k.reversed(), [0; 4], 0, 0),
            Err(CreateError::Full)
        ));
    }

    #[test]
    fn memory_per_connection_stays_within_256_bytes() {
        // 1024 rounds the index exactly; 1025 rounds it up the most.
        for capacity in [1u32, 1024, 1025, 100_000] {
            let (ct, _owners) = table(capacity, 4);
            let bytes = ct.bytes_per_connection();
            assert!(bytes <= 256 || capacity == 1, "{capacity}: {bytes} bytes");
            assert!(bytes >= std::mem::size_of::<Record>() + 2 * 8, "{bytes}");
        }
        assert_eq!(std::mem::size_of::<Bucket>(), 64);
        assert_eq!(std::mem::align_of::<Bucket>(), 64);
    }

    #[test]
    fn a_random_seed_differs_between_tables() {
        let (a, _) = Conntrack::new(
            Config {
                capacity: 1 << 16,
                ..Config::default()
            },
            1,
        )
        .unwrap();
        let (b, _) = Conntrack::new(
            Config {
                capacity: 1 << 16,
                ..Config::default()
            },
            1,
        )
        .unwrap();
        let k = key(6, 1).pack();
        let (ha, hb) = (a.hash(&k), b.hash(&k));
        assert_ne!((ha.buckets, ha.tag), (hb.buckets, hb.tag));
    }

    #[test]
    fn each_direction_is_claimed_for_offload_once_until_released() {
        let (ct, mut owners) = table(64, 1);
        let k = key(6, 1000);
        let id = owners[0]
            .create(k, dnat_reply(k), [0; 4], SYN, 1)
            .unwrap()
            .id();
        let fwd = owners[0].lookup(&k).unwrap();
        assert!(fwd.claim_offload());
        assert!(
            !fwd.claim_offload(),
            "a claimed direction is not claimed twice"
        );
        let rep = owners[0].lookup(&dnat_reply(k)).unwrap();
        assert!(rep.claim_offload(), "the reply direction is its own claim");
        assert_eq!(ct.view(id).unwrap().offload_claimed, [true, true]);
        assert!(ct.release_offload(id, Dir::Forward));
        assert!(!ct.release_offload(id, Dir::Forward));
        assert_eq!(ct.view(id).unwrap().offload_claimed, [false, true]);
        assert!(owners[0].lookup(&k).unwrap().claim_offload());
        // Packets still move the state machine with the bits set.
        assert_eq!(
            owners[0]
                .lookup(&dnat_reply(k))
                .unwrap()
                .update(60, SYN | ACK, 2),
            ConnState::SynRecv
        );
        assert_eq!(ct.view(id).unwrap().offload_claimed, [true, true]);
    }

    #[test]
    fn credit_counts_offloaded_traffic_and_keeps_the_connection_fresh() {
        let (ct, mut owners) = table(64, 1);
        let k = key(17, 53);
        let id = owners[0]
            .create(k, k.reversed(), [0; 4], 0, 10)
            .unwrap()
            .id();
        assert!(ct.credit(id, Dir::Reply, 5, 500, 9_000));
        let v = ct.view(id).unwrap();
        assert_eq!((v.packets, v.bytes, v.last_seen), ([0, 5], [0, 500], 9_000));
        // No packets: no fresher idle time; an older time never goes back.
        assert!(ct.credit(id, Dir::Reply, 0, 0, 20_000));
        assert!(ct.credit(id, Dir::Forward, 1, 60, 5_000));
        assert_eq!(ct.view(id).unwrap().last_seen, 9_000);
        assert!(ct.kill(id));
        assert!(!ct.credit(id, Dir::Reply, 1, 1, 30_000));
        assert!(ct.view(id).is_none());
        // Swept and reused: the old id names nothing.
        owners[0].sweep(40_000, 64);
        owners[0].quiesce();
        owners[0].sweep(40_000, 64);
        let k2 = key(17, 54);
        let new = owners[0]
            .create(k2, k2.reversed(), [0; 4], 0, 50_000)
            .unwrap()
            .id();
        if new.index == id.index {
            assert_ne!(new.gen, id.gen);
        }
        assert!(ct.view(id).is_none());
        assert!(!ct.credit(id, Dir::Forward, 1, 1, 60_000));
        assert_eq!(ct.view(new).unwrap().packets, [0, 0]);
    }
}
