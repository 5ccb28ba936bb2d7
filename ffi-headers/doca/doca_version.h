/*
 * dpuflow stand-in for the DOCA SDK header of the same name. The numbers
 * name the DOCA release whose public API these declarations follow (see
 * README.md); they are NOT a real SDK's build numbers.
 */
#ifndef DOCA_VERSION_H_
#define DOCA_VERSION_H_

#include <doca_compat.h>

#ifdef __cplusplus
extern "C" {
#endif

#define DOCA_VER_MAJOR 2
#define DOCA_VER_MINOR 7
#define DOCA_VER_PATCH 0
#define DOCA_VER_STRING "2.7.0"

/* Version string of the DOCA runtime actually linked. */
DOCA_EXPERIMENTAL
const char *doca_version_runtime(void);

#ifdef __cplusplus
}
#endif

#endif /* DOCA_VERSION_H_ */
