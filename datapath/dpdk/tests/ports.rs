//! Real packets through real DPDK virtual ports.

mod common;

use std::time::{Duration, Instant};

use common::{eal, frame, pool, unique};
use dpuflow_dpdk::{Burst, Port, PortConfig};

fn started(mut port: Port, pool: &dpuflow_dpdk::Mempool) -> Port {
    let config = PortConfig {
        rx_desc: 256,
        tx_desc: 256,
        ..PortConfig::default()
    };
    port.configure(&config, pool).expect("configure");
    port.start().expect("start");
    port
}

#[test]
fn ring_pair_delivers_identical_packets_in_order_and_counts_them() {
    let eal = eal();
    let pool = pool(&eal, 2047);
    let (a, b) = Port::ring_pair(&eal, &unique("rp"), 1024).expect("ring pair");
    let (a, b) = (started(a, &pool), started(b, &pool));
    let mut tx = a.tx_queue(0).expect("tx queue");
    let mut rx = b.rx_queue(0).expect("rx queue");

    let sent: Vec<Vec<u8>> = (0..300)
        .map(|i| frame(i, 60 + (i as usize % 1400)))
        .collect();
    let mut burst = Burst::<32>::new();
    for chunk in sent.chunks(32) {
        for bytes in chunk {
            let mut m = pool.alloc().expect("alloc");
            m.extend_from_slice(bytes).expect("fits");
            burst.push(m).expect("room");
        }
        assert_eq!(
            tx.tx_burst(&mut burst),
            chunk.len(),
            "ring has room for all"
        );
        assert!(burst.is_empty());
    }

    let mut got = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(5);
    while got.len() < sent.len() && Instant::now() < deadline {
        rx.rx_burst(&mut burst);
        got.extend(burst.as_slice().iter().map(|m| m.data().to_vec()));
        burst.clear();
    }
    assert_eq!(got.len(), sent.len());
    assert!(got == sent, "packets differ or are out of order");

    // net_ring counts packets, not bytes.
    assert_eq!(a.stats().expect("stats").tx_packets, 300);
    assert_eq!(b.stats().expect("stats").rx_packets, 300);
    drop((tx, rx));
    assert_eq!(pool.in_use(), 0, "every mbuf went back to the pool");
}

#[test]
fn tx_returns_what_did_not_fit_instead_of_spinning() {
    let eal = eal();
    let pool = pool(&eal, 1023);
    // A 64-slot ring holds 63 packets.
    let (a, _b) = Port::ring_pair(&eal, &unique("full"), 64).expect("ring pair");
    let a = started(a, &pool);
    let mut tx = a.tx_queue(0).expect("tx");
    let mut burst = Burst::<32>::new();
    let mut sent = 0;
    for _ in 0..3 {
        let missing = 32 - burst.len();
        pool.alloc_bulk(&mut burst, missing).expect("alloc");
        for m in burst.as_mut_slice() {
            if m.is_empty() {
                m.extend_from_slice(&frame(0, 64)).expect("fits");
            }
        }
        sent += tx.tx_burst(&mut burst);
    }
    assert_eq!(sent, 63);
    assert_eq!(burst.len(), 32, "unsent mbufs stay in the burst");
    assert_eq!(a.stats().expect("stats").tx_packets, 63);
}

#[test]
fn pcap_rx_to_pcap_tx_copies_the_capture() {
    let eal = eal();
    let pool = pool(&eal, 2047);
    let dir = std::env::temp_dir().join(unique("dpuflow-pcap-"));
    std::fs::create_dir_all(&dir).expect("tmpdir");
    let input = dir.join("in.pcap");
    let output = dir.join("out.pcap");
    let packets: Vec<Vec<u8>> = (0..500)
        .map(|i| frame(i, 64 + (i as usize * 7) % 1000))
        .collect();
    write_pcap(&input, &packets);

    let rx_port = Port::attach(
        &eal,
        &format!("{},rx_pcap={}", unique("net_pcap_in"), input.display()),
    )
    .expect("rx pcap port");
    let tx_port = Port::attach(
        &eal,
        &format!("{},tx_pcap={}", unique("net_pcap_out"), output.display()),
    )
    .expect("tx pcap port");
    let (rx_port, tx_port) = (started(rx_port, &pool), started(tx_port, &pool));
    {
        let mut rx = rx_port.rx_queue(0).expect("rx");
        let mut tx = tx_port.tx_queue(0).expect("tx");
        let mut burst = Burst::<32>::new();
        let mut forwarded = 0;
        let deadline = Instant::now() + Duration::from_secs(5);
        while forwarded < packets.len() && Instant::now() < deadline {
            rx.rx_burst(&mut burst);
            forwarded += tx.tx_burst(&mut burst);
        }
        assert_eq!(forwarded, packets.len());
    }
    let bytes: u64 = packets.iter().map(|p| p.len() as u64).sum();
    let (rs, ts) = (
        rx_port.stats().expect("stats"),
        tx_port.stats().expect("stats"),
    );
    assert_eq!((rs.rx_packets, rs.rx_bytes), (500, bytes));
    assert_eq!((ts.tx_packets, ts.tx_bytes), (500, bytes));
    drop(tx_port); // closing the port flushes the pcap dumper
    assert_eq!(read_pcap(&output), packets);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn null_port_loop_runs_a_bounded_number_of_bursts() {
    let eal = eal();
    let pool = pool(&eal, 2047);
    let port = Port::attach(&eal, &format!("{},size=128", unique("net_null"))).expect("null port");
    let port = started(port, &pool);
    let mut rx = port.rx_queue(0).expect("rx");
    let mut tx = port.tx_queue(0).expect("tx");
    let mut burst = Burst::<32>::new();
    let (mut rxd, mut txd) = (0u64, 0u64);
    for _ in 0..1000 {
        rxd += rx.rx_burst(&mut burst) as u64;
        assert!(burst.as_slice().iter().all(|m| m.len() == 128));
        txd += tx.tx_burst(&mut burst) as u64;
        burst.clear();
    }
    assert_eq!(rxd, 32_000, "net_null fills every burst");
    assert_eq!(txd, rxd);
    let stats = port.stats().expect("stats");
    assert_eq!((stats.rx_packets, stats.tx_packets), (rxd, txd));
    drop((rx, tx));
    assert_eq!(pool.in_use(), 0);
}

#[test]
fn port_reports_mac_link_info_and_xstats() {
    let eal = eal();
    let pool = pool(&eal, 1023);
    let (a, _b) = Port::ring_pair(&eal, &unique("info"), 256).expect("ring pair");
    let mut a = started(a, &pool);
    let info = a.info().expect("info");
    assert_eq!(info.driver, "net_ring");
    assert!(info.max_rx_queues >= 1);
    assert_eq!(info.switch_domain, None, "a ring port is in no e-switch");
    assert!(a.link().expect("link").up);
    let mac = a.mac().expect("mac");
    assert_eq!(mac.to_string().len(), 17);
    let xstats = a.xstats().expect("xstats");
    assert!(
        xstats.iter().any(|(n, _)| n == "rx_good_packets"),
        "{xstats:?}"
    );
    a.set_promiscuous(true).expect("promisc");
    a.stop().expect("stop");
    assert!(!a.is_started());
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

fn read_pcap(path: &std::path::Path) -> Vec<Vec<u8>> {
    use pcap_file::pcap::PcapReader;
    let file = std::fs::File::open(path).expect("open pcap");
    let mut r = PcapReader::new(file).expect("pcap reader");
    let mut out = Vec::new();
    while let Some(p) = r.next_packet() {
        out.push(p.expect("packet").data.into_owned());
    }
    out
}
