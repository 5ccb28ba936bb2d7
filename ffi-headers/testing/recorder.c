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
 * command thread, so no locking. */

struct rec_handle {
	uint32_t magic;
	uint32_t id;
};

#define REC_MAGIC 0x64707566u /* "dpuf" */

static uint32_t next_flow_id = 1;
static uint32_t next_pattern_template_id = 1;
static uint32_t next_actions_template_id = 1;
static uint32_t next_table_id = 1;

/* Pending async operations, returned by rte_flow_pull. */
#define MAX_PENDING 65536
struct pending_op {
	uint16_t port_id;
	uint32_t queue_id;
	void *user_data;
};
static struct pending_op pending[MAX_PENDING];
static unsigned int pending_n;

static void *
new_handle(uint32_t *counter)
{
	struct rec_handle *h = malloc(sizeof(*h));

	if (h == NULL)
		return NULL;
	h->magic = REC_MAGIC;
	h->id = (*counter)++;
	return h;
}

static uint32_t
handle_id(const void *p)
{
	const struct rec_handle *h = p;

	if (h == NULL || h->magic != REC_MAGIC)
		return 0;
	return h->id;
}

static void
free_handle(void *p)
{
	struct rec_handle *h = p;

	if (h != NULL && h->magic == REC_MAGIC) {
		h->magic = 0;
		free(h);
	}
}

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
	char op[64];

	(void)error;
	snprintf(op, sizeof(op), "validate port=%u", (unsigned int)port_id);
	record_rule(op, attr, pattern, actions);
	return 0;
}

struct rte_flow *
rte_flow_create(uint16_t port_id, const struct rte_flow_attr *attr,
		const struct rte_flow_item pattern[],
		const struct rte_flow_action actions[],
		struct rte_flow_error *error)
{
	void *h = new_handle(&next_flow_id);
	char op[64];

	if (h == NULL) {
		fail(error, ENOMEM, "recorder: out of memory");
		return NULL;
	}
	snprintf(op, sizeof(op), "create port=%u handle=%u",
		 (unsigned int)port_id, handle_id(h));
	record_rule(op, attr, pattern, actions);
	return h;
}

int
rte_flow_destroy(uint16_t port_id, struct rte_flow *flow,
		 struct rte_flow_error *error)
{
	(void)port_id;
	(void)error;
	free_handle(flow);
	return 0;
}

int
rte_flow_flush(uint16_t port_id, struct rte_flow_error *error)
{
	(void)port_id;
	(void)error;
	return 0;
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
	struct out o = { 0 };
	char *body;
	char op[64];
	int pass;
	uint16_t q;

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
	snprintf(op, sizeof(op), "configure port=%u", (unsigned int)port_id);
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
	void *h = new_handle(&next_pattern_template_id);
	char op[80];

	if (h == NULL) {
		fail(error, ENOMEM, "recorder: out of memory");
		return NULL;
	}
	snprintf(op, sizeof(op), "pattern_template_create port=%u handle=%u",
		 (unsigned int)port_id, handle_id(h));
	record(op, &r);
	return h;
}

int
rte_flow_pattern_template_destroy(uint16_t port_id,
	struct rte_flow_pattern_template *pattern_template,
	struct rte_flow_error *error)
{
	(void)port_id;
	(void)error;
	free_handle(pattern_template);
	return 0;
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
	void *h = new_handle(&next_actions_template_id);
	char op[80];

	if (h == NULL) {
		fail(error, ENOMEM, "recorder: out of memory");
		return NULL;
	}
	snprintf(op, sizeof(op), "actions_template_create port=%u handle=%u",
		 (unsigned int)port_id, handle_id(h));
	record(op, &r);
	return h;
}

int
rte_flow_actions_template_destroy(uint16_t port_id,
	struct rte_flow_actions_template *actions_template,
	struct rte_flow_error *error)
{
	(void)port_id;
	(void)error;
	free_handle(actions_template);
	return 0;
}

struct rte_flow_template_table *
rte_flow_template_table_create(uint16_t port_id,
	const struct rte_flow_template_table_attr *table_attr,
	struct rte_flow_pattern_template *pattern_templates[],
	uint8_t nb_pattern_templates,
	struct rte_flow_actions_template *actions_templates[],
	uint8_t nb_actions_templates, struct rte_flow_error *error)
{
	const struct rte_flow_attr *a;
	void *h;
	char body[1024];
	char op[80];
	struct out o = { .buf = body, .len = sizeof(body), .pos = 0 };
	unsigned int i;

	if (table_attr == NULL) {
		fail(error, EINVAL, "recorder: NULL table attr");
		return NULL;
	}
	h = new_handle(&next_table_id);
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
		put(&o, i ? ",%u" : "%u", handle_id(pattern_templates[i]));
	put(&o, " actions_templates=");
	for (i = 0; i < nb_actions_templates; i++)
		put(&o, i ? ",%u" : "%u", handle_id(actions_templates[i]));
	put(&o, "\n");
	finish(&o);
	snprintf(op, sizeof(op), "template_table_create port=%u handle=%u",
		 (unsigned int)port_id, handle_id(h));
	emit(op, body);
	return h;
}

int
rte_flow_template_table_destroy(uint16_t port_id,
	struct rte_flow_template_table *template_table,
	struct rte_flow_error *error)
{
	(void)port_id;
	(void)error;
	free_handle(template_table);
	return 0;
}

static int
push_pending(uint16_t port_id, uint32_t queue_id, void *user_data)
{
	if (pending_n >= MAX_PENDING)
		return -1;
	pending[pending_n].port_id = port_id;
	pending[pending_n].queue_id = queue_id;
	pending[pending_n].user_data = user_data;
	pending_n++;
	return 0;
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
	void *h;
	char op[200];

	if (pending_n >= MAX_PENDING) {
		fail(error, ENOSPC, "recorder: too many pending operations");
		return NULL;
	}
	h = new_handle(&next_flow_id);
	if (h == NULL) {
		fail(error, ENOMEM, "recorder: out of memory");
		return NULL;
	}
	snprintf(op, sizeof(op),
		 "async_create port=%u queue=%u postpone=%u table=%u "
		 "pattern_template_index=%u actions_template_index=%u "
		 "handle=%u", (unsigned int)port_id, queue_id,
		 op_attr ? (unsigned int)op_attr->postpone : 0,
		 handle_id(template_table),
		 (unsigned int)pattern_template_index,
		 (unsigned int)actions_template_index, handle_id(h));
	record_rule(op, NULL, pattern, actions);
	push_pending(port_id, queue_id, user_data);
	return h;
}

int
rte_flow_async_destroy(uint16_t port_id, uint32_t queue_id,
		       const struct rte_flow_op_attr *op_attr,
		       struct rte_flow *flow, void *user_data,
		       struct rte_flow_error *error)
{
	(void)op_attr;
	if (push_pending(port_id, queue_id, user_data) != 0)
		return fail(error, ENOSPC, "recorder: too many pending ops");
	free_handle(flow);
	return 0;
}

int
rte_flow_push(uint16_t port_id, uint32_t queue_id,
	      struct rte_flow_error *error)
{
	(void)port_id;
	(void)queue_id;
	(void)error;
	return 0;
}

int
rte_flow_pull(uint16_t port_id, uint32_t queue_id,
	      struct rte_flow_op_result res[], uint16_t n_res,
	      struct rte_flow_error *error)
{
	unsigned int i, kept = 0;
	int n = 0;

	(void)error;
	for (i = 0; i < pending_n; i++) {
		if (pending[i].port_id == port_id &&
		    pending[i].queue_id == queue_id && n < (int)n_res) {
			res[n].status = RTE_FLOW_OP_SUCCESS;
			res[n].user_data = pending[i].user_data;
			n++;
		} else {
			pending[kept++] = pending[i];
		}
	}
	pending_n = kept;
	return n;
}
#endif /* DPUFLOW_RECORDER_PRELOAD */
