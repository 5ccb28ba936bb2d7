//! Scenario `rules`: how fast rules get from the model into each backend,
//! and what an installed rule costs in memory.
//!
//! 1. Compile: `RteRule::compile` (validate the model, build and own the
//!    rte_flow arrays) over N distinct OVN-style rules, against DPDK's own
//!    way for a C program to own a rule's storage: `rte_flow_conv(RULE)`
//!    (size query, then deep copy into a malloc'ed buffer) of the very same,
//!    already built arrays. This is the `RESULT` line.
//! 2. Create+destroy through the rte_flow recorder (a child process with
//!    the recorder `LD_PRELOAD`ed and no record file, on a `net_null` port):
//!    `FlowTable` sync and async (template tables, batches of 64), plus the
//!    raw FFI floor (prebuilt arrays straight into `rte_flow_create`). The
//!    recorder's entry points are near-free, so this is dpuflow's per-rule
//!    overhead over the FFI boundary, not a hardware rate.
//! 3. Software backend: `SoftwareTable` insert rate with N rules, then
//!    `lookup(group, key)` rate with 100 vs N rules over the same keys (the
//!    target ratio), and `lookup_burst` over the same keys in bursts of 32.
//! 4. Memory per installed rule, measured by the counting global allocator
//!    below (bytes requested from the allocator; malloc's own per-chunk
//!    headers are not included).

use std::hint::black_box;
use std::net::Ipv4Addr;
use std::process::Command;
use std::ptr;
use std::time::Instant;

use dpuflow_dpdk::Port;
use dpuflow_flow::item::GeneveOptMatch;
use dpuflow_flow::tunnel::{
    ETHER_TYPE_IPV4, GENEVE_PROTO_ETHERNET, GENEVE_UDP_PORT, IPPROTO_TCP, IPPROTO_UDP,
    OVN_GENEVE_CLASS, OVN_GENEVE_TYPE,
};
use dpuflow_flow::{
    Action, DecapTunnel, Direction, EthHeader, EthMatch, GeneveMatch, GeneveOptKey, GeneveOption,
    HeaderKey, IpVersion, Ipv4Header, Ipv4Match, Item, L3Header, L4Header, MacAddr, Masked,
    PacketKey, RawDecap, Rule, RuleId, SoftwareTable, TcpMatch, TunnelDecap, TunnelEncap,
    TunnelKey, TunnelKind, UdpMatch,
};
use dpuflow_flow_rte::{FlowApi, FlowHandle, FlowTable, FlowTableConfig, RteRule};
use dpuflow_flow_testkit::null_port::{NullPort, NullPortConfig};
use dpuflow_sys as sys;

use crate::report::{median, result_line};
use crate::{child, Error};

/// Options of the scenario.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Distinct rules compiled, copied and inserted into the software table.
    #[arg(long, default_value_t = 100_000)]
    rules: usize,
    /// Rules created and destroyed through the recorder, per API and round.
    #[arg(long, default_value_t = 100_000)]
    install: usize,
    /// Size of the small software table the lookup rate is compared with.
    #[arg(long, default_value_t = 100)]
    small: usize,
    /// Measured rounds of each side (alternating); medians are reported.
    #[arg(long, default_value_t = 7)]
    rounds: u32,
    /// Distinct packet keys looked up (1/3 hit the small table, 1/3 hit a
    /// rule anywhere in the large one, 1/3 miss both).
    #[arg(long, default_value_t = 30_000)]
    keys: usize,
    /// Lookups per measured lookup run.
    #[arg(long, default_value_t = 3_000_000)]
    lookups: usize,
}

/// Options of the recorder child (one EAL per process).
#[derive(clap::Args, Debug)]
pub struct WorkerArgs {
    /// Rules to create and destroy per API and round.
    #[arg(long)]
    rules: usize,
    /// Measured rounds.
    #[arg(long)]
    rounds: u32,
}

// ------------------------------------------------------------ allocations

/// A `#[global_allocator]` over `System` that, while switched on, keeps the
/// bytes requested (net of frees) and the number of allocation calls.
mod counting {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering::Relaxed};

    pub struct Counting;

    static ON: AtomicBool = AtomicBool::new(false);
    static LIVE: AtomicI64 = AtomicI64::new(0);
    static CALLS: AtomicU64 = AtomicU64::new(0);

    fn add(size: usize) {
        if ON.load(Relaxed) {
            LIVE.fetch_add(i64::try_from(size).unwrap_or(i64::MAX), Relaxed);
            CALLS.fetch_add(1, Relaxed);
        }
    }

    fn sub(size: usize) {
        if ON.load(Relaxed) {
            LIVE.fetch_sub(i64::try_from(size).unwrap_or(i64::MAX), Relaxed);
        }
    }

    // SAFETY: every method forwards its arguments unchanged to `System`,
    // which upholds the GlobalAlloc contract; the counters are side data.
    unsafe impl GlobalAlloc for Counting {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            // SAFETY: the caller's contract for `alloc`, forwarded as is.
            let p = unsafe { System.alloc(layout) };
            if !p.is_null() {
                add(layout.size());
            }
            p
        }

        unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
            // SAFETY: the caller's contract for `alloc_zeroed`, forwarded.
            let p = unsafe { System.alloc_zeroed(layout) };
            if !p.is_null() {
                add(layout.size());
            }
            p
        }

        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            // SAFETY: `ptr` was allocated by `System` (every allocation of
            // this allocator is) with `layout`, as the caller guarantees.
            unsafe { System.dealloc(ptr, layout) };
            sub(layout.size());
        }

        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            // SAFETY: the caller's contract for `realloc`, forwarded; `ptr`
            // came from `System` with `layout`.
            let p = unsafe { System.realloc(ptr, layout, new_size) };
            if !p.is_null() {
                sub(layout.size());
                add(new_size);
            }
            p
        }
    }

    /// Heap use of one measured closure.
    #[derive(Clone, Copy, Debug, Default)]
    pub struct Usage {
        /// Bytes requested and still live at the end (net of frees).
        pub bytes: i64,
        /// Allocation calls (alloc, alloc_zeroed, realloc).
        pub calls: u64,
    }

    impl Usage {
        /// Bytes per item.
        pub fn bytes_per(&self, n: usize) -> f64 {
            self.bytes as f64 / n.max(1) as f64
        }

        /// Allocation calls per item.
        pub fn calls_per(&self, n: usize) -> f64 {
            self.calls as f64 / n.max(1) as f64
        }
    }

    /// Runs `f` with counting on. Only objects both allocated and kept (or
    /// freed) inside `f` are meaningful: `f` must not free older objects.
    pub fn measure<T>(f: impl FnOnce() -> T) -> (T, Usage) {
        let (b0, c0) = (LIVE.load(Relaxed), CALLS.load(Relaxed));
        ON.store(true, Relaxed);
        let v = f();
        ON.store(false, Relaxed);
        let usage = Usage {
            bytes: LIVE.load(Relaxed) - b0,
            calls: CALLS.load(Relaxed) - c0,
        };
        (v, usage)
    }
}

#[global_allocator]
static GLOBAL: counting::Counting = counting::Counting;

use counting::{measure, Usage};

// ------------------------------------------------------------ the rules

/// Rule templates, instantiated round-robin so any prefix of the rule list
/// (e.g. the 100-rule table) holds every shape.
const TEMPLATES: usize = 6;
const TEMPLATE_NAMES: [&str; TEMPLATES] = [
    "pod egress: geneve encap to uplink",
    "service DNAT + jump",
    "policy allow (tcp 5-tuple-ish) + jump",
    "policy drop (udp to pod)",
    "geneve ingress: decap to pod VF",
    "post-DNAT forward to pod VF",
];
/// Instance offset of keys that miss every rule.
const MISS: u32 = 1 << 23;

const UPLINK: u16 = 0;
const NODE_MAC: MacAddr = MacAddr::new(0x0c, 0x42, 0xa1, 0x00, 0x00, 0x01);
const GW_MAC: MacAddr = MacAddr::new(0x0c, 0x42, 0xa1, 0x00, 0x00, 0xfe);
const ROUTER_MAC: MacAddr = MacAddr::new(0x0a, 0x58, 0x0a, 0xf4, 0x01, 0x01);
const LOCAL_TEP: Ipv4Addr = Ipv4Addr::new(192, 168, 100, 10);

fn bytes_of(j: u32) -> [u8; 4] {
    j.to_be_bytes()
}

fn pod_mac(j: u32) -> MacAddr {
    let b = bytes_of(j);
    MacAddr::new(0x0a, 0x58, b[0], b[1], b[2], b[3])
}

/// 10.0.0.0/8 holds the pods; instance j is pod j + 1.
fn pod_ip(j: u32) -> Ipv4Addr {
    Ipv4Addr::from(0x0a00_0000 | ((j + 1) & 0x00ff_ffff))
}

/// 100.0.0.0/8 holds the service VIPs.
fn vip(j: u32) -> Ipv4Addr {
    Ipv4Addr::from(0x6400_0000 | (j & 0x00ff_ffff))
}

/// A remote node's pod subnet (a /24 in 12.0.0.0/8).
fn remote_subnet(j: u32) -> Ipv4Addr {
    Ipv4Addr::from(0x0c00_0000 | ((j & 0xffff) << 8))
}

fn remote_tep(j: u32) -> Ipv4Addr {
    Ipv4Addr::from(0xc0a8_6400 | (1 + j % 250))
}

fn vni(j: u32) -> u32 {
    1 + j % 0x00ff_fffe
}

fn vf_rep(j: u32) -> u16 {
    2 + u16::try_from(j % 4000).unwrap_or(0)
}

/// OVN's Geneve option word: ingress port key << 16 | egress port key.
fn ovn_word(j: u32) -> u32 {
    ((j & 0x7fff) << 16) | (j & 0xffff)
}

fn port_of(j: u32) -> u16 {
    1024 + u16::try_from(j % 60_000).unwrap_or(0)
}

/// Rule `i`: template `i % TEMPLATES`, instance `i / TEMPLATES`.
fn rule(i: usize) -> Rule {
    let j = u32::try_from(i / TEMPLATES).unwrap_or(u32::MAX);
    match i % TEMPLATES {
        0 => Rule::transfer()
            .group(1)
            .priority(4)
            .item(EthMatch::any().src(pod_mac(j)).dst(ROUTER_MAC))
            .item(
                Ipv4Match::any()
                    .src(pod_ip(j))
                    .dst_prefix(remote_subnet(j), 24),
            )
            .actions([
                Action::Count,
                Action::DecTtl,
                Action::RawEncap(
                    TunnelEncap::geneve_v4(
                        NODE_MAC,
                        GW_MAC,
                        LOCAL_TEP,
                        remote_tep(j),
                        port_of(j),
                        vni(j),
                    )
                    .with_option(GeneveOption::ovn(ovn_word(j))),
                ),
                Action::RepresentedPort(UPLINK),
            ]),
        1 => Rule::transfer()
            .group(1)
            .priority(2)
            .item(Item::eth())
            .item(Ipv4Match::any().dst(vip(j)))
            .item(TcpMatch::any().dst_port(80))
            .actions([
                Action::Count,
                Action::SetIpv4Dst(pod_ip(j ^ 1)),
                Action::SetTpDst(8080),
                Action::SetMacDst(pod_mac(j ^ 1)),
                Action::Jump(4),
            ]),
        2 => Rule::transfer()
            .group(1)
            .priority(1)
            .item(Item::eth())
            .item(Ipv4Match::any().src(pod_ip(j)).dst(pod_ip(j + 1)))
            .item(TcpMatch::any().dst_port(port_of(j)))
            .actions([Action::Count, Action::Jump(4)]),
        3 => Rule::transfer()
            .group(1)
            .priority(0)
            .item(Item::eth())
            .item(Ipv4Match::any().dst(pod_ip(j)))
            .item(UdpMatch::any().dst_port(port_of(j)))
            .actions([Action::Count, Action::Drop]),
        4 => Rule::transfer()
            .group(2)
            .priority(1)
            .item(EthMatch::any().dst(NODE_MAC))
            .item(Ipv4Match::any().dst(LOCAL_TEP).proto(IPPROTO_UDP))
            .item(UdpMatch::any().dst_port(GENEVE_UDP_PORT))
            .item(GeneveMatch::any().vni(vni(j)))
            .item(GeneveOptMatch {
                class: OVN_GENEVE_CLASS,
                option_type: OVN_GENEVE_TYPE,
                length: 1,
                data: vec![Masked::new(ovn_word(j), 0x0000_ffff)],
            })
            .item(EthMatch::any().dst(pod_mac(j)))
            .actions([
                Action::Count,
                Action::RawDecap(RawDecap::Headers(TunnelDecap {
                    vlan: false,
                    ip: IpVersion::V4,
                    tunnel: DecapTunnel::Geneve { option_words: 2 },
                })),
                Action::RepresentedPort(vf_rep(j)),
            ]),
        _ => Rule::transfer()
            .group(4)
            .priority(1)
            .item(EthMatch::any().dst(pod_mac(j)))
            .actions([Action::Count, Action::RepresentedPort(vf_rep(j))]),
    }
}

fn rules(n: usize) -> Vec<Rule> {
    (0..n).map(rule).collect()
}

fn eth(src: MacAddr, dst: MacAddr) -> Option<EthHeader> {
    Some(EthHeader {
        dst,
        src,
        ether_type: ETHER_TYPE_IPV4,
    })
}

fn ipv4(src: Ipv4Addr, dst: Ipv4Addr, proto: u8) -> L3Header {
    L3Header::V4(Ipv4Header {
        src,
        dst,
        proto,
        ttl: 64,
        dscp: 0,
        ecn: 0,
    })
}

/// A packet for template `t`, instance `j`, and the group to look it up in.
fn key(t: usize, j: u32) -> (u32, PacketKey) {
    let mut k = PacketKey::default();
    let group = match t {
        0 => {
            k.outer = HeaderKey {
                eth: eth(pod_mac(j), ROUTER_MAC),
                vlan: None,
                l3: ipv4(
                    pod_ip(j),
                    Ipv4Addr::from(u32::from(remote_subnet(j)) | 5),
                    IPPROTO_TCP,
                ),
                l4: L4Header::Tcp {
                    src: 40000,
                    dst: 443,
                    flags: 0x10,
                },
            };
            1
        }
        1 => {
            k.outer = HeaderKey {
                eth: eth(pod_mac(j + 7), ROUTER_MAC),
                vlan: None,
                l3: ipv4(pod_ip(j + 7), vip(j), IPPROTO_TCP),
                l4: L4Header::Tcp {
                    src: 40001,
                    dst: 80,
                    flags: 0x02,
                },
            };
            1
        }
        2 => {
            k.outer = HeaderKey {
                eth: eth(pod_mac(j), ROUTER_MAC),
                vlan: None,
                l3: ipv4(pod_ip(j), pod_ip(j + 1), IPPROTO_TCP),
                l4: L4Header::Tcp {
                    src: 40002,
                    dst: port_of(j),
                    flags: 0x10,
                },
            };
            1
        }
        3 => {
            k.outer = HeaderKey {
                eth: eth(pod_mac(j + 3), ROUTER_MAC),
                vlan: None,
                l3: ipv4(pod_ip(j + 3), pod_ip(j), IPPROTO_UDP),
                l4: L4Header::Udp {
                    src: 40003,
                    dst: port_of(j),
                },
            };
            1
        }
        4 => {
            k.outer = HeaderKey {
                eth: eth(GW_MAC, NODE_MAC),
                vlan: None,
                l3: ipv4(remote_tep(j), LOCAL_TEP, IPPROTO_UDP),
                l4: L4Header::Udp {
                    src: port_of(j),
                    dst: GENEVE_UDP_PORT,
                },
            };
            let mut data = [0u32; 4];
            data[0] = ovn_word(j);
            k.tunnel = Some(TunnelKey {
                kind: TunnelKind::Geneve,
                vni: vni(j),
                protocol: GENEVE_PROTO_ETHERNET,
                option: Some(GeneveOptKey {
                    class: OVN_GENEVE_CLASS,
                    option_type: OVN_GENEVE_TYPE,
                    length: 1,
                    data,
                }),
            });
            k.inner = HeaderKey {
                eth: eth(ROUTER_MAC, pod_mac(j)),
                vlan: None,
                l3: ipv4(pod_ip(j + 9), pod_ip(j), IPPROTO_TCP),
                l4: L4Header::Tcp {
                    src: 40004,
                    dst: 80,
                    flags: 0x10,
                },
            };
            2
        }
        _ => {
            k.outer = HeaderKey {
                eth: eth(ROUTER_MAC, pod_mac(j)),
                vlan: None,
                l3: ipv4(pod_ip(j + 5), pod_ip(j), IPPROTO_TCP),
                l4: L4Header::Tcp {
                    src: 40005,
                    dst: 8080,
                    flags: 0x10,
                },
            };
            4
        }
    };
    (group, k)
}

/// One lookup key: group, packet, and the rule index it was built for
/// (`None` for keys built to miss).
struct Probe {
    group: u32,
    key: PacketKey,
    target: Option<usize>,
}

fn probes(count: usize, small: usize, n: usize) -> Vec<Probe> {
    let mut rng = fastrand::Rng::with_seed(0x5eed);
    (0..count)
        .map(|k| {
            let (target, t, j) = match k % 3 {
                2 => {
                    let t = rng.usize(..TEMPLATES);
                    let j = u32::try_from(rng.usize(..n / TEMPLATES + 1)).unwrap_or(0) + MISS;
                    (None, t, j)
                }
                c => {
                    let i = rng.usize(..if c == 0 { small } else { n });
                    let j = u32::try_from(i / TEMPLATES).unwrap_or(0);
                    (Some(i), i % TEMPLATES, j)
                }
            };
            let (group, key) = key(t, j);
            Probe { group, key, target }
        })
        .collect()
}

// ------------------------------------------------------------ compile

/// Minor page faults of this process so far (first touches of fresh heap).
fn minor_faults() -> u64 {
    // SAFETY: an all-zero rusage is a valid value of the plain C struct.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `ru` is a valid, writable rusage for the call.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) } != 0 {
        return 0;
    }
    u64::try_from(ru.ru_minflt).unwrap_or(0)
}

/// One timed pass: seconds and minor page faults taken.
#[derive(Clone, Copy)]
struct Pass {
    secs: f64,
    faults: u64,
}

fn timed<T>(f: impl FnOnce() -> Result<T, Error>) -> Result<(Pass, T), Error> {
    let f0 = minor_faults();
    let t = Instant::now();
    let v = f()?;
    let secs = t.elapsed().as_secs_f64();
    let faults = minor_faults().saturating_sub(f0);
    Ok((Pass { secs, faults }, v))
}

/// Compiles every rule, keeping the results (as a table would).
fn compile_all(rules: &[Rule]) -> Result<Vec<RteRule>, Error> {
    let mut out = Vec::with_capacity(rules.len());
    for r in rules {
        out.push(RteRule::compile(r)?);
    }
    Ok(out)
}

fn conv_src(c: &RteRule) -> sys::rte_flow_conv_rule {
    sys::rte_flow_conv_rule {
        __bindgen_anon_1: sys::rte_flow_conv_rule__bindgen_ty_1 { attr_ro: c.attr() },
        __bindgen_anon_2: sys::rte_flow_conv_rule__bindgen_ty_2 {
            pattern_ro: c.items().as_ptr(),
        },
        __bindgen_anon_3: sys::rte_flow_conv_rule__bindgen_ty_3 {
            actions_ro: c.actions().as_ptr(),
        },
    }
}

/// What a C program does to own a copy of a rule: ask `rte_flow_conv` for
/// the size, allocate, convert. The buffer is 8-byte aligned, as
/// rte_flow_conv's internal offsets require.
fn conv_copy(c: &RteRule) -> Result<Vec<std::mem::MaybeUninit<u64>>, Error> {
    let src = conv_src(c);
    let mut err = sys::rte_flow_error::default();
    // SAFETY: size query (NULL destination, size 0, which rte_flow_conv
    // allows); `src` points at END-terminated arrays owned by `c`.
    let need = unsafe {
        sys::rte_flow_conv(
            sys::RTE_FLOW_CONV_OP_RULE,
            ptr::null_mut(),
            0,
            ptr::from_ref(&src).cast(),
            &mut err,
        )
    };
    let need = usize::try_from(need).map_err(|_| format!("rte_flow_conv size query: {need}"))?;
    let mut buf = Vec::with_capacity(need.div_ceil(8));
    buf.resize(need.div_ceil(8), std::mem::MaybeUninit::uninit());
    // SAFETY: `buf` has at least `need` writable bytes, 8-byte aligned; the
    // source arrays are alive for the call.
    let got = unsafe {
        sys::rte_flow_conv(
            sys::RTE_FLOW_CONV_OP_RULE,
            buf.as_mut_ptr().cast(),
            need,
            ptr::from_ref(&src).cast(),
            &mut err,
        )
    };
    if usize::try_from(got).ok() != Some(need) {
        return Err(format!("rte_flow_conv copy returned {got}, expected {need}").into());
    }
    Ok(buf)
}

/// Copies every compiled rule with rte_flow_conv, keeping the copies.
fn conv_all(compiled: &[RteRule]) -> Result<Vec<Vec<std::mem::MaybeUninit<u64>>>, Error> {
    let mut out = Vec::with_capacity(compiled.len());
    for c in compiled {
        out.push(conv_copy(c)?);
    }
    Ok(out)
}

/// Whether the variable-length data behind pointers in specs/confs (RAW_ENCAP
/// bytes, GENEVE_OPT data words) was copied into the rte_flow_conv buffer
/// (`Some(true)`) or still points into our arena (`Some(false)`).
fn conv_deep(c: &RteRule, item_type: u32, action_type: u32) -> Result<Option<bool>, Error> {
    let buf = conv_copy(c)?;
    let lo = buf.as_ptr() as usize;
    let hi = lo + buf.len() * 8;
    let inside = |p: usize| (lo..hi).contains(&p);
    let dst = buf.as_ptr().cast::<sys::rte_flow_conv_rule>();
    // SAFETY: rte_flow_conv wrote a complete rte_flow_conv_rule at the start
    // of `buf`, whose item/action arrays (END-terminated) and their specs
    // and confs all lie in `buf` or in `c`'s arena, both alive here.
    unsafe {
        let mut item = (*dst).__bindgen_anon_2.pattern_ro;
        while !item.is_null() && (*item).type_ != sys::RTE_FLOW_ITEM_TYPE_END {
            if (*item).type_ == item_type && item_type == sys::RTE_FLOW_ITEM_TYPE_GENEVE_OPT {
                let spec = (*item).spec.cast::<sys::rte_flow_item_geneve_opt>();
                return Ok((!spec.is_null()).then(|| inside((*spec).data as usize)));
            }
            item = item.add(1);
        }
        let mut action = (*dst).__bindgen_anon_3.actions_ro;
        while !action.is_null() && (*action).type_ != sys::RTE_FLOW_ACTION_TYPE_END {
            if (*action).type_ == action_type && action_type == sys::RTE_FLOW_ACTION_TYPE_RAW_ENCAP
            {
                let conf = (*action).conf.cast::<sys::rte_flow_action_raw_encap>();
                return Ok((!conf.is_null()).then(|| inside((*conf).data as usize)));
            }
            action = action.add(1);
        }
    }
    Ok(None)
}

// ------------------------------------------------------------ software

fn software_insert(rules: &[Rule]) -> Result<(f64, SoftwareTable, Vec<RuleId>), Error> {
    let batch = rules.to_vec();
    let mut table = SoftwareTable::new(Direction::Transfer);
    let mut ids = Vec::with_capacity(batch.len());
    let t = Instant::now();
    for r in batch {
        ids.push(table.insert(r)?);
    }
    let secs = t.elapsed().as_secs_f64();
    Ok((secs, table, ids))
}

/// Nanoseconds per `lookup` over `probes`, repeated to about `total`.
fn lookup_ns(table: &SoftwareTable, probes: &[Probe], total: usize) -> f64 {
    let passes = (total / probes.len().max(1)).max(1);
    let mut hits = 0usize;
    let t = Instant::now();
    for _ in 0..passes {
        for p in probes {
            if table.lookup(p.group, black_box(&p.key)).is_some() {
                hits += 1;
            }
        }
    }
    let secs = t.elapsed().as_secs_f64();
    black_box(hits);
    secs * 1e9 / (passes * probes.len()).max(1) as f64
}

/// Packets per `lookup_burst` call (a poll-mode Rx burst).
const BURST: usize = 32;

/// The probes' keys by group, in probe order within a group: what
/// `lookup_burst` takes (one group per call).
fn by_group(probes: &[Probe]) -> Vec<(u32, Vec<PacketKey>)> {
    let mut groups: Vec<(u32, Vec<PacketKey>)> = Vec::new();
    for p in probes {
        match groups.iter_mut().find(|(g, _)| *g == p.group) {
            Some((_, keys)) => keys.push(p.key),
            None => groups.push((p.group, vec![p.key])),
        }
    }
    groups
}

/// Nanoseconds per key of `lookup_burst` over `batches` in bursts of
/// [`BURST`], repeated to about `total` keys.
fn burst_ns(table: &SoftwareTable, batches: &[(u32, Vec<PacketKey>)], total: usize) -> f64 {
    let count: usize = batches.iter().map(|(_, k)| k.len()).sum();
    let passes = (total / count.max(1)).max(1);
    let mut out = [None; BURST];
    let mut hits = 0usize;
    let t = Instant::now();
    for _ in 0..passes {
        for (group, keys) in batches {
            for chunk in keys.chunks(BURST) {
                table.lookup_burst(*group, black_box(chunk), &mut out);
                hits += out.iter().take(chunk.len()).filter(|o| o.is_some()).count();
            }
        }
    }
    let secs = t.elapsed().as_secs_f64();
    black_box(hits);
    secs * 1e9 / (passes * count).max(1) as f64
}

/// True when `lookup_burst` finds what `lookup` finds for every key.
fn burst_agrees(table: &SoftwareTable, batches: &[(u32, Vec<PacketKey>)]) -> bool {
    let mut out = [None; BURST];
    batches.iter().all(|(group, keys)| {
        keys.chunks(BURST).all(|chunk| {
            table.lookup_burst(*group, chunk, &mut out);
            chunk
                .iter()
                .zip(&out)
                .all(|(k, o)| table.lookup(*group, k) == *o)
        })
    })
}

/// Fraction of probes that hit anything, and of probes aimed at a rule of
/// the table that found exactly that rule.
fn hit_rates(table: &SoftwareTable, ids: &[RuleId], probes: &[Probe]) -> (f64, f64) {
    let (mut hits, mut aimed, mut exact) = (0usize, 0usize, 0usize);
    for p in probes {
        let found = table.lookup(p.group, &p.key);
        hits += usize::from(found.is_some());
        if let Some(id) = p.target.and_then(|i| ids.get(i)) {
            aimed += 1;
            exact += usize::from(found == Some(*id));
        }
    }
    let frac = |a: usize, b: usize| a as f64 / b.max(1) as f64;
    (frac(hits, probes.len()), frac(exact, aimed))
}

fn shapes(table: &SoftwareTable) -> String {
    [1u32, 2, 4]
        .iter()
        .map(|g| format!("g{g}:{}", table.shape_count(*g)))
        .collect::<Vec<_>>()
        .join(" ")
}

// ------------------------------------------------------------ the run

fn rate(n: usize, secs: f64) -> f64 {
    if secs > 0.0 {
        n as f64 / secs
    } else {
        0.0
    }
}

fn met(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "NOT met"
    }
}

/// Rules per second of each pass, and minor page faults per rule (first
/// pass, median).
fn rates(passes: &[Pass], n: usize) -> (Vec<f64>, (f64, f64)) {
    let r: Vec<f64> = passes.iter().map(|p| rate(n, p.secs)).collect();
    let f: Vec<f64> = passes
        .iter()
        .map(|p| p.faults as f64 / n.max(1) as f64)
        .collect();
    (r, (f.first().copied().unwrap_or(0.0), median(&f)))
}

fn list(values: &[f64], scale: f64) -> String {
    values
        .iter()
        .map(|v| format!("{:.2}", v / scale))
        .collect::<Vec<_>>()
        .join(" ")
}

pub fn run(args: &Args) -> Result<(), Error> {
    let n = args.rules.clamp(TEMPLATES, TEMPLATES * (MISS as usize - 1));
    let small = args.small.clamp(1, n);
    let rounds = args.rounds.max(1);
    println!(
        "rules: {n} distinct OVN-style transfer rules, {TEMPLATES} templates round-robin; {rounds} rounds, medians"
    );
    for (t, name) in TEMPLATE_NAMES.iter().enumerate() {
        println!(
            "  template {t}: {name} ({} items, {} actions)",
            rule(t).pattern.len(),
            rule(t).actions.len()
        );
    }

    let (rules, model_mem) = measure(|| rules(n));

    // 1. compile vs rte_flow_conv, alternating; each pass keeps its output
    // alive until the other side has run (as an installed table would).
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        let (pass, compiled) = timed(|| compile_all(&rules))?;
        ours.push(pass);
        let (pass, copies) = timed(|| conv_all(&compiled))?;
        theirs.push(pass);
        drop(copies);
        drop(compiled);
    }
    let (compiled, rte_mem) = measure(|| compile_all(&rules));
    let compiled = compiled?;
    let (copies, conv_mem) = measure(|| conv_all(&compiled));
    let copies = copies?;
    let conv_bytes: usize = copies.iter().map(|b| b.len() * 8).sum();
    drop(copies);
    let encap_deep = compiled
        .first()
        .map(|c| conv_deep(c, 0, sys::RTE_FLOW_ACTION_TYPE_RAW_ENCAP))
        .transpose()?
        .flatten();
    let geneve_deep = compiled
        .get(4)
        .map(|c| conv_deep(c, sys::RTE_FLOW_ITEM_TYPE_GENEVE_OPT, 0))
        .transpose()?
        .flatten();
    drop(compiled);

    // 2. create+destroy through the recorder, in a child.
    let install_rounds = rounds.min(3);
    let install = run_child(args.install.max(1), install_rounds)?;

    // 3. software backend.
    let mut inserts = Vec::new();
    for _ in 0..install_rounds {
        let (secs, table, _) = software_insert(&rules)?;
        inserts.push(rate(n, secs));
        drop(table);
    }
    let ((large, large_ids), sw_mem) = measure(|| {
        let mut table = SoftwareTable::new(Direction::Transfer);
        let ids: Result<Vec<RuleId>, _> = rules.iter().map(|r| table.insert(r.clone())).collect();
        (table, ids)
    });
    let large_ids = large_ids?;
    let mut small_table = SoftwareTable::new(Direction::Transfer);
    let small_ids = rules
        .iter()
        .take(small)
        .map(|r| small_table.insert(r.clone()))
        .collect::<Result<Vec<_>, _>>()?;
    let keys = probes(args.keys.max(3), small, n);
    let (small_hits, small_exact) = hit_rates(&small_table, &small_ids, &keys);
    let (large_hits, large_exact) = hit_rates(&large, &large_ids, &keys);
    let batches = by_group(&keys);
    let burst_ok = burst_agrees(&small_table, &batches) && burst_agrees(&large, &batches);
    lookup_ns(&small_table, &keys, args.lookups / 4);
    lookup_ns(&large, &keys, args.lookups / 4);
    burst_ns(&small_table, &batches, args.lookups / 4);
    burst_ns(&large, &batches, args.lookups / 4);
    // The same keys split by class show where the large table's extra time
    // goes. All runs interleave, so load from other processes hits both.
    let class = |c: usize| -> Vec<Probe> {
        probes(args.keys.max(3), small, n)
            .into_iter()
            .enumerate()
            .filter(|(k, _)| k % 3 == c)
            .map(|(_, p)| p)
            .collect()
    };
    let classes = [class(0), class(1), class(2)];
    let (mut small_ns, mut large_ns) = (Vec::new(), Vec::new());
    let (mut small_burst, mut large_burst) = (Vec::new(), Vec::new());
    let (mut small_class_ns, mut large_class_ns) = (vec![Vec::new(); 3], vec![Vec::new(); 3]);
    for _ in 0..rounds {
        small_ns.push(lookup_ns(&small_table, &keys, args.lookups));
        large_ns.push(lookup_ns(&large, &keys, args.lookups));
        small_burst.push(burst_ns(&small_table, &batches, args.lookups));
        large_burst.push(burst_ns(&large, &batches, args.lookups));
        for (c, probes) in classes.iter().enumerate() {
            let per = args.lookups / 3;
            if let Some(v) = small_class_ns.get_mut(c) {
                v.push(lookup_ns(&small_table, probes, per));
            }
            if let Some(v) = large_class_ns.get_mut(c) {
                v.push(lookup_ns(&large, probes, per));
            }
        }
    }
    let small_by_class: Vec<f64> = small_class_ns.iter().map(|v| median(v)).collect();
    let large_by_class: Vec<f64> = large_class_ns.iter().map(|v| median(v)).collect();

    // Report.
    let (ours_r, ours_f) = rates(&ours, n);
    let (theirs_r, theirs_f) = rates(&theirs, n);
    let (c_med, p_med) = (median(&ours_r), median(&theirs_r));
    println!();
    println!(
        "-- 1. compile: model -> rte_flow arrays (1 thread, release build; Mrules/s per round)"
    );
    println!(
        "  dpuflow RteRule::compile             {:7.3} Mrules/s {:6.0} ns/rule  page faults/rule {:4.2} first, {:4.2} median  rounds: {}",
        c_med / 1e6,
        1e9 / c_med.max(1.0),
        ours_f.0,
        ours_f.1,
        list(&ours_r, 1e6)
    );
    println!(
        "  rte_flow_conv(RULE) size+copy (peer) {:7.3} Mrules/s {:6.0} ns/rule  page faults/rule {:4.2} first, {:4.2} median  rounds: {}",
        p_med / 1e6,
        1e9 / p_med.max(1.0),
        theirs_f.0,
        theirs_f.1,
        list(&theirs_r, 1e6)
    );
    println!("  target >= 1 Mrules/s compiled: {}", met(c_med >= 1e6));
    println!("  note: compile validates the model, builds the arrays and owns them (one bump arena per rule);");
    println!(
        "        rte_flow_conv only deep-copies arrays that already exist (same rules, same run;"
    );
    println!("        a pure librte_ethdev function, called here without an EAL).");
    println!(
        "        rte_flow_conv copies RAW_ENCAP bytes: {}; GENEVE_OPT data words: {}",
        deep_word(encap_deep),
        deep_word(geneve_deep)
    );

    println!();
    println!(
        "-- 2. create+destroy through the LD_PRELOAD recorder (net_null port, {} rules, median of {install_rounds} rounds)",
        args.install.max(1)
    );
    println!("  measures dpuflow's per-rule work across the FFI boundary: the recorder's rte_flow_* accept");
    println!(
        "  every call at near-zero cost (a malloc'ed handle); no PMD, no hardware is involved."
    );
    println!(
        "  {:<42} {:>12} {:>12} {:>16}",
        "", "create/s", "destroy/s", "create+destroy/s"
    );
    for (label, kind) in [
        ("raw FFI floor (prebuilt arrays, sync)", "floor"),
        ("FlowTable sync (compile + create)", "sync"),
        ("FlowTable async, batch 64 (template API)", "async"),
    ] {
        let s = install.summary(kind);
        println!(
            "  {:<42} {:>10.3} M {:>10.3} M {:>14.3} M",
            label,
            s.0 / 1e6,
            s.1 / 1e6,
            s.2 / 1e6
        );
    }
    println!("  note: async creates are pushed/pulled every 64 rules; FlowTable's async remove pushes and");
    println!("        pulls after every single destroy (no destroy batching).");

    println!();
    println!("-- 3. software backend (SoftwareTable, tuple-space search, 1 thread)");
    let ins = median(&inserts);
    println!(
        "  insert {n} rules: {:.3} Mrules/s, {:.0} ns/rule (validate + flat key + buckets)",
        ins / 1e6,
        1e9 / ins.max(1.0)
    );
    let (s_ns, l_ns) = (median(&small_ns), median(&large_ns));
    println!(
        "  {:<22} {:>12} {:>9} {:>6}   ns by key class: {:>10} {:>10} {:>8}",
        "lookup(group, key)", "Mlookups/s", "ns", "hit", "first-100", "any-rule", "miss"
    );
    for (label, ns, hits, by, table) in [
        (
            format!("{small} rules"),
            s_ns,
            small_hits,
            &small_by_class,
            &small_table,
        ),
        (
            format!("{n} rules"),
            l_ns,
            large_hits,
            &large_by_class,
            &large,
        ),
    ] {
        println!(
            "  {:<22} {:>12.3} {:>9.1} {:>5.1}%   {:>26.1} {:>10.1} {:>8.1}   shapes {}",
            label,
            1e3 / ns.max(1e-9),
            ns,
            100.0 * hits,
            by.first().copied().unwrap_or(0.0),
            by.get(1).copied().unwrap_or(0.0),
            by.get(2).copied().unwrap_or(0.0),
            shapes(table)
        );
    }
    let (s_burst, l_burst) = (median(&small_burst), median(&large_burst));
    println!(
        "  {:<22} {:>12} {:>9}   same keys, grouped by group, {BURST} per call; results equal lookup(): {}",
        format!("lookup_burst, {BURST} keys"),
        "Mlookups/s",
        "ns/key",
        if burst_ok { "yes" } else { "NO" }
    );
    for (label, ns) in [
        (format!("{small} rules"), s_burst),
        (format!("{n} rules"), l_burst),
    ] {
        println!("  {:<22} {:>12.3} {:>9.1}", label, 1e3 / ns.max(1e-9), ns);
    }
    let ratio = l_ns / s_ns.max(1e-9);
    let burst_ratio = l_burst / s_burst.max(1e-9);
    println!(
        "  lookup time {n} / {small} rules: {ratio:.2}x   target <= 2x: {}   (single-key lookup())",
        met(ratio <= 2.0)
    );
    println!(
        "  lookup_burst time {n} / {small} rules: {burst_ratio:.2}x   (for reference; the target line above is single-key)"
    );
    println!(
        "  same {} keys for both: 1/3 aimed at the first {small} rules, 1/3 at any of the {n}, 1/3 misses;",
        keys.len()
    );
    println!(
        "  aimed keys that found their exact rule: {:.1}% ({small} rules), {:.1}% ({n} rules)",
        100.0 * small_exact,
        100.0 * large_exact
    );

    println!();
    println!(
        "-- 4. memory per installed rule (bytes requested from the Rust allocator, counted by a"
    );
    println!("      #[global_allocator]; glibc adds ~8-16 B per allocation call on top)");
    let row = |label: &str, u: &Usage| {
        println!(
            "  {:<46} {:6.0} B/rule  {:4.1} alloc calls/rule",
            label,
            u.bytes_per(n),
            u.calls_per(n)
        );
    };
    row("Rule (the model itself, for reference)", &model_mem);
    println!(
        "  {:<46} {:6.0} B/rule  {:4.1} alloc calls/rule  ({} B inline + heap)",
        "RteRule (arena + item/action/mask/shape vecs)",
        rte_mem.bytes_per(n),
        rte_mem.calls_per(n),
        std::mem::size_of::<RteRule>()
    );
    println!(
        "  {:<46} {:6.0} B/rule  {:4.1} alloc calls/rule  (rte_flow_conv asks {:.0} B)",
        "rte_flow_conv copy of the same arrays",
        conv_mem.bytes_per(n),
        conv_mem.calls_per(n),
        conv_bytes as f64 / n as f64
    );
    row("SoftwareTable (incl. the stored Rule)", &sw_mem);
    for (label, kind) in [
        ("FlowTable sync bookkeeping (rule handle map)", "mem-sync"),
        ("FlowTable async bookkeeping (+ templates)", "mem-async"),
    ] {
        let (bytes, calls) = install.memory(kind);
        println!(
            "  {:<46} {:6.0} B/rule  {:4.1} alloc calls/rule  (recorder/PMD memory not included)",
            label, bytes, calls
        );
    }
    drop(large);
    println!();
    println!(
        "{}",
        result_line(
            "rules",
            c_med / 1e6,
            "rte_flow_conv",
            p_med / 1e6,
            "Mrules/s"
        )
    );
    Ok(())
}

fn deep_word(d: Option<bool>) -> &'static str {
    match d {
        Some(true) => "yes",
        Some(false) => "NO (the copy still points into our arena)",
        None => "n/a",
    }
}

// ------------------------------------------------------------ the child

/// The child's `WORKER` lines.
struct Install {
    lines: Vec<String>,
}

fn field(line: &str, name: &str) -> Option<f64> {
    line.split_whitespace()
        .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('=')?.parse().ok())
}

impl Install {
    fn of_kind<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = &'a String> + 'a {
        let tag = format!("kind={kind} ");
        self.lines.iter().filter(move |l| l.contains(&tag))
    }

    /// Median create/s, destroy/s, create+destroy/s of one kind.
    fn summary(&self, kind: &str) -> (f64, f64, f64) {
        let col = |name: &str| -> f64 {
            let v: Vec<f64> = self.of_kind(kind).filter_map(|l| field(l, name)).collect();
            median(&v)
        };
        (col("create"), col("destroy"), col("both"))
    }

    fn memory(&self, kind: &str) -> (f64, f64) {
        self.of_kind(kind).next().map_or((0.0, 0.0), |l| {
            (
                field(l, "bytes_per_rule").unwrap_or(0.0),
                field(l, "allocs_per_rule").unwrap_or(0.0),
            )
        })
    }
}

fn run_child(n: usize, rounds: u32) -> Result<Install, Error> {
    let mut cmd = Command::new(std::env::current_exe()?);
    cmd.arg("rules-worker")
        .arg("--rules")
        .arg(n.to_string())
        .arg("--rounds")
        .arg(rounds.to_string())
        .env("LD_PRELOAD", dpuflow_flow_testkit::RECORDER_PRELOAD_SO)
        .env_remove("DPUFLOW_RECORDER_OUT");
    let out = child::spawn(cmd)?.wait_with_output()?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!(
            "rules worker failed: {}\n{}{}",
            out.status,
            text,
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    let lines: Vec<String> = text
        .lines()
        .filter(|l| l.starts_with("WORKER "))
        .map(str::to_string)
        .collect();
    if lines.is_empty() {
        return Err(format!("rules worker printed no result:\n{text}").into());
    }
    Ok(Install { lines })
}

fn print_rates(kind: &str, round: u32, n: usize, create: f64, destroy: f64) {
    println!(
        "WORKER kind={kind} round={round} create={:.1} destroy={:.1} both={:.1}",
        rate(n, create),
        rate(n, destroy),
        rate(n, create + destroy)
    );
}

/// Prebuilt arrays straight into the (preloaded) rte_flow entry points.
fn raw_floor(port: u16, compiled: &[RteRule]) -> Result<(f64, f64), Error> {
    let mut flows = Vec::with_capacity(compiled.len());
    let mut err = sys::rte_flow_error::default();
    let t0 = Instant::now();
    for c in compiled {
        // SAFETY: END-terminated arrays owned by `c`, alive for the call.
        let f = unsafe {
            sys::rte_flow_create(
                port,
                c.attr(),
                c.items().as_ptr(),
                c.actions().as_ptr(),
                &mut err,
            )
        };
        if f.is_null() {
            return Err("rte_flow_create failed: is the recorder preloaded?".into());
        }
        flows.push(f);
    }
    let t1 = Instant::now();
    for f in flows {
        // SAFETY: `f` was created above on `port` and is destroyed once.
        if unsafe { sys::rte_flow_destroy(port, f, &mut err) } != 0 {
            return Err("rte_flow_destroy failed".into());
        }
    }
    let t2 = Instant::now();
    Ok(((t1 - t0).as_secs_f64(), (t2 - t1).as_secs_f64()))
}

/// Inserts every rule, commits, removes every rule, commits.
fn flow_table_cycle(
    port: &Port,
    rules: &[Rule],
    config: FlowTableConfig,
) -> Result<(f64, f64), Error> {
    let want = if config.prefer_async {
        FlowApi::Async
    } else {
        FlowApi::Sync
    };
    let mut table = FlowTable::new(port, config);
    if table.api() != want {
        return Err(format!("FlowTable chose {:?}, wanted {want:?}", table.api()).into());
    }
    let t0 = Instant::now();
    let handles = rules
        .iter()
        .map(|r| table.insert(r))
        .collect::<Result<Vec<FlowHandle>, _>>()?;
    table.commit()?;
    let t1 = Instant::now();
    for h in handles {
        table.remove(h)?;
    }
    table.commit()?;
    let t2 = Instant::now();
    if !table.is_empty() {
        return Err(format!("{} rules left after removing all", table.len()).into());
    }
    Ok(((t1 - t0).as_secs_f64(), (t2 - t1).as_secs_f64()))
}

fn sync_config() -> FlowTableConfig {
    FlowTableConfig {
        prefer_async: false,
        ..FlowTableConfig::default()
    }
}

fn async_config() -> FlowTableConfig {
    FlowTableConfig {
        prefer_async: true,
        batch: 64,
        ..FlowTableConfig::default()
    }
}

/// The recorder child: create+destroy rates and FlowTable memory.
pub fn worker(args: &WorkerArgs) -> Result<(), Error> {
    let null = NullPort::start(&NullPortConfig {
        name: "dpuflow-perf-rules",
        log_level: Some("error"),
        ..NullPortConfig::default()
    })?;
    let port = &null.port;
    let n = args.rules.max(1);
    let rules = rules(n);
    let compiled = rules
        .iter()
        .map(RteRule::compile)
        .collect::<Result<Vec<_>, _>>()?;
    for round in 1..=args.rounds.max(1) {
        let (c, d) = raw_floor(port.id(), &compiled)?;
        print_rates("floor", round, n, c, d);
        let (c, d) = flow_table_cycle(port, &rules, sync_config())?;
        print_rates("sync", round, n, c, d);
        let (c, d) = flow_table_cycle(port, &rules, async_config())?;
        print_rates("async", round, n, c, d);
    }
    drop(compiled);
    for (kind, config) in [("mem-sync", sync_config()), ("mem-async", async_config())] {
        let (table, usage) = measure(|| -> Result<FlowTable, Error> {
            let mut table = FlowTable::new(port, config);
            for r in &rules {
                table.insert(r)?;
            }
            table.commit()?;
            Ok(table)
        });
        let table = table?;
        println!(
            "WORKER kind={kind} bytes_per_rule={:.1} allocs_per_rule={:.2} rules={}",
            usage.bytes_per(n),
            usage.calls_per(n),
            table.len()
        );
        drop(table);
    }
    Ok(())
}
