/*
 * CommonCrypto's random number generator (in libSystem since macOS 10.10),
 * for C code built for macOS without an Apple SDK: OpenSSL 3 seeds itself
 * from it on every Apple target. With a real SDK (SDKROOT), the SDK's own
 * header is used instead.
 */
#ifndef GREEN_CROSS_COMMONCRYPTO_RANDOM_H
#define GREEN_CROSS_COMMONCRYPTO_RANDOM_H

#include <stddef.h>
#include <CommonCrypto/CommonCryptoError.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef CCCryptorStatus CCRNGStatus;

/* Fills `bytes` with `count` cryptographically secure random bytes. */
CCRNGStatus CCRandomGenerateBytes(void *bytes, size_t count);

#ifdef __cplusplus
}
#endif

#endif
