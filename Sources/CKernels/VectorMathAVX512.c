// The AVX-512 path of the vector math (VectorMathBody.h): 512-bit vectors.

#if defined(__x86_64__)
#pragma clang attribute push(                                                  \
    __attribute__((target("avx512f,avx512dq,avx512bw,avx512vl"))), apply_to = function)
#define CK_ISA avx512
#define CK_W 64
#define CK_FMA 1
#include "VectorMathBody.h"
#pragma clang attribute pop
#endif
