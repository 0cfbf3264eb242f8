/* ProcessPrng for wine releases that lack bcryptprimitives.dll (wine 8 in
 * Debian bookworm). Rust 1.78 and later import it for randomness (HashMap
 * keys); this forwards to RtlGenRandom. Built into the wine runner of `green-cross test` for windows-gnu. */
#include <windows.h>
#include <ntsecapi.h>
BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
    while (len > 0) {
        ULONG chunk = len > 0x7fffffff ? 0x7fffffff : (ULONG)len;
        if (!RtlGenRandom(data, chunk)) return FALSE;
        data += chunk; len -= chunk;
    }
    return TRUE;
}
