/*
 * dpuflow stand-in for the DOCA SDK header of the same name: the subset of
 * the DOCA Flow API that dpuflow uses, as published for DOCA 2.7 (opaque
 * configuration objects filled through doca_flow_*_cfg_set_* setters,
 * doca_flow_pipe_add_entry, doca_flow_query_entry). See README.md for the
 * sources and for what was not verified against a real SDK.
 *
 * Layout rules kept from the SDK, because Rust code generated from this
 * header must also compile against the real one:
 *  - members that exist here have the SDK's names, types and relative order;
 *  - anonymous unions/structs sit at the same positions (bindgen names them
 *    __bindgen_anon_1, _2, ... by position);
 *  - some trailing members of the SDK (crypto, ordered lists, shared
 *    resource configuration) are left out, so sizeof() differs from the SDK:
 *    never hard-code sizes, always zero-initialise and set fields.
 *
 * Threading model in one sentence: entries are added/removed on "pipe
 * queues" (one per worker, doca_flow_cfg_set_pipe_queues) and only take
 * effect once doca_flow_entries_process() has been called on that queue.
 */
#ifndef DOCA_FLOW_H_
#define DOCA_FLOW_H_

#include <stdio.h>
#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>

#include <doca_compat.h>
#include <doca_error.h>
#include <doca_flow_net.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------ handles */

struct doca_flow_port;	     /* a started port (doca_flow_port_start) */
struct doca_flow_pipe;	     /* a match/action template plus its entries */
struct doca_flow_pipe_entry; /* one offloaded rule of a pipe */
struct doca_flow_target;     /* a special destination (kernel) */
struct doca_flow_parser;     /* a GENEVE TLV option parser */
struct doca_flow_cfg;	     /* global configuration (setters below) */
struct doca_flow_port_cfg;   /* port configuration (setters below) */
struct doca_flow_pipe_cfg;   /* pipe configuration (setters below) */

/* ------------------------------------------------------------ enums */

enum doca_flow_shared_resource_type {
	DOCA_FLOW_SHARED_RESOURCE_METER,
	DOCA_FLOW_SHARED_RESOURCE_COUNTER,
	DOCA_FLOW_SHARED_RESOURCE_RSS,
	DOCA_FLOW_SHARED_RESOURCE_MIRROR,
	DOCA_FLOW_SHARED_RESOURCE_PSP,
	DOCA_FLOW_SHARED_RESOURCE_ENCAP,
	DOCA_FLOW_SHARED_RESOURCE_DECAP,
	DOCA_FLOW_SHARED_RESOURCE_IPSEC_SA,
};

/* `flags` of add/update/remove: push to hardware now, or batch until the
 * next operation without WAIT_FOR_BATCH (or entries_process). */
enum doca_flow_flags_type {
	DOCA_FLOW_NO_WAIT = 0,
	DOCA_FLOW_WAIT_FOR_BATCH = (1 << 0),
};

enum doca_flow_pipe_op {
	DOCA_FLOW_PIPE_OP_CONGESTION_REACHED,
	DOCA_FLOW_PIPE_OP_RESIZED,
	DOCA_FLOW_PIPE_OP_DESTROYED,
};

enum doca_flow_pipe_status {
	DOCA_FLOW_PIPE_STATUS_SUCCESS = 1,
	DOCA_FLOW_PIPE_STATUS_ERROR,
};

/* What an entry completion (doca_flow_entry_process_cb) reports. */
enum doca_flow_entry_op {
	DOCA_FLOW_ENTRY_OP_ADD,
	DOCA_FLOW_ENTRY_OP_DEL,
	DOCA_FLOW_ENTRY_OP_UPD,
	DOCA_FLOW_ENTRY_OP_AGED,
};

enum doca_flow_entry_status {
	DOCA_FLOW_ENTRY_STATUS_IN_PROCESS,
	DOCA_FLOW_ENTRY_STATUS_SUCCESS,
	DOCA_FLOW_ENTRY_STATUS_ERROR,
};

enum doca_flow_rss_hash_function {
	DOCA_FLOW_RSS_HASH_FUNCTION_TOEPLITZ,
	DOCA_FLOW_RSS_HASH_FUNCTION_SYMMETRIC_TOEPLITZ,
};

/* RSS settings shared by port defaults and shared RSS resources. */
struct doca_flow_resource_rss_cfg {
	uint32_t outer_flags; /* enum doca_rss_type bits */
	uint32_t inner_flags; /* enum doca_rss_type bits */
	uint16_t *queues_array;
	int nr_queues;
	enum doca_flow_rss_hash_function rss_hash_func;
};

/* ------------------------------------------------------------ callbacks */

typedef void (*doca_flow_pipe_process_cb)(struct doca_flow_pipe *pipe,
					  enum doca_flow_pipe_status status,
					  enum doca_flow_pipe_op op,
					  void *user_ctx);

/* Called from doca_flow_entries_process() for every completed add, update
 * or removal, and for every aged entry (doca_flow_aging_handle). user_ctx is
 * the usr_ctx given when the entry was added. */
typedef void (*doca_flow_entry_process_cb)(struct doca_flow_pipe_entry *entry,
					   uint16_t pipe_queue,
					   enum doca_flow_entry_status status,
					   enum doca_flow_entry_op op,
					   void *user_ctx);

typedef void (*doca_flow_shared_resource_unbind_cb)(enum doca_flow_shared_resource_type,
						    uint32_t shared_resource_id,
						    void *bindable_obj);

enum doca_flow_pipe_type {
	DOCA_FLOW_PIPE_BASIC,	     /* exact match on the pipe's fields */
	DOCA_FLOW_PIPE_CONTROL,	     /* per-entry masks and priorities */
	DOCA_FLOW_PIPE_LPM,
	DOCA_FLOW_PIPE_CT,
	DOCA_FLOW_PIPE_ACL,
	DOCA_FLOW_PIPE_ORDERED_LIST,
	DOCA_FLOW_PIPE_HASH,
};

enum doca_flow_pipe_domain {
	DOCA_FLOW_PIPE_DOMAIN_DEFAULT = 0,   /* ingress */
	DOCA_FLOW_PIPE_DOMAIN_SECURE_INGRESS,
	DOCA_FLOW_PIPE_DOMAIN_EGRESS,
	DOCA_FLOW_PIPE_DOMAIN_SECURE_EGRESS,
};

/* ------------------------------------------------------------ metadata */

#define DOCA_FLOW_META_MAX 32 /* bytes of doca_flow_meta */
#define DOCA_FLOW_META_SCRATCH_PAD_MAX (DOCA_FLOW_META_MAX / 4 - 1)

enum __attribute__((__packed__)) doca_flow_meter_color {
	DOCA_FLOW_METER_COLOR_GREEN = 0,
	DOCA_FLOW_METER_COLOR_YELLOW,
	DOCA_FLOW_METER_COLOR_RED,
};

enum doca_flow_l2_meta {
	DOCA_FLOW_L2_META_NO_VLAN = 0,
	DOCA_FLOW_L2_META_SINGLE_VLAN,
	DOCA_FLOW_L2_META_MULTI_VLAN,
};

enum doca_flow_l3_meta {
	DOCA_FLOW_L3_META_NONE = 0,
	DOCA_FLOW_L3_META_IPV4,
	DOCA_FLOW_L3_META_IPV6,
};

enum doca_flow_l4_meta {
	DOCA_FLOW_L4_META_NONE = 0,
	DOCA_FLOW_L4_META_TCP,
	DOCA_FLOW_L4_META_UDP,
	DOCA_FLOW_L4_META_ICMP,
	DOCA_FLOW_L4_META_ESP,
};

/* Scratch registers carried with the packet between pipes: set by an
 * action in one pipe, matched (with a mask) in a later one. pkt_meta is
 * also delivered to software with the packet. */
struct doca_flow_meta {
	uint32_t pkt_meta;
	uint32_t u32[DOCA_FLOW_META_SCRATCH_PAD_MAX];
	uint32_t mark;
};

/* Read-only facts the hardware parser computed; match only. */
struct doca_flow_parser_meta {
	uint32_t port_meta; /* source (v)port */
	uint16_t random;
	uint8_t ipsec_syndrome;
	uint8_t psp_syndrome;
	enum doca_flow_meter_color meter_color;
	enum doca_flow_l2_meta outer_l2_type;
	enum doca_flow_l3_meta outer_l3_type;
	enum doca_flow_l4_meta outer_l4_type;
	enum doca_flow_l2_meta inner_l2_type;
	enum doca_flow_l3_meta inner_l3_type;
	enum doca_flow_l4_meta inner_l4_type;
	uint8_t outer_ip_fragmented;
	uint8_t inner_ip_fragmented;
	uint8_t outer_l3_ok;
	uint8_t outer_ip4_checksum_ok;
	uint8_t outer_l4_ok;
	uint8_t outer_l4_checksum_ok;
	uint8_t inner_l3_ok;
	uint8_t inner_ip4_checksum_ok;
	uint8_t inner_l4_ok;
	uint8_t inner_l4_checksum_ok;
};

/* Bits of doca_flow_header_tcp.flags. */
enum doca_flow_match_tcp_flags {
	DOCA_FLOW_MATCH_TCP_FLAG_FIN = (1 << 0),
	DOCA_FLOW_MATCH_TCP_FLAG_SYN = (1 << 1),
	DOCA_FLOW_MATCH_TCP_FLAG_RST = (1 << 2),
	DOCA_FLOW_MATCH_TCP_FLAG_PSH = (1 << 3),
	DOCA_FLOW_MATCH_TCP_FLAG_ACK = (1 << 4),
	DOCA_FLOW_MATCH_TCP_FLAG_URG = (1 << 5),
	DOCA_FLOW_MATCH_TCP_FLAG_ECE = (1 << 6),
	DOCA_FLOW_MATCH_TCP_FLAG_CWR = (1 << 7),
};

/* ------------------------------------------------------------ match */

#define DOCA_FLOW_VLAN_MAX 2

/* Bits of doca_flow_header_format.l2_valid_headers: which eth_vlan[] are
 * present. */
enum doca_flow_l2_valid_header {
	DOCA_FLOW_L2_VALID_HEADER_VLAN_0 = (1 << 0),
	DOCA_FLOW_L2_VALID_HEADER_VLAN_1 = (1 << 1),
};

/* One layer of headers (L2..L4). l3_type selects ip4/ip6 (anonymous union
 * 1), l4_type_ext selects icmp/udp/tcp/transport (anonymous union 2). */
struct doca_flow_header_format {
	struct doca_flow_header_eth eth;
	uint16_t l2_valid_headers;
	struct doca_flow_header_eth_vlan eth_vlan[DOCA_FLOW_VLAN_MAX];
	enum doca_flow_l3_type l3_type;
	union {
		struct doca_flow_header_ip4 ip4;
		struct doca_flow_header_ip6 ip6;
	};
	enum doca_flow_l4_type_ext l4_type_ext;
	union {
		struct doca_flow_header_icmp icmp;
		struct doca_flow_header_udp udp;
		struct doca_flow_header_tcp tcp;
		struct doca_flow_header_l4_port transport;
	};
};

/* At pipe creation: which fields the pipe matches (a set value is a constant
 * of the pipe, all ones means "changeable": taken from each entry), refined
 * by an optional match mask. Per entry: the values of the changeable
 * fields. */
struct doca_flow_match {
	uint32_t flags;
	struct doca_flow_meta meta;
	struct doca_flow_parser_meta parser_meta;
	struct doca_flow_header_format outer;
	struct doca_flow_tun tun;
	struct doca_flow_header_format inner;
};

/* ------------------------------------------------------------ actions */

/* A field named by a dotted path ("outer.ipv4.dst_ip", "meta.data"). */
struct doca_flow_desc_field {
	const char *field_string;
	uint32_t bit_offset;
};

enum doca_flow_compare_op {
	DOCA_FLOW_COMPARE_EQ,
	DOCA_FLOW_COMPARE_NE,
	DOCA_FLOW_COMPARE_LT,
	DOCA_FLOW_COMPARE_LE,
	DOCA_FLOW_COMPARE_GT,
	DOCA_FLOW_COMPARE_GE,
};

/* Field-against-field comparison (control pipe entries only). */
struct doca_flow_match_condition {
	enum doca_flow_compare_op operation;
	union {
		struct {
			struct doca_flow_desc_field a;
			struct doca_flow_desc_field b;
			uint32_t width; /* bits */
		} field_op;
	};
};

/* Headers pushed by an encap: the new outer layer plus the tunnel. */
struct doca_flow_encap_action {
	struct doca_flow_header_format outer;
	struct doca_flow_tun tun;
};

enum doca_flow_push_action_type {
	DOCA_FLOW_PUSH_ACTION_VLAN,
};

struct doca_flow_push_action {
	enum doca_flow_push_action_type type;
	union {
		struct doca_flow_header_eth_vlan vlan;
	};
};

struct doca_flow_nat64_action {
	enum doca_flow_l3_type original_l3_type;
};

/* Whether a counter / meter / encap / decap is absent, per-entry
 * (NON_SHARED) or a shared resource referenced by id. */
enum doca_flow_resource_type {
	DOCA_FLOW_RESOURCE_TYPE_NONE,
	DOCA_FLOW_RESOURCE_TYPE_SHARED,
	DOCA_FLOW_RESOURCE_TYPE_NON_SHARED
};

/* Encap: is_l2 pushes eth+IP+UDP+tunnel in front of the inner Ethernet
 * frame (VXLAN, GENEVE); !is_l2 replaces the L2 header (L3 tunnels). */
struct doca_flow_resource_encap_cfg {
	bool is_l2;
	struct doca_flow_encap_action encap;
};

/* Decap: is_l2 strips up to and including the tunnel header; !is_l2 also
 * needs the Ethernet (and VLAN) header to put back in front of the inner
 * IP packet. */
struct doca_flow_resource_decap_cfg {
	bool is_l2;
	struct doca_flow_header_eth eth;
	uint16_t l2_valid_headers;
	struct doca_flow_header_eth_vlan eth_vlan[DOCA_FLOW_VLAN_MAX];
};

/* Packet modifications. At pipe creation a field set to a value is a
 * constant of the pipe, a field set to all ones is "changeable" (taken from
 * each entry's actions). Decap runs first, then header rewrites (outer/tun
 * here name the headers after decap), then encap. */
struct doca_flow_actions {
	uint8_t action_idx; /* which of the pipe's actions arrays (set_actions) */
	uint32_t flags;
	enum doca_flow_resource_type decap_type;
	union {
		struct doca_flow_resource_decap_cfg decap_cfg;
		uint32_t shared_decap_id;
	};
	bool pop;
	struct doca_flow_meta meta;
	struct doca_flow_parser_meta parser_meta;
	struct doca_flow_header_format outer;
	struct doca_flow_tun tun;
	enum doca_flow_resource_type encap_type;
	union {
		struct doca_flow_resource_encap_cfg encap_cfg;
		uint32_t shared_encap_id;
	};
	bool has_push;
	struct doca_flow_push_action push;
	struct doca_flow_nat64_action nat64;
	/* The SDK continues with crypto members (has_crypto_encap,
	 * crypto_encap, crypto); not declared here. */
};

/* Copy/add descriptors, for actions a plain doca_flow_actions cannot say. */
enum doca_flow_action_type {
	DOCA_FLOW_ACTION_AUTO = 0, /* derived from the pipe's actions */
	DOCA_FLOW_ACTION_ADD,
	DOCA_FLOW_ACTION_COPY,
};

struct doca_flow_action_desc {
	enum doca_flow_action_type type;
	union {
		struct {
			struct doca_flow_desc_field src;
			struct doca_flow_desc_field dst;
			uint32_t width; /* bits */
		} field_op;
	};
};

struct doca_flow_action_descs {
	uint8_t nb_action_desc;
	struct doca_flow_action_desc *desc_array;
};

/* ------------------------------------------------------------ forward */

enum doca_flow_target_type {
	DOCA_FLOW_TARGET_KERNEL,
};

enum doca_flow_fwd_type {
	DOCA_FLOW_FWD_NONE = 0,
	DOCA_FLOW_FWD_RSS,		/* to software queues of the port */
	DOCA_FLOW_FWD_PORT,		/* out of a port (by DPDK port id) */
	DOCA_FLOW_FWD_PIPE,		/* continue in next_pipe */
	DOCA_FLOW_FWD_DROP,
	DOCA_FLOW_FWD_TARGET,		/* to a doca_flow_target */
	DOCA_FLOW_FWD_ORDERED_LIST_PIPE,
	DOCA_FLOW_FWD_CHANGEABLE,	/* pipe-level only: each entry sets it */
};

/* Bits of rss_outer_flags / rss_inner_flags. */
enum doca_rss_type {
	DOCA_FLOW_RSS_IPV4 = (1 << 0),
	DOCA_FLOW_RSS_IPV6 = (1 << 1),
	DOCA_FLOW_RSS_UDP = (1 << 2),
	DOCA_FLOW_RSS_TCP = (1 << 3),
	DOCA_FLOW_RSS_ESP = (1 << 4),
};

/* Where matched packets go. `type` selects the member of the anonymous
 * union: rss struct (anon 1), port (anon 2), next pipe (anon 3), the named
 * ordered_list_pipe, target (anon 4). */
struct doca_flow_fwd {
	enum doca_flow_fwd_type type;
	union {
		struct {
			uint32_t rss_outer_flags;
			uint32_t rss_inner_flags;
			uint16_t *rss_queues;
			int num_of_queues;
			uint32_t shared_rss_id;
			enum doca_flow_rss_hash_function rss_hash_func;
		};
		struct {
			uint16_t port_id;
		};
		struct {
			struct doca_flow_pipe *next_pipe;
		};
		struct {
			struct doca_flow_pipe *pipe;
			uint32_t idx;
		} ordered_list_pipe;
		struct {
			struct doca_flow_target *target;
		};
	};
};

/* ------------------------------------------------------------ monitor */

enum doca_flow_meter_algorithm_type {
	DOCA_FLOW_METER_ALGORITHM_TYPE_RFC2697,
	DOCA_FLOW_METER_ALGORITHM_TYPE_RFC2698,
	DOCA_FLOW_METER_ALGORITHM_TYPE_RFC4115,
};

enum doca_flow_meter_limit_type {
	DOCA_FLOW_METER_LIMIT_TYPE_BYTES = 0,
	DOCA_FLOW_METER_LIMIT_TYPE_PACKETS,
};

enum doca_flow_meter_color_mode {
	DOCA_FLOW_METER_COLOR_MODE_BLIND = 0,
	DOCA_FLOW_METER_COLOR_MODE_AWARE,
};

/* Counting, policing and aging of the matched packets. A pipe's monitor
 * says which of these the pipe's entries have; per-entry values (meter
 * rates, aging time) come from each entry's monitor. */
struct doca_flow_monitor {
	enum doca_flow_resource_type meter_type;
	union {
		struct {
			enum doca_flow_meter_limit_type limit_type;
			uint64_t cir; /* committed rate, bytes (or packets) per second */
			uint64_t cbs; /* committed burst, bytes (or packets) */
		} non_shared_meter;
		struct {
			uint32_t shared_meter_id;
			enum doca_flow_meter_color meter_init_color;
		} shared_meter;
	};

	enum doca_flow_resource_type counter_type;
	union {
		struct {
			uint32_t shared_counter_id;
		} shared_counter;
	};

	uint32_t shared_mirror_id;

	uint32_t aging_sec; /* 0: no aging */
};

/* ------------------------------------------------------------ queries */

/* Counter snapshot of one entry (doca_flow_query_entry) or of a pipe's
 * misses (doca_flow_query_pipe_miss). */
struct doca_flow_query {
	uint64_t total_bytes;
	uint64_t total_pkts;
};

/* ------------------------------------------------------------ GENEVE TLV */

enum doca_flow_parser_geneve_opt_mode {
	DOCA_FLOW_PARSER_GENEVE_OPT_MODE_IGNORE,    /* class not part of the key */
	DOCA_FLOW_PARSER_GENEVE_OPT_MODE_FIXED,	    /* class fixed by this cfg */
	DOCA_FLOW_PARSER_GENEVE_OPT_MODE_MATCHABLE, /* class matched per entry */
};

/* One GENEVE option the hardware parser should extract. */
struct doca_flow_parser_geneve_opt_cfg {
	enum doca_flow_parser_geneve_opt_mode match_on_class_mode;
	doca_be16_t option_class;
	uint8_t option_type;
	uint8_t option_len; /* data length in 4-byte words */
	doca_be32_t data_mask[DOCA_FLOW_GENEVE_DATA_OPTION_LEN_MAX];
};

/* ============================================================ functions */

/* ---- global configuration and lifetime ---- */

DOCA_EXPERIMENTAL
doca_error_t doca_flow_cfg_create(struct doca_flow_cfg **cfg);

DOCA_EXPERIMENTAL
doca_error_t doca_flow_cfg_destroy(struct doca_flow_cfg *cfg);

/* Number of pipe queues (one per thread that adds/removes entries). */
DOCA_EXPERIMENTAL
doca_error_t doca_flow_cfg_set_pipe_queues(struct doca_flow_cfg *cfg, uint16_t pipe_queues);

/* Per-port pools of non-shared counters and meters. */
DOCA_EXPERIMENTAL
doca_error_t doca_flow_cfg_set_nr_counters(struct doca_flow_cfg *cfg, uint32_t nr_counters);

DOCA_EXPERIMENTAL
doca_error_t doca_flow_cfg_set_nr_meters(struct doca_flow_cfg *cfg, uint32_t nr_meters);

DOCA_EXPERIMENTAL
doca_error_t doca_flow_cfg_set_nr_acl_collisions(struct doca_flow_cfg *cfg, uint8_t nr_acl_collisions);

/* Comma-separated mode string, e.g. "vnf,hws" or "switch,hws". */
DOCA_EXPERIMENTAL
doca_error_t doca_flow_cfg_set_mode_args(struct doca_flow_cfg *cfg, const char *mode_args);

DOCA_EXPERIMENTAL
doca_error_t doca_flow_cfg_set_nr_shared_resource(struct doca_flow_cfg *cfg,
						  uint32_t nr_shared_resource,
						  enum doca_flow_shared_resource_type type);

/* Depth of each pipe queue (outstanding operations). */
DOCA_EXPERIMENTAL
doca_error_t doca_flow_cfg_set_queue_depth(struct doca_flow_cfg *cfg, uint32_t queue_depth);

DOCA_EXPERIMENTAL
doca_error_t doca_flow_cfg_set_cb_pipe_process(struct doca_flow_cfg *cfg, doca_flow_pipe_process_cb cb);

DOCA_EXPERIMENTAL
doca_error_t doca_flow_cfg_set_cb_entry_process(struct doca_flow_cfg *cfg, doca_flow_entry_process_cb cb);

DOCA_EXPERIMENTAL
doca_error_t doca_flow_cfg_set_cb_shared_resource_unbind(struct doca_flow_cfg *cfg,
							 doca_flow_shared_resource_unbind_cb cb);

DOCA_EXPERIMENTAL
doca_error_t doca_flow_cfg_set_rss_key(struct doca_flow_cfg *cfg, const uint8_t *rss_key, uint32_t rss_key_len);

DOCA_EXPERIMENTAL
doca_error_t doca_flow_cfg_set_default_rss(struct doca_flow_cfg *cfg, const struct doca_flow_resource_rss_cfg *rss);

/* Once per process, after rte_eal_init and before any port. */
DOCA_EXPERIMENTAL
doca_error_t doca_flow_init(struct doca_flow_cfg *cfg);

/* Once per process, after every port was stopped. */
DOCA_EXPERIMENTAL
void doca_flow_destroy(void);

/* ---- ports ---- */

DOCA_EXPERIMENTAL
doca_error_t doca_flow_port_cfg_create(struct doca_flow_port_cfg **cfg);

DOCA_EXPERIMENTAL
doca_error_t doca_flow_port_cfg_destroy(struct doca_flow_port_cfg *cfg);

/* Port selection string; for DPDK ports the decimal DPDK port id ("0"). */
DOCA_EXPERIMENTAL
doca_error_t doca_flow_port_cfg_set_devargs(struct doca_flow_port_cfg *cfg, const char *devargs);

DOCA_EXPERIMENTAL
doca_error_t doca_flow_port_cfg_set_priv_data_size(struct doca_flow_port_cfg *cfg, uint16_t priv_data_size);

/* The port's struct doca_dev (required in switch mode). */
DOCA_EXPERIMENTAL
doca_error_t doca_flow_port_cfg_set_dev(struct doca_flow_port_cfg *cfg, void *dev);

DOCA_EXPERIMENTAL
doca_error_t doca_flow_port_cfg_set_rss_cfg(struct doca_flow_port_cfg *cfg,
					    const struct doca_flow_resource_rss_cfg *rss_cfg);

/* The DPDK port must already be started (rte_eth_dev_start). */
DOCA_EXPERIMENTAL
doca_error_t doca_flow_port_start(const struct doca_flow_port_cfg *cfg, struct doca_flow_port **port);

DOCA_EXPERIMENTAL
doca_error_t doca_flow_port_stop(struct doca_flow_port *port);

/* Declare two ports as a hairpin pair (vnf mode). */
DOCA_EXPERIMENTAL
doca_error_t doca_flow_port_pair(struct doca_flow_port *port, struct doca_flow_port *pair_port);

DOCA_EXPERIMENTAL
uint8_t *doca_flow_port_priv_data(struct doca_flow_port *port);

/* The switch-manager port of `port` (switch mode); NULL: the first one. */
DOCA_EXPERIMENTAL
struct doca_flow_port *doca_flow_port_switch_get(const struct doca_flow_port *port);

/* Destroys every pipe (and entry) of the port. */
DOCA_EXPERIMENTAL
void doca_flow_port_pipes_flush(struct doca_flow_port *port);

DOCA_EXPERIMENTAL
void doca_flow_port_pipes_dump(struct doca_flow_port *port, FILE *f);

/* ---- pipes ---- */

DOCA_EXPERIMENTAL
doca_error_t doca_flow_pipe_cfg_create(struct doca_flow_pipe_cfg **cfg, struct doca_flow_port *port);

DOCA_EXPERIMENTAL
doca_error_t doca_flow_pipe_cfg_destroy(struct doca_flow_pipe_cfg *cfg);

/* match: values/placeholders; match_mask: NULL for "exact on what is set". */
DOCA_EXPERIMENTAL
doca_error_t doca_flow_pipe_cfg_set_match(struct doca_flow_pipe_cfg *cfg,
					  const struct doca_flow_match *match,
					  const struct doca_flow_match *match_mask);

/* nr_actions arrays of actions (an entry picks one with action_idx);
 * actions_masks and action_descs may be NULL. */
DOCA_EXPERIMENTAL
doca_error_t doca_flow_pipe_cfg_set_actions(struct doca_flow_pipe_cfg *cfg,
					    struct doca_flow_actions *const *actions,
					    struct doca_flow_actions *const *actions_masks,
					    struct doca_flow_action_descs *const *action_descs,
					    size_t nr_actions);

DOCA_EXPERIMENTAL
doca_error_t doca_flow_pipe_cfg_set_monitor(struct doca_flow_pipe_cfg *cfg, const struct doca_flow_monitor *monitor);

DOCA_EXPERIMENTAL
doca_error_t doca_flow_pipe_cfg_set_name(struct doca_flow_pipe_cfg *cfg, const char *name);

DOCA_EXPERIMENTAL
doca_error_t doca_flow_pipe_cfg_set_type(struct doca_flow_pipe_cfg *cfg, enum doca_flow_pipe_type type);

DOCA_EXPERIMENTAL
doca_error_t doca_flow_pipe_cfg_set_domain(struct doca_flow_pipe_cfg *cfg, enum doca_flow_pipe_domain domain);

/* A root pipe sees packets first, as they arrive on the port. */
DOCA_EXPERIMENTAL
doca_error_t doca_flow_pipe_cfg_set_is_root(struct doca_flow_pipe_cfg *cfg, bool is_root);

/* Capacity of the pipe (default 8k entries). */
DOCA_EXPERIMENTAL
doca_error_t doca_flow_pipe_cfg_set_nr_entries(struct doca_flow_pipe_cfg *cfg, uint32_t nr_entries);

DOCA_EXPERIMENTAL
doca_error_t doca_flow_pipe_cfg_set_is_resizable(struct doca_flow_pipe_cfg *cfg, bool is_resizable);

DOCA_EXPERIMENTAL
doca_error_t doca_flow_pipe_cfg_set_enable_strict_matching(struct doca_flow_pipe_cfg *cfg, bool enable_strict_matching);

/* Count the packets that miss every entry (doca_flow_query_pipe_miss). */
DOCA_EXPERIMENTAL
doca_error_t doca_flow_pipe_cfg_set_miss_counter(struct doca_flow_pipe_cfg *cfg, bool miss_counter);

DOCA_EXPERIMENTAL
doca_error_t doca_flow_pipe_cfg_set_congestion_level_threshold(struct doca_flow_pipe_cfg *cfg,
							       uint8_t congestion_level_threshold);

DOCA_EXPERIMENTAL
doca_error_t doca_flow_pipe_cfg_set_user_ctx(struct doca_flow_pipe_cfg *cfg, void *user_ctx);

/* fwd: the pipe's destination (NULL or FWD_CHANGEABLE: per entry);
 * fwd_miss: where packets matching no entry go (NULL: next table/default). */
DOCA_EXPERIMENTAL
doca_error_t doca_flow_pipe_create(const struct doca_flow_pipe_cfg *cfg,
				   const struct doca_flow_fwd *fwd,
				   const struct doca_flow_fwd *fwd_miss,
				   struct doca_flow_pipe **pipe);

DOCA_EXPERIMENTAL
doca_error_t doca_flow_pipe_update_miss(struct doca_flow_pipe *pipe, const struct doca_flow_fwd *fwd_miss);

/* Destroys the pipe and all its entries. */
DOCA_EXPERIMENTAL
void doca_flow_pipe_destroy(struct doca_flow_pipe *pipe);

DOCA_EXPERIMENTAL
void doca_flow_pipe_dump(struct doca_flow_pipe *pipe, FILE *f);

/* ---- entries ---- */

/*
 * Adds one entry to a BASIC pipe (DOCA 3.2 renamed this to
 * doca_flow_pipe_basic_add_entry with an explicit action_idx argument; in
 * 2.x the index travels in actions->action_idx). actions, monitor and fwd
 * may be NULL when the pipe fixed them. flags: enum doca_flow_flags_type.
 * usr_ctx comes back in the entry process callback. The entry is only in
 * hardware after doca_flow_entries_process() on the same pipe_queue.
 */
DOCA_EXPERIMENTAL
doca_error_t doca_flow_pipe_add_entry(uint16_t pipe_queue,
				      struct doca_flow_pipe *pipe,
				      const struct doca_flow_match *match,
				      const struct doca_flow_actions *actions,
				      const struct doca_flow_monitor *monitor,
				      const struct doca_flow_fwd *fwd,
				      uint32_t flags,
				      void *usr_ctx,
				      struct doca_flow_pipe_entry **entry);

DOCA_EXPERIMENTAL
doca_error_t doca_flow_pipe_update_entry(uint16_t pipe_queue,
					 struct doca_flow_pipe *pipe,
					 const struct doca_flow_actions *actions,
					 const struct doca_flow_monitor *monitor,
					 const struct doca_flow_fwd *fwd,
					 const enum doca_flow_flags_type flags,
					 struct doca_flow_pipe_entry *entry);

/* Adds one entry to a CONTROL pipe: its own match mask and priority
 * (lower value first), actions and fwd. */
DOCA_EXPERIMENTAL
doca_error_t doca_flow_pipe_control_add_entry(uint16_t pipe_queue,
					      uint32_t priority,
					      struct doca_flow_pipe *pipe,
					      const struct doca_flow_match *match,
					      const struct doca_flow_match *match_mask,
					      const struct doca_flow_match_condition *condition,
					      const struct doca_flow_actions *actions,
					      const struct doca_flow_actions *actions_mask,
					      const struct doca_flow_action_descs *action_descs,
					      const struct doca_flow_monitor *monitor,
					      const struct doca_flow_fwd *fwd,
					      void *usr_ctx,
					      struct doca_flow_pipe_entry **entry);

/* Removes an entry (completion reported through the entry callback). */
DOCA_EXPERIMENTAL
doca_error_t doca_flow_pipe_rm_entry(uint16_t pipe_queue, uint32_t flags, struct doca_flow_pipe_entry *entry);

/*
 * Pushes the queued operations of pipe_queue to hardware and polls their
 * completions (calling the entry process callback). timeout in
 * microseconds (0: one pass); max_processed_entries 0: until timeout.
 */
DOCA_EXPERIMENTAL
doca_error_t doca_flow_entries_process(struct doca_flow_port *port,
				       uint16_t pipe_queue,
				       uint64_t timeout,
				       uint32_t max_processed_entries);

DOCA_EXPERIMENTAL
enum doca_flow_entry_status doca_flow_pipe_entry_get_status(struct doca_flow_pipe_entry *entry);

/* ---- queries and aging ---- */

/* Counters of an entry whose pipe has a counter (monitor.counter_type). */
DOCA_EXPERIMENTAL
doca_error_t doca_flow_query_entry(struct doca_flow_pipe_entry *entry, struct doca_flow_query *query_stats);

DOCA_EXPERIMENTAL
doca_error_t doca_flow_query_pipe_miss(struct doca_flow_pipe *pipe, struct doca_flow_query *query_stats);

/*
 * Reports aged entries (monitor.aging_sec) of one queue through the entry
 * process callback (op DOCA_FLOW_ENTRY_OP_AGED); the application then
 * removes them. quota: time budget in microseconds (0: none); max_entries
 * 0: no limit. Returns the number of aged entries found, 0 if none, -1 once
 * a full pass over the port is done.
 */
DOCA_EXPERIMENTAL
int doca_flow_aging_handle(struct doca_flow_port *port, uint16_t queue, uint64_t quota, uint64_t max_entries);

/* ---- GENEVE options ---- */

/* Must be called before creating a pipe that matches GENEVE options. */
DOCA_EXPERIMENTAL
doca_error_t doca_flow_parser_geneve_opt_create(const struct doca_flow_port *port,
						const struct doca_flow_parser_geneve_opt_cfg tlv_list[],
						uint8_t nb_options,
						struct doca_flow_parser **parser);

DOCA_EXPERIMENTAL
doca_error_t doca_flow_parser_geneve_opt_destroy(struct doca_flow_parser *parser);

/* ---- targets ---- */

DOCA_EXPERIMENTAL
doca_error_t doca_flow_get_target(enum doca_flow_target_type type, struct doca_flow_target **target);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* DOCA_FLOW_H_ */
