// The package's C: the innermost ISA-specific loops, reached from Swift
// through one named type per concern (Kernels/InstructionSet.swift for the
// CPU's features). Functions carry clang `target` attributes instead of
// build flags, so the package stays usable as a versioned dependency
// (no unsafeFlags), and the instruction set is chosen at run time.

#ifndef CKERNELS_H
#define CKERNELS_H

#include "CKVectorMath.h"

/// Bits of `ck_isa_support()`.
enum {
    /// AVX2 and FMA, with the OS saving the YMM state.
    CK_ISA_AVX2_FMA = 1,
    /// AVX-512 F, DQ, BW and VL, with the OS saving the ZMM state.
    CK_ISA_AVX512 = 2,
};

/// The vector instruction sets this CPU and OS support (cpuid, xgetbv):
/// a combination of the `CK_ISA_*` bits; 0 off x86-64.
int ck_isa_support(void);

#include "CKGemm.h"
#include "CKOptimizer.h"
#include "CKElementwise.h"

/// One pause in a spin-wait loop (x86's PAUSE: a waiting thread yields the
/// core's shared resources to its sibling and saves power; nothing
/// elsewhere). Scheduler/WorkerHub.swift spins with it.
static inline void ck_spin_pause(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

#endif
