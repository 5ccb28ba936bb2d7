//! Shared test setup: one EAL per test process.
//!
//! Without hugepages: `--no-huge --no-pci --no-shconf`. With
//! `DPUFLOW_TEST_HUGEPAGES=1` (set by scripts/test.sh when it could mount
//! hugetlbfs): hugepages and `--in-memory`.
#![allow(dead_code)]

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

use dpuflow_dpdk::{Eal, EalBuilder, Mempool, MempoolConfig};
use etherparse::PacketBuilder;

pub fn uses_hugepages() -> bool {
    std::env::var("DPUFLOW_TEST_HUGEPAGES").is_ok_and(|v| v == "1")
}

pub fn builder() -> EalBuilder {
    let b = EalBuilder::new("dpuflow-test")
        .lcores("0-1")
        .no_pci()
        .log_level("notice");
    if uses_hugepages() {
        b.in_memory().memory_mb(256)
    } else {
        b.no_huge().no_shconf().memory_mb(256)
    }
}

static EAL: OnceLock<Eal> = OnceLock::new();

/// The process' EAL, started on first use.
pub fn eal() -> Eal {
    EAL.get_or_init(|| match builder().init() {
        Ok(eal) => eal,
        Err(e) => panic!("EAL init failed: {e}"),
    })
    .clone()
}

/// A process-unique name with `prefix`.
pub fn unique(prefix: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!("{prefix}{}", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// A small pool.
pub fn pool(eal: &Eal, size: u32) -> Mempool {
    let config = MempoolConfig {
        size,
        cache: 0,
        ..MempoolConfig::default()
    };
    Mempool::new(eal, &unique("pool"), &config).expect("mempool")
}

/// A distinct, recognisable frame: Ethernet + IPv4 + UDP (checksums
/// filled in), `len` bytes (at least 64), sequence number `seq` in the
/// first four payload bytes and a `seq`-dependent pattern after them.
pub fn frame(seq: u32, len: usize) -> Vec<u8> {
    const HEADERS: usize = 14 + 20 + 8;
    let len = len.max(64);
    let mut payload: Vec<u8> = (HEADERS..len).map(|i| (i as u8) ^ (seq as u8)).collect();
    payload[..4].copy_from_slice(&seq.to_be_bytes());
    let mut f = Vec::with_capacity(len);
    PacketBuilder::ethernet2([0x02, 0, 0, 0, 0, 0x01], [0x02, 0, 0, 0, 0, 0x02])
        .ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
        .udp(1234, 5678)
        .write(&mut f, &payload)
        .expect("test frames fit IPv4");
    f
}
