//! Why the pipeline dropped or answered a frame: one counter per reason,
//! never a panic. Parser reasons come from `dpuflow-packet`.

macro_rules! reasons {
    ($($variant:ident => $name:literal: $doc:literal,)*) => {
        /// Why the pipeline did not forward a frame.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[repr(u8)]
        pub enum Reason {
            $(#[doc = $doc] $variant,)*
        }

        impl Reason {
            /// Every reason, for per-reason counters (index = `as usize`).
            pub const ALL: &'static [Reason] = &[$(Reason::$variant,)*];

            /// A short stable name (metric label).
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Reason::$variant => $name,)*
                }
            }
        }
    };
}

reasons! {
    Malformed => "malformed": "The parser refused the frame (counted by parser reason too).",
    UnknownPort => "unknown_port": "Received on a port the tables do not know.",
    NoPodOnPort => "no_pod_on_port": "Received on a pod representor with no pod bound.",
    NodeNotReady => "node_not_ready": "This node's subnet, node-id or encap IP is not known yet.",
    PortSecurity => "port_security": "A source MAC or address the pod does not own.",
    NotIp => "not_ip": "Neither IP nor ARP.",
    ArpNotForUs => "arp_not_for_us": "ARP other than a request for an address we answer.",
    NdNotForUs => "nd_not_for_us": "A neighbour solicitation for an address we do not answer.",
    Ipv6Control => "ipv6_control": "Router solicitations, MLD and other IPv6 control we do not serve.",
    Fragment => "fragment": "An IP fragment (not reassembled).",
    IcmpUntracked => "icmp_untracked": "An ICMP message that is neither echo nor an error about a known connection.",
    IcmpRelatedNat => "icmp_related_nat": "An ICMP error about a NATed connection whose quote cannot be translated (it quotes a non-first fragment, which holds no ports).",
    NoRoute => "no_route": "No pod, node or service owns the destination.",
    PolicyEgress => "policy_egress": "Denied by the source pod's egress policy.",
    PolicyIngress => "policy_ingress": "Denied by the destination pod's ingress policy.",
    ConntrackFull => "conntrack_full": "The connection table is full.",
    ConntrackClash => "conntrack_clash": "The connection's reply key belongs to another connection.",
    NoEndpoints => "no_endpoints": "A service without endpoints (answered with a reset or ICMP unreachable).",
    TtlExpired => "ttl_expired": "TTL or hop limit ran out (answered with ICMP time exceeded from a pod).",
    TooBig => "too_big": "Larger than the overlay MTU (answered with fragmentation needed / packet too big).",
    NeighbourUnresolved => "neighbour_unresolved": "The tunnel peer's MAC is not known yet (an ARP request went out instead).",
    TunnelUnknownSource => "tunnel_unknown_source": "Geneve from an address that is no known node's encap IP.",
    TunnelWrongVni => "tunnel_wrong_vni": "Geneve with a VNI other than the transit switch's.",
    TunnelNoOvnOption => "tunnel_no_ovn_option": "Geneve without OVN's option.",
    TunnelWrongEgress => "tunnel_wrong_egress": "OVN's egress key is not our node-id.",
    TunnelFlood => "tunnel_flood": "A multicast (flooded) egress key.",
    TunnelWrongInnerMac => "tunnel_wrong_inner_mac": "The inner destination MAC is not our transit router port.",
    TunnelNotLocal => "tunnel_not_local": "The inner destination is not a pod of this node.",
    EditFailed => "edit_failed": "The frame could not be rewritten (no headroom or inconsistent headers).",
}

impl Reason {
    /// Number of reasons.
    pub const COUNT: usize = Reason::ALL.len();
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
