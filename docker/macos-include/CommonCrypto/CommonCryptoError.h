/*
 * CommonCrypto's status codes, for C code built for macOS without an Apple
 * SDK (green-cross's stub SDK). zig's macOS headers lack this file; the
 * functions that return these codes are in libSystem on every Mac. With a
 * real SDK (SDKROOT), the SDK's own header is used instead.
 */
#ifndef GREEN_CROSS_COMMONCRYPTO_ERROR_H
#define GREEN_CROSS_COMMONCRYPTO_ERROR_H

#include <stdint.h>

typedef int32_t CCStatus;
typedef int32_t CCCryptorStatus;

enum {
    kCCSuccess = 0,
    kCCParamError = -4300,
    kCCBufferTooSmall = -4301,
    kCCMemoryFailure = -4302,
    kCCAlignmentError = -4303,
    kCCDecodeError = -4304,
    kCCUnimplemented = -4305,
    kCCOverflow = -4306,
    kCCRNGFailure = -4307,
    kCCUnspecifiedError = -4308,
    kCCCallSequenceError = -4309,
    kCCKeySizeError = -4310,
    kCCInvalidKey = -4311,
};

#endif
