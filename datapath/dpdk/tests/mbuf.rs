//! Mbuf data access and the edits encapsulation and decapsulation need.

mod common;

use common::{eal, frame, pool};
use dpuflow_dpdk::{Burst, MbufError};

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
fn mbufs_move_between_threads() {
    let eal = eal();
    let pool = pool(&eal, 127);
    let mut m = pool.alloc().expect("alloc");
    m.extend_from_slice(&frame(9, 64)).expect("append");
    let len = std::thread::spawn(move || m.len()).join().expect("thread");
    assert_eq!(len, 64);
    assert_eq!(pool.in_use(), 0);
}
