/*
 * lust/common.h - what every liblust header needs: the export macro and the C++ guards.
 *
 * Every public declaration carries LUST_API. The library is built with -fvisibility=hidden,
 * so a function without it is not exported even when lib/liblust.map names it; the exports
 * test catches the mismatch in either direction.
 */
#ifndef LUST_COMMON_H
#define LUST_COMMON_H

#if defined(LUST_BUILDING) || defined(__GNUC__)
#define LUST_API __attribute__((visibility("default")))
#else
#define LUST_API
#endif

#ifdef __cplusplus
#define LUST_BEGIN_DECLS extern "C" {
#define LUST_END_DECLS   }
#else
#define LUST_BEGIN_DECLS
#define LUST_END_DECLS
#endif

#endif
