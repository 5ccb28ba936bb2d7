//! A small `dpuflow-perf pipeline` run (two short windows per side, a
//! small cluster): the scenario must start both sides, forward through
//! the whole pipeline without a malformed or port-security drop, reach
//! both the uplink and the pod representors, and end with its two RESULT
//! lines. Needs DPDK's `dpdk-testpmd` (./scripts/setup.sh); fails, naming
//! it, when it is missing.

use std::process::Command;

/// The `name=value` field of `line`, as a number.
fn field(line: &str, name: &str) -> f64 {
    line.split_whitespace()
        .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
        .unwrap_or_else(|| panic!("no {name}= in {line:?}"))
        .parse()
        .unwrap_or_else(|e| panic!("{name} in {line:?}: {e}"))
}

#[test]
fn a_small_pipeline_run_forwards_and_compares_with_testpmd() {
    assert!(
        Command::new("dpdk-testpmd")
            .arg("--version")
            .output()
            .is_ok(),
        "dpdk-testpmd is missing: install Debian's dpdk package (./scripts/setup.sh)"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_dpuflow-perf"))
        .args([
            "pipeline",
            "--windows",
            "2",
            "--seconds",
            "0.5",
            "--peers",
            "io",
            "--flows",
            "3000",
            "--local-pods",
            "8",
            "--remote-nodes",
            "50",
            "--services",
            "100",
            "--policy-every",
            "3",
        ])
        .output()
        .expect("run dpuflow-perf");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "pipeline failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    let checks = stdout
        .lines()
        .find(|l| l.starts_with("checks: "))
        .unwrap_or_else(|| panic!("no checks line:\n{stdout}"));
    assert!(field(checks, "forwarded") > 0.0, "{checks}");
    assert_eq!(field(checks, "malformed"), 0.0, "{checks}");
    assert_eq!(field(checks, "port_security"), 0.0, "{checks}");
    assert_eq!(field(checks, "drops"), 0.0, "{checks}");
    assert!(field(checks, "tx_uplink") > 0.0, "{checks}");
    assert!(field(checks, "tx_pods") > 0.0, "{checks}");
    let results: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("RESULT scenario=pipeline "))
        .collect();
    assert_eq!(results.len(), 2, "{stdout}");
    assert!(results[0].ends_with("unit=Mpps"), "{}", results[0]);
    assert!(results[1].ends_with("unit=cycles/packet"), "{}", results[1]);
    for r in &results {
        assert!(field(r, "ours") > 0.0, "{r}");
        assert!(field(r, "testpmd-io") > 0.0, "{r}");
    }
}
