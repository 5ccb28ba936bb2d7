//! Software classifier: the rule model evaluated over a [`PacketKey`].
//!
//! # Semantics
//! * A table holds the rules of one [`Direction`].
//! * Lookup starts in group 0. Within a group the matching rule with the
//!   lowest `priority` value wins; among equal priorities the rule inserted
//!   first wins (hardware leaves that case undefined).
//! * A winning rule whose fate is `Jump(g)` continues the lookup in group
//!   `g`; [`SoftwareTable::classify`] returns every rule matched along the
//!   way (at most [`MAX_JUMP_DEPTH`]), so non-fate actions of earlier rules
//!   (count, set_tag, ...) are not lost. Each matched rule's actions are
//!   replayed on the key ([`PacketKey::apply`]) before the next lookup.
//! * Pattern items before the tunnel item match `PacketKey::outer`, the
//!   tunnel items match `PacketKey::tunnel`, items after it match
//!   `PacketKey::inner`. An item without fields still requires its header.
//!   A pattern without a `vlan` item matches tagged and untagged frames.
//!
//! # Algorithm
//! Tuple-space search: each rule's pattern is encoded as a (value, mask)
//! pair over a flat key. Rules of a group are bucketed by mask ("shape");
//! each shape holds a hash table from masked key to the rules with that
//! key, best first. Lookup encodes the packet once, then probes shapes in
//! order of their best priority and stops as soon as the next shape's best
//! priority cannot beat the match found. Lookup does not allocate: the
//! packet key and the probe hashes live on the stack.
//!
//! A shape's table is built for large rule sets, where a probe is a cache
//! miss: open addressing (linear probing, at most 60 % full) over two
//! arrays indexed by the same slot, 4-byte hash tags (compared eight at a
//! time, so a probe that misses reads one cache line of tags and no
//! record) and fixed-size records (the masked key words, the rule id and
//! its rank, so a hit reads nothing else). A lookup in a large group
//! hashes the packet for every shape it may probe and prefetches all their
//! tag lines before probing the first shape: the shapes' misses overlap
//! instead of adding up. [`SoftwareTable::lookup_burst`] also overlaps
//! them across a chunk of packets, and prefetches the records of matching
//! tags before comparing any. Small (cache-resident) groups skip the
//! prefetching and hash only the shapes they probe.
//!
//! Why not `hashbrown`: its SwissTable probes the same way (tag groups),
//! but offers no way to prefetch a hash's group ahead of the probe, and
//! overlapping the shapes' misses is what keeps a 100k-rule lookup within
//! 2x of a 100-rule one (`dpuflow-perf rules`). Prefetching uses
//! `prefetcht0` on x86_64 and `PRFM` on aarch64 (BlueField; compiled for
//! that target, not run on it); the tag compare is SSE2 on x86_64 and
//! scalar elsewhere.

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};

use smallvec::SmallVec;
use thiserror::Error;

use super::action::Action;
use super::flatkey::{self, Words, KEY_WORDS};
use super::packet::PacketKey;
use super::rule::{Direction, Rule};
use super::validate::RuleError;

mod offload;

/// Longest chain of rules (jumps + 1) followed by [`SoftwareTable::classify`].
pub const MAX_JUMP_DEPTH: usize = 8;

/// Handle of an inserted rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RuleId {
    slot: u32,
    generation: u32,
}

/// Why a rule cannot be inserted.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum TableError {
    /// The rule does not validate.
    #[error(transparent)]
    Invalid(#[from] RuleError),
    /// The rule's direction differs from the table's.
    #[error("rule direction {rule} does not match the table direction {table}")]
    WrongDirection {
        /// Rule direction.
        rule: Direction,
        /// Table direction.
        table: Direction,
    },
    /// The table's limit ([`SoftwareTable::with_limit`]) or `u32::MAX`
    /// rules reached.
    #[error("the table is full")]
    Full,
}

/// How a classification ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The last matched rule has no `Jump`.
    Terminal,
    /// No rule matched in `group` (after `matched` jumps).
    Miss {
        /// The group without a match.
        group: u32,
    },
    /// [`MAX_JUMP_DEPTH`] rules matched and the last one still jumps.
    JumpLimit,
}

/// The result of [`SoftwareTable::classify`]: the chain of matched rules.
#[derive(Clone, Copy, Debug)]
pub struct Classification<'t> {
    table: &'t SoftwareTable,
    chain: [u32; MAX_JUMP_DEPTH],
    len: usize,
    outcome: Outcome,
    key: PacketKey,
}

impl<'t> Classification<'t> {
    /// The packet key after the actions of every matched rule.
    pub fn key(&self) -> &PacketKey {
        &self.key
    }

    /// How the lookup ended.
    pub fn outcome(&self) -> Outcome {
        self.outcome
    }

    /// The matched rules, in lookup order (group 0 first).
    pub fn rules(&self) -> impl Iterator<Item = (RuleId, &'t Rule)> + '_ {
        let table = self.table;
        self.chain
            .iter()
            .take(self.len)
            .filter_map(move |slot| table.entry(*slot).map(|e| (e.id, &e.rule)))
    }

    /// Ids of the matched rules, in lookup order.
    pub fn rule_ids(&self) -> impl Iterator<Item = RuleId> + '_ {
        self.rules().map(|(id, _)| id)
    }

    /// The actions of the last matched rule.
    pub fn final_actions(&self) -> Option<&'t [Action]> {
        let slot = self.chain.get(self.len.checked_sub(1)?)?;
        self.table.entry(*slot).map(|e| e.rule.actions.as_slice())
    }

    /// All actions of all matched rules, in order.
    pub fn actions(&self) -> impl Iterator<Item = &'t Action> + '_ {
        self.rules().flat_map(|(_, r)| r.actions.iter())
    }
}

/// A fast multiplicative hasher for key words (FxHash-style rounds, with a
/// final avalanche).
#[derive(Default, Clone, Copy)]
struct WordHasher(u64);

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl Hasher for WordHasher {
    #[inline]
    fn finish(&self) -> u64 {
        // murmur3 fmix64: spreads every input bit over the low bits the
        // hash table indexes with (a bare multiply only propagates upwards)
        // and over the high bits the index tags with.
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut b = [0u8; 8];
            b.copy_from_slice(c);
            self.write_u64(u64::from_ne_bytes(b));
        }
        for &b in chunks.remainder() {
            self.write_u64(u64::from(b));
        }
    }

    #[inline]
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(SEED);
    }

    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }
}

/// Hash of a masked key, as stored in a [`KeyTable`].
#[inline]
fn hash_words(words: &[u64]) -> u64 {
    let mut h = WordHasher::default();
    for w in words {
        h.write_u64(*w);
    }
    h.finish()
}

/// Hints the CPU to pull the cache line at `p` into L1. Never faults and
/// has no other effect: any address is fine, only the timing changes.
#[inline(always)]
fn prefetch<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: `prefetcht0` is a hint: it does not dereference `p` in the
    // language sense, cannot fault (even for an invalid address) and
    // changes no architectural state. The intrinsic is `unsafe` only for its
    // `sse` target feature, which every x86_64 CPU has.
    unsafe {
        core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(p.cast::<i8>());
    }
    #[cfg(target_arch = "aarch64")]
    // SAFETY: `PRFM` (BlueField's Arm cores) is a hint as well: it never
    // generates an abort, writes no register or flag and touches no stack.
    unsafe {
        core::arch::asm!(
            "prfm pldl1keep, [{0}]",
            in(reg) p,
            options(nostack, readonly, preserves_flags)
        );
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    let _ = p;
}

/// A masked key, kept with its rule for removal: most shapes mask four
/// words or fewer.
type Key = SmallVec<[u64; 4]>;

/// A rule's rank, lower is better: the priority in the high half, the
/// insertion sequence number in the low half (see
/// [`SoftwareTable::renumber`]).
type Rank = u64;

fn rank_of(priority: u32, seq: u32) -> Rank {
    (u64::from(priority) << 32) | u64::from(seq)
}

fn priority_of(rank: Rank) -> u32 {
    (rank >> 32) as u32
}

impl RuleId {
    /// The id as one word (slot in the low half), as stored in a record.
    fn pack(self) -> u64 {
        u64::from(self.slot) | (u64::from(self.generation) << 32)
    }

    fn unpack(w: u64) -> Self {
        RuleId {
            slot: w as u32,
            generation: (w >> 32) as u32,
        }
    }
}

/// One rule of a key: what a lookup needs of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Hit {
    /// [`RuleId::pack`].
    id: u64,
    rank: Rank,
}

/// Words of a record after its key: the rule id, the rank.
const META: usize = 2;
/// Tags compared at once by a probe; also the least number of slots.
const GROUP: usize = 8;
/// Size from which a table's lines are prefetched: below it, a table is
/// likely cache-resident and prefetching is pure overhead.
const COLD_BYTES: usize = 64 << 10;
/// Marks a used slot's tag (a free slot's tag is 0).
const USED: u32 = 1 << 31;

/// The tag of a key's slot: the high half of its hash, marked used.
#[inline]
fn tag_of(hash: u64) -> u32 {
    (hash >> 32) as u32 | USED
}

const _: () = assert!(GROUP == 8, "group_bits compares 8 lanes");

/// Bit `k` of the first mask: `group[k] == tag`; of the second:
/// `group[k]` is free (0).
#[inline(always)]
fn group_bits(group: &[u32; GROUP], tag: u32) -> (u32, u32) {
    #[cfg(target_arch = "x86_64")]
    {
        use core::arch::x86_64::{
            _mm_castsi128_ps, _mm_cmpeq_epi32, _mm_loadu_si128, _mm_movemask_ps, _mm_set1_epi32,
            _mm_setzero_si128,
        };
        // Two halves of four lanes each (GROUP is 8, checked above).
        // SAFETY: SSE2 is part of the x86_64 baseline, so the intrinsics'
        // target feature is always present; `_mm_loadu_si128` reads 16
        // bytes without alignment requirement, and `group` is 32 readable
        // bytes, so both loads (offsets 0 and 16) are in bounds.
        unsafe {
            let p = group.as_ptr();
            let lo = _mm_loadu_si128(p.cast());
            let hi = _mm_loadu_si128(p.add(4).cast());
            let t = _mm_set1_epi32(tag as i32);
            let z = _mm_setzero_si128();
            let mask = |v| _mm_movemask_ps(_mm_castsi128_ps(v)) as u32;
            let same = mask(_mm_cmpeq_epi32(lo, t)) | (mask(_mm_cmpeq_epi32(hi, t)) << 4);
            let free = mask(_mm_cmpeq_epi32(lo, z)) | (mask(_mm_cmpeq_epi32(hi, z)) << 4);
            (same, free)
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let (mut same, mut free) = (0u32, 0u32);
        for (k, t) in group.iter().enumerate() {
            same |= u32::from(*t == tag) << k;
            free |= u32::from(*t == 0) << k;
        }
        (same, free)
    }
}

/// Hash table from a shape's masked key (`width` words) to the rules with
/// that key.
///
/// Open addressing with linear probing over a power-of-two number of
/// slots, at most 60 % used. Slot `i` is `tags[i]` (0 when free, else the
/// high half of the key's hash, marked used) and the record
/// `data[i * stride..][..stride]`: the key words, the best rule's id, its
/// rank. The low bits of the hash pick the home slot. A probe compares
/// the eight tags from the home slot at once and reads only the records
/// of matching tags; sixteen tags share a cache line, so a probe that
/// misses rarely reads more than that line. Both arrays being indexed by
/// the slot, a matching tag gives its record's address directly.
///
/// Removal shifts the later slots of the cluster back (no tombstones), so
/// the table stays as good as freshly built under churn. `extra` holds,
/// for the rare keys of several rules, the rules after the best one, best
/// first (lookup never reads it).
#[derive(Debug, Default)]
struct KeyTable {
    width: usize,
    len: usize,
    /// Too large to stay in the L1/L2 caches: worth prefetching.
    cold: bool,
    tags: Vec<u32>,
    data: Vec<u64>,
    extra: HashMap<Box<[u64]>, Vec<Hit>, BuildHasherDefault<WordHasher>>,
}

impl KeyTable {
    fn new(width: usize) -> Self {
        KeyTable {
            width,
            ..KeyTable::default()
        }
    }

    fn stride(&self) -> usize {
        self.width + META
    }

    /// Number of slots (`tags` has [`GROUP`] more: a copy of the first
    /// tags, so a group of tags is one slice even where it wraps around).
    fn slots(&self) -> usize {
        self.tags.len().saturating_sub(GROUP)
    }

    fn mask(&self) -> usize {
        self.slots().wrapping_sub(1)
    }

    fn set_tag(&mut self, slot: usize, tag: u32) {
        let slots = self.slots();
        if let Some(t) = self.tags.get_mut(slot) {
            *t = tag;
        }
        if slot < GROUP {
            if let Some(t) = self.tags.get_mut(slots + slot) {
                *t = tag;
            }
        }
    }

    fn key(&self, slot: usize) -> Option<&[u64]> {
        let s = self.stride();
        self.data.get(slot * s..slot * s + self.width)
    }

    fn hit(&self, slot: usize) -> Option<Hit> {
        let s = self.stride();
        let meta = self.data.get(slot * s + self.width..slot * s + s)?;
        Some(Hit {
            id: *meta.first()?,
            rank: *meta.get(1)?,
        })
    }

    fn set_hit(&mut self, slot: usize, hit: Hit) {
        let s = self.stride();
        let w = self.width;
        if let Some([id, rank]) = self.data.get_mut(slot * s + w..slot * s + s) {
            *id = hit.id;
            *rank = hit.rank;
        }
    }

    /// Starts loading the group of tags at the home slot of `hash` (cold
    /// tables only). Records are not prefetched with them: most probes of a
    /// shape miss, and loading their records too only evicts the tags.
    #[inline]
    fn prefetch(&self, hash: u64) {
        if !self.cold {
            return;
        }
        let home = hash as usize & self.mask();
        // The group of tags a probe compares may straddle two lines.
        for t in [self.tags.get(home), self.tags.get(home + GROUP - 1)]
            .into_iter()
            .flatten()
        {
            prefetch(t);
        }
    }

    /// Starts loading the record of the first tag matching `hash` in its
    /// home group (cold tables only): the record a probe will compare.
    #[inline]
    fn prefetch_record(&self, hash: u64) {
        if !self.cold {
            return;
        }
        let mask = self.mask();
        let base = hash as usize & mask;
        let Some(group) = self
            .tags
            .get(base..base + GROUP)
            .and_then(|g| <&[u32; GROUP]>::try_from(g).ok())
        else {
            return;
        };
        let (same, free) = group_bits(group, tag_of(hash));
        let stop = free & free.wrapping_neg();
        let candidates = if stop == 0 { same } else { same & (stop - 1) };
        if candidates != 0 {
            let slot = (base + candidates.trailing_zeros() as usize) & mask;
            if let Some(r) = self.data.get(slot * self.stride()) {
                prefetch(r);
            }
        }
    }

    /// The slot of the key with `hash` for which `eq(key)` holds.
    ///
    /// Compares a group of [`GROUP`] tags at once (branch-free), then only
    /// the records of matching tags before the first free slot.
    #[inline]
    fn find(&self, hash: u64, eq: impl Fn(&[u64]) -> bool) -> Option<usize> {
        let mask = self.mask();
        let tag = tag_of(hash);
        let mut base = hash as usize & mask;
        // Bounded only for robustness: a table is never full.
        for _ in 0..=self.slots() / GROUP {
            let group: &[u32; GROUP] = self.tags.get(base..base + GROUP)?.try_into().ok()?;
            let (same, free) = group_bits(group, tag);
            let stop = free & free.wrapping_neg();
            let mut candidates = if stop == 0 { same } else { same & (stop - 1) };
            while candidates != 0 {
                let slot = (base + candidates.trailing_zeros() as usize) & mask;
                candidates &= candidates - 1;
                if self.key(slot).is_some_and(&eq) {
                    return Some(slot);
                }
            }
            if stop != 0 {
                return None;
            }
            base = (base + GROUP) & mask;
        }
        None
    }

    #[cfg(test)]
    fn find_key(&self, key: &[u64]) -> Option<usize> {
        self.find(hash_words(key), |k| k == key)
    }

    /// Hash of the key in `slot`.
    fn slot_hash(&self, slot: usize) -> u64 {
        hash_words(self.key(slot).unwrap_or(&[]))
    }

    /// Writes `record` (key and meta) into the first free slot from the
    /// home slot of `hash` on.
    fn place(&mut self, hash: u64, record: &[u64]) {
        let mask = self.mask();
        let s = self.stride();
        let mut i = hash as usize & mask;
        for _ in 0..self.slots() {
            if self.tags.get(i).is_some_and(|t| *t == 0) {
                self.set_tag(i, tag_of(hash));
                if let Some(r) = self.data.get_mut(i * s..i * s + s) {
                    for (d, v) in r.iter_mut().zip(record) {
                        *d = *v;
                    }
                }
                return;
            }
            i = (i + 1) & mask;
        }
    }

    /// Doubles the slots (at least [`GROUP`]) and re-places every key.
    fn grow(&mut self) {
        let s = self.stride();
        let slots = (self.slots() * 2).max(GROUP);
        let tags = std::mem::replace(&mut self.tags, vec![0; slots + GROUP]);
        let data = std::mem::replace(&mut self.data, vec![0; slots * s]);
        self.cold = slots * (4 + 8 * s) > COLD_BYTES;
        for (t, record) in tags.iter().zip(data.chunks_exact(s)) {
            if *t != 0 {
                self.place(hash_words(record.get(..self.width).unwrap_or(&[])), record);
            }
        }
    }

    /// Adds a rule with `key`, keeping the rules of one key best first.
    fn insert(&mut self, key: &[u64], hit: Hit) {
        let hash = hash_words(key);
        if let Some(slot) = self.find(hash, |k| k == key) {
            let Some(cur) = self.hit(slot) else { return };
            let more = self.extra.entry(Box::from(key)).or_default();
            if hit.rank < cur.rank {
                more.insert(0, cur);
                self.set_hit(slot, hit);
            } else {
                let i = more.partition_point(|x| x.rank < hit.rank);
                more.insert(i, hit);
            }
            return;
        }
        // At most 60 % of the slots used.
        if (self.len + 1) * 10 > self.slots() * 6 {
            self.grow();
        }
        // The record on the stack (no allocation): key words, id, rank.
        let mut buf = [0u64; KEY_WORDS + META];
        let w = self.width;
        let meta = [hit.id, hit.rank];
        for (b, v) in buf.iter_mut().zip(key.iter().take(w).chain(&meta)) {
            *b = *v;
        }
        self.place(hash, buf.get(..w + META).unwrap_or(&[]));
        self.len += 1;
    }

    /// Removes the rule of `rank` with `key`; false if it is not here.
    fn remove(&mut self, key: &[u64], rank: Rank) -> bool {
        let Some(slot) = self.find(hash_words(key), |k| k == key) else {
            return false;
        };
        let Some(cur) = self.hit(slot) else {
            return false;
        };
        if cur.rank != rank {
            let Some(more) = self.extra.get_mut(key) else {
                return false;
            };
            let before = more.len();
            more.retain(|x| x.rank != rank);
            let removed = more.len() != before;
            if more.is_empty() {
                self.extra.remove(key);
            }
            return removed;
        }
        if let Some(more) = self.extra.get_mut(key) {
            let next = (!more.is_empty()).then(|| more.remove(0));
            if more.is_empty() {
                self.extra.remove(key);
            }
            if let Some(next) = next {
                self.set_hit(slot, next);
                return true;
            }
        }
        self.unlink(slot);
        self.len -= 1;
        true
    }

    /// Frees `hole`, shifting back the later keys of its cluster that may
    /// move (backward-shift deletion).
    fn unlink(&mut self, mut hole: usize) {
        let mask = self.mask();
        let s = self.stride();
        let mut j = hole;
        for _ in 0..self.slots() {
            j = (j + 1) & mask;
            let Some(&t) = self.tags.get(j) else { break };
            if t == 0 {
                break;
            }
            let home = self.slot_hash(j) as usize & mask;
            // The key at `j` may fill the hole unless its home lies
            // cyclically in (hole, j].
            if j.wrapping_sub(home) & mask >= j.wrapping_sub(hole) & mask {
                self.set_tag(hole, t);
                if j * s + s <= self.data.len() && hole * s + s <= self.data.len() {
                    self.data.copy_within(j * s..j * s + s, hole * s);
                }
                hole = j;
            }
        }
        self.set_tag(hole, 0);
    }
}

/// Rules sharing one mask.
#[derive(Debug)]
struct Shape {
    /// Non-zero mask words: (word index, mask).
    words: Vec<(usize, u64)>,
    /// Best priority of the shape's rules (meaningless when empty).
    best: u32,
    /// Masked key → rules.
    table: KeyTable,
    /// Priority → number of rules.
    priorities: BTreeMap<u32, usize>,
}

impl Shape {
    fn new(words: Vec<(usize, u64)>) -> Self {
        let table = KeyTable::new(words.len());
        Shape {
            words,
            best: u32::MAX,
            table,
            priorities: BTreeMap::new(),
        }
    }

    fn is_empty(&self) -> bool {
        self.priorities.is_empty()
    }

    /// Hash of `key` masked by the shape (equal to [`hash_words`] of the
    /// masked words).
    #[inline]
    fn hash(&self, key: &Words) -> u64 {
        let mut h = WordHasher::default();
        for &(i, m) in &self.words {
            h.write_u64(key.get(i).map_or(0, |k| k & m));
        }
        h.finish()
    }

    /// The best rule whose masked key equals `key` masked; `hash` is
    /// [`Shape::hash`] of `key`.
    #[inline]
    fn lookup(&self, key: &Words, hash: u64) -> Option<Hit> {
        let words = &self.words;
        let slot = self.table.find(hash, |rec| {
            words
                .iter()
                .zip(rec)
                .all(|(&(i, m), r)| key.get(i).map_or(0, |k| k & m) == *r)
        })?;
        self.table.hit(slot)
    }
}

/// Shapes whose probe hashes a lookup computes (and whose slots it
/// prefetches) before probing; the rest are hashed when reached.
const AHEAD: usize = 8;
/// Keys per chunk of [`SoftwareTable::lookup_burst`].
const BURST: usize = 16;

/// The rules of one group.
#[derive(Debug, Default)]
struct Group {
    shapes: Vec<Shape>,
    by_mask: HashMap<Box<[u64]>, usize, BuildHasherDefault<WordHasher>>,
    /// Indices of the non-empty shapes, by best priority.
    order: Vec<usize>,
    /// Some shape's table is [`KeyTable::cold`].
    cold: bool,
}

impl Group {
    fn reorder(&mut self) {
        let shapes = &self.shapes;
        self.order.clear();
        self.order
            .extend((0..shapes.len()).filter(|&i| shapes.get(i).is_some_and(|s| !s.is_empty())));
        self.order
            .sort_by_key(|&i| shapes.get(i).map_or(u32::MAX, |s| s.best));
    }

    /// Non-empty shapes, in probe order.
    fn ordered(&self) -> impl Iterator<Item = &Shape> + '_ {
        self.order.iter().filter_map(|&i| self.shapes.get(i))
    }

    /// Hashes `key` for the first [`AHEAD`] shapes and prefetches their
    /// home slots.
    #[inline]
    fn hash_ahead(&self, key: &Words, hashes: &mut [u64; AHEAD]) {
        for (h, shape) in hashes.iter_mut().zip(self.ordered()) {
            *h = shape.hash(key);
            shape.table.prefetch(*h);
        }
    }

    /// Prefetches the records the probes with `hashes` will compare.
    #[inline]
    fn prefetch_records(&self, hashes: &[u64; AHEAD]) {
        for (h, shape) in hashes.iter().zip(self.ordered()) {
            shape.table.prefetch_record(*h);
        }
    }

    fn best(&self, key: &Words) -> Option<Hit> {
        if !self.cold {
            // Cache-resident: nothing to overlap; hash only the shapes
            // probed.
            return self.best_hashed(key, &[]);
        }
        let mut hashes = [0u64; AHEAD];
        self.hash_ahead(key, &mut hashes);
        self.best_hashed(key, &hashes)
    }

    /// The best match of `key`; `hashes` from [`Group::hash_ahead`].
    #[inline]
    fn best_hashed(&self, key: &Words, hashes: &[u64]) -> Option<Hit> {
        let mut best: Option<Hit> = None;
        for (n, shape) in self.ordered().enumerate() {
            if best.is_some_and(|b| shape.best > priority_of(b.rank)) {
                break;
            }
            let hash = match hashes.get(n) {
                Some(h) => *h,
                None => shape.hash(key),
            };
            if let Some(hit) = shape.lookup(key, hash) {
                let better = match best {
                    Some(b) => hit.rank < b.rank,
                    None => true,
                };
                if better {
                    best = Some(hit);
                }
            }
        }
        best
    }
}

/// An inserted rule.
#[derive(Debug)]
struct Entry {
    id: RuleId,
    rule: Rule,
    rank: Rank,
    shape: usize,
    key: Key,
    /// What a NIC keeps of the rule: COUNT hits and AGE state.
    nic: offload::NicState,
}

/// A set of rules of one direction, classified by tuple-space search.
#[derive(Debug)]
pub struct SoftwareTable {
    direction: Direction,
    slots: Vec<Option<Entry>>,
    generations: Vec<u32>,
    free: Vec<u32>,
    groups: HashMap<u32, Group, BuildHasherDefault<WordHasher>>,
    /// Sequence number of the next insert (the low half of its rank).
    next_seq: u64,
    len: usize,
    /// Most rules taken, as a NIC's table size ([`SoftwareTable::with_limit`]).
    limit: Option<usize>,
}

impl SoftwareTable {
    /// An empty table for rules of `direction`.
    pub fn new(direction: Direction) -> Self {
        SoftwareTable {
            direction,
            slots: Vec::new(),
            generations: Vec::new(),
            free: Vec::new(),
            groups: HashMap::default(),
            next_seq: 0,
            len: 0,
            limit: None,
        }
    }

    /// An empty table that takes at most `limit` rules (then
    /// [`TableError::Full`]), to emulate a NIC's table size in tests.
    pub fn with_limit(direction: Direction, limit: usize) -> Self {
        SoftwareTable {
            limit: Some(limit),
            ..Self::new(direction)
        }
    }

    /// The table's direction.
    pub fn direction(&self) -> Direction {
        self.direction
    }

    /// Number of rules.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when the table holds no rule.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The rule behind `id`, if still present.
    pub fn get(&self, id: RuleId) -> Option<&Rule> {
        self.slots
            .get(id.slot as usize)?
            .as_ref()
            .filter(|e| e.id == id)
            .map(|e| &e.rule)
    }

    fn entry(&self, slot: u32) -> Option<&Entry> {
        self.slots.get(slot as usize)?.as_ref()
    }

    /// Validates and inserts a rule.
    pub fn insert(&mut self, rule: Rule) -> Result<RuleId, TableError> {
        if self.limit.is_some_and(|limit| self.len >= limit) {
            return Err(TableError::Full);
        }
        if rule.attr.direction != self.direction {
            return Err(TableError::WrongDirection {
                rule: rule.attr.direction,
                table: self.direction,
            });
        }
        rule.validate()?;
        if self.next_seq > u64::from(u32::MAX) {
            self.renumber();
        }
        let slot = self.alloc_slot()?;
        let generation = self.generations.get(slot as usize).copied().unwrap_or(0);
        let id = RuleId { slot, generation };
        let rank = rank_of(rule.attr.priority, self.next_seq as u32);
        self.next_seq += 1;
        let (value, mask) = flatkey::rule_words(&rule.pattern);
        let group = self.groups.entry(rule.attr.group).or_default();
        let hit = Hit {
            id: id.pack(),
            rank,
        };
        let (shape, key) = add_to_group(group, &value, &mask, hit);
        if let Some(s) = self.slots.get_mut(slot as usize) {
            *s = Some(Entry {
                id,
                nic: offload::NicState::new(&rule),
                rule,
                rank,
                shape,
                key,
            });
        }
        self.len += 1;
        Ok(id)
    }

    /// Gives the rules sequence numbers `0..len` in their current order, so
    /// that ranks stay unique and ordered after 2^32 inserts.
    fn renumber(&mut self) {
        let mut live: Vec<(Rank, usize)> = self
            .slots
            .iter()
            .enumerate()
            .filter_map(|(i, e)| e.as_ref().map(|e| (e.rank, i)))
            .collect();
        live.sort_unstable();
        for (seq, (old, i)) in live.iter().enumerate() {
            let Some(entry) = self.slots.get_mut(*i).and_then(Option::as_mut) else {
                continue;
            };
            let new = rank_of(priority_of(*old), seq as u32);
            entry.rank = new;
            let Some(shape) = self
                .groups
                .get_mut(&entry.rule.attr.group)
                .and_then(|g| g.shapes.get_mut(entry.shape))
            else {
                continue;
            };
            // Re-adding in rank order keeps each key's rules best first.
            shape.table.remove(&entry.key, *old);
            shape.table.insert(
                &entry.key,
                Hit {
                    id: entry.id.pack(),
                    rank: new,
                },
            );
        }
        self.next_seq = live.len() as u64;
    }

    fn alloc_slot(&mut self) -> Result<u32, TableError> {
        if let Some(slot) = self.free.pop() {
            return Ok(slot);
        }
        let slot = u32::try_from(self.slots.len()).map_err(|_| TableError::Full)?;
        self.slots.push(None);
        self.generations.push(0);
        Ok(slot)
    }

    /// Removes a rule; returns it if `id` was present.
    pub fn remove(&mut self, id: RuleId) -> Option<Rule> {
        let cell = self.slots.get_mut(id.slot as usize)?;
        if cell.as_ref()?.id != id {
            return None;
        }
        let entry = cell.take()?;
        if let Some(g) = self.generations.get_mut(id.slot as usize) {
            *g = g.wrapping_add(1);
        }
        self.free.push(id.slot);
        self.len -= 1;
        if let Some(group) = self.groups.get_mut(&entry.rule.attr.group) {
            remove_from_group(group, &entry);
        }
        Some(entry.rule)
    }

    /// The best rule of `group` matching `key`.
    pub fn lookup(&self, group: u32, key: &PacketKey) -> Option<RuleId> {
        let words = flatkey::packet_words(key);
        let hit = self.groups.get(&group)?.best(&words)?;
        Some(RuleId::unpack(hit.id))
    }

    /// [`SoftwareTable::lookup`] of a burst of packets in one group:
    /// `out[i]` = `lookup(group, &keys[i])` for `i < min(keys.len(),
    /// out.len())`; the rest of `out` is left as it is.
    ///
    /// Keys go in chunks of 16: in a large group, every key of a chunk is
    /// encoded and hashed and its tags prefetched, then the records of its
    /// matching tags prefetched, before the first probe, so the cache
    /// misses of the whole chunk overlap (as `rte_hash_lookup_bulk` does).
    /// Allocates nothing.
    pub fn lookup_burst(&self, group: u32, keys: &[PacketKey], out: &mut [Option<RuleId>]) {
        let Some(g) = self.groups.get(&group) else {
            out.iter_mut().take(keys.len()).for_each(|o| *o = None);
            return;
        };
        if !g.cold {
            // Cache-resident: no miss to overlap.
            for (k, o) in keys.iter().zip(out.iter_mut()) {
                let words = flatkey::packet_words(k);
                *o = g.best(&words).map(|hit| RuleId::unpack(hit.id));
            }
            return;
        }
        let mut words = [[0u64; KEY_WORDS]; BURST];
        let mut hashes = [[0u64; AHEAD]; BURST];
        for (keys, out) in keys.chunks(BURST).zip(out.chunks_mut(BURST)) {
            for ((k, w), h) in keys.iter().zip(&mut words).zip(&mut hashes) {
                *w = flatkey::packet_words(k);
                g.hash_ahead(w, h);
            }
            for h in hashes.iter().take(keys.len()) {
                g.prefetch_records(h);
            }
            for ((o, w), h) in out.iter_mut().zip(&words).zip(&hashes).take(keys.len()) {
                *o = g.best_hashed(w, h).map(|hit| RuleId::unpack(hit.id));
            }
        }
    }

    /// Classifies a packet: lookup in group 0, following jumps.
    ///
    /// The actions of each matched rule are replayed on a copy of `key`
    /// ([`PacketKey::apply`]) before the lookup continues in the jump
    /// target, so later groups see marks, tags, metadata, rewrites and
    /// decapsulation of earlier ones. [`Classification::key`] is the key
    /// after the last matched rule.
    pub fn classify(&self, key: &PacketKey) -> Classification<'_> {
        let mut out = Classification {
            table: self,
            chain: [0; MAX_JUMP_DEPTH],
            len: 0,
            outcome: Outcome::JumpLimit,
            key: *key,
        };
        let mut group = 0;
        for hop in out.chain.iter_mut() {
            let words = flatkey::packet_words(&out.key);
            let found = self.groups.get(&group).and_then(|g| g.best(&words));
            let Some(entry) = found.and_then(|h| self.entry(RuleId::unpack(h.id).slot)) else {
                out.outcome = Outcome::Miss { group };
                return out;
            };
            *hop = entry.id.slot;
            out.len += 1;
            for action in &entry.rule.actions {
                out.key.apply(action);
            }
            match entry.rule.jump_target() {
                Some(next) => group = next,
                None => {
                    out.outcome = Outcome::Terminal;
                    return out;
                }
            }
        }
        out
    }

    /// Number of distinct masks in `group` (a tuning aid).
    pub fn shape_count(&self, group: u32) -> usize {
        self.groups.get(&group).map_or(0, |g| g.order.len())
    }
}

fn sparse(mask: &Words) -> Vec<(usize, u64)> {
    mask.iter()
        .enumerate()
        .filter(|(_, m)| **m != 0)
        .map(|(i, m)| (i, *m))
        .collect()
}

fn add_to_group(group: &mut Group, value: &Words, mask: &Words, hit: Hit) -> (usize, Key) {
    let shape_idx = match group.by_mask.get(mask.as_slice()) {
        Some(i) => *i,
        None => {
            let i = group.shapes.len();
            group.shapes.push(Shape::new(sparse(mask)));
            group.by_mask.insert(Box::from(mask.as_slice()), i);
            i
        }
    };
    let mut key = Key::new();
    if let Some(shape) = group.shapes.get_mut(shape_idx) {
        key = shape
            .words
            .iter()
            .map(|(i, _)| value.get(*i).copied().unwrap_or(0))
            .collect();
        shape.table.insert(&key, hit);
        group.cold |= shape.table.cold;
        let prio = priority_of(hit.rank);
        let was_empty = shape.is_empty();
        *shape.priorities.entry(prio).or_insert(0) += 1;
        if was_empty || prio < shape.best {
            shape.best = prio;
            group.reorder();
        }
    }
    (shape_idx, key)
}

fn remove_from_group(group: &mut Group, entry: &Entry) {
    let Some(shape) = group.shapes.get_mut(entry.shape) else {
        return;
    };
    shape.table.remove(&entry.key, entry.rank);
    let prio = priority_of(entry.rank);
    if let Some(n) = shape.priorities.get_mut(&prio) {
        *n -= 1;
        if *n == 0 {
            shape.priorities.remove(&prio);
        }
    }
    let best = shape.priorities.keys().next().copied().unwrap_or(u32::MAX);
    if best != shape.best || shape.priorities.is_empty() {
        shape.best = best;
        group.reorder();
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use fastrand::Rng;

    use super::*;
    use crate::{
        Action, EthHeader, HeaderKey, Ipv4Header, Ipv4Match, Item, L3Header, L4Header, MacAddr,
        TcpMatch, UdpMatch,
    };

    fn ip(rng: &mut Rng, space: u64) -> Ipv4Addr {
        Ipv4Addr::new(10, 0, 0, rng.u64(..space) as u8)
    }

    fn port(rng: &mut Rng, space: u64) -> u16 {
        1 + rng.u64(..space) as u16
    }

    /// A random rule over a small value space (so keys repeat), in group
    /// `rng % groups`, with one of `masks` prefix lengths on the
    /// destination (each a shape of its own).
    fn random_rule(rng: &mut Rng, groups: u64, masks: u64) -> Rule {
        let group = rng.u64(..groups) as u32;
        let priority = rng.u64(..4) as u32;
        let r = Rule::ingress().group(group).priority(priority);
        let r = match rng.u64(..4) {
            0 => r
                .item(Item::eth())
                .item(Ipv4Match::any().src(ip(rng, 8)).dst(ip(rng, 8)))
                .item(TcpMatch::any().dst_port(port(rng, 4))),
            1 => r
                .item(Item::eth())
                .item(Ipv4Match::any().dst(ip(rng, 8)))
                .item(UdpMatch::any().dst_port(port(rng, 4))),
            2 => {
                let len = 32 - rng.u64(..masks) as u8;
                r.item(Ipv4Match::any().dst_prefix(ip(rng, 8), len))
            }
            _ => r.item(Item::ipv4()),
        };
        r.action(Action::Queue(rng.u64(..8) as u16))
    }

    fn random_packet(rng: &mut Rng) -> PacketKey {
        let l4 = if rng.u64(..2) == 0 {
            L4Header::Tcp {
                src: 999,
                dst: port(rng, 5),
                flags: 0x10,
            }
        } else {
            L4Header::Udp {
                src: 999,
                dst: port(rng, 5),
            }
        };
        PacketKey {
            outer: HeaderKey {
                eth: Some(EthHeader {
                    dst: MacAddr::new(2, 0, 0, 0, 0, 1),
                    src: MacAddr::new(2, 0, 0, 0, 0, 2),
                    ether_type: 0x0800,
                }),
                vlan: None,
                l3: L3Header::V4(Ipv4Header {
                    src: ip(rng, 9),
                    dst: ip(rng, 9),
                    proto: 6,
                    ttl: 64,
                    dscp: 0,
                    ecn: 0,
                }),
                l4,
            },
            ..PacketKey::default()
        }
    }

    /// The reference: a linear scan over the flat encoding, best (priority,
    /// insertion order) first.
    struct Naive(Vec<(RuleId, u32, Words, Words)>);

    impl Naive {
        fn add(&mut self, id: RuleId, rule: &Rule) {
            let (value, mask) = flatkey::rule_words(&rule.pattern);
            self.0.push((id, rule.attr.group, value, mask));
        }

        fn lookup(&self, t: &SoftwareTable, group: u32, key: &PacketKey) -> Option<RuleId> {
            let words = flatkey::packet_words(key);
            self.0
                .iter()
                .filter(|(_, g, value, mask)| {
                    *g == group && words.iter().zip(mask).map(|(w, m)| w & m).eq(*value)
                })
                .min_by_key(|(id, ..)| {
                    let entry = t.entry(id.slot).expect("live rule");
                    entry.rank
                })
                .map(|(id, ..)| *id)
        }
    }

    /// Every used slot's tag is its key's, the key is found in that slot
    /// (so the cluster from its home has no hole), and the count is right.
    fn check_table(t: &KeyTable) {
        let mut used = 0;
        let slots = t.slots();
        assert_eq!(t.tags[..GROUP.min(slots)], t.tags[slots..], "mirror");
        for (slot, tag) in t.tags[..slots].iter().enumerate() {
            if *tag == 0 {
                continue;
            }
            used += 1;
            assert_eq!(tag_of(t.slot_hash(slot)), *tag, "tag");
            let key = t.key(slot).expect("record").to_vec();
            assert_eq!(t.find_key(&key), Some(slot));
        }
        assert_eq!(used, t.len);
        assert_eq!(t.data.len(), slots * t.stride());
        assert!(t.len * 10 <= slots * 6, "load");
    }

    #[test]
    fn key_table_matches_a_map_under_churn() {
        let mut rng = Rng::with_seed(7);
        for width in [0usize, 1, 3, 6] {
            let mut t = KeyTable::new(width);
            let mut model: HashMap<Vec<u64>, Vec<Hit>> = HashMap::new();
            let mut rank = 0u64;
            for step in 0..6000 {
                let key: Vec<u64> = (0..width).map(|_| rng.u64(..40)).collect();
                let list = model.entry(key.clone()).or_default();
                if list.is_empty() || rng.u64(..3) != 0 {
                    rank += 1 + rng.u64(..3);
                    // Out-of-order ranks too (as after a priority change).
                    let hit = Hit {
                        id: rng.u64(..),
                        rank: rank ^ rng.u64(..4),
                    };
                    if list.iter().any(|h| h.rank == hit.rank) {
                        continue;
                    }
                    t.insert(&key, hit);
                    let at = list.partition_point(|h| h.rank < hit.rank);
                    list.insert(at, hit);
                } else {
                    let victim = list.remove(rng.usize(..list.len()));
                    assert!(t.remove(&key, victim.rank));
                    assert!(!t.remove(&key, victim.rank));
                }
                if step % 97 == 0 {
                    check_table(&t);
                }
            }
            check_table(&t);
            for (key, list) in &model {
                let got = t.find_key(key).and_then(|slot| t.hit(slot));
                assert_eq!(got, list.first().copied(), "width {width} key {key:?}");
                let extra = t.extra.get(key.as_slice()).cloned().unwrap_or_default();
                assert_eq!(extra, list.get(1..).unwrap_or(&[]).to_vec());
            }
            // Drain completely: the table ends empty and consistent.
            for (key, list) in model.drain() {
                for h in list {
                    assert!(t.remove(&key, h.rank));
                }
            }
            assert_eq!(t.len, 0);
            assert!(t.extra.is_empty());
            check_table(&t);
        }
    }

    #[test]
    fn key_table_grows_and_finds_every_key() {
        let mut t = KeyTable::new(2);
        for i in 0..100_000u64 {
            t.insert(&[i, i.wrapping_mul(31)], Hit { id: i, rank: i });
            if i.is_power_of_two() {
                check_table(&t);
            }
        }
        assert_eq!(t.len, 100_000);
        assert!(t.slots().is_power_of_two());
        for i in (0..100_000u64).step_by(7) {
            let got = t
                .find_key(&[i, i.wrapping_mul(31)])
                .and_then(|slot| t.hit(slot));
            assert_eq!(got, Some(Hit { id: i, rank: i }));
        }
        assert_eq!(t.find_key(&[100_000, 0]), None);
    }

    /// Builds a random table and its reference; removes and reinserts
    /// rules along the way.
    fn churned_table(seed: u64, groups: u64, masks: u64) -> (SoftwareTable, Naive) {
        let mut rng = Rng::with_seed(seed);
        let mut t = SoftwareTable::new(Direction::Ingress);
        let mut naive = Naive(Vec::new());
        for _ in 0..3000 {
            if naive.0.is_empty() || rng.u64(..3) != 0 {
                let r = random_rule(&mut rng, groups, masks);
                let id = t.insert(r.clone()).expect("valid rule");
                naive.add(id, &r);
            } else {
                let (id, ..) = naive.0.remove(rng.usize(..naive.0.len()));
                assert!(t.remove(id).is_some());
                assert!(t.remove(id).is_none());
            }
        }
        assert_eq!(t.len, naive.0.len());
        (t, naive)
    }

    #[test]
    fn churn_keeps_lookups_equal_to_a_linear_scan() {
        // 3 masks: fewer shapes than AHEAD; 20: more (sequential tail).
        for (seed, masks) in [(1, 3), (2, 20)] {
            let (t, naive) = churned_table(seed, 2, masks);
            assert!(t.shape_count(0) > 2);
            if masks > 3 {
                assert!(t.shape_count(0) > AHEAD, "{}", t.shape_count(0));
            }
            let mut rng = Rng::with_seed(seed + 100);
            for _ in 0..3000 {
                let p = random_packet(&mut rng);
                for g in 0..3 {
                    assert_eq!(t.lookup(g, &p), naive.lookup(&t, g, &p), "{p:?}");
                }
            }
            for g in 0..2 {
                let group = t.groups.get(&g).expect("group");
                for s in &group.shapes {
                    check_table(&s.table);
                }
            }
        }
    }

    #[test]
    fn burst_lookup_equals_single_lookup() {
        for (seed, masks) in [(3, 3), (4, 20)] {
            let (t, _) = churned_table(seed, 2, masks);
            let mut rng = Rng::with_seed(seed + 200);
            let keys: Vec<PacketKey> = (0..1000).map(|_| random_packet(&mut rng)).collect();
            for g in 0..3 {
                let want: Vec<Option<RuleId>> = keys.iter().map(|k| t.lookup(g, k)).collect();
                assert!(g == 2 || want.iter().any(Option::is_some));
                for len in [0, 1, 15, 16, 17, 33, 1000] {
                    let mut out = vec![None; len];
                    t.lookup_burst(g, &keys[..len], &mut out);
                    assert_eq!(out, want[..len]);
                }
                // A short `out` gets the first keys; a long one keeps its tail.
                let mut out = vec![None; 20];
                t.lookup_burst(g, &keys[..20], &mut out[..7]);
                assert_eq!(out[..7], want[..7]);
                assert!(out[7..].iter().all(Option::is_none));
                let marker = Some(RuleId {
                    slot: 77,
                    generation: 77,
                });
                let mut out = vec![marker; 40];
                t.lookup_burst(g, &keys[..25], &mut out);
                assert_eq!(out[..25], want[..25]);
                assert!(out[25..].iter().all(|o| *o == marker));
            }
        }
    }

    #[test]
    fn large_groups_prefetch_and_still_equal_a_linear_scan() {
        let mut rng = Rng::with_seed(11);
        let mut t = SoftwareTable::new(Direction::Ingress);
        let mut naive = Naive(Vec::new());
        let dst = |rng: &mut Rng| Ipv4Addr::from(0x0a00_0000 | rng.u64(..6000) as u32);
        for i in 0..9000u32 {
            let r = Rule::ingress().priority(rng.u64(..3) as u32);
            let r = match i % 3 {
                0 => r.item(Ipv4Match::any().dst(dst(&mut rng))),
                1 => r
                    .item(Ipv4Match::any().dst(dst(&mut rng)))
                    .item(TcpMatch::any().dst_port(port(&mut rng, 4))),
                // 12 prefix lengths: more shapes than AHEAD.
                _ => {
                    let len = 20 + rng.u64(..12) as u8;
                    r.item(Ipv4Match::any().dst_prefix(dst(&mut rng), len))
                }
            };
            let r = r.action(Action::Drop);
            let id = t.insert(r.clone()).expect("valid rule");
            naive.add(id, &r);
        }
        let group = t.groups.get(&0).expect("group 0");
        assert!(group.cold, "a 3000-key shape is past COLD_BYTES");
        assert_eq!(t.shape_count(0), 14);
        assert!(t.shape_count(0) > AHEAD);
        let packets = |rng: &mut Rng| -> Vec<PacketKey> {
            (0..600)
                .map(|_| {
                    let mut p = random_packet(rng);
                    if let L3Header::V4(ip) = &mut p.outer.l3 {
                        ip.dst = dst(rng);
                    }
                    p
                })
                .collect()
        };
        for round in 0..2 {
            let keys = packets(&mut rng);
            let want: Vec<Option<RuleId>> = keys.iter().map(|k| naive.lookup(&t, 0, k)).collect();
            assert!(want.iter().filter(|w| w.is_some()).count() > 100);
            let single: Vec<Option<RuleId>> = keys.iter().map(|k| t.lookup(0, k)).collect();
            assert_eq!(single, want, "round {round}");
            let mut out = vec![None; keys.len()];
            t.lookup_burst(0, &keys, &mut out);
            assert_eq!(out, want, "round {round}");
            // Churn: remove a third, then lookups must still agree.
            for _ in 0..3000 {
                let (id, ..) = naive.0.remove(rng.usize(..naive.0.len()));
                assert!(t.remove(id).is_some());
            }
        }
    }

    #[test]
    fn renumbering_keeps_insertion_order_among_equal_priorities() {
        let mut t = SoftwareTable::new(Direction::Ingress);
        let dst = Ipv4Addr::new(10, 0, 0, 1);
        let rule = |p: u32| {
            Rule::ingress()
                .priority(p)
                .item(Ipv4Match::any().dst(dst))
                .action(Action::Drop)
        };
        let broad = |p: u32| {
            Rule::ingress()
                .priority(p)
                .item(Item::ipv4())
                .action(Action::Drop)
        };
        let first = t.insert(rule(3)).expect("valid");
        let broad_first = t.insert(broad(3)).expect("valid");
        t.next_seq = u64::from(u32::MAX) - 1;
        let second = t.insert(rule(3)).expect("valid");
        let broad_second = t.insert(broad(3)).expect("valid");
        // The next insert renumbers.
        assert_eq!(t.next_seq, u64::from(u32::MAX) + 1);
        let third = t.insert(rule(3)).expect("valid");
        assert_eq!(t.next_seq, 5);
        let p = PacketKey {
            outer: HeaderKey {
                l3: L3Header::V4(Ipv4Header {
                    src: dst,
                    dst,
                    proto: 6,
                    ttl: 1,
                    dscp: 0,
                    ecn: 0,
                }),
                ..HeaderKey::default()
            },
            ..PacketKey::default()
        };
        assert_eq!(t.lookup(0, &p), Some(first));
        assert!(t.remove(first).is_some());
        assert_eq!(t.lookup(0, &p), Some(broad_first));
        assert!(t.remove(broad_first).is_some());
        assert_eq!(t.lookup(0, &p), Some(second));
        assert!(t.remove(second).is_some());
        assert_eq!(t.lookup(0, &p), Some(broad_second));
        assert!(t.remove(broad_second).is_some());
        assert_eq!(t.lookup(0, &p), Some(third));
    }
}
