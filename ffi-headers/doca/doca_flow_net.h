/*
 * dpuflow stand-in for the DOCA SDK header of the same name: the packet
 * header structs DOCA Flow matches on and rewrites. Member names, types and
 * order follow the public DOCA 2.7 API (see README.md) so that code written
 * against these declarations also compiles against the real SDK.
 *
 * Every multi-byte header field is in network byte order (doca_beNN_t).
 */
#ifndef DOCA_FLOW_NET_H_
#define DOCA_FLOW_NET_H_

#include <stdint.h>
#include <stdbool.h>
#include <doca_types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define DOCA_FLOW_ETHER_ADDR_LEN (6)

/* IP protocol numbers. */
#define DOCA_FLOW_PROTO_ICMP (1)
#define DOCA_FLOW_PROTO_IPV4 (4)
#define DOCA_FLOW_PROTO_TCP (6)
#define DOCA_FLOW_PROTO_UDP (17)
#define DOCA_FLOW_PROTO_IPV6 (41)
#define DOCA_FLOW_PROTO_GRE (47)
#define DOCA_FLOW_PROTO_ESP (50)
#define DOCA_FLOW_PROTO_ICMP6 (58)

/* Well-known UDP ports of the tunnels. */
#define DOCA_FLOW_GTPU_DEFAULT_PORT (2152)
#define DOCA_FLOW_VXLAN_DEFAULT_PORT (4789)
#define DOCA_FLOW_VXLAN_GPE_DEFAULT_PORT (4790)
#define DOCA_FLOW_GENEVE_DEFAULT_PORT (6081)
#define DOCA_FLOW_MPLS_DEFAULT_PORT (6635)
#define DOCA_FLOW_PSP_DEFAULT_PORT (1000)

/* EtherTypes. */
#define DOCA_FLOW_ETHER_TYPE_IPV4 (0x0800)
#define DOCA_FLOW_ETHER_TYPE_IPV6 (0x86DD)
#define DOCA_FLOW_ETHER_TYPE_TEB (0x6558)

#define DOCA_FLOW_UDP_HEADER_LEN 8

/* GENEVE option limits, in 4-byte words. */
#define DOCA_FLOW_GENEVE_OPT_LEN_MAX 63		/* all options of one packet */
#define DOCA_FLOW_ENCAP_GENEVE_OPT_LEN_MAX 19	/* options one encap can push */
#define DOCA_FLOW_GENEVE_DATA_OPTION_LEN_MAX 31 /* data of a single option */
#define DOCA_FLOW_GENEVE_NUM_OF_OPTIONS_MAX 8	/* options one parser knows */

#define DOCA_FLOW_MPLS_LABELS_MAX 5

/* One 802.1Q tag: PCP(3) DEI(1) VID(12). */
struct doca_flow_header_eth_vlan {
	doca_be16_t tci;
};

/* Which L3 header a doca_flow_header_format / doca_flow_ip_addr holds. */
enum doca_flow_l3_type {
	DOCA_FLOW_L3_TYPE_NONE = 0,
	DOCA_FLOW_L3_TYPE_IP4,
	DOCA_FLOW_L3_TYPE_IP6,
};

struct doca_flow_header_eth {
	uint8_t src_mac[DOCA_FLOW_ETHER_ADDR_LEN];
	uint8_t dst_mac[DOCA_FLOW_ETHER_ADDR_LEN];
	doca_be16_t type;
};

/* An IPv4 or IPv6 address, tagged. */
struct doca_flow_ip_addr {
	enum doca_flow_l3_type type;
	union {
		doca_be32_t ipv4_addr;
		doca_be32_t ipv6_addr[4];
	};
};

/* Which L4 header a doca_flow_header_format holds. TRANSPORT means "TCP or
 * UDP ports, whichever it is". */
enum doca_flow_l4_type_ext {
	DOCA_FLOW_L4_TYPE_EXT_NONE = 0,
	DOCA_FLOW_L4_TYPE_EXT_TCP,
	DOCA_FLOW_L4_TYPE_EXT_UDP,
	DOCA_FLOW_L4_TYPE_EXT_ICMP,
	DOCA_FLOW_L4_TYPE_EXT_ICMP6,
	DOCA_FLOW_L4_TYPE_EXT_TRANSPORT,
};

struct doca_flow_header_l4_port {
	doca_be16_t src_port;
	doca_be16_t dst_port;
};

struct doca_flow_header_udp {
	struct doca_flow_header_l4_port l4_port;
};

struct doca_flow_header_tcp {
	struct doca_flow_header_l4_port l4_port;
	uint8_t data_offset;
	uint8_t flags; /* enum doca_flow_match_tcp_flags bits */
};

struct doca_flow_header_icmp {
	uint8_t type;
	uint8_t code;
	doca_be16_t ident;
};

/* Bits of doca_flow_header_ip4.flags_fragment_offset (host-order values,
 * convert before storing). */
enum doca_flow_ip_fragment_flags {
	DOCA_FLOW_IP4_FLAG_MORE_FRAGMENTS = (1 << 13),
	DOCA_FLOW_IP4_FLAG_DONT_FRAGMENT = (1 << 14),
};

/* The IPv4 fields DOCA Flow can match or set (not the wire layout). */
struct doca_flow_header_ip4 {
	doca_be32_t src_ip;
	doca_be32_t dst_ip;
	uint8_t version_ihl;
	uint8_t dscp_ecn;
	doca_be16_t total_len;
	doca_be16_t identification;
	doca_be16_t flags_fragment_offset; /* flags(3) + offset(13) */
	uint8_t next_proto;
	uint8_t ttl;
};

/* The IPv6 fields DOCA Flow can match or set (not the wire layout). */
struct doca_flow_header_ip6 {
	doca_be32_t src_ip[4];
	doca_be32_t dst_ip[4];
	uint8_t traffic_class;
	doca_be32_t flow_label; /* low 20 bits */
	doca_be16_t payload_len;
	uint8_t next_proto;
	uint8_t hop_limit;
};

/* label(20) TC(3) S(1) TTL(8). */
struct doca_flow_header_mpls {
	doca_be32_t label;
};

struct doca_flow_header_geneve {
	uint8_t ver_opt_len; /* version(2) + option length in words(6) */
	uint8_t o_c;	     /* OAM(1) + critical(1) + reserved(6) */
	doca_be16_t next_proto;
	doca_be32_t vni;     /* VNI(24) in the high bits + reserved(8) */
};

/* One 4-byte word of the GENEVE option area: either an option header
 * (class, type, length in words of its data) or one word of option data. */
union doca_flow_geneve_option {
	struct {
		doca_be16_t class_id;
		uint8_t type;
		uint8_t length; /* reserved(3) + data length in words(5) */
	};
	doca_be32_t data;
};

struct doca_flow_header_psp {
	uint8_t nexthdr;
	uint8_t hdrextlen;
	uint8_t res_cryptofst;
	uint8_t s_d_ver_v;
	doca_be32_t spi;
	doca_be64_t iv;
	doca_be64_t vc;
};

enum doca_flow_tun_type {
	DOCA_FLOW_TUN_NONE = 0,
	DOCA_FLOW_TUN_VXLAN,
	DOCA_FLOW_TUN_GTPU,
	DOCA_FLOW_TUN_GRE,
	DOCA_FLOW_TUN_ESP,
	DOCA_FLOW_TUN_MPLS_O_UDP,
	DOCA_FLOW_TUN_GENEVE,
	DOCA_FLOW_TUN_PSP,
	DOCA_FLOW_TUN_MAX,
};

enum doca_flow_tun_ext_vxlan_type {
	DOCA_FLOW_TUN_EXT_VXLAN_STANDARD = 0,
	DOCA_FLOW_TUN_EXT_VXLAN_GPE,
	DOCA_FLOW_TUN_EXT_VXLAN_GBP,
};

enum doca_flow_tun_ext_gre_type {
	DOCA_FLOW_TUN_EXT_GRE_STANDARD = 0,
	DOCA_FLOW_TUN_EXT_GRE_NVGRE,
};

/*
 * The tunnel header between outer and inner headers. `type` selects which
 * member of the anonymous union is meaningful. The nesting of anonymous
 * unions/structs is kept exactly as in the SDK because bindgen names them by
 * position (__bindgen_anon_N): union 1 holds, in this order, vxlan(1),
 * gre(2), gtp(3), esp(4), mpls(5), geneve(6), psp(7).
 */
struct doca_flow_tun {
	enum doca_flow_tun_type type;
	union {
		struct {
			enum doca_flow_tun_ext_vxlan_type vxlan_type;
			union {
				uint8_t vxlan_next_protocol;	   /* GPE */
				doca_be16_t vxlan_group_policy_id; /* GBP */
			};
			doca_be32_t vxlan_tun_id; /* VNI(24) in the high bits + reserved(8) */
		};
		struct {
			enum doca_flow_tun_ext_gre_type gre_type;
			doca_be16_t protocol;
			union {
				struct {
					bool key_present;
					doca_be32_t gre_key;
				};
				struct {
					doca_be32_t nvgre_vs_id; /* VSID(24) + reserved(8) */
					uint8_t nvgre_flow_id;
				};
			};
		};
		struct {
			doca_be32_t gtp_teid;
		};
		struct {
			doca_be32_t esp_spi;
			doca_be32_t esp_sn;
		};
		struct {
			struct doca_flow_header_mpls mpls[DOCA_FLOW_MPLS_LABELS_MAX];
		};
		struct {
			struct doca_flow_header_geneve geneve;
			union doca_flow_geneve_option geneve_options[DOCA_FLOW_GENEVE_OPT_LEN_MAX];
		};
		struct {
			struct doca_flow_header_psp psp;
		};
	};
};

#ifdef __cplusplus
}
#endif

#endif /* DOCA_FLOW_NET_H_ */
