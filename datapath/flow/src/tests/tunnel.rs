use std::net::{Ipv4Addr, Ipv6Addr};

use crate::{GeneveOption, MacAddr, TunnelDecap, TunnelEncap};

const SRC_MAC: MacAddr = MacAddr::new(0x10, 0x11, 0x22, 0x33, 0x44, 0x55);
const DST_MAC: MacAddr = MacAddr::new(0xa0, 0xb1, 0xc2, 0xd3, 0xe4, 0xf5);

#[test]
fn geneve_v4_with_ovn_option_matches_hand_built_header() {
    let encap = TunnelEncap::geneve_v4(
        SRC_MAC,
        DST_MAC,
        Ipv4Addr::new(1, 1, 1, 1),
        Ipv4Addr::new(2, 2, 2, 2),
        1234,
        100,
    )
    .with_option(GeneveOption::ovn(0x0001_0002));
    #[rustfmt::skip]
    let expected: Vec<u8> = vec![
        // Ethernet: dst, src, type IPv4
        0xa0, 0xb1, 0xc2, 0xd3, 0xe4, 0xf5,
        0x10, 0x11, 0x22, 0x33, 0x44, 0x55,
        0x08, 0x00,
        // IPv4: v4 ihl5, tos 0, total length 0, id 0, frag 0, ttl 64, UDP, csum 0
        0x45, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x40, 0x11, 0x00, 0x00,
        1, 1, 1, 1,
        2, 2, 2, 2,
        // UDP: 1234 -> 6081, length 0, checksum 0
        0x04, 0xd2, 0x17, 0xc1, 0x00, 0x00, 0x00, 0x00,
        // Geneve: ver 0 optlen 2 words, C (OVN's option is critical),
        // proto 0x6558, VNI 100, rsvd
        0x02, 0x40, 0x65, 0x58, 0x00, 0x00, 0x64, 0x00,
        // Option: class 0x0102, type 0x80, length 1, data
        0x01, 0x02, 0x80, 0x01,
        0x00, 0x01, 0x00, 0x02,
    ];
    assert_eq!(encap.encap_bytes(), expected);
}

#[test]
fn vxlan_v4_header() {
    let encap = TunnelEncap::vxlan_v4(
        SRC_MAC,
        DST_MAC,
        Ipv4Addr::new(192, 168, 0, 1),
        Ipv4Addr::new(192, 168, 0, 2),
        50000,
        0x0a0b0c,
    );
    let b = encap.encap_bytes();
    assert_eq!(b.len(), 14 + 20 + 8 + 8);
    assert_eq!(&b[12..14], &[0x08, 0x00]);
    assert_eq!(&b[34..38], &[0xc3, 0x50, 0x12, 0xb5]); // 50000 -> 4789
    assert_eq!(&b[42..50], &[0x08, 0, 0, 0, 0x0a, 0x0b, 0x0c, 0]);
}

#[test]
fn geneve_v6_with_vlan_and_df_free_fields() {
    let mut encap = TunnelEncap::geneve_v6(
        SRC_MAC,
        DST_MAC,
        Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 1),
        Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 2),
        7,
        0xffffff,
    )
    .with_vlan(300, 5);
    if let crate::OuterIp::V6 { traffic_class, .. } = &mut encap.ip {
        *traffic_class = 0xb8;
    }
    let b = encap.encap_bytes();
    assert_eq!(b.len(), 14 + 4 + 40 + 8 + 8);
    assert_eq!(&b[12..18], &[0x81, 0x00, 0xa1, 0x2c, 0x86, 0xdd]); // tci = 5<<13 | 300
    assert_eq!(&b[18..26], &[0x6b, 0x80, 0x00, 0x00, 0x00, 0x00, 17, 64]);
    assert_eq!(b[18 + 8 + 15], 1);
    assert_eq!(&b[58..66], &[0, 7, 0x17, 0xc1, 0, 0, 0, 0]);
    assert_eq!(
        &b[66..74],
        &[0x00, 0x00, 0x65, 0x58, 0xff, 0xff, 0xff, 0x00]
    );
}

#[test]
fn ipv4_dont_fragment_and_tos() {
    let mut encap = TunnelEncap::geneve_v4(
        SRC_MAC,
        DST_MAC,
        Ipv4Addr::LOCALHOST,
        Ipv4Addr::LOCALHOST,
        1,
        1,
    );
    if let crate::OuterIp::V4 {
        tos,
        dont_fragment,
        ttl,
        ..
    } = &mut encap.ip
    {
        *tos = 0x2e;
        *dont_fragment = true;
        *ttl = 255;
    }
    let b = encap.encap_bytes();
    assert_eq!(
        &b[14..26],
        &[0x45, 0x2e, 0, 0, 0, 0, 0x40, 0x00, 255, 17, 0, 0]
    );
}

#[test]
fn decap_sizes_follow_encap_shapes() {
    let plain = TunnelEncap::geneve_v4(
        SRC_MAC,
        DST_MAC,
        Ipv4Addr::LOCALHOST,
        Ipv4Addr::LOCALHOST,
        1,
        1,
    );
    let opt = plain.clone().with_option(GeneveOption::ovn(5));
    let tagged = opt.clone().with_vlan(10, 0);
    for e in [plain, opt, tagged] {
        let d = TunnelDecap::for_encap(&e);
        assert_eq!(d.decap_bytes().len(), e.encap_bytes().len(), "{e:?}");
    }
    let vx = TunnelDecap::vxlan_v4().decap_bytes();
    assert_eq!(vx.len(), 50);
    assert_eq!(&vx[36..38], &[0x12, 0xb5]);
    assert_eq!(vx[42], 0x08);
    let gv = TunnelDecap::geneve_v4().decap_bytes();
    assert_eq!(&gv[14..24], &[0x45, 0, 0, 0, 0, 0, 0, 0, 0, 17]);
}

#[test]
fn geneve_c_flag_follows_the_options_critical_bit() {
    let base = TunnelEncap::geneve_v4(
        SRC_MAC,
        DST_MAC,
        Ipv4Addr::new(1, 1, 1, 1),
        Ipv4Addr::new(2, 2, 2, 2),
        1234,
        100,
    );
    let flags = |e: TunnelEncap| e.encap_bytes()[43];
    assert_eq!(flags(base.clone()), 0, "no option");
    let non_critical = GeneveOption {
        class: 0x0102,
        option_type: 0x01,
        data: vec![7],
    };
    assert_eq!(flags(base.clone().with_option(non_critical)), 0);
    assert_eq!(flags(base.with_option(GeneveOption::ovn(1))), 0x40);
}
