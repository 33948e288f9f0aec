// BLIS-style matrix products (Note [Gemm determinism] in Kernels/Gemm.swift).
//
// C is computed in panels: columns in blocks of NC, depth in blocks of KC
// (always starting at p = 0), rows in blocks of MC; op(B)'s KC×NC panel is
// packed into slivers NR columns wide and op(A)'s MC×KC block into slivers
// MR rows tall (both zero-padded), and a micro-kernel keeps an MR×NR tile
// of C in registers while it runs down one KC block. Packing reads every
// layout (A or Aᵀ, B or Bᵀ), so the micro-kernel sees one. When op(B) = B
// (rows of B already hold NR consecutive columns), full slivers are read in
// place instead: the runtime calls the kernel once per row chunk, and each
// call would otherwise pack all of B again.
//
// Each element of C is one accumulator lane: s = accumulate ? C : 0, then
// s = s + a·b for p ascending, fused (one rounding) on AVX2 and AVX-512,
// product rounded first on the baseline; between KC blocks s is stored to
// C and loaded again, which is exact. Edge tiles run the same micro-kernel
// on a copy of the tile; padding only fills lanes whose results are thrown
// away. Nothing an element computes depends on m, n, its position in a
// tile or block, or the row range of the call.
//
// Packing buffers are per thread (a pthread key), allocated on a thread's
// first product and reused: after warm-up the kernels do not allocate.

#pragma clang fp contract(off)

#include "CKGemm.h"
#include "CKernels.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

// Depth of a packed panel; one value for every kernel (it bounds scratch).
#define CK_KC 256
// Packed op(B) panel: KC × 1024 floats or KC × 512 doubles (1 MiB); packed
// op(A) block: at most 144 rows × KC doubles.
#define CK_B_BYTES (CK_KC * 1024 * 4)
#define CK_A_BYTES (144 * CK_KC * 8)
#define CK_SCRATCH_BYTES (CK_B_BYTES + CK_A_BYTES)

static pthread_key_t ck_scratch_key;
static pthread_once_t ck_scratch_once = PTHREAD_ONCE_INIT;

static void ck_make_scratch_key(void) { pthread_key_create(&ck_scratch_key, free); }

/// This thread's packing buffer (64-byte aligned), allocated once.
static void *ck_scratch(void) {
    pthread_once(&ck_scratch_once, ck_make_scratch_key);
    void *p = pthread_getspecific(ck_scratch_key);
    if (p == NULL) {
        if (posix_memalign(&p, 64, CK_SCRATCH_BYTES) != 0) abort();
        pthread_setspecific(ck_scratch_key, p);
    }
    return p;
}

static inline long ck_min(long x, long y) { return x < y ? x : y; }

// Packing, the loop nest and the matrix-vector product, for one element
// type, micro-tile and micro-kernel. ATTR is the target attribute (empty
// for the baseline); UKR(k, a, b, bs, c, ldc, load_c) computes one full
// tile (rows of op(B) bs apart); PACK_BT(kc, b, ldb, pb) packs a full sliver
// of op(B) = Bᵀ faster where it can, returning 0 where it does not.
#define CK_NO_PACK_BT(kc, b, ldb, pb) 0
#define CK_DEFINE_GEMM(NAME, T, MR, NR, MC, NC, UKR, PACK_BT, ATTR)                                     \
    ATTR static void NAME##_pack_a(                                                             \
        int ta, long mc, long kc, const T *a, long lda, T *restrict pa) {                      \
        for (long i0 = 0; i0 < mc; i0 += MR) {                                                  \
            const long rows = ck_min(MR, mc - i0);                                              \
            if (ta && rows == MR) {                                                             \
                /* A constant-size copy, inlined: the variable-length loop */                   \
                /* below becomes a libc memmove call per p (7% of S5). */                       \
                for (long p = 0; p < kc; p++)                                                   \
                    memcpy(pa + p * MR, a + p * lda + i0, MR * sizeof(T));                      \
            } else if (ta) {                                                                    \
                for (long p = 0; p < kc; p++) {                                                 \
                    const T *s = a + p * lda + i0;                                              \
                    T *d = pa + p * MR;                                                         \
                    long r = 0;                                                                 \
                    for (; r < rows; r++) d[r] = s[r];                                          \
                    for (; r < MR; r++) d[r] = 0;                                               \
                }                                                                               \
            } else {                                                                            \
                long r = 0;                                                                     \
                for (; r < rows; r++) {                                                         \
                    const T *s = a + (i0 + r) * lda;                                            \
                    for (long p = 0; p < kc; p++) pa[p * MR + r] = s[p];                        \
                }                                                                               \
                for (; r < MR; r++)                                                             \
                    for (long p = 0; p < kc; p++) pa[p * MR + r] = 0;                           \
            }                                                                                   \
            pa += MR * kc;                                                                      \
        }                                                                                       \
    }                                                                                           \
    ATTR static void NAME##_pack_b(                                                             \
        int tb, long kc, long nc, const T *b, long ldb, T *restrict pb) {                      \
        for (long j0 = 0; j0 < nc; j0 += NR) {                                                  \
            const long cols = ck_min(NR, nc - j0);                                              \
            if (tb && cols == NR && PACK_BT(kc, b + j0 * ldb, ldb, pb)) {                       \
                /* a full sliver of Bᵀ, transposed in registers */                              \
            } else if (tb) {                                                                    \
                long j = 0;                                                                     \
                for (; j < cols; j++) {                                                         \
                    const T *s = b + (j0 + j) * ldb;                                            \
                    for (long p = 0; p < kc; p++) pb[p * NR + j] = s[p];                        \
                }                                                                               \
                for (; j < NR; j++)                                                             \
                    for (long p = 0; p < kc; p++) pb[p * NR + j] = 0;                           \
            } else if (cols == NR) {                                                            \
                for (long p = 0; p < kc; p++)                                                   \
                    memcpy(pb + p * NR, b + p * ldb + j0, NR * sizeof(T));                      \
            } else {                                                                            \
                for (long p = 0; p < kc; p++) {                                                 \
                    const T *s = b + p * ldb + j0;                                              \
                    T *d = pb + p * NR;                                                         \
                    long j = 0;                                                                 \
                    for (; j < cols; j++) d[j] = s[j];                                          \
                    for (; j < NR; j++) d[j] = 0;                                               \
                }                                                                               \
            }                                                                                   \
            pb += NR * kc;                                                                      \
        }                                                                                       \
    }                                                                                           \
    ATTR static void NAME##_gemm(                                                               \
        int ta, int tb, long m, long n, long k, const T *a, long lda, const T *b, long ldb,     \
        T *c, long ldc, int accumulate) {                                                       \
        if (n == 1) {                                                                           \
            NAME##_gemv(ta ? 1 : lda, ta ? lda : 1, m, k, a, b, tb ? 1 : ldb, c, ldc,           \
                        accumulate);                                                            \
            return;                                                                             \
        }                                                                                       \
        T *pb = (T *)ck_scratch();                                                              \
        T *pa = (T *)((char *)pb + CK_B_BYTES);                                                 \
        for (long jc = 0; jc < n; jc += NC) {                                                   \
            const long nc = ck_min(NC, n - jc);                                                 \
            for (long pc = 0; pc < k; pc += CK_KC) {                                            \
                const long kc = ck_min(CK_KC, k - pc);                                          \
                const int load_c = accumulate || pc > 0;                                        \
                const T *bsrc = tb ? b + jc * ldb + pc : b + pc * ldb + jc;                    \
                if (tb) NAME##_pack_b(1, kc, nc, bsrc, ldb, pb);                                \
                for (long ic = 0; ic < m; ic += MC) {                                           \
                    const long mc = ck_min(MC, m - ic);                                         \
                    NAME##_pack_a(ta, mc, kc, ta ? a + pc * lda + ic : a + ic * lda + pc, lda,  \
                                  pa);                                                          \
                    for (long jr = 0; jr < nc; jr += NR) {                                      \
                        const long cols = ck_min(NR, nc - jr);                                  \
                        /* op(B) = B: full slivers are read in place (rows ldb apart). */      \
                        const T *bp = pb + jr * kc;                                             \
                        long bs = NR;                                                           \
                        if (!tb && cols == NR) {                                                \
                            bp = bsrc + jr;                                                     \
                            bs = ldb;                                                           \
                        } else if (!tb) {                                                       \
                            NAME##_pack_b(0, kc, cols, bsrc + jr, ldb, pb);                     \
                            bp = pb;                                                            \
                        }                                                                       \
                        for (long ir = 0; ir < mc; ir += MR) {                                  \
                            const long rows = ck_min(MR, mc - ir);                              \
                            const T *ap = pa + ir * kc;                                         \
                            T *cp = c + (ic + ir) * ldc + jc + jr;                              \
                            if (rows == MR && cols == NR) {                                     \
                                UKR(kc, ap, bp, bs, cp, ldc, load_c);                               \
                                continue;                                                       \
                            }                                                                   \
                            /* An edge tile: the same kernel on a copy. */                      \
                            T tile[MR * NR] __attribute__((aligned(64)));                       \
                            /* Full-width rows copy with a constant size (inlined); */          \
                            /* a variable size calls libc per row (7% of S5). */                \
                            if (load_c) {                                                       \
                                memset(tile, 0, sizeof(tile));                                  \
                                for (long r = 0; r < rows; r++) {                               \
                                    if (cols == NR)                                             \
                                        memcpy(tile + r * NR, cp + r * ldc, NR * sizeof(T));    \
                                    else                                                        \
                                        memcpy(tile + r * NR, cp + r * ldc, cols * sizeof(T));  \
                                }                                                               \
                            }                                                                   \
                            UKR(kc, ap, bp, bs, tile, NR, load_c);                                  \
                            for (long r = 0; r < rows; r++) {                                   \
                                if (cols == NR)                                                 \
                                    memcpy(cp + r * ldc, tile + r * NR, NR * sizeof(T));        \
                                else                                                            \
                                    memcpy(cp + r * ldc, tile + r * NR, cols * sizeof(T));      \
                            }                                                                   \
                        }                                                                       \
                    }                                                                           \
                }                                                                               \
            }                                                                                   \
        }                                                                                       \
    }

// The matrix-vector product (n == 1): rows of C in the lanes of LANES-wide
// vectors, four vectors at a time, op(B) read in place. The same per-element
// order as the micro-kernels. VT, VLOAD(p) (unaligned), VSPLAT(x) and
// VMADD(s, a, b) (s + a·b) are the vector operations.
#define CK_DEFINE_GEMV(NAME, T, LANES, VT, VLOAD, VSPLAT, VMADD, FAST, ATTR)                        \
    ATTR static void NAME##_gemv(                                                               \
        long rs, long ds, long m, long k, const T *a, const T *b, long bs, T *c, long ldc,      \
        int accumulate) {                                                                       \
        long i = 0;                                                                             \
        if (rs == 1) {                                                                          \
            /* op(A) stored transposed, eight vectors of rows at a time: */                     \
            /* enough independent sums to hide the multiply-add latency. */                     \
            for (; i + 8 * LANES <= m; i += 8 * LANES) {                                        \
                VT s[8];                                                                        \
                _Pragma("clang loop unroll(full)") for (int v = 0; v < 8; v++) {                \
                    if (accumulate) {                                                           \
                        T t[LANES];                                                             \
                        for (long l = 0; l < LANES; l++) t[l] = c[(i + v * LANES + l) * ldc];   \
                        s[v] = VLOAD(t);                                                        \
                    } else {                                                                    \
                        s[v] = VSPLAT((T)0);                                                    \
                    }                                                                           \
                }                                                                               \
                const T *pa = a + i;                                                            \
                for (long p = 0; p < k; p++, pa += ds) {                                        \
                    const VT bv = VSPLAT(b[p * bs]);                                            \
                    _Pragma("clang loop unroll(full)") for (int v = 0; v < 8; v++) {            \
                        s[v] = VMADD(s[v], VLOAD(pa + v * LANES), bv);                          \
                    }                                                                           \
                }                                                                               \
                _Pragma("clang loop unroll(full)") for (int v = 0; v < 8; v++) {                \
                    T t[LANES];                                                                 \
                    memcpy(t, &s[v], sizeof(VT));                                               \
                    for (long l = 0; l < LANES; l++) c[(i + v * LANES + l) * ldc] = t[l];       \
                }                                                                               \
            }                                                                                   \
        }                                                                                       \
        for (; i < m; i += 4 * LANES) {                                                         \
            const long rows = ck_min(4 * LANES, m - i);                                         \
            T t[4 * LANES];                                                                     \
            /* Each lane's row, past the end repeating the last (results unused). */           \
            long off[4 * LANES];                                                                \
            for (long l = 0; l < 4 * LANES; l++) {                                              \
                t[l] = accumulate && l < rows ? c[(i + l) * ldc] : 0;                           \
                off[l] = (i + ck_min(l, rows - 1)) * rs;                                        \
            }                                                                                   \
            VT s0 = VLOAD(t), s1 = VLOAD(t + LANES), s2 = VLOAD(t + 2 * LANES),                 \
               s3 = VLOAD(t + 3 * LANES);                                                       \
            const T *pa = a;                                                                    \
            if (rows == 4 * LANES && FAST(rs, ds, k, a + i * rs, b, bs, &s0, &s1, &s2, &s3)) { \
                /* rows of A read in place, transposed in registers */                          \
            } else if (rs == 1 && rows == 4 * LANES) {                                          \
                /* op(A) stored transposed: a vector of rows is one load. */                    \
                for (long p = 0; p < k; p++, pa += ds) {                                        \
                    const VT bv = VSPLAT(b[p * bs]);                                            \
                    s0 = VMADD(s0, VLOAD(pa + i), bv);                                          \
                    s1 = VMADD(s1, VLOAD(pa + i + LANES), bv);                                  \
                    s2 = VMADD(s2, VLOAD(pa + i + 2 * LANES), bv);                              \
                    s3 = VMADD(s3, VLOAD(pa + i + 3 * LANES), bv);                              \
                }                                                                               \
            } else {                                                                            \
                /* Strided rows: lanes inserted one by one. */                                  \
                for (long p = 0; p < k; p++, pa += ds) {                                        \
                    const VT bv = VSPLAT(b[p * bs]);                                            \
                    VT v0 = bv, v1 = bv, v2 = bv, v3 = bv;                                      \
                    _Pragma("clang loop unroll(full)") for (int l = 0; l < LANES; l++) {        \
                        v0[l] = pa[off[l]];                                                     \
                        v1[l] = pa[off[LANES + l]];                                             \
                        v2[l] = pa[off[2 * LANES + l]];                                         \
                        v3[l] = pa[off[3 * LANES + l]];                                         \
                    }                                                                           \
                    s0 = VMADD(s0, v0, bv);                                                     \
                    s1 = VMADD(s1, v1, bv);                                                     \
                    s2 = VMADD(s2, v2, bv);                                                     \
                    s3 = VMADD(s3, v3, bv);                                                     \
                }                                                                               \
            }                                                                                   \
            memcpy(t, &s0, sizeof(VT));                                                         \
            memcpy(t + LANES, &s1, sizeof(VT));                                                 \
            memcpy(t + 2 * LANES, &s2, sizeof(VT));                                             \
            memcpy(t + 3 * LANES, &s3, sizeof(VT));                                             \
            for (long l = 0; l < rows; l++) c[(i + l) * ldc] = t[l];                            \
        }                                                                                       \
    }

// MARK: - Baseline: 128-bit generic vectors, product rounded before the add.

typedef float ck_f4 __attribute__((vector_size(16)));
typedef double ck_d2 __attribute__((vector_size(16)));

static inline ck_f4 ck_f4_load(const float *p) {
    ck_f4 v;
    memcpy(&v, p, sizeof v);
    return v;
}
static inline ck_d2 ck_d2_load(const double *p) {
    ck_d2 v;
    memcpy(&v, p, sizeof v);
    return v;
}
static inline ck_f4 ck_f4_splat(float x) { return (ck_f4){x, x, x, x}; }
static inline ck_d2 ck_d2_splat(double x) { return (ck_d2){x, x}; }
#define CK_MADD(s, a, b) ((s) + (a) * (b))
#define CK_NO_GEMV_FAST(rs, ds, k, a, b, bs, s0, s1, s2, s3) 0

// 6×8 floats: twelve 4-lane accumulators (fifteen of sixteen SSE registers).
// The Double kernel is the same with 2-lane vectors: 6×4.
#define CK_BASE_UKR(NAME, T, V, LOAD, SPLAT, W)                                                 \
    static void NAME(long k, const T *a, const T *b, long bs, T *c, long ldc, int load_c) {    \
        V s[6][2];                                                                              \
        for (int r = 0; r < 6; r++) {                                                           \
            s[r][0] = load_c ? LOAD(c + r * ldc) : SPLAT(0);                                    \
            s[r][1] = load_c ? LOAD(c + r * ldc + W) : SPLAT(0);                                \
        }                                                                                       \
        for (long p = 0; p < k; p++, a += 6, b += bs) {                                         \
            const V b0 = LOAD(b), b1 = LOAD(b + W);                                             \
            for (int r = 0; r < 6; r++) {                                                       \
                const V x = SPLAT(a[r]);                                                        \
                s[r][0] = CK_MADD(s[r][0], x, b0);                                              \
                s[r][1] = CK_MADD(s[r][1], x, b1);                                              \
            }                                                                                   \
        }                                                                                       \
        for (int r = 0; r < 6; r++) {                                                           \
            memcpy(c + r * ldc, &s[r][0], sizeof(V));                                           \
            memcpy(c + r * ldc + W, &s[r][1], sizeof(V));                                       \
        }                                                                                       \
    }

CK_BASE_UKR(ck_base_ukr_f32, float, ck_f4, ck_f4_load, ck_f4_splat, 4)
CK_BASE_UKR(ck_base_ukr_f64, double, ck_d2, ck_d2_load, ck_d2_splat, 2)
CK_DEFINE_GEMV(ck_base_f32, float, 4, ck_f4, ck_f4_load, ck_f4_splat, CK_MADD, CK_NO_GEMV_FAST, )
CK_DEFINE_GEMV(ck_base_f64, double, 2, ck_d2, ck_d2_load, ck_d2_splat, CK_MADD, CK_NO_GEMV_FAST, )
CK_DEFINE_GEMM(ck_base_f32, float, 6, 8, 144, 1024, ck_base_ukr_f32, CK_NO_PACK_BT, )
CK_DEFINE_GEMM(ck_base_f64, double, 6, 4, 144, 512, ck_base_ukr_f64, CK_NO_PACK_BT, )

#if defined(__x86_64__)

// MARK: - AVX2 + FMA: 6×16 floats, 6×8 doubles (12 accumulators of 16 YMM).

#define CK_AVX2 __attribute__((target("avx2,fma")))

#define CK_AVX2_UKR(NAME, T, V, LOADU, STOREU, BCAST, FMADD, ZERO, W)                           \
    CK_AVX2 static inline void NAME(long k, const T *a, const T *b, long bs, T *c, long ldc,   \
                                    int load_c) {                                               \
        V c00 = ZERO(), c01 = ZERO(), c10 = ZERO(), c11 = ZERO(), c20 = ZERO(), c21 = ZERO();   \
        V c30 = ZERO(), c31 = ZERO(), c40 = ZERO(), c41 = ZERO(), c50 = ZERO(), c51 = ZERO();   \
        if (load_c) {                                                                           \
            c00 = LOADU(c), c01 = LOADU(c + W);                                                 \
            c10 = LOADU(c + ldc), c11 = LOADU(c + ldc + W);                                     \
            c20 = LOADU(c + 2 * ldc), c21 = LOADU(c + 2 * ldc + W);                             \
            c30 = LOADU(c + 3 * ldc), c31 = LOADU(c + 3 * ldc + W);                             \
            c40 = LOADU(c + 4 * ldc), c41 = LOADU(c + 4 * ldc + W);                             \
            c50 = LOADU(c + 5 * ldc), c51 = LOADU(c + 5 * ldc + W);                             \
        }                                                                                       \
        for (long p = 0; p < k; p++, a += 6, b += bs) {                                         \
            const V b0 = LOADU(b), b1 = LOADU(b + W);                                           \
            V x = BCAST(a);                                                                     \
            c00 = FMADD(x, b0, c00), c01 = FMADD(x, b1, c01);                                   \
            x = BCAST(a + 1);                                                                   \
            c10 = FMADD(x, b0, c10), c11 = FMADD(x, b1, c11);                                   \
            x = BCAST(a + 2);                                                                   \
            c20 = FMADD(x, b0, c20), c21 = FMADD(x, b1, c21);                                   \
            x = BCAST(a + 3);                                                                   \
            c30 = FMADD(x, b0, c30), c31 = FMADD(x, b1, c31);                                   \
            x = BCAST(a + 4);                                                                   \
            c40 = FMADD(x, b0, c40), c41 = FMADD(x, b1, c41);                                   \
            x = BCAST(a + 5);                                                                   \
            c50 = FMADD(x, b0, c50), c51 = FMADD(x, b1, c51);                                   \
        }                                                                                       \
        STOREU(c, c00), STOREU(c + W, c01);                                                     \
        STOREU(c + ldc, c10), STOREU(c + ldc + W, c11);                                         \
        STOREU(c + 2 * ldc, c20), STOREU(c + 2 * ldc + W, c21);                                 \
        STOREU(c + 3 * ldc, c30), STOREU(c + 3 * ldc + W, c31);                                 \
        STOREU(c + 4 * ldc, c40), STOREU(c + 4 * ldc + W, c41);                                 \
        STOREU(c + 5 * ldc, c50), STOREU(c + 5 * ldc + W, c51);                                 \
    }

CK_AVX2_UKR(ck_avx2_ukr_f32, float, __m256, _mm256_loadu_ps, _mm256_storeu_ps,
            _mm256_broadcast_ss, _mm256_fmadd_ps, _mm256_setzero_ps, 8)
CK_AVX2_UKR(ck_avx2_ukr_f64, double, __m256d, _mm256_loadu_pd, _mm256_storeu_pd,
            _mm256_broadcast_sd, _mm256_fmadd_pd, _mm256_setzero_pd, 4)

#define CK_FMA_PS(s, a, b) _mm256_fmadd_ps(a, b, s)
#define CK_FMA_PD(s, a, b) _mm256_fmadd_pd(a, b, s)
// Sixteen rows of a row-major op(A) (rows rs apart, depth contiguous) times
// op(B): four depths of four rows per load group, transposed 4×4 in
// registers, so each lane still adds its row's products in ascending p.
CK_AVX2 static int ck_avx2_f64_gemv16(long rs, long ds, long k, const double *a,
                                      const double *b, long bs, __m256d *s0, __m256d *s1,
                                      __m256d *s2, __m256d *s3) {
    if (ds != 1) return 0;
    const int contiguous = rs == k;
    __m256d acc[4] = {*s0, *s1, *s2, *s3};
    long p = 0;
    for (; p + 4 <= k; p += 4) {
        if (contiguous) {
            /* The next sixteen rows into L2, in address order, as many */
            /* lines per four depths as the block reads (eight): sixteen row */
            /* streams at once are more than the hardware prefetcher */
            /* follows, and prefetches in bursts queue up (measured on Zen 3, */
            /* 1,024 products of 64 × 256 doubles read from memory: 10 ms */
            /* without, 6.5 in bursts of sixteen lines, 5.4–6.2 spread: the */
            /* speed of a plain sequential read). A prefetch past the end */
            /* does not fault. */
            const char *next = (const char *)(a + 16 * rs) + p * 128;
            for (int l = 0; l < 8; l++) _mm_prefetch(next + 64 * l, _MM_HINT_T1);
        }
        const __m256d b0 = _mm256_set1_pd(b[p * bs]), b1 = _mm256_set1_pd(b[(p + 1) * bs]);
        const __m256d b2 = _mm256_set1_pd(b[(p + 2) * bs]), b3 = _mm256_set1_pd(b[(p + 3) * bs]);
        for (int g = 0; g < 4; g++) {
            const double *r = a + 4 * g * rs + p;
            const __m256d r0 = _mm256_loadu_pd(r), r1 = _mm256_loadu_pd(r + rs);
            const __m256d r2 = _mm256_loadu_pd(r + 2 * rs), r3 = _mm256_loadu_pd(r + 3 * rs);
            const __m256d t0 = _mm256_unpacklo_pd(r0, r1), t1 = _mm256_unpackhi_pd(r0, r1);
            const __m256d t2 = _mm256_unpacklo_pd(r2, r3), t3 = _mm256_unpackhi_pd(r2, r3);
            __m256d x = acc[g];
            x = _mm256_fmadd_pd(_mm256_permute2f128_pd(t0, t2, 0x20), b0, x);
            x = _mm256_fmadd_pd(_mm256_permute2f128_pd(t1, t3, 0x20), b1, x);
            x = _mm256_fmadd_pd(_mm256_permute2f128_pd(t0, t2, 0x31), b2, x);
            x = _mm256_fmadd_pd(_mm256_permute2f128_pd(t1, t3, 0x31), b3, x);
            acc[g] = x;
        }
    }
    for (; p < k; p++) {
        const __m256d bv = _mm256_set1_pd(b[p * bs]);
        for (int g = 0; g < 4; g++) {
            const double *r = a + 4 * g * rs + p;
            acc[g] = _mm256_fmadd_pd(_mm256_setr_pd(r[0], r[rs], r[2 * rs], r[3 * rs]), bv, acc[g]);
        }
    }
    *s0 = acc[0], *s1 = acc[1], *s2 = acc[2], *s3 = acc[3];
    return 1;
}

CK_DEFINE_GEMV(ck_avx2_f32, float, 8, __m256, _mm256_loadu_ps, _mm256_set1_ps, CK_FMA_PS,
               CK_NO_GEMV_FAST, CK_AVX2)
CK_DEFINE_GEMV(ck_avx2_f64, double, 4, __m256d, _mm256_loadu_pd, _mm256_set1_pd, CK_FMA_PD,
               ck_avx2_f64_gemv16, CK_AVX2)
// A 16-column sliver of op(B) = Bᵀ: 8×8 blocks transposed in registers
// (the dA = G·Bᵀ VJP repacks all of B in every row chunk).
CK_AVX2 static int ck_avx2_pack_bt16(long kc, const float *b, long ldb, float *pb) {
    long p = 0;
    for (; p + 8 <= kc; p += 8) {
        for (int h = 0; h < 2; h++) {
            const float *s = b + 8 * h * ldb + p;
            const __m256 r0 = _mm256_loadu_ps(s), r1 = _mm256_loadu_ps(s + ldb);
            const __m256 r2 = _mm256_loadu_ps(s + 2 * ldb), r3 = _mm256_loadu_ps(s + 3 * ldb);
            const __m256 r4 = _mm256_loadu_ps(s + 4 * ldb), r5 = _mm256_loadu_ps(s + 5 * ldb);
            const __m256 r6 = _mm256_loadu_ps(s + 6 * ldb), r7 = _mm256_loadu_ps(s + 7 * ldb);
            const __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
            const __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
            const __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
            const __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
            const __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
            const __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
            const __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
            const __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
            float *d = pb + p * 16 + 8 * h;
            _mm256_storeu_ps(d, _mm256_permute2f128_ps(u0, u4, 0x20));
            _mm256_storeu_ps(d + 16, _mm256_permute2f128_ps(u1, u5, 0x20));
            _mm256_storeu_ps(d + 32, _mm256_permute2f128_ps(u2, u6, 0x20));
            _mm256_storeu_ps(d + 48, _mm256_permute2f128_ps(u3, u7, 0x20));
            _mm256_storeu_ps(d + 64, _mm256_permute2f128_ps(u0, u4, 0x31));
            _mm256_storeu_ps(d + 80, _mm256_permute2f128_ps(u1, u5, 0x31));
            _mm256_storeu_ps(d + 96, _mm256_permute2f128_ps(u2, u6, 0x31));
            _mm256_storeu_ps(d + 112, _mm256_permute2f128_ps(u3, u7, 0x31));
        }
    }
    for (; p < kc; p++)
        for (long j = 0; j < 16; j++) pb[p * 16 + j] = b[j * ldb + p];
    return 1;
}

CK_DEFINE_GEMM(ck_avx2_f32, float, 6, 16, 144, 1024, ck_avx2_ukr_f32, ck_avx2_pack_bt16, CK_AVX2)
CK_DEFINE_GEMM(ck_avx2_f64, double, 6, 8, 144, 512, ck_avx2_ukr_f64, CK_NO_PACK_BT, CK_AVX2)

// MARK: - AVX-512: 14×32 floats, 14×16 doubles (28 accumulators of 32 ZMM).

#define CK_AVX512 __attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,avx2,fma")))

#define CK_AVX512_UKR(NAME, T, V, LOADU, STOREU, SET1, FMADD, ZERO, W)                          \
    CK_AVX512 static inline void NAME(long k, const T *a, const T *b, long bs, T *c, long ldc, \
                                      int load_c) {                                             \
        V s0[14], s1[14];                                                                       \
        _Pragma("clang loop unroll(full)") for (int r = 0; r < 14; r++) {                       \
            s0[r] = load_c ? LOADU(c + r * ldc) : ZERO();                                       \
            s1[r] = load_c ? LOADU(c + r * ldc + W) : ZERO();                                   \
        }                                                                                       \
        for (long p = 0; p < k; p++, a += 14, b += bs) {                                        \
            const V b0 = LOADU(b), b1 = LOADU(b + W);                                           \
            _Pragma("clang loop unroll(full)") for (int r = 0; r < 14; r++) {                   \
                const V x = SET1(a[r]);                                                         \
                s0[r] = FMADD(x, b0, s0[r]);                                                    \
                s1[r] = FMADD(x, b1, s1[r]);                                                    \
            }                                                                                   \
        }                                                                                       \
        _Pragma("clang loop unroll(full)") for (int r = 0; r < 14; r++) {                       \
            STOREU(c + r * ldc, s0[r]);                                                         \
            STOREU(c + r * ldc + W, s1[r]);                                                     \
        }                                                                                       \
    }

CK_AVX512_UKR(ck_avx512_ukr_f32, float, __m512, _mm512_loadu_ps, _mm512_storeu_ps,
              _mm512_set1_ps, _mm512_fmadd_ps, _mm512_setzero_ps, 16)
CK_AVX512_UKR(ck_avx512_ukr_f64, double, __m512d, _mm512_loadu_pd, _mm512_storeu_pd,
              _mm512_set1_pd, _mm512_fmadd_pd, _mm512_setzero_pd, 8)

#define CK_FMA512_PS(s, a, b) _mm512_fmadd_ps(a, b, s)
#define CK_FMA512_PD(s, a, b) _mm512_fmadd_pd(a, b, s)
CK_DEFINE_GEMV(ck_avx512_f32, float, 16, __m512, _mm512_loadu_ps, _mm512_set1_ps,
               CK_FMA512_PS, CK_NO_GEMV_FAST, CK_AVX512)
CK_DEFINE_GEMV(ck_avx512_f64, double, 8, __m512d, _mm512_loadu_pd, _mm512_set1_pd,
               CK_FMA512_PD, CK_NO_GEMV_FAST, CK_AVX512)
CK_DEFINE_GEMM(ck_avx512_f32, float, 14, 32, 140, 1024, ck_avx512_ukr_f32, CK_NO_PACK_BT,
               CK_AVX512)
CK_DEFINE_GEMM(ck_avx512_f64, double, 14, 16, 140, 512, ck_avx512_ukr_f64, CK_NO_PACK_BT,
               CK_AVX512)

#endif  // __x86_64__

CKGemmKernels ck_gemm_kernels(int isa) {
#if defined(__x86_64__)
    if (isa == CK_ISA_AVX512) {
        return (CKGemmKernels){ck_avx512_f32_gemm, ck_avx512_f64_gemm, 1, 14, 32, 14, 16};
    }
    if (isa == CK_ISA_AVX2_FMA) {
        return (CKGemmKernels){ck_avx2_f32_gemm, ck_avx2_f64_gemm, 1, 6, 16, 6, 8};
    }
#endif
    (void)isa;
    return (CKGemmKernels){ck_base_f32_gemm, ck_base_f64_gemm, 0, 6, 8, 6, 4};
}
