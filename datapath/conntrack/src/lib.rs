//! The datapath's connection table: one table shared by every poll-mode
//! worker, preallocated at start, fixed in capacity, and lock-free.
//!
//! # Why one shared table
//!
//! Each worker polls its own RSS rx queues, and RSS hashes the 5-tuple on
//! the wire. After service DNAT the reply's tuple is endpoint→client, a
//! tuple no RSS key maps back to the worker that created the connection,
//! so per-worker tables would have to hand replies over between workers (a
//! ring per worker pair, a second pass over each handed packet, reordering
//! across queues). Here any worker looks up any connection, in either
//! direction, with a few loads and no lock; only creation and removal
//! belong to one worker.
//!
//! # Shape
//!
//! - **Records** (`capacity` of them) hold a connection: its forward key
//!   (the first packet's tuple, as seen) and reply key (the reply's tuple
//!   as it will arrive, after NAT), a caller [`Payload`] written once at
//!   creation, the protocol state, last-seen time and per-direction
//!   packet/byte counters. The NAT rewrite of a packet is "make its tuple
//!   the other key reversed" ([`Conn::translated`]).
//! - **The index** maps each key to (record, direction). Buckets of 8
//!   one-word slots, one cache line each; a key may sit in either of two
//!   buckets chosen by its hash, and goes into the emptier one
//!   (two-choice hashing keeps bucket overflow negligible at full load;
//!   one choice overflowed half the time in a simulation of a full
//!   64-connection table). There are at least 4 slots per connection.
//!   The hash is foldhash keyed with 128 random bits drawn from the OS at
//!   [`Conntrack::new`], so a pod cannot aim its tuples at one bucket.
//! - **Ownership**: record indices are split into one contiguous range per
//!   worker. Only a record's [`Owner`] creates, ages and frees it, from a
//!   plain free list: allocation takes no atomic read-modify-write. Any
//!   worker looks up, counts and moves the state of any connection; any
//!   thread may [`Conntrack::kill`] one (lookups stop finding it at once;
//!   its owner reclaims it at its next [`Owner::sweep`] that reaches it).
//! - Full means full: no free record is [`CreateError::Full`], both
//!   buckets of a key full is [`CreateError::BucketFull`] (kept apart: the
//!   second says the index, not the capacity, refused); nothing is
//!   evicted.
//!
//! # The lock-free protocol
//!
//! Every shared field is an atomic, and the crate has no `unsafe`.
//!
//! - A slot is one `AtomicU64`: state (empty, busy, live), a 29-bit hash
//!   tag, the record index and the direction. A creator writes the record,
//!   claims an empty slot per key with a CAS to *busy* (invisible to
//!   lookups), then rescans both buckets for the same key: a live one
//!   means the key exists ([`CreateError::Exists`], the claims are undone,
//!   nothing stays half-inserted); a busy one means another worker is
//!   creating the same key at this instant, and this creator backs off and
//!   retries ([`CreateError::Contended`] after a few rounds). The claim and
//!   rescan are sequentially consistent, so of two racing creators at
//!   least the later one sees the other. It then publishes the record and
//!   stores both slots *live* with release ordering.
//! - A lookup loads a slot (acquire), compares the tag, and compares the
//!   key against the record's key for that direction: the key lives once,
//!   in the record, which a hit reads anyway.
//! - **Reclamation** is quiescent-state based (as DPDK's lock-free
//!   `rte_hash` requires `rte_rcu_qsbr`): the owner unlinks an expired or
//!   killed record (clears its live bit, empties its slots) and frees it
//!   only after every worker has passed a quiescent point since. A
//!   [`Conn`] borrows its [`Owner`] and [`Owner::quiesce`] takes it
//!   mutably, so the compiler proves no handle survives a quiescent point:
//!   a worker never counts a packet into, or moves the TCP state of, a
//!   record that was recycled under it. A record generation number
//!   (in [`ConnId`]) serves the threads outside that scheme: the control
//!   thread's snapshots ([`Conntrack::iter_live`]) are seqlock reads
//!   validated by it, and [`Conntrack::kill`] by id is a no-op on a
//!   recycled record.
//!
//! # Contract with the workers
//!
//! Each worker thread owns one [`Owner`] for its lifetime and calls
//! [`Owner::sweep`] (which quiesces) or [`Owner::quiesce`] between bursts;
//! a worker that stops doing so stalls reclamation on every worker
//! (creates then fail with `Full`: visible, never unsafe). Dropping an
//! `Owner` takes its worker out of the grace-period scheme; its records
//! stay, unaged. Time is the caller's: `now` is milliseconds of a
//! monotonic clock, read once per burst.
//!
//! # Memory
//!
//! About 220–250 bytes per connection, both index slots included
//! ([`Conntrack::bytes_per_connection`]); all of it allocated in
//! [`Conntrack::new`]. Nothing allocates afterwards.
//!
//! # Example
//!
//! ```
//! use dpuflow_conntrack::{tcp_flags, Config, ConnState, Conntrack, Dir, FlowKey};
//!
//! let (table, mut owners) = Conntrack::new(Config { capacity: 1024, ..Config::default() }, 2)?;
//! let (worker1, mut worker0) = (owners.pop().ok_or("2 owners")?, owners.pop().ok_or("2 owners")?);
//! let client = FlowKey {
//!     zone: 0, proto: 6,
//!     src: "10.244.1.5".parse()?, dst: "10.96.0.10".parse()?, // to a service VIP
//!     sport: 40000, dport: 80,
//! };
//! // DNAT to an endpoint: the reply comes from the endpoint, not the VIP.
//! let endpoint = FlowKey { dst: "10.244.2.7".parse()?, dport: 8080, ..client };
//! let now = 1_000;
//!
//! let conn = worker0
//!     .create(client, endpoint.reversed(), [42, 0, 0, 0], tcp_flags::SYN, now)
//!     .map_err(|e| e.to_string())?; // the error borrows the table (`Exists` holds the winner)
//! assert_eq!(conn.update(60, tcp_flags::SYN, now), ConnState::SynSent);
//! assert_eq!(conn.translated(), endpoint); // rewrite the SYN to this tuple
//!
//! // The SYN+ACK lands on worker 1's queue: it finds the connection.
//! let reply = worker1.lookup(&endpoint.reversed()).expect("reply finds the connection");
//! assert_eq!(reply.dir(), Dir::Reply);
//! assert_eq!(reply.payload()[0], 42);
//! assert_eq!(reply.update(60, tcp_flags::SYN | tcp_flags::ACK, now), ConnState::SynRecv);
//! assert_eq!(reply.translated(), client.reversed()); // un-DNAT the reply
//! assert_eq!(table.len(), 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod key;
mod state;
mod table;

pub use key::{Dir, FlowKey};
pub use state::{tcp_flags, ConnState, Timeouts};
pub use table::{
    Config, ConfigError, Conn, ConnId, ConnView, Conntrack, CreateError, Owner, Payload,
    SweepStats, PAYLOAD_WORDS,
};
