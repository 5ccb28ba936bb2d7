//! Feeds the corpus to a real `dpdk-testpmd` (net_null vdev, no hugepages)
//! and checks that every command parses and that the raw encap/decap
//! buffers testpmd builds equal `encap_bytes()` / `decap_bytes()`.
//!
//! Ignored by default (spawns a DPDK process); run with
//! `cargo test -p dpuflow-flow --test testpmd_parse -- --ignored`.

use std::io::Write;
use std::process::{Command, Stdio};

use dpuflow_flow::tunnel::HeaderLayer;
use dpuflow_flow::{Action, Rule};
use dpuflow_flow_testkit::corpus::corpus;

/// The script for one rule: setup commands, `show` of the raw buffers,
/// the flow create line, and a marker.
fn script(i: usize, rule: &Rule) -> String {
    let mut s = String::new();
    for cmd in rule.to_testpmd(0) {
        let is_create = cmd.starts_with("flow create");
        if is_create && !create_fits(rule) {
            // Past testpmd's line buffer: only the raw buffers are checked
            // here (the rte_flow cross-check parses such rules in parts).
            continue;
        }
        s.push_str(&cmd);
        s.push('\n');
        if !is_create {
            let what = if cmd.starts_with("set raw_encap") {
                "raw_encap"
            } else {
                "raw_decap"
            };
            s.push_str(&format!("show {what} 0\n"));
        }
    }
    s.push_str(&format!("set verbose 0 # rule {i}\n"));
    s
}

/// testpmd 22.11 reads a command through a 512-byte line buffer.
fn create_fits(rule: &Rule) -> bool {
    rule.to_testpmd(0).iter().all(|c| c.len() <= 510)
}

fn hex_dump_bytes(out: &str) -> Vec<u8> {
    let mut bytes = Vec::new();
    for line in out.lines() {
        let Some((offset, rest)) = line.split_once(": ") else {
            continue;
        };
        if offset.len() != 8 || !offset.chars().all(|c| c.is_ascii_hexdigit()) {
            continue;
        }
        let hex = rest.split('|').next().unwrap_or("");
        bytes.extend(
            hex.split_whitespace()
                .map(|h| u8::from_str_radix(h, 16).unwrap()),
        );
    }
    bytes
}

#[test]
#[ignore = "spawns dpdk-testpmd"]
fn testpmd_accepts_corpus_and_builds_same_raw_bytes() {
    let rules = corpus();
    for (i, rule) in rules.iter().enumerate() {
        let mut child = Command::new("dpdk-testpmd")
            .args([
                "--no-huge",
                "-m",
                "256",
                "--no-pci",
                "--vdev",
                "net_null0",
                "--file-prefix",
                "dpuflow-flow-test",
                "--log-level",
                "1",
                "--",
                "-i",
                "--total-num-mbufs=2048",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("dpdk-testpmd on PATH");
        let input = format!("{}quit\n", script(i, rule));
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!text.contains("Bad arguments"), "rule {i}: {input}\n{text}");
        assert!(
            !create_fits(rule) || text.contains("Function not implemented"),
            "rule {i} did not reach the PMD: {input}\n{text}"
        );
        let mut expected = Vec::new();
        for a in &rule.actions {
            if let Action::RawDecap(d) = a {
                expected.extend(d.decap_bytes());
            }
        }
        for a in &rule.actions {
            if let Action::RawEncap(e) = a {
                // testpmd 22.11 has no token for the Geneve C flag that a
                // critical option (OVN's) sets: its buffer lacks that bit.
                for mut layer in e.layers() {
                    if let HeaderLayer::Geneve { critical, .. } = &mut layer {
                        *critical = false;
                    }
                    layer.write(&mut expected);
                }
            }
        }
        assert_eq!(hex_dump_bytes(&text), expected, "rule {i}: {input}\n{text}");
    }
}
