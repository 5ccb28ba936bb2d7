/*
 * Entry header of dpuflow's DOCA Flow bindings (cargo feature `doca` of
 * dpuflow-sys; see sys/build.rs, module `doca`).
 *
 * Only angle-bracket includes: the directory of this file is NOT searched
 * for them. build.rs puts either a real DOCA SDK's include directory
 * (DOCA_DIR or pkg-config `doca-flow`) or ffi-headers/doca/ on the include
 * path, so the same file names resolve to the SDK's headers when there is
 * one, and to dpuflow's declaration-only stand-ins (README.md) otherwise.
 */
#ifndef DPUFLOW_DOCA_H
#define DPUFLOW_DOCA_H

#include <doca_types.h>
#include <doca_error.h>
#include <doca_version.h>
#include <doca_flow_net.h>
#include <doca_flow.h>

#endif /* DPUFLOW_DOCA_H */
