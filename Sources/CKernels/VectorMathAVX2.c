// The AVX2+FMA path of the vector math (VectorMathBody.h): 256-bit vectors.

#if defined(__x86_64__)
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#define CK_ISA avx2
#define CK_W 32
#define CK_FMA 1
#include "VectorMathBody.h"
#pragma clang attribute pop
#endif
