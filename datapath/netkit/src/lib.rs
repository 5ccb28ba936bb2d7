//! Pods as real Linux network stacks for dpuflow's end-to-end tests; a
//! dev-dependency only, never linked into the `dpuflow` binary, and free of
//! DPDK.
//!
//! A [`Pod`] is a network namespace of its own ([`Netns`]) with one
//! interface, `eth0`, whose veth peer stays in the root namespace for DPDK
//! to open with `net_af_packet`. Everything is RAII: dropping a pod deletes
//! its veth pair and its namespace, also when the test failed.
//!
//! ```no_run
//! use std::io::{Read, Write};
//! use std::net::{TcpListener, TcpStream};
//! use dpuflow_netkit::{MacAddr, Pod};
//!
//! let a = Pod::builder("pod-a").ipv4("10.0.0.1/24").ipv6("fd00::1/64").create()?;
//! let b = Pod::builder("pod-b")
//!     .mac(MacAddr::new(0x02, 0, 0, 0, 0, 0x02))
//!     .ipv4("10.0.0.2/24")
//!     .gateway("10.0.0.254")
//!     .neighbour("10.0.0.254", MacAddr::new(0x02, 0, 0, 0, 0, 0xfe))
//!     .create()?;
//! // DPDK: --vdev net_af_packet0,iface={a.port_name()} (and b's), forward…
//! assert!(a.ping(b.ipv4().unwrap(), 3)?.all_replied());
//! // A socket keeps the namespace it was made in: bind inside b, serve
//! // from any thread.
//! let listener = b.run(|| TcpListener::bind("10.0.0.2:5201"))??;
//! let server = std::thread::spawn(move || -> std::io::Result<Vec<u8>> {
//!     let mut got = Vec::new();
//!     listener.accept()?.0.read_to_end(&mut got)?;
//!     Ok(got)
//! });
//! a.run(|| TcpStream::connect("10.0.0.2:5201")?.write_all(b"hello"))??;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Needs root and three Debian packages (`./scripts/setup.sh` installs
//! them): `iproute2`, `ethtool`, `iputils-ping`. Without them every call
//! fails with an error naming what is missing ([`Error::NotRoot`],
//! [`Error::ToolMissing`]); nothing is skipped.
//!
//! # What we found (kernel 6.x, DPDK 22.11's `net_af_packet`)
//!
//! * **Tx checksum offload must be off on both veth ends** (`ethtool -K
//!   <dev> tx off`, done by [`PodBuilder::create`]). With it on, TCP and
//!   UDP leave a pod with partial checksums (the kernel leaves them to the
//!   "hardware"); the AF_PACKET socket copies the bytes as they are and the
//!   other pod drops them: a UDP round trip timed out here while ping,
//!   whose ICMP checksum is computed in software, still got every reply.
//!   Turning tx checksumming off also turns TCP segmentation offload off
//!   (it depends on it), so the pod's kernel cuts TCP into MTU-sized frames
//!   (GSO) before the veth: the 2 MiB of the end-to-end test crossed the
//!   wire as ~1,490 frames of ~1,490 bytes.
//! * **No promiscuous mode needed**: the PMD's packet socket sees every
//!   frame on the veth, those addressed to the other pod's MAC included;
//!   the root-side end stayed at `promiscuity 0` throughout.
//! * **Frame size**: the PMD's ring frames are `framesz` bytes (default
//!   2048, `blocksz` 4096, `framecnt` 512, devargs of `net_af_packet`), so
//!   the default 1500-byte MTU fits with room to spare; a pod MTU near or
//!   above 2000 needs larger `framesz`/`blocksz` (not tried here). The
//!   largest unfragmented UDP datagrams (1472 B over IPv4, 1452 B over
//!   IPv6) crossed intact. `qdisc_bypass` is off by default (DPDK's
//!   guide), so a capture on the root-side end should show what the PMD
//!   sends as well as what it receives (not tried: no tcpdump here).
//! * **Deleting a namespace does not delete its veth at once**: the kernel
//!   tears a namespace down later, on a workqueue; the root-side end was
//!   still listed right after `ip netns del`. A pod deletes its veth
//!   itself, first.
//! * **Root-side end without addresses**: `addrgenmode none` keeps even
//!   the IPv6 link-local address off it; otherwise the root namespace
//!   would send router solicitations and MLD reports into the wire, which
//!   the datapath would take for the pod's traffic.
//! * **DAD**: `nodad` covers only the addresses given; the pod's link-local
//!   address stayed "tentative" for a second or two after link up, so the
//!   kit turns DAD off on the pod's interface (`accept_dad=0`).
//! * **The port must exist before DPDK probes it**: `net_af_packet` binds
//!   its socket to `iface` when the device is probed (EAL init for
//!   `--vdev`, or `rte_dev_probe`, i.e. `Port::attach`, later): create the
//!   pods first, and close the ports before the pods go.
//! * **Only the network namespace changes** in [`Netns::run`]: the thread
//!   still sees the root namespace's `/sys` (a mount-namespace view); use
//!   [`Netns::exec`] (`ip netns exec`, which remounts `/sys`) for tools
//!   that read it.
//! * TSO is not entirely gone after `tx off` on kernels with AccECN:
//!   `ethtool -k` still says `tcp-segmentation-offload: on` because
//!   `tx-tcp-accecn-segmentation` stays on, while `tx-tcp-segmentation`
//!   and `tx-tcp6-segmentation` are off (only AccECN flows would use it).
#![deny(missing_docs)]

mod cmd;
mod netns;
mod ping;
mod pod;

use std::process::ExitStatus;

pub use dpuflow_net::MacAddr;
pub use netns::{Netns, NsThread, NETNS_RUN_DIR};
pub use ping::{PingStats, Rtt};
pub use pod::{Pod, PodBuilder};

/// Why a namespace, pod or command failed. `Debug` prints the message
/// (tests `expect` these, and the message is what says what to do).
#[derive(thiserror::Error)]
pub enum Error {
    /// Network namespaces need root.
    #[error(
        "network namespaces need root (CAP_SYS_ADMIN, CAP_NET_ADMIN); this process runs as uid {0}: run the tests as root"
    )]
    NotRoot(u32),
    /// A tool the kit runs is not installed.
    #[error(
        "`{tool}` not found: install the Debian package `{package}` (./scripts/setup.sh does)"
    )]
    ToolMissing {
        /// The program.
        tool: &'static str,
        /// The Debian package that has it.
        package: &'static str,
    },
    /// A command exited with a failure.
    #[error("`{command}` failed ({status}): {stderr}")]
    Command {
        /// The command line.
        command: String,
        /// Its exit status.
        status: ExitStatus,
        /// What it said on stderr (or stdout, when stderr was empty).
        stderr: String,
    },
    /// An argument the kit cannot use.
    #[error("invalid {what} `{value}`: {reason}")]
    Invalid {
        /// What the value was for.
        what: &'static str,
        /// The value.
        value: String,
        /// What was expected.
        reason: &'static str,
    },
    /// `setns(2)` into a namespace failed.
    #[error("cannot enter network namespace {ns}: {source}")]
    Setns {
        /// The namespace.
        ns: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// Code run inside a namespace panicked.
    #[error("the code run in network namespace {ns} panicked: {message}")]
    Panicked {
        /// The namespace.
        ns: String,
        /// The panic's message.
        message: String,
    },
    /// Another I/O failure.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The OS error.
        source: std::io::Error,
    },
}

impl std::fmt::Debug for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}
