/* SPDX-License-Identifier: Apache-2.0
 * See shims.h: thin forwarders to DPDK's static inline functions. */
#define _GNU_SOURCE
#include <stdio.h>
#include <rte_config.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_cycles.h>
#include <rte_pause.h>
#include <rte_prefetch.h>
#include <rte_mbuf.h>
#include <rte_ethdev.h>

#include "shims.h"

const uint64_t dpuflow_rte_eth_rss_ip = RTE_ETH_RSS_IP;
const uint64_t dpuflow_rte_eth_rss_tcp = RTE_ETH_RSS_TCP;
const uint64_t dpuflow_rte_eth_rss_udp = RTE_ETH_RSS_UDP;

int dpuflow_rte_errno(void) { return rte_errno; }
void dpuflow_set_rte_errno(int value) { rte_errno = value; }
unsigned dpuflow_rte_lcore_id(void) { return rte_lcore_id(); }
uint64_t dpuflow_rte_rdtsc(void) { return rte_rdtsc(); }
uint64_t dpuflow_rte_get_tsc_hz(void) { return rte_get_tsc_hz(); }
void dpuflow_rte_pause(void) { rte_pause(); }

uint16_t dpuflow_rte_eth_rx_burst(uint16_t port_id, uint16_t queue_id,
                                  struct rte_mbuf **rx_pkts, uint16_t nb_pkts)
{
	return rte_eth_rx_burst(port_id, queue_id, rx_pkts, nb_pkts);
}

uint16_t dpuflow_rte_eth_tx_burst(uint16_t port_id, uint16_t queue_id,
                                  struct rte_mbuf **tx_pkts, uint16_t nb_pkts)
{
	return rte_eth_tx_burst(port_id, queue_id, tx_pkts, nb_pkts);
}

struct rte_mbuf *dpuflow_rte_pktmbuf_alloc(struct rte_mempool *mp)
{
	return rte_pktmbuf_alloc(mp);
}

int dpuflow_rte_pktmbuf_alloc_bulk(struct rte_mempool *mp,
                                   struct rte_mbuf **mbufs, unsigned count)
{
	return rte_pktmbuf_alloc_bulk(mp, mbufs, count);
}

void dpuflow_rte_pktmbuf_free(struct rte_mbuf *m) { rte_pktmbuf_free(m); }

void *dpuflow_rte_pktmbuf_mtod(struct rte_mbuf *m) { return rte_pktmbuf_mtod(m, void *); }
uint16_t dpuflow_rte_pktmbuf_data_len(const struct rte_mbuf *m) { return rte_pktmbuf_data_len(m); }
uint32_t dpuflow_rte_pktmbuf_pkt_len(const struct rte_mbuf *m) { return rte_pktmbuf_pkt_len(m); }
uint16_t dpuflow_rte_pktmbuf_headroom(const struct rte_mbuf *m) { return rte_pktmbuf_headroom(m); }
uint16_t dpuflow_rte_pktmbuf_tailroom(const struct rte_mbuf *m) { return rte_pktmbuf_tailroom(m); }
int dpuflow_rte_pktmbuf_is_contiguous(const struct rte_mbuf *m) { return rte_pktmbuf_is_contiguous(m); }
char *dpuflow_rte_pktmbuf_prepend(struct rte_mbuf *m, uint16_t len) { return rte_pktmbuf_prepend(m, len); }
char *dpuflow_rte_pktmbuf_append(struct rte_mbuf *m, uint16_t len) { return rte_pktmbuf_append(m, len); }
char *dpuflow_rte_pktmbuf_adj(struct rte_mbuf *m, uint16_t len) { return rte_pktmbuf_adj(m, len); }
int dpuflow_rte_pktmbuf_trim(struct rte_mbuf *m, uint16_t len) { return rte_pktmbuf_trim(m, len); }
void dpuflow_rte_pktmbuf_reset(struct rte_mbuf *m) { rte_pktmbuf_reset(m); }
uint16_t dpuflow_rte_pktmbuf_data_room_size(struct rte_mempool *mp) { return rte_pktmbuf_data_room_size(mp); }

void dpuflow_rte_prefetch0(const void *p) { rte_prefetch0(p); }
void dpuflow_rte_mbuf_prefetch_part1(struct rte_mbuf *m) { rte_mbuf_prefetch_part1(m); }

static ssize_t log_cookie_write(void *cookie, const char *buf, size_t size)
{
	dpuflow_log_fn fn = (dpuflow_log_fn)cookie;
	fn(buf, size);
	return (ssize_t)size;
}

FILE *dpuflow_log_stream_open(dpuflow_log_fn fn)
{
	cookie_io_functions_t io = { .read = NULL, .write = log_cookie_write,
				     .seek = NULL, .close = NULL };
	FILE *f = fopencookie((void *)fn, "w", io);
	if (f != NULL)
		setvbuf(f, NULL, _IOLBF, 0);
	return f;
}
