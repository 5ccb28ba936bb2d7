/*
 * dpuflow stand-in for the DOCA SDK header of the same name.
 * Written for dpuflow from NVIDIA's public DOCA 2.7 documentation; see
 * README.md in this directory. Only used when no DOCA SDK is found.
 *
 * Symbol annotations. In the SDK, DOCA_EXPERIMENTAL marks a symbol as
 * deprecated-for-warnings unless DOCA_ALLOW_EXPERIMENTAL_API is defined;
 * build.rs always defines it, so here both are plain visibility attributes.
 */
#ifndef DOCA_COMPAT_H_
#define DOCA_COMPAT_H_

#define DOCA_USED __attribute__((used))
#define DOCA_STABLE __attribute__((visibility("default"))) DOCA_USED

#ifdef DOCA_ALLOW_EXPERIMENTAL_API
#define DOCA_EXPERIMENTAL DOCA_STABLE
#else
#define DOCA_EXPERIMENTAL __attribute__((deprecated("DOCA experimental symbol"))) DOCA_STABLE
#endif

#ifdef DOCA_ALLOW_DEPRECATED_API
#define DOCA_DEPRECATED DOCA_STABLE
#else
#define DOCA_DEPRECATED __attribute__((deprecated("DOCA deprecated symbol"))) DOCA_STABLE
#endif

#endif /* DOCA_COMPAT_H_ */
