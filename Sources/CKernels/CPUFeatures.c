// What the CPU supports, from cpuid and xgetbv: an instruction set counts
// only when the OS saves its registers too (XCR0), else using it would
// fault even though cpuid lists it.

#include "CKernels.h"

#if defined(__x86_64__)
#include <cpuid.h>

static unsigned long long ck_xgetbv0(void) {
    unsigned int eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((unsigned long long)edx << 32) | eax;
}

int ck_isa_support(void) {
    unsigned int a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    const int osxsave = (c >> 27) & 1, avx = (c >> 28) & 1, fma = (c >> 12) & 1;
    if (!osxsave || !avx) return 0;
    const unsigned long long xcr0 = ck_xgetbv0();
    if ((xcr0 & 0x6) != 0x6) return 0;  // XMM and YMM state
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    int support = 0;
    const int avx2 = (b >> 5) & 1;
    if (avx2 && fma) support |= CK_ISA_AVX2_FMA;
    const int f = (b >> 16) & 1, dq = (b >> 17) & 1, bw = (b >> 30) & 1, vl = (b >> 31) & 1;
    // Opmask, upper ZMM halves and ZMM16-31 state.
    if ((support & CK_ISA_AVX2_FMA) && f && dq && bw && vl && (xcr0 & 0xe6) == 0xe6) {
        support |= CK_ISA_AVX512;
    }
    return support;
}
#else
int ck_isa_support(void) { return 0; }
#endif
