//! Finds DPDK with pkg-config, generates bindings with bindgen and compiles
//! the C shims for DPDK's `static inline` functions.
//!
//! Regenerating is reproducible: the inputs are `ffi-headers/dpdk.h`, the
//! DPDK found by pkg-config (>= 22.11, Debian bookworm's `libdpdk-dev` is the
//! reference) and the bindgen options below.

use std::env;
use std::path::{Path, PathBuf};

const MIN_DPDK: &str = "22.11";
const MISSING_DPDK: &str = "DPDK >= 22.11 was not found by pkg-config (module `libdpdk`).\n\
     On Debian/Ubuntu install it with:\n    \
     apt-get install dpdk dpdk-dev libdpdk-dev libclang-dev pkg-config\n\
     or point PKG_CONFIG_PATH at the directory holding libdpdk.pc.";

fn main() {
    let headers = Path::new(env!("CARGO_MANIFEST_DIR")).join("../ffi-headers");
    println!("cargo:rerun-if-changed={}", headers.display());
    println!("cargo:rerun-if-env-changed=DPUFLOW_DPDK_STATIC");
    println!("cargo:rerun-if-env-changed=DOCA_DIR");

    let dpdk = probe_dpdk();
    let cflags = compile_flags(&dpdk);
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));

    compile_shims(&headers, &dpdk, &cflags);
    generate_dpdk_bindings(&headers, &dpdk, &cflags, &out);
    export_flags(&dpdk, &cflags);
    if env::var_os("CARGO_FEATURE_DOCA").is_some() {
        doca::generate(&headers, &dpdk, &cflags, &out);
    }
}

/// Finds libdpdk and tells cargo how to link it. Static linking (opt-in with
/// `DPUFLOW_DPDK_STATIC=1`) uses `pkg-config --static`; see README for the
/// whole-archive caveat of static PMDs.
fn probe_dpdk() -> pkg_config::Library {
    let static_link = env::var("DPUFLOW_DPDK_STATIC").is_ok_and(|v| v == "1");
    // The ring PMD's public API (rte_eth_from_rings) is not in libdpdk.pc's
    // list; it is the same object the EAL loads as a plugin.
    if !static_link {
        println!("cargo:rustc-link-lib=rte_net_ring");
    }
    match pkg_config::Config::new()
        .atleast_version(MIN_DPDK)
        .statik(static_link)
        .probe("libdpdk")
    {
        Ok(lib) => lib,
        Err(err) => panic!("{MISSING_DPDK}\n\npkg-config said: {err}"),
    }
}

/// DPDK's own compile flags (`-include rte_config.h`, `-march=corei7` on
/// x86, defines), never `-march=native`: builds must run on other machines.
fn compile_flags(dpdk: &pkg_config::Library) -> Vec<String> {
    let mut flags = Vec::new();
    let out = std::process::Command::new("pkg-config")
        .args(["--cflags-only-other", "libdpdk"])
        .output();
    if let Ok(out) = out {
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let mut words = text.split_whitespace();
        while let Some(word) = words.next() {
            if word == "-include" {
                if let Some(file) = words.next() {
                    flags.push(word.to_string());
                    flags.push(file.to_string());
                }
            } else if word.starts_with("-march=") || word.starts_with("-m") {
                flags.push(word.to_string());
            }
        }
    }
    for (name, value) in &dpdk.defines {
        match value {
            Some(v) => flags.push(format!("-D{name}={v}")),
            None => flags.push(format!("-D{name}")),
        }
    }
    flags.push("-DALLOW_EXPERIMENTAL_API".to_string());
    flags
}

/// Hands DPDK's include paths and compile flags to crates that compile C
/// against DPDK themselves (`links = "dpdk"`: they read `DEP_DPDK_INCLUDE`
/// and `DEP_DPDK_CFLAGS`), so pkg-config is asked once.
fn export_flags(dpdk: &pkg_config::Library, cflags: &[String]) {
    let includes: Vec<String> = dpdk
        .include_paths
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    println!("cargo:include={}", includes.join(" "));
    println!("cargo:cflags={}", cflags.join(" "));
}

fn compile_shims(headers: &Path, dpdk: &pkg_config::Library, cflags: &[String]) {
    let mut build = cc::Build::new();
    build
        .file(headers.join("shims.c"))
        .include(headers)
        .opt_level(3);
    for inc in &dpdk.include_paths {
        build.include(inc);
    }
    for flag in cflags {
        build.flag(flag);
    }
    build.warnings(true).compile("dpuflow_shims");
}

fn clang_args(headers: &Path, dpdk: &pkg_config::Library, cflags: &[String]) -> Vec<String> {
    let mut args: Vec<String> = dpdk
        .include_paths
        .iter()
        .map(|p| format!("-I{}", p.display()))
        .collect();
    args.push(format!("-I{}", headers.display()));
    args.extend(cflags.iter().cloned());
    args
}

fn generate_dpdk_bindings(
    headers: &Path,
    dpdk: &pkg_config::Library,
    cflags: &[String],
    out: &Path,
) {
    let bindings = bindgen::Builder::default()
        .header(headers.join("dpdk.h").to_string_lossy())
        .clang_args(clang_args(headers, dpdk, cflags))
        .allowlist_function(
            "rte_(eal|lcore|thread|mempool|pktmbuf|mbuf|eth|flow|ring|strerror|dev|vdev|socket|zmalloc|free|malloc|get_main|get_next|delay|log).*",
        )
        .allowlist_function("dpuflow_.*|rte_openlog_stream")
        .allowlist_type("rte_(flow|eth|ether|mbuf|mempool|ring|lcore|vlan|ipv4|ipv6|tcp|udp|icmp|vxlan|geneve).*")
        .allowlist_var("RTE_.*|dpuflow_.*")
        .allowlist_var("SOCKET_ID_ANY|LCORE_ID_ANY")
        // Packed DPDK headers bindgen cannot lay out in Rust; dpuflow does not
        // use their fields (see shared dpdk-facts).
        .opaque_type("rte_l2tpv2_combined_msg_hdr")
        .opaque_type("rte_gtp_psc_generic_hdr")
        .opaque_type("rte_flow_item_gtp_psc")
        .opaque_type("rte_flow_item_l2tpv2")
        .derive_default(true)
        .derive_debug(true)
        .prepend_enum_name(false)
        .generate_comments(false)
        .layout_tests(true)
        .parse_callbacks(Box::new(bindgen::CargoCallbacks::new()))
        .generate()
        .unwrap_or_else(|e| panic!("bindgen failed on ffi-headers/dpdk.h: {e}"));
    bindings
        .write_to_file(out.join("dpdk.rs"))
        .unwrap_or_else(|e| panic!("cannot write dpdk.rs: {e}"));
}

mod doca {
    use std::path::{Path, PathBuf};

    /// DOCA Flow bindings: a real SDK's headers when `DOCA_DIR` or pkg-config
    /// `doca-flow` finds one (and then link it), else the declarations we keep
    /// in ffi-headers/doca/ (check-only: nothing to link against).
    ///
    /// Exactly one of the two directories is put on the include path, and
    /// `dpuflow_doca.h` includes `<doca_flow.h>` etc. with angle brackets, so
    /// the SDK's headers are never shadowed by our stand-ins of the same name.
    pub fn generate(headers: &Path, dpdk: &pkg_config::Library, cflags: &[String], out: &Path) {
        let mut args = super::clang_args(headers, dpdk, cflags);
        // The SDK marks most of DOCA Flow experimental; its own build flags.
        args.push("-DDOCA_ALLOW_EXPERIMENTAL_API".to_string());
        let sdk = sdk();
        match &sdk {
            Some(sdk) => {
                for dir in &sdk.include_dirs {
                    args.push(format!("-I{}", dir.display()));
                }
                args.extend(sdk.defines.iter().cloned());
                println!("cargo:rustc-cfg=doca_sdk");
            }
            None => args.push(format!("-I{}", headers.join("doca").display())),
        }
        println!("cargo:rustc-check-cfg=cfg(doca_sdk)");
        let bindings = bindgen::Builder::default()
            .header(headers.join("doca/dpuflow_doca.h").to_string_lossy())
            .clang_args(args)
            .allowlist_function("doca_.*")
            .allowlist_type("doca_.*")
            .allowlist_var("DOCA_.*")
            .blocklist_type("rte_.*")
            // Already in the DPDK bindings (`use crate::bindings::*` in lib.rs).
            .blocklist_type("FILE|_IO_.*")
            .derive_default(true)
            .prepend_enum_name(false)
            .generate_comments(false)
            .generate()
            .unwrap_or_else(|e| panic!("bindgen failed on ffi-headers/doca: {e}"));
        bindings
            .write_to_file(out.join("doca.rs"))
            .unwrap_or_else(|e| panic!("cannot write doca.rs: {e}"));
    }

    struct Sdk {
        include_dirs: Vec<PathBuf>,
        /// `-D` flags from the SDK's pkg-config file.
        defines: Vec<String>,
    }

    fn sdk() -> Option<Sdk> {
        if let Ok(dir) = std::env::var("DOCA_DIR") {
            let dir = PathBuf::from(dir);
            // The SDK installs its libraries under lib/<multiarch>/.
            let lib = dir.join("lib");
            println!("cargo:rustc-link-search=native={}", lib.display());
            if let Ok(arch) = std::env::var("CARGO_CFG_TARGET_ARCH") {
                let multiarch = lib.join(format!("{arch}-linux-gnu"));
                println!("cargo:rustc-link-search=native={}", multiarch.display());
            }
            println!("cargo:rustc-link-lib=doca_flow");
            println!("cargo:rustc-link-lib=doca_common");
            return Some(Sdk {
                include_dirs: vec![dir.join("include")],
                defines: Vec::new(),
            });
        }
        pkg_config::Config::new()
            .probe("doca-flow")
            .ok()
            .map(|lib| Sdk {
                include_dirs: lib.include_paths,
                defines: lib
                    .defines
                    .iter()
                    .map(|(name, value)| match value {
                        Some(v) => format!("-D{name}={v}"),
                        None => format!("-D{name}"),
                    })
                    .collect(),
            })
    }
}
