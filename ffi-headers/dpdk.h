/* SPDX-License-Identifier: Apache-2.0
 * The DPDK surface dpuflow binds to. bindgen reads this header; the build
 * defines ALLOW_EXPERIMENTAL_API so that the rte_flow template/async API
 * (experimental in 22.11) is declared. */
#ifndef DPUFLOW_DPDK_H
#define DPUFLOW_DPDK_H

#include <rte_config.h>
#include <rte_common.h>
#include <rte_errno.h>
#include <rte_eal.h>
#include <rte_lcore.h>
#include <rte_launch.h>
#include <rte_cycles.h>
#include <rte_dev.h>
#include <rte_bus_vdev.h>
#include <rte_mempool.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_ethdev.h>
#include <rte_flow.h>
#include <rte_eth_ring.h>

#include "shims.h"

#endif
