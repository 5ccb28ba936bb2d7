//! Feature `recorder`: compiles the test-only rte_flow recorder
//! (ffi-headers/testing/README.md) twice — linked into test binaries, and as
//! a shared object preloaded into `dpdk-testpmd` — so both sides dump rules
//! with one function. DPDK's include paths and flags come from
//! `dpuflow-sys` (`links = "dpdk"`), which asked pkg-config once.

fn main() {
    #[cfg(feature = "recorder")]
    recorder::build();
}

#[cfg(feature = "recorder")]
mod recorder {
    use std::env;
    use std::path::{Path, PathBuf};

    pub fn build() {
        let headers = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ffi-headers");
        let src = headers.join("testing/recorder.c");
        println!(
            "cargo:rerun-if-changed={}",
            headers.join("testing").display()
        );
        let includes = dep("DEP_DPDK_INCLUDE");
        let cflags = dep("DEP_DPDK_CFLAGS");
        let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));

        let mut build = cc::Build::new();
        build.file(&src).include(&headers).opt_level(1).pic(true);
        for inc in &includes {
            build.include(inc);
        }
        for flag in &cflags {
            build.flag(flag);
        }
        build.compile("dpuflow_recorder");

        let so = out.join("libdpuflow_recorder_preload.so");
        let mut cmd = build.get_compiler().to_command();
        cmd.args(["-shared", "-fPIC", "-DDPUFLOW_RECORDER_PRELOAD", "-o"])
            .arg(&so)
            .arg(&src)
            .arg(format!("-I{}", headers.display()));
        for inc in &includes {
            cmd.arg(format!("-I{inc}"));
        }
        cmd.args(&cflags)
            .args(["-lrte_ethdev", "-lrte_eal", "-ldl"]);
        let status = cmd
            .status()
            .unwrap_or_else(|e| panic!("cannot run cc: {e}"));
        assert!(status.success(), "building {} failed", so.display());
        println!("cargo:rustc-env=DPUFLOW_RECORDER_SO={}", so.display());
    }

    /// A space-separated list exported by dpuflow-sys' build script.
    fn dep(name: &str) -> Vec<String> {
        let value = env::var(name).unwrap_or_else(|_| {
            panic!("{name} not set: dpuflow-sys exports it (links = \"dpdk\")")
        });
        value.split_whitespace().map(str::to_string).collect()
    }
}
