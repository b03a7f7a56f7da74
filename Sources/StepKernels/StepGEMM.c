// See include/StepKernels.h. The micro-kernel is BLIS's shape for AVX2 (Van Zee & van de Geijn): a
// tile of MR = 6 rows by NR = 16 columns of C in 12 ymm accumulators; at each k it loads 16 numbers
// of the packed W (two registers) and broadcasts one number of each of A's 6 rows. A is read in
// place (its rows are a part's rows of the state, just written and in cache); W is packed in panels
// of 16 columns, k-major, so the loads are contiguous.
#include "StepKernels.h"
#include <immintrin.h>

#define MR 6
#define NR 16
#define KERNEL __attribute__((target("avx2,fma")))

int sg_available(void) {
    static int known = -1;   // a benign race: every thread computes the same value
    if (known < 0) { __builtin_cpu_init(); known = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"); }
    return known;
}

size_t sg_packed_count(int k, int n) { return (size_t)((n + NR - 1) / NR) * (size_t)k * NR; }

void sg_pack(int transposed, int k, int n, const float *w, int ldw, float *packed) {
    for (int p = 0; p * NR < n; p++)
        for (int kk = 0; kk < k; kk++)
            for (int c = 0; c < NR; c++) {
                int j = p * NR + c;
                float v = 0;
                if (j < n) v = transposed ? w[(size_t)j * ldw + kk] : w[(size_t)kk * ldw + j];
                packed[((size_t)p * k + kk) * NR + c] = v;
            }
}

// One tile of rows × cols (rows ≤ MR, cols ≤ NR; rows a constant where inlined, so a short block
// does only its own rows' work).
KERNEL static inline __attribute__((always_inline)) void tile(int rows, int cols, int k, const float *a, int lda,
                                                               const float *p, int beta, float *c, int ldc) {
    __m256 acc[MR][2];
    for (int i = 0; i < rows; i++) acc[i][0] = acc[i][1] = _mm256_setzero_ps();
    for (int kk = 0; kk < k; kk++) {
        __m256 b0 = _mm256_loadu_ps(p + (size_t)kk * NR), b1 = _mm256_loadu_ps(p + (size_t)kk * NR + 8);
        for (int i = 0; i < rows; i++) {
            __m256 ai = _mm256_broadcast_ss(a + (size_t)i * lda + kk);
            acc[i][0] = _mm256_fmadd_ps(ai, b0, acc[i][0]);
            acc[i][1] = _mm256_fmadd_ps(ai, b1, acc[i][1]);
        }
    }
    if (cols == NR) {
        for (int i = 0; i < rows; i++) {
            float *ci = c + (size_t)i * ldc;
            __m256 c0 = acc[i][0], c1 = acc[i][1];
            if (beta) { c0 = _mm256_add_ps(_mm256_loadu_ps(ci), c0); c1 = _mm256_add_ps(_mm256_loadu_ps(ci + 8), c1); }
            _mm256_storeu_ps(ci, c0);
            _mm256_storeu_ps(ci + 8, c1);
        }
    } else {
        float t[NR];
        for (int i = 0; i < rows; i++) {
            float *ci = c + (size_t)i * ldc;
            _mm256_storeu_ps(t, acc[i][0]);
            _mm256_storeu_ps(t + 8, acc[i][1]);
            for (int j = 0; j < cols; j++) ci[j] = beta ? ci[j] + t[j] : t[j];
        }
    }
}

// One block of rows against the panels [first, last).
KERNEL static void row_block(int rows, int first, int last, int n, int k, const float *a, int lda, const float *packed,
                             int beta, float *c, int ldc) {
    for (int p = first; p < last; p++) {
        int cols = n - p * NR < NR ? n - p * NR : NR;
        const float *panel = packed + (size_t)p * k * NR;
        float *cp = c + (size_t)p * NR;
        switch (rows) {   // each case a constant row count, so the inlined tile unrolls to it
        case 6: tile(6, cols, k, a, lda, panel, beta, cp, ldc); break;
        case 5: tile(5, cols, k, a, lda, panel, beta, cp, ldc); break;
        case 4: tile(4, cols, k, a, lda, panel, beta, cp, ldc); break;
        case 3: tile(3, cols, k, a, lda, panel, beta, cp, ldc); break;
        case 2: tile(2, cols, k, a, lda, panel, beta, cp, ldc); break;
        default: tile(1, cols, k, a, lda, panel, beta, cp, ldc); break;
        }
    }
}

// The panels in groups of at most GROUP_BYTES, which stay in L2 while every row block passes over
// them; a row block (6 rows of A) stays in L1 across a group's panels. At n = 512 the packed W is
// 1 MB, the whole of a core's L2 (Zen 4): swept whole once per row block, it would stream from L3.
#define GROUP_BYTES (256 * 1024)

void sg_gemm(int m, int n, int k, const float *a, int lda, const float *packed, int beta, float *c, int ldc) {
    int panels = (n + NR - 1) / NR;
    size_t panel_bytes = (size_t)k * NR * sizeof(float);
    int group = panel_bytes >= GROUP_BYTES ? 1 : (int)(GROUP_BYTES / panel_bytes);
    for (int first = 0; first < panels; first += group) {
        int last = first + group < panels ? first + group : panels;
        for (int i = 0; i < m; i += MR)
            row_block(m - i < MR ? m - i : MR, first, last, n, k, a + (size_t)i * lda, lda, packed, beta,
                      c + (size_t)i * ldc, ldc);
    }
}
