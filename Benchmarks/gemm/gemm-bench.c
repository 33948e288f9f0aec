// The own GEMM kernels (Sources/CKernels/CKGemm.c) on their own: checks
// every supported instruction set bitwise against the documented order
// (Note [Gemm determinism]) for whole products and row-range chunks, then,
// with an argument, times the S2 shapes (float32) beside OpenBLAS's
// cblas_sgemm at one thread when libopenblas.so.0 loads. From the repository
// root:
//
//     clang -O3 -ISources/CKernels/include Benchmarks/gemm/gemm-bench.c \
//         Sources/CKernels/CKGemm.c Sources/CKernels/CPUFeatures.c -lm -ldl \
//         -o /tmp/gemm-bench && /tmp/gemm-bench bench
#include "CKernels.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <dlfcn.h>
typedef void (*sgemm_t)(int,int,int,int,int,int,float,const float*,int,const float*,int,float,float*,int);
static sgemm_t blas;
static unsigned long long st = 88172645463325252ULL;
static double rnd(void) { st ^= st << 13; st ^= st >> 7; st ^= st << 17; return (double)(st >> 11) / 9007199254740992.0 * 2 - 1; }
static int fails = 0;
#define CHECK(T, FN, FMA)                                                                       \
static void check_##T(CKGemmKernels K, int ta, int tb, long m, long n, long k, int acc) {         \
    long lda = (ta ? m : k) + 3, ldb = (tb ? k : n) + 2, ldc = n + 5;                              \
    long ar = ta ? k : m, br = tb ? n : k;                                                          \
    T *a = malloc(sizeof(T) * ar * lda), *b = malloc(sizeof(T) * br * ldb);                        \
    T *c0 = malloc(sizeof(T) * m * ldc), *c1 = malloc(sizeof(T) * m * ldc), *ref = malloc(sizeof(T) * m * ldc); \
    for (long i = 0; i < ar * lda; i++) a[i] = rnd();                                              \
    for (long i = 0; i < br * ldb; i++) b[i] = rnd();                                              \
    for (long i = 0; i < m * ldc; i++) c0[i] = c1[i] = ref[i] = rnd();                             \
    for (long i = 0; i < m; i++) for (long j = 0; j < n; j++) {                                   \
        T s = acc ? ref[i * ldc + j] : 0;                                                          \
        for (long p = 0; p < k; p++) {                                                             \
            T x = ta ? a[p * lda + i] : a[i * lda + p], y = tb ? b[j * ldb + p] : b[p * ldb + j];  \
            s = FMA ? FN(x, y, s) : (T)(s + (T)(x * y));                                           \
        }                                                                                          \
        ref[i * ldc + j] = s;                                                                      \
    }                                                                                              \
    K.gemm_##T(ta, tb, m, n, k, a, lda, b, ldb, c0, ldc, acc);                                      \
    for (long r0 = 0, w = 1; r0 < m; r0 += w, w += 5) {                                            \
        long r1 = r0 + w < m ? r0 + w : m;                                                         \
        K.gemm_##T(ta, tb, r1 - r0, n, k, ta ? a + r0 : a + r0 * lda, lda, b, ldb, c1 + r0 * ldc, ldc, acc); \
    }                                                                                              \
    if (memcmp(c0, ref, sizeof(T) * m * ldc) || memcmp(c1, ref, sizeof(T) * m * ldc)) {            \
        fails++; printf("FAIL %s %ldx%ldx%ld ta%d tb%d acc%d\n", #T, m, n, k, ta, tb, acc);        \
    }                                                                                              \
    free(a); free(b); free(c0); free(c1); free(ref);                                               \
}
typedef float f32; typedef double f64;
#define gemm_f32 gemm_f32
CHECK(f32, fmaf, K.fused)
CHECK(f64, fma, K.fused)
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
static void bench(CKGemmKernels K, const char *name, int ta, int tb, long m, long n, long k) {
    long ar = ta ? k : m, br = tb ? n : k; float *a = malloc(4 * ar * (ta ? m : k)), *b = malloc(4 * br * (tb ? k : n)), *c = malloc(4 * m * n);
    for (long i = 0; i < ar * (ta ? m : k); i++) a[i] = rnd();
    for (long i = 0; i < br * (tb ? k : n); i++) b[i] = rnd();
    K.gemm_f32(ta, tb, m, n, k, a, ta ? m : k, b, tb ? k : n, c, n, 0);
    int reps = 0; double t0 = now(), t;
    do { K.gemm_f32(ta, tb, m, n, k, a, ta ? m : k, b, tb ? k : n, c, n, 0); reps++; } while ((t = now() - t0) < 0.3);
    double own = 2.0 * m * n * k * reps / t / 1e9, ob = 0;
    if (blas) { reps = 0; t0 = now();
      do { blas(101, ta ? 112 : 111, tb ? 112 : 111, m, n, k, 1, a, ta ? m : k, b, tb ? k : n, 0, c, n); reps++; } while ((t = now() - t0) < 0.3);
      ob = 2.0 * m * n * k * reps / t / 1e9; }
    printf("  %-20s %4ldx%4ldx%4ld  own %6.1f GFLOP/s  OpenBLAS %6.1f GFLOP/s\n", name, m, n, k, own, ob);
    free(a); free(b); free(c);
}
int main(int argc, char **argv) {
    (void)argv;
    setenv("OPENBLAS_NUM_THREADS", "1", 1);
    void *h = dlopen("libopenblas.so.0", RTLD_NOW); if (h) blas = (sgemm_t)dlsym(h, "cblas_sgemm");
    int sup = ck_isa_support();
    int isas[3] = {0, CK_ISA_AVX2_FMA, CK_ISA_AVX512};
    const char *names[3] = {"baseline", "avx2", "avx512"};
    long shapes[][3] = {{1,1,1},{3,5,7},{17,33,65},{64,64,64},{150,9,300},{7,1,600},{40,1,3},{16,1,37},{35,1,203},{150,47,530},{300,1100,20},{29,17,257}};
    for (int s = 0; s < 3; s++) {
        if (isas[s] && !(sup & isas[s])) { printf("%s: not supported\n", names[s]); continue; }
        CKGemmKernels K = ck_gemm_kernels(isas[s]);
        int before = fails;
        for (unsigned x = 0; x < sizeof shapes / sizeof shapes[0]; x++)
            for (int f = 0; f < 8; f++) {
                check_f32(K, f & 1, (f >> 1) & 1, shapes[x][0], shapes[x][1], shapes[x][2], f >> 2);
                check_f64(K, f & 1, (f >> 1) & 1, shapes[x][0], shapes[x][1], shapes[x][2], f >> 2);
            }
        printf("%s: %s\n", names[s], fails == before ? "bitwise OK" : "FAILURES");
        if (argc > 1) {
            bench(K, "fwd X*W1", 0, 0, 128, 512, 784);
            bench(K, "fwd H1*W2", 0, 0, 128, 512, 512);
            bench(K, "fwd H2*W3", 0, 0, 128, 10, 512);
            bench(K, "dA G*W3^T", 0, 1, 128, 512, 10);
            bench(K, "dA G*W2^T", 0, 1, 128, 512, 512);
            bench(K, "dW3 H2^T*G", 1, 0, 512, 10, 128);
            bench(K, "dW2 H1^T*G", 1, 0, 512, 512, 128);
            bench(K, "dW1 X^T*G", 1, 0, 784, 512, 128);
            bench(K, "fwd X*W1 (64 rows)", 0, 0, 64, 512, 784);
            bench(K, "fwd X*W1 (32 rows)", 0, 0, 32, 512, 784);
            bench(K, "dA G*W2^T (32 rows)", 0, 1, 32, 512, 512);
            bench(K, "dW2 H1^T*G (32 rows)", 1, 0, 32, 512, 128);
        }
    }
    return fails != 0;
}
