//! The committed corpus is the seed list, every corpus input holds the
//! invariants (a replay of the corpus on the plain toolchain), and the
//! checker refuses answers that misdescribe a frame.

use std::fs;
use std::path::{Path, PathBuf};

use dpuflow_packet::{parse, DropReason, Parsed, Vlan, L4};

use crate::packet::{check_parse, check_parsed};
use crate::seeds::{ovn_ic_capture, parse_seeds, OVN_IC_CAPTURE_PREFIX, TRANSIT_VNI};

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus/parse")
}

/// libFuzzer names the inputs it adds by their SHA-1.
fn is_merged_input(name: &str) -> bool {
    name.len() == 40 && name.bytes().all(|b| b.is_ascii_hexdigit())
}

#[test]
fn committed_seed_files_are_the_seed_list() {
    let dir = corpus_dir();
    let seeds = parse_seeds();
    if std::env::var_os("DPUFLOW_FUZZ_BLESS").is_some() {
        fs::create_dir_all(&dir).unwrap();
        for s in &seeds {
            fs::write(dir.join(s.name), &s.frame).unwrap();
        }
    }
    let bless =
        "regenerate with DPUFLOW_FUZZ_BLESS=1 cargo test --manifest-path fuzz/Cargo.toml --lib";
    for s in &seeds {
        let on_disk = fs::read(dir.join(s.name))
            .unwrap_or_else(|e| panic!("seed {} not in {}: {e}; {bless}", s.name, dir.display()));
        assert_eq!(
            on_disk, s.frame,
            "seed {} differs from its file; {bless}",
            s.name
        );
    }
    for entry in fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        assert!(
            is_merged_input(&name) || seeds.iter().any(|s| s.name == name),
            "{name} in the corpus is neither a seed nor a merged input (stale seed?)"
        );
    }
    assert!(seeds.len() >= 30, "a few dozen seeds, not {}", seeds.len());
}

#[test]
fn seeds_parse_as_their_names_say() {
    for s in parse_seeds() {
        let got = parse(&s.frame);
        assert_eq!(got.map(|_| ()), s.expect, "seed {}", s.name);
        check_parse(&s.frame).unwrap_or_else(|v| panic!("seed {}: {v}", s.name));
    }
}

#[test]
fn seeds_cover_the_traffic_they_are_for() {
    let seeds = parse_seeds();
    let parsed: Vec<(&str, Parsed)> = seeds
        .iter()
        .filter_map(|s| parse(&s.frame).ok().map(|p| (s.name, p)))
        .collect();
    let any = |f: &dyn Fn(&Parsed) -> bool| parsed.iter().any(|(_, p)| f(p));
    assert!(any(&|p| matches!(p.outer.l3, dpuflow_packet::L3::Arp(_))));
    assert!(any(&|p| p.outer.vlans[1].is_some()), "QinQ");
    assert!(any(&|p| p.outer.l4 == L4::Fragment), "non-first fragment");
    assert!(any(&|p| matches!(p.outer.l4, L4::Icmp { .. })
        && matches!(p.outer.l3, dpuflow_packet::L3::Ipv6 { .. })));
    assert!(any(&|p| p.tunnel.is_some_and(|t| t.ovn.is_none())));
    assert!(any(&|p| p.tunnel.and_then(|t| t.ovn).is_some_and(|k| k
        .egress
        >= dpuflow_packet::geneve::OVN_MULTICAST_MIN)));
    // Every drop the seeds were made for is a different reason.
    let reasons: Vec<DropReason> = seeds.iter().filter_map(|s| s.expect.err()).collect();
    let distinct: std::collections::HashSet<_> = reasons.iter().collect();
    assert_eq!(distinct.len(), reasons.len(), "{reasons:?}");
}

#[test]
fn the_ovn_seed_is_the_captured_frame() {
    let f = ovn_ic_capture();
    assert_eq!(
        &f[..OVN_IC_CAPTURE_PREFIX.len()],
        &OVN_IC_CAPTURE_PREFIX[..]
    );
    // The capture's outer IPv4 total length (0x008e) covers the whole frame.
    assert_eq!(f.len(), 14 + 0x8e);
    let p = parse(&f).unwrap();
    let t = p.tunnel.unwrap();
    assert_eq!(t.vni, TRANSIT_VNI);
    let keys = t.ovn.unwrap();
    assert_eq!((keys.ingress, keys.egress), (3, 2));
    assert_eq!(t.inner_offset, 14 + 20 + 8 + 16);
    assert!(matches!(
        t.inner.l3,
        dpuflow_packet::L3::Ipv4 {
            ttl: 63,
            proto: 1,
            ..
        }
    ));
}

#[test]
fn every_corpus_input_holds_the_invariants() {
    let mut n = 0;
    for entry in fs::read_dir(corpus_dir()).unwrap() {
        let path = entry.unwrap().path();
        let frame = fs::read(&path).unwrap();
        check_parse(&frame).unwrap_or_else(|v| panic!("{}: {v}", path.display()));
        n += 1;
    }
    assert!(n >= 30, "corpus has {n} inputs");
}

/// A parse of `name`'s seed, to doctor.
fn parsed(name: &str) -> (Vec<u8>, Parsed) {
    let s = parse_seeds().into_iter().find(|s| s.name == name).unwrap();
    let p = parse(&s.frame).unwrap();
    (s.frame, p)
}

fn refused(frame: &[u8], p: Parsed, what: &str) {
    assert!(
        check_parsed(frame, &Ok(p)).is_err(),
        "the checker accepted {what}"
    );
}

#[test]
fn the_checker_refuses_offsets_past_the_frame() {
    let (f, mut p) = parsed("ipv4-udp-dns");
    p.outer.l4_offset = f.len() as u16 + 1;
    refused(&f, p, "a transport header past the end");

    let (f, mut p) = parsed("geneve-ovn-tcp");
    let t = p.tunnel.as_mut().unwrap();
    t.inner_offset = f.len() as u16;
    refused(&f, p, "an inner frame starting at the end");

    let (f, mut p) = parsed("geneve-ovn-tcp");
    p.tunnel.as_mut().unwrap().inner.l4_offset = u16::MAX;
    refused(&f, p, "an innermost offset past the end");
}

#[test]
fn the_checker_refuses_offsets_that_are_off() {
    // Off by a VLAN tag: the fields are then not the bytes there.
    let (f, mut p) = parsed("vlan-ipv4-tcp");
    p.outer.l3_offset -= 4;
    refused(&f, p, "an IPv4 header 4 bytes early");

    // The inner frame one option word late.
    let (f, mut p) = parsed("geneve-two-options");
    p.tunnel.as_mut().unwrap().inner_offset += 4;
    refused(&f, p, "an inner frame after the Geneve header's end");

    let (f, mut p) = parsed("ipv6-hop-by-hop-udp");
    p.outer.l4_offset -= 8;
    refused(&f, p, "UDP where the extension header is");
}

#[test]
fn the_checker_refuses_fields_that_are_not_the_bytes() {
    let (f, mut p) = parsed("qinq-ipv4-udp");
    p.outer.vlans = [None, Some(Vlan { vid: 200, pcp: 0 })];
    refused(&f, p, "a VLAN tag after a missing one");

    let (f, mut p) = parsed("geneve-ovn-ic-capture");
    let keys = p.tunnel.as_mut().unwrap().ovn.as_mut().unwrap();
    std::mem::swap(&mut keys.ingress, &mut keys.egress);
    refused(&f, p, "OVN keys swapped");

    let (f, mut p) = parsed("geneve-no-option");
    p.tunnel.as_mut().unwrap().ovn = Some(dpuflow_packet::OvnKeys {
        ingress: 0,
        egress: 0,
    });
    refused(&f, p, "OVN keys without OVN's option");

    let (f, mut p) = parsed("ipv4-icmp-echo-request");
    if let L4::Icmp { id, .. } = &mut p.outer.l4 {
        *id += 1;
    }
    refused(&f, p, "an echo id that is not the header's");

    let (f, mut p) = parsed("ipv4-udp-dns");
    p.tunnel = parsed("geneve-ovn-tcp").1.tunnel;
    refused(&f, p, "a tunnel over UDP port 53");
}

#[test]
fn committed_pipeline_seeds_are_the_seed_list_and_hold_the_invariants() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus/pipeline");
    let bless = std::env::var_os("DPUFLOW_FUZZ_BLESS").is_some();
    if bless {
        std::fs::create_dir_all(&dir).unwrap();
    }
    for (name, input) in crate::pipeline_seeds::seeds() {
        let path = dir.join(name);
        if bless {
            std::fs::write(&path, &input).unwrap();
        }
        let committed = std::fs::read(&path).unwrap_or_else(|e| {
            panic!("{}: {e}; regenerate with DPUFLOW_FUZZ_BLESS=1 cargo test --manifest-path fuzz/Cargo.toml --lib", path.display())
        });
        assert_eq!(committed, input, "{name} differs from its generator");
        let verdicts = crate::pipeline::run_pipeline(&input).unwrap();
        assert!(
            verdicts
                .iter()
                .all(|v| matches!(v, dpuflow_engine::Verdict::Tx(_))),
            "{name} should pass the fixture's cluster: {verdicts:?}"
        );
    }
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let input = std::fs::read(&path).unwrap();
        if let Err(v) = crate::pipeline::check_pipeline(&input) {
            panic!("{}: {v}", path.display());
        }
    }
}
