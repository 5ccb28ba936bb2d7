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
//! each shape holds a hash map from masked key to the rules with that key,
//! best first. Lookup encodes the packet once, then probes shapes in order
//! of their best priority and stops as soon as the next shape's best
//! priority cannot beat the match found. Lookup does not allocate: the
//! packet key and the masked probe live on the stack.

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};

use smallvec::SmallVec;
use thiserror::Error;

use super::action::Action;
use super::flatkey::{self, Words, KEY_WORDS};
use super::packet::PacketKey;
use super::rule::{Direction, Rule};
use super::validate::RuleError;

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
    /// More than `u32::MAX` rules.
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
    fn finish(&self) -> u64 {
        // murmur3 fmix64: spreads every input bit over the low bits the
        // hash table indexes with (a bare multiply only propagates upwards).
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

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(SEED);
    }

    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }
}

/// A masked key: most shapes mask four words or fewer, which then sit
/// inline in the hash table (no pointer to chase on a probe).
type Key = SmallVec<[u64; 4]>;
type WordMap<V> = HashMap<Key, V, BuildHasherDefault<WordHasher>>;
/// Rules of one masked key, best first; the usual single rule is inline.
type Bucket = SmallVec<[Candidate; 1]>;

/// A rule's rank: lower is better.
type Rank = (u32, u64);

/// One rule in a bucket.
#[derive(Clone, Copy, Debug)]
struct Candidate {
    rank: Rank,
    slot: u32,
}

/// Rules sharing one mask.
#[derive(Debug, Default)]
struct Shape {
    /// Non-zero mask words: (word index, mask).
    words: Vec<(usize, u64)>,
    /// Masked key → rules, best first.
    buckets: WordMap<Bucket>,
    /// Priority → number of rules.
    priorities: BTreeMap<u32, usize>,
}

impl Shape {
    fn best_priority(&self) -> Option<u32> {
        self.priorities.keys().next().copied()
    }

    /// Writes the masked words of `key` into `out`; returns their count.
    fn probe(&self, key: &Words, out: &mut Words) -> usize {
        let mut n = 0;
        for ((i, m), o) in self.words.iter().zip(out.iter_mut()) {
            *o = key.get(*i).copied().unwrap_or(0) & m;
            n += 1;
        }
        n
    }
}

/// The rules of one group.
#[derive(Debug, Default)]
struct Group {
    shapes: Vec<Shape>,
    by_mask: HashMap<Box<[u64]>, usize, BuildHasherDefault<WordHasher>>,
    /// Shape indices, non-empty shapes by best priority, then empty ones.
    order: Vec<usize>,
}

impl Group {
    fn reorder(&mut self) {
        let shapes = &self.shapes;
        self.order.sort_by_key(|&i| {
            let best = shapes.get(i).and_then(Shape::best_priority);
            (best.is_none(), best.unwrap_or(u32::MAX))
        });
    }

    fn best(&self, key: &Words) -> Option<Candidate> {
        let mut best: Option<Candidate> = None;
        let mut scratch = [0u64; KEY_WORDS];
        for shape in self.order.iter().filter_map(|&i| self.shapes.get(i)) {
            let Some(top) = shape.best_priority() else {
                break;
            };
            if best.is_some_and(|b| top > b.rank.0) {
                break;
            }
            let n = shape.probe(key, &mut scratch);
            let probe = scratch.get(..n).unwrap_or(&[]);
            if let Some(c) = shape.buckets.get(probe).and_then(|b| b.first()) {
                let better = match best {
                    Some(b) => c.rank < b.rank,
                    None => true,
                };
                if better {
                    best = Some(*c);
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
}

/// A set of rules of one direction, classified by tuple-space search.
#[derive(Debug)]
pub struct SoftwareTable {
    direction: Direction,
    slots: Vec<Option<Entry>>,
    generations: Vec<u32>,
    free: Vec<u32>,
    groups: HashMap<u32, Group, BuildHasherDefault<WordHasher>>,
    next_seq: u64,
    len: usize,
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
        if rule.attr.direction != self.direction {
            return Err(TableError::WrongDirection {
                rule: rule.attr.direction,
                table: self.direction,
            });
        }
        rule.validate()?;
        let slot = self.alloc_slot()?;
        let generation = self.generations.get(slot as usize).copied().unwrap_or(0);
        let id = RuleId { slot, generation };
        let rank = (rule.attr.priority, self.next_seq);
        self.next_seq += 1;
        let (value, mask) = flatkey::rule_words(&rule.pattern);
        let group = self.groups.entry(rule.attr.group).or_default();
        let (shape, key) = add_to_group(group, &value, &mask, Candidate { rank, slot });
        if let Some(s) = self.slots.get_mut(slot as usize) {
            *s = Some(Entry {
                id,
                rule,
                rank,
                shape,
                key,
            });
        }
        self.len += 1;
        Ok(id)
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
        let c = self.groups.get(&group)?.best(&words)?;
        // The generation vector is far smaller than the entries: one
        // cache line instead of a whole Entry on the lookup path.
        let generation = *self.generations.get(c.slot as usize)?;
        Some(RuleId {
            slot: c.slot,
            generation,
        })
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
            let Some(entry) = found.and_then(|c| self.entry(c.slot)) else {
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
        self.groups.get(&group).map_or(0, |g| {
            g.shapes.iter().filter(|s| !s.priorities.is_empty()).count()
        })
    }
}

fn sparse(mask: &Words) -> Vec<(usize, u64)> {
    mask.iter()
        .enumerate()
        .filter(|(_, m)| **m != 0)
        .map(|(i, m)| (i, *m))
        .collect()
}

fn add_to_group(group: &mut Group, value: &Words, mask: &Words, c: Candidate) -> (usize, Key) {
    let shape_idx = match group.by_mask.get(mask.as_slice()) {
        Some(i) => *i,
        None => {
            let i = group.shapes.len();
            group.shapes.push(Shape {
                words: sparse(mask),
                ..Shape::default()
            });
            group.by_mask.insert(Box::from(mask.as_slice()), i);
            group.order.push(i);
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
        let bucket = shape.buckets.entry(key.clone()).or_default();
        let pos = bucket.partition_point(|x| x.rank < c.rank);
        bucket.insert(pos, c);
        *shape.priorities.entry(c.rank.0).or_insert(0) += 1;
    }
    group.reorder();
    (shape_idx, key)
}

fn remove_from_group(group: &mut Group, entry: &Entry) {
    let Some(shape) = group.shapes.get_mut(entry.shape) else {
        return;
    };
    if let Some(bucket) = shape.buckets.get_mut(&entry.key) {
        bucket.retain(|c| c.rank != entry.rank);
        if bucket.is_empty() {
            shape.buckets.remove(&entry.key);
        }
    }
    let prio = entry.rank.0;
    if let Some(n) = shape.priorities.get_mut(&prio) {
        *n -= 1;
        if *n == 0 {
            shape.priorities.remove(&prio);
        }
    }
    group.reorder();
}
