//! Mbuf data access and the edits encapsulation and decapsulation need.

mod common;

use std::time::{Duration, Instant};

use common::{eal, frame, pool, unique};
use dpuflow_dpdk::mempool::HEADROOM;
use dpuflow_dpdk::{Burst, Mbuf, MbufError, Mempool, MempoolConfig, Port, PortConfig};
use dpuflow_sys as sys;

#[test]
fn prepend_adj_append_trim_edit_the_packet_in_place() {
    let eal = eal();
    let pool = pool(&eal, 127);
    let mut m = pool.alloc().expect("alloc");
    let inner = frame(7, 100);
    m.extend_from_slice(&inner).expect("append");
    assert_eq!(m.data(), &inner[..]);

    // Encapsulate: 50 bytes of outer header in front.
    let head = m.prepend(50).expect("headroom");
    head.fill(0xee);
    assert_eq!(m.len(), 150);
    assert_eq!(&m.data()[..50], &[0xee; 50][..]);
    assert_eq!(&m.data()[50..], &inner[..]);

    // Decapsulate.
    m.adj(50).expect("adj");
    assert_eq!(m.data(), &inner[..]);

    m.append(4)
        .expect("tailroom")
        .copy_from_slice(&[1, 2, 3, 4]);
    assert_eq!(&m.data()[100..], &[1, 2, 3, 4]);
    m.trim(4).expect("trim");
    assert_eq!(m.data(), &inner[..]);
    m.data_mut()[0] = 0xff;
    assert_eq!(m.data()[0], 0xff);
    assert!(m.is_contiguous());
    assert_eq!(m.pkt_len(), 100);
}

#[test]
fn impossible_edits_are_errors_and_change_nothing() {
    let eal = eal();
    let pool = pool(&eal, 127);
    let mut m = pool.alloc().expect("alloc");
    m.extend_from_slice(&frame(1, 64)).expect("append");
    let headroom = m.headroom();
    assert_eq!(
        m.prepend(headroom + 1).expect_err("no headroom"),
        MbufError::NoHeadroom {
            wanted: headroom + 1,
            available: headroom
        }
    );
    assert!(matches!(
        m.adj(65),
        Err(MbufError::TooShort {
            wanted: 65,
            len: 64
        })
    ));
    assert!(matches!(m.trim(65), Err(MbufError::TooShort { .. })));
    assert!(matches!(
        m.append(m.tailroom() + 1),
        Err(MbufError::NoTailroom { .. })
    ));
    assert_eq!(m.data(), &frame(1, 64)[..]);
}

#[test]
fn burst_push_pop_retain_and_drop_free_mbufs() {
    let eal = eal();
    let pool = pool(&eal, 127);
    let mut burst = Burst::<4>::new();
    for i in 0..4 {
        let mut m = pool.alloc().expect("alloc");
        m.extend_from_slice(&frame(i, 64)).expect("append");
        burst.push(m).expect("room");
    }
    let extra = pool.alloc().expect("alloc");
    assert!(burst.push(extra).is_err(), "full burst gives the mbuf back");
    assert_eq!(pool.in_use(), 4, "the refused mbuf was freed on drop");

    let freed = burst.retain(|m| m.data()[45] % 2 == 1);
    assert_eq!(freed, 2);
    let seqs: Vec<u8> = burst.as_slice().iter().map(|m| m.data()[45]).collect();
    assert_eq!(seqs, vec![1, 3]);
    let last = burst.pop().expect("pop");
    assert_eq!(last.data()[45], 3);
    drop(last);
    drop(burst);
    assert_eq!(pool.in_use(), 0);
}

#[test]
fn drain_yields_in_arrival_order_and_frees_what_it_did_not_yield() {
    let eal = eal();
    let pool = pool(&eal, 127);
    let mut burst = Burst::<8>::new();
    for i in 0..6 {
        let mut m = pool.alloc().expect("alloc");
        m.extend_from_slice(&frame(i, 64)).expect("append");
        burst.push(m).expect("room");
    }
    burst.prefetch_data();
    let mut drain = burst.drain();
    let first: Vec<u8> = drain.by_ref().take(3).map(|m| m.data()[45]).collect();
    assert_eq!(first, vec![0, 1, 2]);
    drop(drain);
    assert!(burst.is_empty());
    assert_eq!(
        pool.in_use(),
        0,
        "the three not yielded were freed with the drain"
    );
}

#[test]
fn mbufs_move_between_threads() {
    let eal = eal();
    let pool = pool(&eal, 127);
    let mut m = pool.alloc().expect("alloc");
    m.extend_from_slice(&frame(9, 64)).expect("append");
    let len = std::thread::spawn(move || m.len()).join().expect("thread");
    assert_eq!(len, 64);
    assert_eq!(pool.in_use(), 0);
}

/// What DPDK's own functions (the C forwarders in ffi-headers/shims.c) say
/// about an mbuf, to compare the safe layer's direct field reads against.
#[derive(Debug, PartialEq, Eq)]
struct DpdkView {
    mtod: *const u8,
    data_len: usize,
    pkt_len: u32,
    headroom: u16,
    tailroom_last: u16,
    contiguous: bool,
}

fn dpdk_view(m: &Mbuf) -> DpdkView {
    let p = m.as_ptr();
    // SAFETY: `m` owns a valid mbuf; the forwarders only read it, and the
    // chain walk follows DPDK's NULL-terminated `next` list.
    unsafe {
        let mut last = p;
        while !(*last).next.is_null() {
            last = (*last).next;
        }
        DpdkView {
            mtod: sys::dpuflow_rte_pktmbuf_mtod(p).cast::<u8>().cast_const(),
            data_len: usize::from(sys::dpuflow_rte_pktmbuf_data_len(p)),
            pkt_len: sys::dpuflow_rte_pktmbuf_pkt_len(p),
            headroom: sys::dpuflow_rte_pktmbuf_headroom(p),
            tailroom_last: sys::dpuflow_rte_pktmbuf_tailroom(last),
            contiguous: sys::dpuflow_rte_pktmbuf_is_contiguous(p) != 0,
        }
    }
}

fn our_view(m: &Mbuf) -> DpdkView {
    DpdkView {
        mtod: m.data().as_ptr(),
        data_len: m.len(),
        pkt_len: m.pkt_len(),
        headroom: m.headroom(),
        tailroom_last: m.tailroom(),
        contiguous: m.is_contiguous(),
    }
}

/// The layout a view has relative to its own mbuf (for comparing twins).
fn shape(m: &Mbuf) -> (usize, u32, u16, u16, u16, Vec<u8>) {
    (
        m.len(),
        m.pkt_len(),
        m.headroom(),
        m.tailroom(),
        m.nb_segs(),
        m.data().to_vec(),
    )
}

/// One edit, done by the safe layer or by DPDK's inline function.
#[derive(Debug, Clone, Copy)]
enum Edit {
    Prepend(u16),
    Append(u16),
    Adj(u16),
    Trim(u16),
}

/// Applies `edit` with the safe layer; true when it succeeded.
fn ours(m: &mut Mbuf, edit: Edit) -> bool {
    match edit {
        Edit::Prepend(n) => m.prepend(n).map(|b| b.fill(0xa5)).is_ok(),
        Edit::Append(n) => m.append(n).map(|b| b.fill(0x5a)).is_ok(),
        Edit::Adj(n) => m.adj(n).is_ok(),
        Edit::Trim(n) => m.trim(n).is_ok(),
    }
}

/// Applies `edit` with DPDK's own function; true when it succeeded.
fn dpdks(m: &mut Mbuf, edit: Edit) -> bool {
    let p = m.as_ptr();
    // SAFETY: `m` owns a valid mbuf, exclusively (&mut); a non-NULL result
    // points at `n` bytes inside it.
    unsafe {
        match edit {
            Edit::Prepend(n) => {
                let b = sys::dpuflow_rte_pktmbuf_prepend(p, n).cast::<u8>();
                !b.is_null() && {
                    std::ptr::write_bytes(b, 0xa5, usize::from(n));
                    true
                }
            }
            Edit::Append(n) => {
                let b = sys::dpuflow_rte_pktmbuf_append(p, n).cast::<u8>();
                !b.is_null() && {
                    std::ptr::write_bytes(b, 0x5a, usize::from(n));
                    true
                }
            }
            Edit::Adj(n) => !sys::dpuflow_rte_pktmbuf_adj(p, n).is_null(),
            Edit::Trim(n) => sys::dpuflow_rte_pktmbuf_trim(p, n) == 0,
        }
    }
}

/// Every segment's data length, in order.
fn seg_lens(m: &Mbuf) -> Vec<usize> {
    let mut out = Vec::new();
    let mut seg = m.as_ptr();
    // SAFETY: a valid chain we own.
    unsafe {
        while !seg.is_null() {
            out.push(usize::from(sys::dpuflow_rte_pktmbuf_data_len(seg)));
            seg = (*seg).next;
        }
    }
    out
}

/// Every segment's bytes, in order.
fn all_bytes(m: &Mbuf) -> Vec<u8> {
    let mut out = Vec::new();
    let mut seg = m.as_ptr();
    // SAFETY: a valid chain we own; each segment's data is `data_len` bytes
    // at `mtod`.
    unsafe {
        while !seg.is_null() {
            let p = sys::dpuflow_rte_pktmbuf_mtod(seg).cast::<u8>();
            let n = usize::from(sys::dpuflow_rte_pktmbuf_data_len(seg));
            out.extend_from_slice(std::slice::from_raw_parts(p, n));
            seg = (*seg).next;
        }
    }
    out
}

const EDITS: [Edit; 14] = [
    Edit::Prepend(14),
    Edit::Prepend(50),
    Edit::Append(4),
    Edit::Adj(64),
    Edit::Trim(4),
    Edit::Prepend(u16::MAX),
    Edit::Adj(u16::MAX),
    Edit::Trim(u16::MAX),
    Edit::Append(u16::MAX),
    Edit::Append(200),
    Edit::Prepend(64),
    Edit::Adj(1),
    Edit::Trim(1),
    Edit::Prepend(0),
];

#[test]
fn direct_reads_and_edits_agree_with_dpdk_functions() {
    let eal = eal();
    let pool = pool(&eal, 127);
    let (mut a, mut b) = (pool.alloc().expect("alloc"), pool.alloc().expect("alloc"));
    for m in [&mut a, &mut b] {
        m.extend_from_slice(&frame(3, 100)).expect("append");
    }
    assert_eq!(our_view(&a), dpdk_view(&a));
    assert_eq!(a.nb_segs(), 1);
    for edit in EDITS {
        let (ok_ours, ok_dpdk) = (ours(&mut a, edit), dpdks(&mut b, edit));
        assert_eq!(ok_ours, ok_dpdk, "{edit:?} succeeded on one side only");
        assert_eq!(our_view(&a), dpdk_view(&a), "after {edit:?}");
        assert_eq!(shape(&a), shape(&b), "after {edit:?}");
    }
    // A fresh mbuf: nothing received, no flags, no type.
    let m = pool.alloc().expect("alloc");
    assert_eq!(our_view(&m), dpdk_view(&m));
    assert_eq!((m.ol_flags(), m.packet_type(), m.len()), (0, 0, 0));
}

#[test]
fn chained_packets_from_a_pmd_read_and_edit_like_dpdk() {
    let eal = eal();
    // 256-byte segments: net_pcap chains a 1000-byte frame over four.
    let config = MempoolConfig {
        size: 1023,
        cache: 0,
        data_room: HEADROOM + 256,
        socket: None,
    };
    let pool = Mempool::new(&eal, &unique("seg"), &config).expect("pool");
    let dir = std::env::temp_dir().join(unique("dpuflow-chain-"));
    std::fs::create_dir_all(&dir).expect("tmpdir");
    let input = dir.join("in.pcap");
    let frames: Vec<Vec<u8>> = [1000, 1000, 700, 700, 200]
        .map(|n| frame(n, n as usize))
        .into();
    write_pcap(&input, &frames);
    let mut port = Port::attach(
        &eal,
        &format!("{},rx_pcap={}", unique("net_pcap_chain"), input.display()),
    )
    .expect("pcap port");
    let cfg = PortConfig {
        rx_desc: 128,
        tx_desc: 128,
        ..PortConfig::default()
    };
    port.configure(&cfg, &pool).expect("configure");
    port.start().expect("start");
    let mut rx = port.rx_queue(0).expect("rx");
    let mut burst = Burst::<8>::new();
    let deadline = Instant::now() + Duration::from_secs(5);
    while burst.len() < frames.len() && Instant::now() < deadline {
        rx.rx_burst(&mut burst);
    }
    assert_eq!(burst.len(), frames.len());

    let ms = burst.as_mut_slice();
    for (m, f) in ms.iter().zip(&frames) {
        assert_eq!(our_view(m), dpdk_view(m));
        assert_eq!(m.port(), port.id());
        assert_eq!(m.pkt_len() as usize, f.len());
        assert_eq!(usize::from(m.nb_segs()), seg_lens(m).len());
        assert_eq!(m.is_contiguous(), f.len() <= 256);
        assert_eq!(m.len(), seg_lens(m)[0]);
        assert_eq!(m.data(), &f[..m.len()], "data() is the first segment");
        assert_eq!(all_bytes(m), *f);
    }
    assert!(!ms[0].is_contiguous() && ms[4].is_contiguous());

    // Twins (same frame, same chain shape): edits go to the first (prepend,
    // adj) or the last (append, trim) segment on both sides alike.
    for pair in [0, 2] {
        let (a, b) = ms[pair..pair + 2].split_at_mut(1);
        let (a, b) = (&mut a[0], &mut b[0]);
        for edit in EDITS {
            let (ok_ours, ok_dpdk) = (ours(a, edit), dpdks(b, edit));
            assert_eq!(ok_ours, ok_dpdk, "{edit:?} succeeded on one side only");
            assert_eq!(our_view(a), dpdk_view(a), "after {edit:?}");
            assert_eq!(shape(a), shape(b), "after {edit:?}");
            assert_eq!(all_bytes(a), all_bytes(b), "after {edit:?}");
        }
    }
    drop(burst);
    drop(rx);
    assert_eq!(pool.in_use(), 0, "every segment went back to the pool");
    let _ = std::fs::remove_dir_all(dir);
}

fn write_pcap(path: &std::path::Path, packets: &[Vec<u8>]) {
    use pcap_file::pcap::{PcapPacket, PcapWriter};
    let file = std::fs::File::create(path).expect("create pcap");
    let mut w = PcapWriter::new(file).expect("pcap writer");
    for (i, p) in packets.iter().enumerate() {
        let ts = Duration::from_micros(i as u64);
        w.write_packet(&PcapPacket::new(ts, p.len() as u32, p))
            .expect("write");
    }
}
