/* SPDX-License-Identifier: Apache-2.0
 * Out-of-line wrappers for DPDK's `static inline` functions. Rust cannot call
 * an inline function, so each one gets a real symbol here, compiled by
 * sys/build.rs with the same flags as DPDK itself. The bodies only forward:
 * behaviour stays DPDK's. */
#ifndef DPUFLOW_SHIMS_H
#define DPUFLOW_SHIMS_H

#include <stdint.h>
#include <rte_mbuf.h>
#include <rte_ethdev.h>

/* errno / lcore */
int dpuflow_rte_errno(void);
void dpuflow_set_rte_errno(int value);
unsigned dpuflow_rte_lcore_id(void);
uint64_t dpuflow_rte_rdtsc(void);
uint64_t dpuflow_rte_get_tsc_hz(void);
void dpuflow_rte_pause(void);

/* ethdev bursts */
uint16_t dpuflow_rte_eth_rx_burst(uint16_t port_id, uint16_t queue_id,
                                  struct rte_mbuf **rx_pkts, uint16_t nb_pkts);
uint16_t dpuflow_rte_eth_tx_burst(uint16_t port_id, uint16_t queue_id,
                                  struct rte_mbuf **tx_pkts, uint16_t nb_pkts);

/* mbuf alloc/free */
struct rte_mbuf *dpuflow_rte_pktmbuf_alloc(struct rte_mempool *mp);
int dpuflow_rte_pktmbuf_alloc_bulk(struct rte_mempool *mp,
                                   struct rte_mbuf **mbufs, unsigned count);
void dpuflow_rte_pktmbuf_free(struct rte_mbuf *m);

/* mbuf pool data room, mbuf reset */
uint16_t dpuflow_rte_pktmbuf_data_room_size(struct rte_mempool *mp);
void dpuflow_rte_pktmbuf_reset(struct rte_mbuf *m);

/* DPDK's own mbuf accessors and edits. The safe layer does these as direct
 * field reads/writes of the bindgen struct (datapath/dpdk/src/mbuf.rs, no
 * call per field); these forwarders stay as the reference its tests
 * compare against (datapath/dpdk/tests/mbuf.rs). */
void *dpuflow_rte_pktmbuf_mtod(struct rte_mbuf *m);
uint16_t dpuflow_rte_pktmbuf_data_len(const struct rte_mbuf *m);
uint32_t dpuflow_rte_pktmbuf_pkt_len(const struct rte_mbuf *m);
uint16_t dpuflow_rte_pktmbuf_headroom(const struct rte_mbuf *m);
uint16_t dpuflow_rte_pktmbuf_tailroom(const struct rte_mbuf *m);
int dpuflow_rte_pktmbuf_is_contiguous(const struct rte_mbuf *m);
char *dpuflow_rte_pktmbuf_prepend(struct rte_mbuf *m, uint16_t len);
char *dpuflow_rte_pktmbuf_append(struct rte_mbuf *m, uint16_t len);
char *dpuflow_rte_pktmbuf_adj(struct rte_mbuf *m, uint16_t len);
int dpuflow_rte_pktmbuf_trim(struct rte_mbuf *m, uint16_t len);

/* logging: a stdio stream whose writes go to a callback, so that DPDK's log
 * lines can be shown and attached to the error of the call that logged them. */
#include <stdio.h>
typedef void (*dpuflow_log_fn)(const char *buf, size_t len);
FILE *dpuflow_log_stream_open(dpuflow_log_fn fn);

/* RSS hash-field sets: RTE_ETH_RSS_* are RTE_BIT64() macros bindgen cannot
 * evaluate, so they are exported as constants. */
extern const uint64_t dpuflow_rte_eth_rss_ip;
extern const uint64_t dpuflow_rte_eth_rss_tcp;
extern const uint64_t dpuflow_rte_eth_rss_udp;

/* prefetch */
void dpuflow_rte_prefetch0(const void *p);
void dpuflow_rte_mbuf_prefetch_part1(struct rte_mbuf *m);

#endif
