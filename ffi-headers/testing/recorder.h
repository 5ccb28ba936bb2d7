/* SPDX-License-Identifier: Apache-2.0
 * rte_flow recorder (test-only, cargo feature `testing` of dpuflow-sys).
 *
 * Turns a rule as DPDK sees it into canonical text without pointer values,
 * so that a rule built by dpuflow's Rust code and the same rule built by
 * testpmd's `flow create` parser can be compared line by line. See
 * README.md next to this file for the format.
 *
 * All functions follow snprintf(3): they write at most `len` bytes
 * (always NUL-terminated when len > 0) and return the length the full dump
 * needs, not counting the NUL. `buf` may be NULL when `len` is 0.
 */
#ifndef DPUFLOW_RECORDER_H
#define DPUFLOW_RECORDER_H

#include <stddef.h>
#include <rte_flow.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One `attr` line (skipped when attr is NULL), one `item` line per pattern
 * element up to and including END (skipped when pattern is NULL), one
 * `action` line per action up to and including END (skipped when actions is
 * NULL). */
int dpuflow_recorder_dump(const struct rte_flow_attr *attr,
                          const struct rte_flow_item *pattern,
                          const struct rte_flow_action *actions,
                          char *buf, size_t len);

/* A `pattern_template` line for the attributes, then the items. */
int dpuflow_recorder_dump_pattern_template(
    const struct rte_flow_pattern_template_attr *attr,
    const struct rte_flow_item *pattern, char *buf, size_t len);

/* An `actions_template` line, the actions (`action` lines), then the masks
 * (`mask` lines, same format as actions; skipped when masks is NULL). */
int dpuflow_recorder_dump_actions_template(
    const struct rte_flow_actions_template_attr *attr,
    const struct rte_flow_action *actions,
    const struct rte_flow_action *masks, char *buf, size_t len);

#ifdef __cplusplus
}
#endif

#endif
