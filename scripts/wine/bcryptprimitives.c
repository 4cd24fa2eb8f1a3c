/* ProcessPrng for Wine 8 (Debian 12), which lacks bcryptprimitives.dll: Rust's std asks it for
 * random bytes (HashMap keys, tempfile names) since Rust 1.78. A test-only stand-in built by
 * scripts/wine-env.sh into the Wine prefix, never shipped; it draws from Wine's own
 * RtlGenRandom (advapi32's SystemFunction036), as the real one draws from the kernel's RNG. */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
    while (length > 0) {
        ULONG chunk = length > 0x10000000 ? 0x10000000 : (ULONG)length;
        if (!SystemFunction036(data, chunk))
            return FALSE;
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}
