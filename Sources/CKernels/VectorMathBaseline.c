// The baseline path of the vector math (VectorMathBody.h): the platform's
// base instruction set (SSE2 on x86-64), 128-bit vectors, no FMA.

#define CK_ISA baseline
#define CK_W 16
#define CK_FMA 0
#include "VectorMathBody.h"
