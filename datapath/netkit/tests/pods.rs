//! The kit against the real kernel: namespaces, veths and their settings,
//! code run inside, ping, cleanup. Needs root, iproute2, ethtool and
//! iputils-ping (./scripts/setup.sh); fails saying so otherwise.

use std::io::{Read, Write};
use std::net::{IpAddr, TcpListener, TcpStream, UdpSocket};
use std::os::unix::fs::MetadataExt;
use std::process::Command;

use dpuflow_netkit::{Error, MacAddr, Netns, Pod};

fn text(out: std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `ip args…` in the root namespace; its stdout, or the failure.
fn root_ip(args: &[&str]) -> Result<String, String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("ip: {e}"))?;
    if out.status.success() {
        Ok(text(out))
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

fn netns_list() -> String {
    root_ip(&["netns", "list"]).expect("ip netns list")
}

#[test]
fn pod_is_configured_as_asked() {
    let mac = MacAddr::new(0x02, 0x11, 0x22, 0x33, 0x44, 0x55);
    let gw_mac = MacAddr::new(0x02, 0, 0, 0, 0, 0xfe);
    let pod = Pod::builder("configured")
        .mac(mac)
        .mtu(1400)
        .ipv4("10.213.0.1/24")
        .ipv6("fd00:213::1/64")
        .gateway("10.213.0.254")
        .gateway("fd00:213::fe")
        .neighbour("10.213.0.254", gw_mac)
        .create()
        .expect("pod");
    assert_eq!(pod.ifname(), "eth0");
    assert_eq!(pod.mac(), mac);
    assert_eq!(pod.ipv4(), Some("10.213.0.1".parse().unwrap()));
    assert_eq!(pod.ipv6(), Some("fd00:213::1".parse().unwrap()));
    let ns = pod.netns();

    let link = text(ns.ip(["link", "show", "dev", "eth0"]).expect("link"));
    assert!(link.contains("link/ether 02:11:22:33:44:55"), "{link}");
    assert!(link.contains("mtu 1400"), "{link}");
    assert!(link.contains(",UP,") || link.contains("<UP,"), "{link}");
    let addrs = text(ns.ip(["addr", "show", "dev", "eth0"]).expect("addr"));
    assert!(addrs.contains("inet 10.213.0.1/24"), "{addrs}");
    assert!(addrs.contains("inet6 fd00:213::1/64"), "{addrs}");
    assert!(
        !addrs.contains("tentative"),
        "no DAD, link-local included: usable at once\n{addrs}"
    );
    let v4 = text(ns.ip(["-4", "route", "show", "default"]).expect("route"));
    assert!(v4.contains("default via 10.213.0.254 dev eth0"), "{v4}");
    let v6 = text(ns.ip(["-6", "route", "show", "default"]).expect("route"));
    assert!(v6.contains("default via fd00:213::fe dev eth0"), "{v6}");
    let neigh = text(ns.ip(["neigh", "show", "dev", "eth0"]).expect("neigh"));
    assert!(
        neigh.contains("10.213.0.254 lladdr 02:00:00:00:00:fe PERMANENT"),
        "{neigh}"
    );
    let lo = text(ns.ip(["link", "show", "dev", "lo"]).expect("lo"));
    assert!(lo.contains("UP"), "{lo}");

    // Root side: up, same MTU, not one address (not even link-local).
    let port = pod.port_name();
    let root = root_ip(&["addr", "show", "dev", port]).expect("root end");
    assert!(root.contains("mtu 1400") && root.contains("UP"), "{root}");
    assert!(!root.contains("inet"), "root end has an address:\n{root}");

    // Tx checksum offload off on both ends.
    let inside = text(pod.exec("ethtool", ["-k", "eth0"]).expect("ethtool"));
    assert!(inside.contains("tx-checksumming: off"), "{inside}");
    // TSO depends on tx checksumming and goes off with it.
    assert!(inside.contains("tx-tcp-segmentation: off"), "{inside}");
    assert!(inside.contains("tx-tcp6-segmentation: off"), "{inside}");
    let out = Command::new("ethtool")
        .args(["-k", port])
        .output()
        .expect("ethtool");
    assert!(text(out).contains("tx-checksumming: off"));
}

#[test]
fn drop_deletes_the_veth_and_the_namespace() {
    let pod = Pod::builder("dropped")
        .ipv4("10.213.1.1/24")
        .create()
        .expect("pod");
    let (ns, port) = (pod.netns().name().to_string(), pod.port_name().to_string());
    assert!(netns_list().contains(&ns));
    assert!(root_ip(&["link", "show", "dev", &port]).is_ok());
    drop(pod);
    assert!(!netns_list().contains(&ns), "namespace {ns} left behind");
    assert!(
        root_ip(&["link", "show", "dev", &port]).is_err(),
        "veth {port} left behind"
    );
}

#[test]
fn a_failed_create_leaves_nothing_behind() {
    // The route step fails after the namespace and veth exist: the gateway
    // is outside the pod's subnet.
    let label = format!("unroutable{}", std::process::id());
    let err = Pod::builder(&label)
        .ipv4("10.213.2.1/24")
        .gateway("192.0.2.1")
        .create()
        .expect_err("gateway outside the subnet");
    match &err {
        Error::Command {
            command, stderr, ..
        } => {
            assert!(
                command.contains("route replace default via 192.0.2.1"),
                "{err}"
            );
            assert!(!stderr.is_empty(), "{err}");
        }
        other => panic!("expected the route command's failure, got {other}"),
    }
    assert!(!netns_list().contains(&label), "namespace left behind");
}

#[test]
fn pods_with_one_name_get_their_own_namespace_and_port() {
    let a = Pod::builder("same").create().expect("pod");
    let b = Pod::builder("same").create().expect("pod");
    assert_ne!(a.netns().name(), b.netns().name());
    assert_ne!(a.port_name(), b.port_name());
    assert_ne!(a.mac(), b.mac());
    assert!(a.port_name().len() <= 15);
}

#[test]
fn invalid_arguments_are_reported_before_anything_is_created() {
    let err = Pod::builder("bad").ipv4("10.0.0.1").create().unwrap_err();
    assert!(
        matches!(
            err,
            Error::Invalid {
                what: "IPv4 address",
                ..
            }
        ),
        "{err}"
    );
    let err = Pod::builder("bad")
        .ipv6("10.0.0.1/24")
        .create()
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Invalid {
                what: "IPv6 address",
                ..
            }
        ),
        "{err}"
    );
    let err = Pod::builder("bad")
        .ifname("much-too-long-name")
        .create()
        .unwrap_err();
    assert!(matches!(err, Error::Invalid { .. }), "{err}");
    let err = Pod::builder("bad")
        .gateway("10.0.0.254")
        .create()
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Invalid {
                what: "gateway",
                ..
            }
        ),
        "{err}"
    );
}

/// The inode of the calling thread's network namespace.
fn own_netns() -> u64 {
    std::fs::metadata("/proc/thread-self/ns/net")
        .expect("own netns")
        .ino()
}

#[test]
fn run_executes_inside_the_namespace() {
    let pod = Pod::builder("run")
        .ipv4("10.213.3.1/24")
        .create()
        .expect("pod");
    let ns_inode = std::fs::metadata(pod.netns().path())
        .expect("ns file")
        .ino();
    assert_eq!(pod.run(own_netns).expect("run"), ns_inode);
    assert_ne!(own_netns(), ns_inode, "the caller stays where it was");

    // The pod's address is local inside only.
    let inside = pod.run(|| UdpSocket::bind("10.213.3.1:0").map(|_| ()));
    assert!(inside.expect("run").is_ok());
    assert!(
        UdpSocket::bind("10.213.3.1:0").is_err(),
        "bound in the root namespace"
    );
}

#[test]
fn sockets_made_inside_keep_their_namespace() {
    let pod = Pod::builder("tcp")
        .ipv4("10.213.4.1/24")
        .create()
        .expect("pod");
    let listener = pod
        .run(|| TcpListener::bind("10.213.4.1:0"))
        .expect("run")
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    // Accepted on a thread of the root namespace, connected from inside.
    let server = std::thread::spawn(move || -> std::io::Result<Vec<u8>> {
        let (mut s, _) = listener.accept()?;
        let mut got = Vec::new();
        s.read_to_end(&mut got)?;
        Ok(got)
    });
    let client = pod.spawn(move || -> std::io::Result<()> {
        let mut s = TcpStream::connect(addr)?;
        s.write_all(b"through loopback in the pod")
    });
    client
        .expect("spawn")
        .join()
        .expect("join")
        .expect("client");
    let got = server.join().expect("server thread").expect("server");
    assert_eq!(got, b"through loopback in the pod");
}

#[test]
fn a_panic_inside_is_an_error_with_its_message() {
    let pod = Pod::builder("panic").create().expect("pod");
    match pod.run(|| panic!("boom {}", 42)) {
        Err(Error::Panicked { ns, message }) => {
            assert_eq!(message, "boom 42");
            assert_eq!(ns, pod.netns().name());
        }
        other => panic!("expected Panicked, got {other:?}"),
    }
    let thread = pod.spawn(|| -> u8 { panic!("in a spawned thread") });
    let err = thread.expect("spawn").join().unwrap_err();
    assert!(matches!(err, Error::Panicked { .. }), "{err}");
}

#[test]
fn ping_counts_replies_and_losses() {
    let silent = MacAddr::new(0x02, 0, 0, 0, 0, 0x99);
    let pod = Pod::builder("ping")
        .ipv4("10.213.5.1/24")
        .ipv6("fd00:213:5::1/64")
        .neighbour("10.213.5.9", silent)
        .create()
        .expect("pod");
    for addr in ["10.213.5.1", "fd00:213:5::1"] {
        let addr: IpAddr = addr.parse().unwrap();
        let stats = pod.ping(addr, 2).expect("ping own address");
        assert_eq!(
            (stats.transmitted, stats.received),
            (2, 2),
            "{}",
            stats.output
        );
        assert!(stats.rtt.is_some());
    }
    // Nobody answers at the static neighbour's MAC: the requests leave
    // through eth0 and are lost.
    let lost = pod.ping([10, 213, 5, 9], 2).expect("ping");
    assert_eq!((lost.transmitted, lost.received), (2, 0), "{}", lost.output);
    assert!(!lost.all_replied() && lost.rtt.is_none());
    // No route: ping prints no summary, and the error says why.
    let err = pod.ping([192, 0, 2, 1], 1).unwrap_err();
    assert!(err.to_string().contains("unreachable"), "{err}");
}

#[test]
fn exec_surfaces_a_failing_program() {
    let ns = Netns::new("exec").expect("netns");
    let err = ns
        .exec("ip", ["link", "show", "dev", "nosuchdev"])
        .unwrap_err();
    match err {
        Error::Command { stderr, .. } => assert!(stderr.contains("nosuchdev"), "{stderr}"),
        other => panic!("expected a command failure, got {other}"),
    }
    let out = ns.exec("ip", ["-br", "link"]).expect("ip link");
    let links = text(out);
    assert_eq!(
        links.lines().count(),
        1,
        "a new namespace has only lo: {links}"
    );
    assert!(links.starts_with("lo "), "{links}");
}
