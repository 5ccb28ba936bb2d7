/* SPDX-License-Identifier: Apache-2.0
 * rte_flow recorder: canonical text dump of rte_flow rules (see recorder.h
 * and README.md). Built by sys/build.rs (feature `testing`) twice:
 *  - as a static library linked into dpuflow-sys, for dpuflow_recorder_dump*;
 *  - with -DDPUFLOW_RECORDER_PRELOAD as a shared object for LD_PRELOAD into
 *    dpdk-testpmd, where it replaces the rte_flow entry points, appends every
 *    rule testpmd's parser built to $DPUFLOW_RECORDER_OUT and reports
 *    success without touching any PMD.
 *
 * The dump never prints pointer values, and never prints padding bytes:
 * structures with padding or pointers are printed field by field, the others
 * as hex of their bytes.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_flow.h>

#include "testing/recorder.h"

/* Guard against arrays that lack their END element. */
#define MAX_ELEMS 512
/* Largest GENEVE option: 5-bit length in 4-byte words. */
#define GENEVE_OPT_MAX_WORDS 31
/* Sanity cap for variable-length data (raw encap, raw item pattern, RSS). */
#define MAX_BLOB 65536

struct out {
	char *buf;
	size_t len;
	size_t pos; /* bytes needed so far (may exceed len) */
};

static void __attribute__((format(printf, 2, 3)))
put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	char *dst = NULL;
	size_t room = 0;
	int n;

	if (o->pos < o->len) {
		dst = o->buf + o->pos;
		room = o->len - o->pos;
	}
	va_start(ap, fmt);
	n = vsnprintf(dst, room, fmt, ap);
	va_end(ap);
	if (n > 0)
		o->pos += (size_t)n;
}

static void
put_hex(struct out *o, const void *p, size_t n)
{
	const uint8_t *b = p;
	size_t i;

	if (p == NULL) {
		put(o, "-");
		return;
	}
	if (n == 0) {
		put(o, "\"\"");
		return;
	}
	for (i = 0; i < n; i++)
		put(o, "%02x", b[i]);
}

/* Lower-case name from DPDK's own tables, or NULL for unknown types. */
static const char *
type_name(int is_action, int type, char *tmp, size_t tmplen)
{
	const char *name = NULL;
	struct rte_flow_error err;
	size_t i;
	int ret;

	ret = rte_flow_conv(is_action ? RTE_FLOW_CONV_OP_ACTION_NAME_PTR :
					RTE_FLOW_CONV_OP_ITEM_NAME_PTR,
			    &name, sizeof(name), (void *)(uintptr_t)type, &err);
	if (ret < 0 || name == NULL)
		return NULL;
	for (i = 0; i + 1 < tmplen && name[i] != '\0'; i++)
		tmp[i] = (char)tolower((unsigned char)name[i]);
	tmp[i] = '\0';
	return tmp;
}

/* ---------------------------------------------------------------- items */

/* Size of item structures printed as plain hex (no padding, no pointers);
 * 0 for types printed otherwise or not supported. */
static size_t
item_plain_size(enum rte_flow_item_type type)
{
	switch (type) {
	case RTE_FLOW_ITEM_TYPE_ANY:
		return sizeof(struct rte_flow_item_any);
	case RTE_FLOW_ITEM_TYPE_PORT_ID:
		return sizeof(struct rte_flow_item_port_id);
	case RTE_FLOW_ITEM_TYPE_VLAN:
		return sizeof(struct rte_flow_item_vlan);
	case RTE_FLOW_ITEM_TYPE_IPV4:
		return sizeof(struct rte_flow_item_ipv4);
	case RTE_FLOW_ITEM_TYPE_IPV6:
		return sizeof(struct rte_flow_item_ipv6);
	case RTE_FLOW_ITEM_TYPE_ICMP:
		return sizeof(struct rte_flow_item_icmp);
	case RTE_FLOW_ITEM_TYPE_UDP:
		return sizeof(struct rte_flow_item_udp);
	case RTE_FLOW_ITEM_TYPE_TCP:
		return sizeof(struct rte_flow_item_tcp);
	case RTE_FLOW_ITEM_TYPE_SCTP:
		return sizeof(struct rte_flow_item_sctp);
	case RTE_FLOW_ITEM_TYPE_VXLAN:
		return sizeof(struct rte_flow_item_vxlan);
	case RTE_FLOW_ITEM_TYPE_VXLAN_GPE:
		return sizeof(struct rte_flow_item_vxlan_gpe);
	case RTE_FLOW_ITEM_TYPE_NVGRE:
		return sizeof(struct rte_flow_item_nvgre);
	case RTE_FLOW_ITEM_TYPE_MPLS:
		return sizeof(struct rte_flow_item_mpls);
	case RTE_FLOW_ITEM_TYPE_GRE:
		return sizeof(struct rte_flow_item_gre);
	case RTE_FLOW_ITEM_TYPE_GRE_KEY:
		return sizeof(rte_be32_t);
	case RTE_FLOW_ITEM_TYPE_GENEVE:
		return sizeof(struct rte_flow_item_geneve);
	case RTE_FLOW_ITEM_TYPE_ICMP6:
		return sizeof(struct rte_flow_item_icmp6);
	case RTE_FLOW_ITEM_TYPE_META:
		return sizeof(struct rte_flow_item_meta);
	case RTE_FLOW_ITEM_TYPE_MARK:
		return sizeof(struct rte_flow_item_mark);
	case RTE_FLOW_ITEM_TYPE_PORT_REPRESENTOR:
	case RTE_FLOW_ITEM_TYPE_REPRESENTED_PORT:
		return sizeof(struct rte_flow_item_ethdev);
	default:
		return 0;
	}
}

static int
item_supported(enum rte_flow_item_type type)
{
	switch (type) {
	case RTE_FLOW_ITEM_TYPE_ETH:
	case RTE_FLOW_ITEM_TYPE_TAG:
	case RTE_FLOW_ITEM_TYPE_GENEVE_OPT:
	case RTE_FLOW_ITEM_TYPE_RAW:
		return 1;
	default:
		return item_plain_size(type) != 0;
	}
}

/* Print one of spec/last/mask. `spec` gives lengths of variable data
 * (GENEVE option data, raw pattern) for all three, as PMDs read them. */
static void
put_item_obj(struct out *o, enum rte_flow_item_type type, const void *obj,
	     const void *spec)
{
	if (obj == NULL) {
		put(o, "-");
		return;
	}
	if (spec == NULL)
		spec = obj;
	switch (type) {
	case RTE_FLOW_ITEM_TYPE_ETH: {
		/* 14-byte header, 2 padding bytes, then a bitfield word. */
		const struct rte_flow_item_eth *e = obj;

		put_hex(o, &e->hdr, sizeof(e->hdr));
		put(o, ",has_vlan=%u,reserved=%u", (unsigned int)e->has_vlan,
		    (unsigned int)e->reserved);
		return;
	}
	case RTE_FLOW_ITEM_TYPE_TAG: {
		const struct rte_flow_item_tag *t = obj;

		put(o, "data=0x%08x,index=%u", t->data,
		    (unsigned int)t->index);
		return;
	}
	case RTE_FLOW_ITEM_TYPE_GENEVE_OPT: {
		const struct rte_flow_item_geneve_opt *g = obj;
		const struct rte_flow_item_geneve_opt *s = spec;
		size_t words = s->option_len;

		if (words > GENEVE_OPT_MAX_WORDS)
			words = GENEVE_OPT_MAX_WORDS;
		put(o, "class=");
		put_hex(o, &g->option_class, sizeof(g->option_class));
		put(o, ",type=0x%02x,len=%u,data=", g->option_type,
		    (unsigned int)g->option_len);
		put_hex(o, g->data, words * 4);
		return;
	}
	case RTE_FLOW_ITEM_TYPE_RAW: {
		const struct rte_flow_item_raw *r = obj;
		const struct rte_flow_item_raw *s = spec;
		size_t n = s->length;

		if (n > MAX_BLOB)
			n = MAX_BLOB;
		put(o, "relative=%u,search=%u,reserved=%u,offset=%d,limit=%u,"
		    "length=%u,pattern=", (unsigned int)r->relative,
		    (unsigned int)r->search, (unsigned int)r->reserved,
		    r->offset, (unsigned int)r->limit,
		    (unsigned int)r->length);
		put_hex(o, r->pattern, n);
		return;
	}
	default:
		put_hex(o, obj, item_plain_size(type));
		return;
	}
}

/* Prints `<prefix> <name> spec=.. last=.. mask=..` lines up to END. */
static void
put_items(struct out *o, const char *prefix,
	  const struct rte_flow_item *item)
{
	char tmp[64];
	unsigned int i;

	for (i = 0; i < MAX_ELEMS; i++, item++) {
		enum rte_flow_item_type type = item->type;
		const char *name = type_name(0, (int)type, tmp, sizeof(tmp));

		if (name == NULL)
			put(o, "%s type=%d unsupported\n", prefix, (int)type);
		else if (type == RTE_FLOW_ITEM_TYPE_END ||
			 type == RTE_FLOW_ITEM_TYPE_VOID)
			put(o, "%s %s\n", prefix, name);
		else if (!item_supported(type))
			put(o, "%s %s unsupported\n", prefix, name);
		else {
			put(o, "%s %s spec=", prefix, name);
			put_item_obj(o, type, item->spec, item->spec);
			put(o, " last=");
			put_item_obj(o, type, item->last, item->spec);
			put(o, " mask=");
			put_item_obj(o, type, item->mask, item->spec);
			put(o, "\n");
		}
		if (type == RTE_FLOW_ITEM_TYPE_END)
			return;
	}
	put(o, "%s missing-end\n", prefix);
}

/* -------------------------------------------------------------- actions */

/* Size of action confs printed as plain hex (no padding, no pointers);
 * 0 for the others. */
static size_t
action_plain_size(enum rte_flow_action_type type)
{
	switch (type) {
	case RTE_FLOW_ACTION_TYPE_JUMP:
		return sizeof(struct rte_flow_action_jump);
	case RTE_FLOW_ACTION_TYPE_MARK:
		return sizeof(struct rte_flow_action_mark);
	case RTE_FLOW_ACTION_TYPE_QUEUE:
		return sizeof(struct rte_flow_action_queue);
	case RTE_FLOW_ACTION_TYPE_COUNT:
		return sizeof(struct rte_flow_action_count);
	case RTE_FLOW_ACTION_TYPE_VF:
		return sizeof(struct rte_flow_action_vf);
	case RTE_FLOW_ACTION_TYPE_PORT_ID:
		return sizeof(struct rte_flow_action_port_id);
	case RTE_FLOW_ACTION_TYPE_METER:
		return sizeof(struct rte_flow_action_meter);
	case RTE_FLOW_ACTION_TYPE_OF_PUSH_VLAN:
		return sizeof(struct rte_flow_action_of_push_vlan);
	case RTE_FLOW_ACTION_TYPE_OF_SET_VLAN_VID:
		return sizeof(struct rte_flow_action_of_set_vlan_vid);
	case RTE_FLOW_ACTION_TYPE_OF_SET_VLAN_PCP:
		return sizeof(struct rte_flow_action_of_set_vlan_pcp);
	case RTE_FLOW_ACTION_TYPE_OF_POP_MPLS:
		return sizeof(struct rte_flow_action_of_pop_mpls);
	case RTE_FLOW_ACTION_TYPE_OF_PUSH_MPLS:
		return sizeof(struct rte_flow_action_of_push_mpls);
	case RTE_FLOW_ACTION_TYPE_SET_IPV4_SRC:
	case RTE_FLOW_ACTION_TYPE_SET_IPV4_DST:
		return sizeof(struct rte_flow_action_set_ipv4);
	case RTE_FLOW_ACTION_TYPE_SET_IPV6_SRC:
	case RTE_FLOW_ACTION_TYPE_SET_IPV6_DST:
		return sizeof(struct rte_flow_action_set_ipv6);
	case RTE_FLOW_ACTION_TYPE_SET_TP_SRC:
	case RTE_FLOW_ACTION_TYPE_SET_TP_DST:
		return sizeof(struct rte_flow_action_set_tp);
	case RTE_FLOW_ACTION_TYPE_SET_TTL:
		return sizeof(struct rte_flow_action_set_ttl);
	case RTE_FLOW_ACTION_TYPE_SET_MAC_SRC:
	case RTE_FLOW_ACTION_TYPE_SET_MAC_DST:
		return sizeof(struct rte_flow_action_set_mac);
	case RTE_FLOW_ACTION_TYPE_INC_TCP_SEQ:
	case RTE_FLOW_ACTION_TYPE_DEC_TCP_SEQ:
	case RTE_FLOW_ACTION_TYPE_INC_TCP_ACK:
	case RTE_FLOW_ACTION_TYPE_DEC_TCP_ACK:
		return sizeof(rte_be32_t);
	case RTE_FLOW_ACTION_TYPE_SET_META:
		return sizeof(struct rte_flow_action_set_meta);
	case RTE_FLOW_ACTION_TYPE_SET_IPV4_DSCP:
	case RTE_FLOW_ACTION_TYPE_SET_IPV6_DSCP:
		return sizeof(struct rte_flow_action_set_dscp);
	case RTE_FLOW_ACTION_TYPE_PORT_REPRESENTOR:
	case RTE_FLOW_ACTION_TYPE_REPRESENTED_PORT:
		return sizeof(struct rte_flow_action_ethdev);
	default:
		return 0;
	}
}

/* Actions that take no configuration. */
static int
action_no_conf(enum rte_flow_action_type type)
{
	switch (type) {
	case RTE_FLOW_ACTION_TYPE_END:
	case RTE_FLOW_ACTION_TYPE_VOID:
	case RTE_FLOW_ACTION_TYPE_PASSTHRU:
	case RTE_FLOW_ACTION_TYPE_FLAG:
	case RTE_FLOW_ACTION_TYPE_DROP:
	case RTE_FLOW_ACTION_TYPE_PF:
	case RTE_FLOW_ACTION_TYPE_OF_DEC_NW_TTL:
	case RTE_FLOW_ACTION_TYPE_OF_POP_VLAN:
	case RTE_FLOW_ACTION_TYPE_VXLAN_DECAP:
	case RTE_FLOW_ACTION_TYPE_NVGRE_DECAP:
	case RTE_FLOW_ACTION_TYPE_MAC_SWAP:
	case RTE_FLOW_ACTION_TYPE_DEC_TTL:
		return 1;
	default:
		return 0;
	}
}

static void
put_rss(struct out *o, const struct rte_flow_action_rss *r)
{
	unsigned int i, n = r->queue_num;

	put(o, " func=%d level=%u types=0x%016llx key_len=%u key=", (int)r->func,
	    r->level, (unsigned long long)r->types, r->key_len);
	put_hex(o, r->key, r->key_len > MAX_BLOB ? MAX_BLOB : r->key_len);
	put(o, " queue_num=%u queues=", n);
	if (r->queue == NULL) {
		put(o, "-");
		return;
	}
	if (n > MAX_BLOB)
		n = MAX_BLOB;
	if (n == 0)
		put(o, "\"\"");
	for (i = 0; i < n; i++)
		put(o, i ? ",%u" : "%u", (unsigned int)r->queue[i]);
}

/* Prints `<prefix> <name> <conf>` lines up to END. */
static void
put_actions(struct out *o, const char *prefix,
	    const struct rte_flow_action *action)
{
	char tmp[64];
	unsigned int i;

	for (i = 0; i < MAX_ELEMS; i++, action++) {
		enum rte_flow_action_type type = action->type;
		const char *name = type_name(1, (int)type, tmp, sizeof(tmp));
		const void *conf = action->conf;
		size_t plain = action_plain_size(type);

		if (name == NULL) {
			put(o, "%s type=%d unsupported\n", prefix, (int)type);
			if (type == RTE_FLOW_ACTION_TYPE_END)
				return;
			continue;
		}
		put(o, "%s %s", prefix, name);
		if (action_no_conf(type)) {
			if (conf != NULL)
				put(o, " conf=set");
		} else if (plain != 0) {
			put(o, " conf=");
			put_hex(o, conf, plain);
		} else if (conf == NULL &&
			   (type == RTE_FLOW_ACTION_TYPE_RSS ||
			    type == RTE_FLOW_ACTION_TYPE_RAW_ENCAP ||
			    type == RTE_FLOW_ACTION_TYPE_RAW_DECAP ||
			    type == RTE_FLOW_ACTION_TYPE_SET_TAG ||
			    type == RTE_FLOW_ACTION_TYPE_AGE ||
			    type == RTE_FLOW_ACTION_TYPE_VXLAN_ENCAP ||
			    type == RTE_FLOW_ACTION_TYPE_NVGRE_ENCAP)) {
			put(o, " conf=-");
		} else {
			switch (type) {
			case RTE_FLOW_ACTION_TYPE_RSS:
				put_rss(o, conf);
				break;
			case RTE_FLOW_ACTION_TYPE_RAW_ENCAP: {
				const struct rte_flow_action_raw_encap *e = conf;
				size_t n = e->size > MAX_BLOB ? MAX_BLOB : e->size;

				put(o, " size=%zu data=", e->size);
				put_hex(o, e->data, n);
				put(o, " preserve=");
				put_hex(o, e->preserve, n);
				break;
			}
			case RTE_FLOW_ACTION_TYPE_RAW_DECAP: {
				const struct rte_flow_action_raw_decap *d = conf;
				size_t n = d->size > MAX_BLOB ? MAX_BLOB : d->size;

				put(o, " size=%zu data=", d->size);
				put_hex(o, d->data, n);
				break;
			}
			case RTE_FLOW_ACTION_TYPE_SET_TAG: {
				const struct rte_flow_action_set_tag *t = conf;

				put(o, " data=0x%08x mask=0x%08x index=%u",
				    t->data, t->mask, (unsigned int)t->index);
				break;
			}
			case RTE_FLOW_ACTION_TYPE_AGE: {
				const struct rte_flow_action_age *a = conf;

				put(o, " timeout=%u reserved=%u context=%s",
				    (unsigned int)a->timeout,
				    (unsigned int)a->reserved,
				    a->context ? "set" : "null");
				break;
			}
			case RTE_FLOW_ACTION_TYPE_VXLAN_ENCAP:
			case RTE_FLOW_ACTION_TYPE_NVGRE_ENCAP: {
				/* Same layout: one pointer to an item list. */
				const struct rte_flow_action_vxlan_encap *v = conf;

				if (v->definition == NULL) {
					put(o, " definition=-\n");
				} else {
					put(o, " definition:\n");
					put_items(o, "  def", v->definition);
				}
				continue;
			}
			default:
				put(o, " unsupported");
				break;
			}
		}
		put(o, "\n");
		if (type == RTE_FLOW_ACTION_TYPE_END)
			return;
	}
	put(o, "%s missing-end\n", prefix);
}

/* --------------------------------------------------------------- public */

static int
finish(struct out *o)
{
	if (o->len > 0 && o->buf != NULL)
		o->buf[o->pos < o->len ? o->pos : o->len - 1] = '\0';
	return o->pos > INT32_MAX ? INT32_MAX : (int)o->pos;
}

int
dpuflow_recorder_dump(const struct rte_flow_attr *attr,
		      const struct rte_flow_item *pattern,
		      const struct rte_flow_action *actions,
		      char *buf, size_t len)
{
	struct out o = { .buf = buf, .len = buf ? len : 0, .pos = 0 };

	if (attr != NULL)
		put(&o, "attr group=%u priority=%u ingress=%u egress=%u "
		    "transfer=%u reserved=%u\n", attr->group, attr->priority,
		    (unsigned int)attr->ingress, (unsigned int)attr->egress,
		    (unsigned int)attr->transfer,
		    (unsigned int)attr->reserved);
	if (pattern != NULL)
		put_items(&o, "item", pattern);
	if (actions != NULL)
		put_actions(&o, "action", actions);
	return finish(&o);
}

int
dpuflow_recorder_dump_pattern_template(
	const struct rte_flow_pattern_template_attr *attr,
	const struct rte_flow_item *pattern, char *buf, size_t len)
{
	struct out o = { .buf = buf, .len = buf ? len : 0, .pos = 0 };

	if (attr != NULL)
		put(&o, "pattern_template relaxed=%u ingress=%u egress=%u "
		    "transfer=%u\n", (unsigned int)attr->relaxed_matching,
		    (unsigned int)attr->ingress, (unsigned int)attr->egress,
		    (unsigned int)attr->transfer);
	if (pattern != NULL)
		put_items(&o, "item", pattern);
	return finish(&o);
}

int
dpuflow_recorder_dump_actions_template(
	const struct rte_flow_actions_template_attr *attr,
	const struct rte_flow_action *actions,
	const struct rte_flow_action *masks, char *buf, size_t len)
{
	struct out o = { .buf = buf, .len = buf ? len : 0, .pos = 0 };

	if (attr != NULL)
		put(&o, "actions_template ingress=%u egress=%u transfer=%u\n",
		    (unsigned int)attr->ingress, (unsigned int)attr->egress,
		    (unsigned int)attr->transfer);
	if (actions != NULL)
		put_actions(&o, "action", actions);
	if (masks != NULL)
		put_actions(&o, "mask", masks);
	return finish(&o);
}

#ifdef DPUFLOW_RECORDER_PRELOAD
/* ------------------------------------------------- LD_PRELOAD interposer
 *
 * Only the entry points that take a rule (or template) are recorded; the
 * others exist so testpmd sees success instead of the PMD's ENOTSUP. Each
 * record is `<op line>\n<dump>---\n`, appended to $DPUFLOW_RECORDER_OUT;
 * when it is unset nothing is dumped or written (calls are still accepted,
 * near-free, e.g. for benchmarks). testpmd runs rte_flow calls from its one
 * command thread, so no locking.
 *
 * Handles are not memory: a handle is its kind and id encoded in a pointer
 * value (never dereferenced), and a per-kind table says which ids are live,
 * so a destroy of a flow that was never installed (or already destroyed) is
 * refused and recorded instead of being a use-after-free.
 *
 * Fault injection (README.md): $DPUFLOW_RECORDER_FAIL and
 * $DPUFLOW_RECORDER_LATE. */

enum kind { K_FLOW, K_PATTERN_TEMPLATE, K_ACTIONS_TEMPLATE, K_TABLE, K_MAX };

struct live_table {
	uint8_t *live;   /* live[id]: 1 while the object exists */
	uint32_t *table; /* flows only: table id of an async flow, else 0 */
	uint16_t *port;  /* flows only: the port it was created on */
	uint32_t cap;
	uint32_t next;
};
static struct live_table objs[K_MAX];

/* 0 on allocation failure. */
static uint32_t
new_id(enum kind k, uint16_t port_id, uint32_t table_id)
{
	struct live_table *t = &objs[k];
	uint32_t id;

	if (t->next == 0)
		t->next = 1;
	id = t->next;
	if (id >= t->cap) {
		uint32_t cap = t->cap ? t->cap * 2 : 1024;
		uint8_t *live = realloc(t->live, cap);
		uint32_t *tab = realloc(t->table, cap * sizeof(*tab));
		uint16_t *ports = realloc(t->port, cap * sizeof(*ports));

		if (live != NULL)
			t->live = live;
		if (tab != NULL)
			t->table = tab;
		if (ports != NULL)
			t->port = ports;
		if (live == NULL || tab == NULL || ports == NULL)
			return 0;
		memset(t->live + t->cap, 0, cap - t->cap);
		memset(t->table + t->cap, 0, (cap - t->cap) * sizeof(*tab));
		memset(t->port + t->cap, 0, (cap - t->cap) * sizeof(*ports));
		t->cap = cap;
	}
	t->next++;
	t->live[id] = 1;
	t->table[id] = table_id;
	t->port[id] = port_id;
	return id;
}

static void *
handle_of(enum kind k, uint32_t id)
{
	return (void *)(uintptr_t)(((((uint64_t)k + 1) << 32) | id) << 4);
}

/* The id of handle `p` of kind `k`, or 0. */
static uint32_t
handle_id(const void *p, enum kind k)
{
	uint64_t v = (uint64_t)(uintptr_t)p;

	if (p == NULL || (v & 0xf) != 0 || ((v >> 36) != (uint64_t)k + 1))
		return 0;
	return (uint32_t)(v >> 4);
}

static int
is_live(enum kind k, uint32_t id)
{
	return id != 0 && id < objs[k].cap && objs[k].live[id];
}

static void
set_dead(enum kind k, uint32_t id)
{
	if (id != 0 && id < objs[k].cap)
		objs[k].live[id] = 0;
}

static void *
new_handle(enum kind k, uint16_t port_id, uint32_t table_id)
{
	uint32_t id = new_id(k, port_id, table_id);

	return id ? handle_of(k, id) : NULL;
}

/* ------------------------------------------------------ fault injection */

/* $DPUFLOW_RECORDER_FAIL: entries `<op>:<n>:<error>` separated by commas:
 * the n-th call (from 1) of <op> fails with <error>, an errno name or
 * number, or `status_error` (async_create / async_destroy: the call is
 * accepted and the operation completes with RTE_FLOW_OP_ERROR; pull: the
 * n-th result pull returns has RTE_FLOW_OP_ERROR). */
#define MAX_FAULTS 16
struct fault {
	char op[40];
	unsigned long nth;
	int err; /* errno, or 0 for status_error */
	char msg[96];
};
static struct fault faults[MAX_FAULTS];
static int nfaults = -1;

#define MAX_OPS 24
static struct {
	char op[40];
	unsigned long calls;
} counters[MAX_OPS];

static const struct {
	const char *name;
	int value;
} errnames[] = {
	{ "EPERM", EPERM }, { "ENOENT", ENOENT }, { "EIO", EIO },
	{ "E2BIG", E2BIG }, { "EAGAIN", EAGAIN }, { "ENOMEM", ENOMEM },
	{ "EBUSY", EBUSY }, { "EEXIST", EEXIST }, { "EINVAL", EINVAL },
	{ "ENOSPC", ENOSPC }, { "ENOSYS", ENOSYS }, { "ENOTSUP", ENOTSUP },
	{ "ENOBUFS", ENOBUFS }, { "ETIMEDOUT", ETIMEDOUT },
};

static void
parse_faults(void)
{
	const char *env = getenv("DPUFLOW_RECORDER_FAIL");
	char buf[1024];
	char *save = NULL, *tok;

	nfaults = 0;
	if (env == NULL || *env == '\0')
		return;
	snprintf(buf, sizeof(buf), "%s", env);
	for (tok = strtok_r(buf, ", ", &save); tok != NULL && nfaults < MAX_FAULTS;
	     tok = strtok_r(NULL, ", ", &save)) {
		struct fault *f = &faults[nfaults];
		char *c1 = strchr(tok, ':');
		char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		size_t i;

		if (c1 == NULL || c2 == NULL) {
			fprintf(stderr, "dpuflow recorder: bad fault '%s'\n", tok);
			continue;
		}
		*c1 = '\0';
		*c2 = '\0';
		snprintf(f->op, sizeof(f->op), "%s", tok);
		f->nth = strtoul(c1 + 1, NULL, 10);
		f->err = -1;
		if (strcmp(c2 + 1, "status_error") == 0)
			f->err = 0;
		for (i = 0; i < sizeof(errnames) / sizeof(errnames[0]); i++)
			if (strcmp(c2 + 1, errnames[i].name) == 0)
				f->err = errnames[i].value;
		if (f->err < 0)
			f->err = (int)strtol(c2 + 1, NULL, 10);
		if (f->err < 0 || f->nth == 0) {
			fprintf(stderr, "dpuflow recorder: bad fault '%s:%s:%s'\n",
				tok, c1 + 1, c2 + 1);
			continue;
		}
		snprintf(f->msg, sizeof(f->msg),
			 "recorder: injected failure of %s call %lu (%s)", f->op,
			 f->nth, c2 + 1);
		nfaults++;
	}
}

/* Counts one call of `op`; the fault that hits it, or NULL. */
static const struct fault *
inject(const char *op)
{
	unsigned long calls = 0;
	int i;

	if (nfaults < 0)
		parse_faults();
	for (i = 0; i < MAX_OPS; i++) {
		if (counters[i].op[0] == '\0')
			snprintf(counters[i].op, sizeof(counters[i].op), "%s", op);
		if (strcmp(counters[i].op, op) == 0) {
			calls = ++counters[i].calls;
			break;
		}
	}
	for (i = 0; i < nfaults; i++)
		if (strcmp(faults[i].op, op) == 0 && faults[i].nth == calls)
			return &faults[i];
	return NULL;
}

/* $DPUFLOW_RECORDER_LATE: N (an operation is returned by the N+1-th pull
 * after its push) or `never`. */
static long
late_pulls(void)
{
	const char *env = getenv("DPUFLOW_RECORDER_LATE");

	if (env == NULL || *env == '\0')
		return 0;
	if (strcmp(env, "never") == 0)
		return -1;
	return strtol(env, NULL, 10);
}

/* ------------------------------------------------------------ recording */

/* Pending async operations, returned by rte_flow_pull. */
#define MAX_PENDING 65536
struct pending_op {
	uint16_t port_id;
	uint32_t queue_id;
	void *user_data;
	int is_create;
	uint32_t flow_id;
	int fail;        /* completes with RTE_FLOW_OP_ERROR */
	int pushed;      /* visible to pull */
	long pulls_seen; /* pulls since pushed */
	/* postponed creates: what the rule looked like when queued, and where
	 * it lives, to check at push that it is still there */
	const struct rte_flow_item *pattern;
	const struct rte_flow_action *actions;
	char *dump;
};
static struct pending_op pending[MAX_PENDING];
static unsigned int pending_n;
static unsigned long results_pulled;

/* Whether $DPUFLOW_RECORDER_OUT names a record file. */
static int
recording(void)
{
	const char *path = getenv("DPUFLOW_RECORDER_OUT");

	return path != NULL && *path != '\0';
}

/* Appends `op` (one line, no newline), the dump in `body` and `---`. */
static void
emit(const char *op, const char *body)
{
	const char *path = getenv("DPUFLOW_RECORDER_OUT");
	FILE *f;

	if (!recording())
		return;
	f = fopen(path, "a");
	if (f == NULL) {
		fprintf(stderr, "dpuflow recorder: cannot open %s: %s\n", path,
			strerror(errno));
		return;
	}
	fprintf(f, "%s\n%s---\n", op, body);
	fclose(f);
}

/* What to dump: a rule (attr may be NULL) or a template. */
enum dump_kind { DUMP_RULE, DUMP_PATTERN_TEMPLATE, DUMP_ACTIONS_TEMPLATE };

struct dump_req {
	enum dump_kind kind;
	const void *attr;
	const struct rte_flow_item *pattern;
	const struct rte_flow_action *actions;
	const struct rte_flow_action *masks;
};

static int
run_dump(const struct dump_req *r, char *buf, size_t len)
{
	switch (r->kind) {
	case DUMP_PATTERN_TEMPLATE:
		return dpuflow_recorder_dump_pattern_template(r->attr,
							      r->pattern, buf,
							      len);
	case DUMP_ACTIONS_TEMPLATE:
		return dpuflow_recorder_dump_actions_template(r->attr,
							      r->actions,
							      r->masks, buf,
							      len);
	case DUMP_RULE:
	default:
		return dpuflow_recorder_dump(r->attr, r->pattern, r->actions,
					     buf, len);
	}
}

/* The dump in a malloc'ed string (measure, then fill); NULL on failure. */
static char *
alloc_dump(const struct dump_req *r)
{
	int need = run_dump(r, NULL, 0);
	char *buf;

	if (need < 0)
		return NULL;
	buf = malloc((size_t)need + 1);
	if (buf != NULL)
		run_dump(r, buf, (size_t)need + 1);
	return buf;
}

/* Records one call: `op` line, the dump, `---`. */
static void
record(const char *op, const struct dump_req *r)
{
	char *body;

	if (!recording())
		return;
	body = alloc_dump(r);
	emit(op, body ? body : "dump-failed\n");
	free(body);
}

static int
fail(struct rte_flow_error *error, int code, const char *msg)
{
	return rte_flow_error_set(error, code, RTE_FLOW_ERROR_TYPE_UNSPECIFIED,
				  NULL, msg);
}

/* Records `<op> injected=<errno>` and fails the call with the fault. */
static int
fail_injected(const char *op, const struct fault *f,
	      struct rte_flow_error *error)
{
	char line[160];

	snprintf(line, sizeof(line), "%s injected=%d", op, f->err);
	emit(line, "");
	return fail(error, f->err, f->msg);
}

static void
record_rule(const char *op, const struct rte_flow_attr *attr,
	    const struct rte_flow_item pattern[],
	    const struct rte_flow_action actions[])
{
	const struct dump_req r = { .kind = DUMP_RULE, .attr = attr,
				    .pattern = pattern, .actions = actions };

	record(op, &r);
}

int
rte_flow_validate(uint16_t port_id, const struct rte_flow_attr *attr,
		  const struct rte_flow_item pattern[],
		  const struct rte_flow_action actions[],
		  struct rte_flow_error *error)
{
	const struct fault *f = inject("validate");
	char op[64];

	snprintf(op, sizeof(op), "validate port=%u", (unsigned int)port_id);
	if (f != NULL && f->err)
		return fail_injected(op, f, error);
	record_rule(op, attr, pattern, actions);
	return 0;
}

struct rte_flow *
rte_flow_create(uint16_t port_id, const struct rte_flow_attr *attr,
		const struct rte_flow_item pattern[],
		const struct rte_flow_action actions[],
		struct rte_flow_error *error)
{
	const struct fault *f = inject("create");
	void *h;
	char op[64];

	if (f != NULL && f->err) {
		snprintf(op, sizeof(op), "create port=%u", (unsigned int)port_id);
		fail_injected(op, f, error);
		return NULL;
	}
	h = new_handle(K_FLOW, port_id, 0);
	if (h == NULL) {
		fail(error, ENOMEM, "recorder: out of memory");
		return NULL;
	}
	snprintf(op, sizeof(op), "create port=%u handle=%u",
		 (unsigned int)port_id, handle_id(h, K_FLOW));
	record_rule(op, attr, pattern, actions);
	return h;
}

int
rte_flow_destroy(uint16_t port_id, struct rte_flow *flow,
		 struct rte_flow_error *error)
{
	const struct fault *f = inject("destroy");
	uint32_t id = handle_id(flow, K_FLOW);
	char op[80];

	snprintf(op, sizeof(op), "destroy port=%u handle=%u",
		 (unsigned int)port_id, id);
	if (f != NULL && f->err)
		return fail_injected(op, f, error);
	if (!is_live(K_FLOW, id)) {
		snprintf(op, sizeof(op), "destroy port=%u handle=%u refused=not-installed",
			 (unsigned int)port_id, id);
		emit(op, "");
		return fail(error, ENOENT, "recorder: flow is not installed");
	}
	set_dead(K_FLOW, id);
	emit(op, "");
	return 0;
}

/* Forgets every flow of the port (recorded as one `flush` line). */
int
rte_flow_flush(uint16_t port_id, struct rte_flow_error *error)
{
	struct live_table *t = &objs[K_FLOW];
	uint32_t i, n = 0;
	char op[64];

	(void)error;
	for (i = 1; i < t->next && i < t->cap; i++)
		if (t->live[i] && t->port[i] == port_id) {
			t->live[i] = 0;
			n++;
		}
	snprintf(op, sizeof(op), "flush port=%u flows=%u",
		 (unsigned int)port_id, n);
	emit(op, "");
	return 0;
}

/* COUNT: hits = the flow's handle number, bytes = 64 x hits; AGE: 42 s
 * since the last hit. Other actions: ENOTSUP. */
int
rte_flow_query(uint16_t port_id, struct rte_flow *flow,
	       const struct rte_flow_action *action, void *data,
	       struct rte_flow_error *error)
{
	const struct fault *f = inject("query");
	uint32_t id = handle_id(flow, K_FLOW);
	char op[80];

	snprintf(op, sizeof(op), "query port=%u handle=%u",
		 (unsigned int)port_id, id);
	if (f != NULL && f->err)
		return fail_injected(op, f, error);
	if (!is_live(K_FLOW, id))
		return fail(error, ENOENT, "recorder: flow is not installed");
	if (action == NULL || data == NULL)
		return fail(error, EINVAL, "recorder: NULL query argument");
	switch (action->type) {
	case RTE_FLOW_ACTION_TYPE_COUNT: {
		struct rte_flow_query_count *c = data;

		c->hits_set = 1;
		c->bytes_set = 1;
		c->hits = id;
		c->bytes = 64ull * id;
		return 0;
	}
	case RTE_FLOW_ACTION_TYPE_AGE: {
		struct rte_flow_query_age *a = data;

		a->aged = 0;
		a->sec_since_last_hit_valid = 1;
		a->sec_since_last_hit = 42;
		return 0;
	}
	default:
		return fail(error, ENOTSUP, "recorder: query of this action");
	}
}

int
rte_flow_info_get(uint16_t port_id, struct rte_flow_port_info *port_info,
		  struct rte_flow_queue_info *queue_info,
		  struct rte_flow_error *error)
{
	(void)port_id;
	if (port_info == NULL || queue_info == NULL)
		return fail(error, EINVAL, "recorder: NULL info");
	memset(port_info, 0, sizeof(*port_info));
	memset(queue_info, 0, sizeof(*queue_info));
	port_info->max_nb_queues = 64;
	port_info->max_nb_counters = 1u << 20;
	port_info->max_nb_aging_objects = 1u << 20;
	port_info->max_nb_meters = 1u << 16;
	port_info->max_nb_conn_tracks = 1u << 16;
	queue_info->max_size = 1u << 16;
	return 0;
}

int
rte_flow_configure(uint16_t port_id,
		   const struct rte_flow_port_attr *port_attr,
		   uint16_t nb_queue,
		   const struct rte_flow_queue_attr *queue_attr[],
		   struct rte_flow_error *error)
{
	const struct fault *f = inject("configure");
	struct out o = { 0 };
	char *body;
	char op[64];
	int pass;
	uint16_t q;

	snprintf(op, sizeof(op), "configure port=%u", (unsigned int)port_id);
	if (f != NULL && f->err)
		return fail_injected(op, f, error);
	if (port_attr == NULL || (nb_queue > 0 && queue_attr == NULL))
		return fail(error, EINVAL, "recorder: NULL configure attr");
	/* Two passes: measure, then fill. */
	for (pass = 0; pass < 2; pass++) {
		put(&o, "configure nb_counters=%u nb_aging_objects=%u "
		    "nb_meters=%u nb_conn_tracks=%u flags=0x%x nb_queue=%u "
		    "queue_sizes=", port_attr->nb_counters,
		    port_attr->nb_aging_objects, port_attr->nb_meters,
		    port_attr->nb_conn_tracks, port_attr->flags,
		    (unsigned int)nb_queue);
		for (q = 0; q < nb_queue; q++)
			put(&o, q ? ",%u" : "%u",
			    queue_attr[q] ? queue_attr[q]->size : 0);
		put(&o, "\n");
		if (pass == 0) {
			o.len = o.pos + 1;
			o.buf = malloc(o.len);
			o.pos = 0;
			if (o.buf == NULL)
				return fail(error, ENOMEM, "recorder: OOM");
		}
	}
	body = o.buf;
	finish(&o);
	emit(op, body);
	free(body);
	return 0;
}

struct rte_flow_pattern_template *
rte_flow_pattern_template_create(uint16_t port_id,
	const struct rte_flow_pattern_template_attr *template_attr,
	const struct rte_flow_item pattern[], struct rte_flow_error *error)
{
	const struct dump_req r = { .kind = DUMP_PATTERN_TEMPLATE,
				    .attr = template_attr, .pattern = pattern };
	const struct fault *f = inject("pattern_template_create");
	void *h;
	char op[80];

	if (f != NULL && f->err) {
		snprintf(op, sizeof(op), "pattern_template_create port=%u",
			 (unsigned int)port_id);
		fail_injected(op, f, error);
		return NULL;
	}
	h = new_handle(K_PATTERN_TEMPLATE, port_id, 0);
	if (h == NULL) {
		fail(error, ENOMEM, "recorder: out of memory");
		return NULL;
	}
	snprintf(op, sizeof(op), "pattern_template_create port=%u handle=%u",
		 (unsigned int)port_id, handle_id(h, K_PATTERN_TEMPLATE));
	record(op, &r);
	return h;
}

static int
destroy_object(const char *name, enum kind k, uint16_t port_id, void *h,
	       struct rte_flow_error *error)
{
	uint32_t id = handle_id(h, k);
	char op[96];

	if (!is_live(k, id)) {
		snprintf(op, sizeof(op), "%s port=%u handle=%u refused=not-live",
			 name, (unsigned int)port_id, id);
		emit(op, "");
		return fail(error, ENOENT, "recorder: object does not exist");
	}
	if (k == K_TABLE) {
		/* A table with installed rules cannot go (mlx5 refuses too). */
		uint32_t i, n = 0;

		for (i = 1; i < objs[K_FLOW].next && i < objs[K_FLOW].cap; i++)
			if (objs[K_FLOW].live[i] && objs[K_FLOW].table[i] == id)
				n++;
		if (n > 0) {
			snprintf(op, sizeof(op),
				 "%s port=%u handle=%u refused=live-flows:%u",
				 name, (unsigned int)port_id, id, n);
			emit(op, "");
			return fail(error, EBUSY, "recorder: table has rules");
		}
	}
	set_dead(k, id);
	snprintf(op, sizeof(op), "%s port=%u handle=%u", name,
		 (unsigned int)port_id, id);
	emit(op, "");
	return 0;
}

int
rte_flow_pattern_template_destroy(uint16_t port_id,
	struct rte_flow_pattern_template *pattern_template,
	struct rte_flow_error *error)
{
	return destroy_object("pattern_template_destroy", K_PATTERN_TEMPLATE,
			      port_id, pattern_template, error);
}

struct rte_flow_actions_template *
rte_flow_actions_template_create(uint16_t port_id,
	const struct rte_flow_actions_template_attr *template_attr,
	const struct rte_flow_action actions[],
	const struct rte_flow_action masks[], struct rte_flow_error *error)
{
	const struct dump_req r = { .kind = DUMP_ACTIONS_TEMPLATE,
				    .attr = template_attr, .actions = actions,
				    .masks = masks };
	const struct fault *f = inject("actions_template_create");
	void *h;
	char op[80];

	if (f != NULL && f->err) {
		snprintf(op, sizeof(op), "actions_template_create port=%u",
			 (unsigned int)port_id);
		fail_injected(op, f, error);
		return NULL;
	}
	h = new_handle(K_ACTIONS_TEMPLATE, port_id, 0);
	if (h == NULL) {
		fail(error, ENOMEM, "recorder: out of memory");
		return NULL;
	}
	snprintf(op, sizeof(op), "actions_template_create port=%u handle=%u",
		 (unsigned int)port_id, handle_id(h, K_ACTIONS_TEMPLATE));
	record(op, &r);
	return h;
}

int
rte_flow_actions_template_destroy(uint16_t port_id,
	struct rte_flow_actions_template *actions_template,
	struct rte_flow_error *error)
{
	return destroy_object("actions_template_destroy", K_ACTIONS_TEMPLATE,
			      port_id, actions_template, error);
}

struct rte_flow_template_table *
rte_flow_template_table_create(uint16_t port_id,
	const struct rte_flow_template_table_attr *table_attr,
	struct rte_flow_pattern_template *pattern_templates[],
	uint8_t nb_pattern_templates,
	struct rte_flow_actions_template *actions_templates[],
	uint8_t nb_actions_templates, struct rte_flow_error *error)
{
	const struct fault *f = inject("template_table_create");
	const struct rte_flow_attr *a;
	void *h;
	char body[1024];
	char op[80];
	struct out o = { .buf = body, .len = sizeof(body), .pos = 0 };
	unsigned int i;

	if (f != NULL && f->err) {
		snprintf(op, sizeof(op), "template_table_create port=%u",
			 (unsigned int)port_id);
		fail_injected(op, f, error);
		return NULL;
	}
	if (table_attr == NULL) {
		fail(error, EINVAL, "recorder: NULL table attr");
		return NULL;
	}
	h = new_handle(K_TABLE, port_id, 0);
	if (h == NULL) {
		fail(error, ENOMEM, "recorder: out of memory");
		return NULL;
	}
	a = &table_attr->flow_attr;
	put(&o, "template_table group=%u priority=%u ingress=%u egress=%u "
	    "transfer=%u reserved=%u nb_flows=%u pattern_templates=",
	    a->group, a->priority, (unsigned int)a->ingress,
	    (unsigned int)a->egress, (unsigned int)a->transfer,
	    (unsigned int)a->reserved, table_attr->nb_flows);
	for (i = 0; i < nb_pattern_templates; i++)
		put(&o, i ? ",%u" : "%u",
		    handle_id(pattern_templates[i], K_PATTERN_TEMPLATE));
	put(&o, " actions_templates=");
	for (i = 0; i < nb_actions_templates; i++)
		put(&o, i ? ",%u" : "%u",
		    handle_id(actions_templates[i], K_ACTIONS_TEMPLATE));
	put(&o, "\n");
	finish(&o);
	snprintf(op, sizeof(op), "template_table_create port=%u handle=%u",
		 (unsigned int)port_id, handle_id(h, K_TABLE));
	emit(op, body);
	return h;
}

int
rte_flow_template_table_destroy(uint16_t port_id,
	struct rte_flow_template_table *template_table,
	struct rte_flow_error *error)
{
	return destroy_object("template_table_destroy", K_TABLE, port_id,
			      template_table, error);
}

static struct pending_op *
push_pending(uint16_t port_id, uint32_t queue_id, void *user_data,
	     int postpone)
{
	struct pending_op *p;

	if (pending_n >= MAX_PENDING)
		return NULL;
	p = &pending[pending_n++];
	memset(p, 0, sizeof(*p));
	p->port_id = port_id;
	p->queue_id = queue_id;
	p->user_data = user_data;
	p->pushed = !postpone;
	return p;
}

struct rte_flow *
rte_flow_async_create(uint16_t port_id, uint32_t queue_id,
		      const struct rte_flow_op_attr *op_attr,
		      struct rte_flow_template_table *template_table,
		      const struct rte_flow_item pattern[],
		      uint8_t pattern_template_index,
		      const struct rte_flow_action actions[],
		      uint8_t actions_template_index, void *user_data,
		      struct rte_flow_error *error)
{
	const struct fault *f = inject("async_create");
	unsigned int postpone = op_attr ? (unsigned int)op_attr->postpone : 0;
	uint32_t table_id = handle_id(template_table, K_TABLE);
	struct pending_op *p;
	void *h;
	char op[200];

	if (f != NULL && f->err) {
		snprintf(op, sizeof(op), "async_create port=%u queue=%u",
			 (unsigned int)port_id, queue_id);
		fail_injected(op, f, error);
		return NULL;
	}
	if (pending_n >= MAX_PENDING) {
		fail(error, ENOSPC, "recorder: too many pending operations");
		return NULL;
	}
	if (!is_live(K_TABLE, table_id)) {
		fail(error, EINVAL, "recorder: no such template table");
		return NULL;
	}
	h = new_handle(K_FLOW, port_id, table_id);
	if (h == NULL) {
		fail(error, ENOMEM, "recorder: out of memory");
		return NULL;
	}
	snprintf(op, sizeof(op),
		 "async_create port=%u queue=%u postpone=%u table=%u "
		 "pattern_template_index=%u actions_template_index=%u "
		 "handle=%u", (unsigned int)port_id, queue_id, postpone,
		 table_id, (unsigned int)pattern_template_index,
		 (unsigned int)actions_template_index, handle_id(h, K_FLOW));
	record_rule(op, NULL, pattern, actions);
	p = push_pending(port_id, queue_id, user_data, postpone);
	p->is_create = 1;
	p->flow_id = handle_id(h, K_FLOW);
	p->fail = f != NULL && f->err == 0;
	if (postpone && recording()) {
		const struct dump_req r = { .kind = DUMP_RULE,
					    .pattern = pattern,
					    .actions = actions };

		p->pattern = pattern;
		p->actions = actions;
		p->dump = alloc_dump(&r);
	}
	return h;
}

int
rte_flow_async_destroy(uint16_t port_id, uint32_t queue_id,
		       const struct rte_flow_op_attr *op_attr,
		       struct rte_flow *flow, void *user_data,
		       struct rte_flow_error *error)
{
	const struct fault *f = inject("async_destroy");
	unsigned int postpone = op_attr ? (unsigned int)op_attr->postpone : 0;
	uint32_t id = handle_id(flow, K_FLOW);
	struct pending_op *p;
	char op[120];

	snprintf(op, sizeof(op), "async_destroy port=%u queue=%u postpone=%u handle=%u",
		 (unsigned int)port_id, queue_id, postpone, id);
	if (f != NULL && f->err)
		return fail_injected(op, f, error);
	if (!is_live(K_FLOW, id)) {
		snprintf(op, sizeof(op),
			 "async_destroy port=%u queue=%u handle=%u refused=not-installed",
			 (unsigned int)port_id, queue_id, id);
		emit(op, "");
		return fail(error, ENOENT, "recorder: flow is not installed");
	}
	p = push_pending(port_id, queue_id, user_data, postpone);
	if (p == NULL)
		return fail(error, ENOSPC, "recorder: too many pending ops");
	p->flow_id = id;
	p->fail = f != NULL && f->err == 0;
	emit(op, "");
	return 0;
}

/* Marks the queue's operations pushed. A postponed create whose pattern or
 * actions changed since it was queued (its storage was freed or reused
 * before push, when a PMD reads it) is recorded as `postponed_changed`. */
int
rte_flow_push(uint16_t port_id, uint32_t queue_id,
	      struct rte_flow_error *error)
{
	const struct fault *f = inject("push");
	unsigned int i;
	char op[120];

	if (f != NULL && f->err) {
		snprintf(op, sizeof(op), "push port=%u queue=%u",
			 (unsigned int)port_id, queue_id);
		return fail_injected(op, f, error);
	}
	for (i = 0; i < pending_n; i++) {
		struct pending_op *p = &pending[i];

		if (p->port_id != port_id || p->queue_id != queue_id ||
		    p->pushed)
			continue;
		p->pushed = 1;
		if (p->dump != NULL) {
			const struct dump_req r = { .kind = DUMP_RULE,
						    .pattern = p->pattern,
						    .actions = p->actions };
			char *now = alloc_dump(&r);

			if (now == NULL || strcmp(now, p->dump) != 0) {
				snprintf(op, sizeof(op),
					 "postponed_changed port=%u queue=%u handle=%u",
					 (unsigned int)port_id, queue_id,
					 p->flow_id);
				emit(op, now ? now : "dump-failed\n");
			}
			free(now);
			free(p->dump);
			p->dump = NULL;
		}
	}
	return 0;
}

/* Returns pushed operations of that port/queue (after
 * $DPUFLOW_RECORDER_LATE pulls), each recorded as a `pull_result` line. */
int
rte_flow_pull(uint16_t port_id, uint32_t queue_id,
	      struct rte_flow_op_result res[], uint16_t n_res,
	      struct rte_flow_error *error)
{
	const struct fault *f = inject("pull");
	long late = late_pulls();
	unsigned int i, kept = 0;
	int n = 0;
	char op[160];

	if (f != NULL && f->err) {
		snprintf(op, sizeof(op), "pull port=%u queue=%u",
			 (unsigned int)port_id, queue_id);
		return fail_injected(op, f, error);
	}
	for (i = 0; i < pending_n; i++) {
		struct pending_op *p = &pending[i];
		int ready = p->port_id == port_id && p->queue_id == queue_id &&
			    p->pushed && late >= 0 && n < (int)n_res;

		if (ready && p->pulls_seen < late) {
			p->pulls_seen++;
			ready = 0;
		}
		if (!ready) {
			pending[kept++] = *p;
			continue;
		}
		{
			int failed = p->fail;

			/* "pull:N:status_error" is counted per result. */
			results_pulled++;
			for (int j = 0; j < nfaults; j++)
				if (strcmp(faults[j].op, "pull") == 0 &&
				    faults[j].err == 0 &&
				    faults[j].nth == results_pulled)
					failed = 1;
			if (p->is_create && failed)
				set_dead(K_FLOW, p->flow_id);
			else if (!p->is_create && !failed)
				set_dead(K_FLOW, p->flow_id);
			res[n].status = failed ? RTE_FLOW_OP_ERROR :
						 RTE_FLOW_OP_SUCCESS;
			res[n].user_data = p->user_data;
			n++;
			snprintf(op, sizeof(op),
				 "pull_result port=%u queue=%u op=%s handle=%u status=%s",
				 (unsigned int)port_id, queue_id,
				 p->is_create ? "async_create" : "async_destroy",
				 p->flow_id, failed ? "error" : "success");
			emit(op, "");
			free(p->dump);
		}
	}
	pending_n = kept;
	return n;
}
#endif /* DPUFLOW_RECORDER_PRELOAD */
