/*
 * dpuflow stand-in for the DOCA SDK header of the same name (DOCA 2.7
 * shapes; see README.md). Only the big-endian scalar types are declared.
 */
#ifndef DOCA_TYPES_H_
#define DOCA_TYPES_H_

#include <stdint.h>

#ifdef __linux__
#include <linux/types.h>
/* Network-order scalars: same storage as the CPU types, the name only
 * documents the byte order the hardware expects. */
typedef __be16 doca_be16_t;
typedef __be32 doca_be32_t;
typedef __be64 doca_be64_t;
#else
typedef uint16_t doca_be16_t;
typedef uint32_t doca_be32_t;
typedef uint64_t doca_be64_t;
#endif

#endif /* DOCA_TYPES_H_ */
