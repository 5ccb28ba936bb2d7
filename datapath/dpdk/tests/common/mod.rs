//! Shared test setup: one EAL per test process.
//!
//! Without hugepages: `--no-huge --no-pci --no-shconf`. With
//! `DPUFLOW_TEST_HUGEPAGES=1` (set by scripts/test.sh when it could mount
//! hugetlbfs): hugepages and `--in-memory`.
#![allow(dead_code)]

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

use dpuflow_dpdk::{Eal, EalBuilder, Mempool, MempoolConfig};

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

/// A distinct, recognisable frame: Ethernet + IPv4 + UDP, `len` bytes,
/// sequence number `seq` in the payload.
pub fn frame(seq: u32, len: usize) -> Vec<u8> {
    let mut f = vec![0u8; len.max(64)];
    f[0..6].copy_from_slice(&[0x02, 0, 0, 0, 0, 0x02]);
    f[6..12].copy_from_slice(&[0x02, 0, 0, 0, 0, 0x01]);
    f[12..14].copy_from_slice(&[0x08, 0x00]);
    f[14] = 0x45;
    let ip_len = u16::try_from(len.max(64) - 14).unwrap_or(u16::MAX);
    f[16..18].copy_from_slice(&ip_len.to_be_bytes());
    f[22] = 64;
    f[23] = 17;
    f[26..30].copy_from_slice(&[10, 0, 0, 1]);
    f[30..34].copy_from_slice(&[10, 0, 0, 2]);
    f[34..36].copy_from_slice(&1234u16.to_be_bytes());
    f[36..38].copy_from_slice(&5678u16.to_be_bytes());
    f[42..46].copy_from_slice(&seq.to_be_bytes());
    for (i, b) in f.iter_mut().enumerate().skip(46) {
        *b = (i as u8) ^ (seq as u8);
    }
    f
}
