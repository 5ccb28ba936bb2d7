//! [`Pod`]: a network namespace behind a veth pair, its root-side end left
//! for a DPDK `net_af_packet` port.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::process::Output;

use dpuflow_net::MacAddr;
use ipnet::{IpNet, Ipv4Net, Ipv6Net};

use crate::cmd::{self, Tool};
use crate::netns::{next_id, NsThread};
use crate::ping::{self, PingStats};
use crate::{Error, Netns};

/// Longest Linux interface name (`IFNAMSIZ` - 1).
const IFNAME_MAX: usize = 15;

/// How a [`Pod`] is set up; from [`Pod::builder`]. Invalid arguments are
/// reported by [`PodBuilder::create`].
#[derive(Debug)]
#[must_use = "a PodBuilder does nothing until create()"]
pub struct PodBuilder {
    name: String,
    ifname: String,
    mac: Option<MacAddr>,
    mtu: Option<u32>,
    ipv4: Option<Ipv4Net>,
    ipv6: Option<Ipv6Net>,
    gateway4: Option<Ipv4Addr>,
    gateway6: Option<Ipv6Addr>,
    neighbours: Vec<(IpAddr, MacAddr)>,
    error: Option<Error>,
}

impl PodBuilder {
    /// The interface's name inside the namespace (default `eth0`).
    pub fn ifname(mut self, ifname: &str) -> Self {
        if ifname.is_empty() || ifname.len() > IFNAME_MAX || ifname.contains(['/', ' ']) {
            self.fail(
                "interface name",
                ifname,
                "1 to 15 characters, no '/' or space",
            );
        }
        self.ifname = ifname.to_string();
        self
    }

    /// The pod interface's MAC (default: a locally administered address
    /// unique in this process, `02:df:…`).
    pub fn mac(mut self, mac: impl Into<MacAddr>) -> Self {
        self.mac = Some(mac.into());
        self
    }

    /// The MTU of both veth ends (default: the kernel's, 1500).
    pub fn mtu(mut self, mtu: u32) -> Self {
        self.mtu = Some(mtu);
        self
    }

    /// The pod's IPv4 address with its prefix, e.g. `10.0.0.1/24`.
    pub fn ipv4(mut self, cidr: &str) -> Self {
        match cidr.parse() {
            Ok(net) => self.ipv4 = Some(net),
            Err(_) => self.fail("IPv4 address", cidr, "expected a.b.c.d/len"),
        }
        self
    }

    /// The pod's IPv6 address with its prefix, e.g. `fd00::1/64`; added
    /// with `nodad`, so it is usable at once.
    pub fn ipv6(mut self, cidr: &str) -> Self {
        match cidr.parse() {
            Ok(net) => self.ipv6 = Some(net),
            Err(_) => self.fail("IPv6 address", cidr, "expected an IPv6 address/len"),
        }
        self
    }

    /// A default route via `gateway` (IPv4 or IPv6; one per family, the
    /// last one given wins). The gateway must be inside the pod's subnet
    /// of that family.
    pub fn gateway(mut self, gateway: &str) -> Self {
        match gateway.parse() {
            Ok(IpAddr::V4(gw)) => self.gateway4 = Some(gw),
            Ok(IpAddr::V6(gw)) => self.gateway6 = Some(gw),
            Err(_) => self.fail("gateway", gateway, "expected an IP address"),
        }
        self
    }

    /// A permanent neighbour (ARP/NDP) entry: `ip` is at `mac`, so the
    /// pod never asks for it.
    pub fn neighbour(mut self, ip: &str, mac: impl Into<MacAddr>) -> Self {
        match ip.parse() {
            Ok(ip) => self.neighbours.push((ip, mac.into())),
            Err(_) => self.fail("neighbour address", ip, "expected an IP address"),
        }
        self
    }

    fn fail(&mut self, what: &'static str, value: &str, reason: &'static str) {
        self.error.get_or_insert(Error::Invalid {
            what,
            value: value.to_string(),
            reason,
        });
    }

    /// Creates the namespace and the veth pair and configures both ends.
    /// Whatever was created is deleted again when a later step fails.
    ///
    /// # Errors
    /// The first invalid argument ([`Error::Invalid`]), [`Error::NotRoot`],
    /// [`Error::ToolMissing`] (iproute2, ethtool), or the failing command
    /// with its stderr.
    pub fn create(self) -> Result<Pod, Error> {
        if let Some(e) = self.error {
            return Err(e);
        }
        if self.gateway4.is_some() && self.ipv4.is_none()
            || self.gateway6.is_some() && self.ipv6.is_none()
        {
            return Err(Error::Invalid {
                what: "gateway",
                value: format!("{:?} / {:?}", self.gateway4, self.gateway6),
                reason: "a gateway needs an address of its family on the pod",
            });
        }
        cmd::require_root()?;
        Tool::Ip.require()?;
        Tool::Ethtool.require()?;

        let netns = Netns::new(&self.name)?;
        let id = next_id();
        let port_name = format!("dpf{:x}v{id:x}", std::process::id());
        if port_name.len() > IFNAME_MAX {
            return Err(Error::Invalid {
                what: "root-side interface name",
                value: port_name,
                reason: "longer than 15 characters (too many pods in this process)",
            });
        }
        let mac = self.mac.unwrap_or_else(|| local_mac(id));
        let (mac_text, ns_name) = (mac.to_string(), netns.name().to_string());
        let mtu = self.mtu.map(|m| m.to_string());
        let mut add: Vec<&str> = vec!["link", "add", &port_name];
        if let Some(mtu) = &mtu {
            add.extend(["mtu", mtu]);
        }
        // The peer is born inside the namespace under its final name: no
        // moment where an `eth0` would sit in the root namespace next to
        // the machine's own.
        add.extend(["type", "veth", "peer", "name", &self.ifname]);
        add.extend(["address", &mac_text, "netns", &ns_name]);
        if let Some(mtu) = &mtu {
            add.extend(["mtu", mtu]);
        }
        cmd::run(Tool::Ip, &add)?;
        let veth = Veth {
            name: port_name.clone(),
        };

        // Root side: up, no address at all. `addrgenmode none` also keeps
        // IPv6 link-local away, whose router solicitations and MLD reports
        // would otherwise enter the wire from a host that is not a pod.
        cmd::run(
            Tool::Ip,
            ["link", "set", "dev", &port_name, "addrgenmode", "none"],
        )?;
        cmd::run(Tool::Ethtool, ["-K", &port_name, "tx", "off"])?;
        cmd::run(Tool::Ip, ["link", "set", "dev", &port_name, "up"])?;

        // Pod side.
        let ifname = self.ifname.as_str();
        netns.exec(Tool::Ethtool.program(), ["-K", ifname, "tx", "off"])?;
        if let Some(net) = self.ipv4 {
            netns.ip(["addr", "add", &net.to_string(), "dev", ifname])?;
        }
        if let Some(net) = self.ipv6 {
            netns.ip([
                "-6",
                "addr",
                "add",
                &net.to_string(),
                "dev",
                ifname,
                "nodad",
            ])?;
        }
        // No duplicate address detection on the pod's link-local address
        // either (the global ones have `nodad`): a pod is usable the moment
        // it exists, not after DAD's second or two of "tentative".
        let accept_dad = format!("/proc/sys/net/ipv6/conf/{ifname}/accept_dad");
        // (No such file: a kernel without IPv6, and nothing to turn off.)
        netns
            .run(|| match std::fs::write(&accept_dad, "0") {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                other => other,
            })?
            .map_err(|e| Error::Io {
                what: format!("writing 0 to {accept_dad} in {ns_name}"),
                source: e,
            })?;
        netns.ip(["link", "set", "dev", ifname, "up"])?;
        if let Some(gw) = self.gateway4 {
            netns.ip(["-4", "route", "replace", "default", "via", &gw.to_string()])?;
        }
        if let Some(gw) = self.gateway6 {
            netns.ip(["-6", "route", "replace", "default", "via", &gw.to_string()])?;
        }
        let pod = Pod {
            veth,
            netns,
            name: self.name,
            ifname: self.ifname,
            mac,
            ipv4: self.ipv4,
            ipv6: self.ipv6,
        };
        for (ip, mac) in self.neighbours {
            pod.add_neighbour(ip, mac)?;
        }
        Ok(pod)
    }
}

/// A pod: a network namespace of its own with one interface (`eth0`) whose
/// veth peer (the *port*, [`Pod::port_name`]) stays in the root namespace,
/// up and without address, for DPDK to open as
/// `net_af_packet<N>,iface=<port name>`.
///
/// Both veth ends have tx checksum offload off (see the crate docs for
/// why). Dropping the pod deletes the veth pair, then the namespace.
#[derive(Debug)]
pub struct Pod {
    // Field order is drop order: the veth (synchronously) before the
    // namespace (whose teardown the kernel finishes later).
    veth: Veth,
    netns: Netns,
    name: String,
    ifname: String,
    mac: MacAddr,
    ipv4: Option<Ipv4Net>,
    ipv6: Option<Ipv6Net>,
}

impl Pod {
    /// Starts describing a pod; `name` is part of its namespace's name
    /// (the namespace's name is unique whatever `name` is).
    pub fn builder(name: &str) -> PodBuilder {
        PodBuilder {
            name: name.to_string(),
            ifname: "eth0".to_string(),
            mac: None,
            mtu: None,
            ipv4: None,
            ipv6: None,
            gateway4: None,
            gateway6: None,
            neighbours: Vec::new(),
            error: None,
        }
    }

    /// The name given to [`Pod::builder`].
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The root-side veth end: `iface=` of a `net_af_packet` port.
    pub fn port_name(&self) -> &str {
        &self.veth.name
    }

    /// The pod's namespace.
    pub fn netns(&self) -> &Netns {
        &self.netns
    }

    /// The interface's name inside the pod.
    pub fn ifname(&self) -> &str {
        &self.ifname
    }

    /// The pod interface's MAC.
    pub fn mac(&self) -> MacAddr {
        self.mac
    }

    /// The pod's IPv4 address, if it has one.
    pub fn ipv4(&self) -> Option<Ipv4Addr> {
        self.ipv4.map(|n| n.addr())
    }

    /// The pod's IPv6 address, if it has one.
    pub fn ipv6(&self) -> Option<Ipv6Addr> {
        self.ipv6.map(|n| n.addr())
    }

    /// The pod's addresses with their prefixes.
    pub fn addresses(&self) -> Vec<IpNet> {
        let v4 = self.ipv4.map(IpNet::V4);
        let v6 = self.ipv6.map(IpNet::V6);
        v4.into_iter().chain(v6).collect()
    }

    /// Adds (or replaces) a permanent neighbour entry: `ip` is at `mac`.
    ///
    /// # Errors
    /// The failing `ip neigh` command.
    pub fn add_neighbour(&self, ip: IpAddr, mac: MacAddr) -> Result<(), Error> {
        let (ip, mac) = (ip.to_string(), mac.to_string());
        self.netns.ip([
            "neigh",
            "replace",
            &ip,
            "lladdr",
            &mac,
            "dev",
            &self.ifname,
            "nud",
            "permanent",
        ])?;
        Ok(())
    }

    /// Pings `addr` from inside the pod, `count` requests 0.1 s apart, each
    /// given 1 s to be answered. Lost replies are not an error: look at
    /// [`PingStats::received`].
    ///
    /// # Errors
    /// [`Error::ToolMissing`] without iputils-ping; [`Error::Command`] when
    /// ping printed no summary (no route to `addr`, say).
    pub fn ping(&self, addr: impl Into<IpAddr>, count: u32) -> Result<PingStats, Error> {
        ping::ping(&self.netns, addr.into(), count)
    }

    /// Runs `f` inside the pod's namespace ([`Netns::run`]).
    ///
    /// # Errors
    /// As [`Netns::run`].
    pub fn run<T, F>(&self, f: F) -> Result<T, Error>
    where
        F: FnOnce() -> T + Send,
        T: Send,
    {
        self.netns.run(f)
    }

    /// Runs `f` on its own thread inside the pod's namespace
    /// ([`Netns::spawn`]).
    ///
    /// # Errors
    /// As [`Netns::spawn`].
    pub fn spawn<T, F>(&self, f: F) -> Result<NsThread<T>, Error>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.netns.spawn(f)
    }

    /// Runs a program inside the pod ([`Netns::exec`]).
    ///
    /// # Errors
    /// As [`Netns::exec`].
    pub fn exec<I, S>(&self, program: &str, args: I) -> Result<Output, Error>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        self.netns.exec(program, args)
    }
}

/// The root-side veth end; deleting it deletes the pair.
#[derive(Debug)]
struct Veth {
    name: String,
}

impl Drop for Veth {
    fn drop(&mut self) {
        // Deleted explicitly, not left to the namespace's teardown: the
        // kernel destroys a deleted namespace's devices asynchronously, so
        // the root end would outlive `ip netns del` for a while.
        if let Err(e) = cmd::run(Tool::Ip, ["link", "del", "dev", &self.name]) {
            eprintln!("dpuflow-netkit: cannot delete veth {}: {e}", self.name);
        }
    }
}

/// `02:df:<pid>:<id>`: locally administered, unicast, unique per pod in a
/// process.
fn local_mac(id: u32) -> MacAddr {
    let [_, _, p1, p0] = std::process::id().to_be_bytes();
    let [_, _, i1, i0] = id.to_be_bytes();
    MacAddr::new(0x02, 0xdf, p1, p0, i1, i0)
}
