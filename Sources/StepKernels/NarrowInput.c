// See include/StepKernels.h. A narrow input's projection and gradients, 8 columns at a time in
// registers: the Swift loops they replace added into the output row in memory once per input
// (a store and a reload per term) and took ∂x as one BLAS dot call per row and input.
#include "StepKernels.h"

typedef float v8f __attribute__((vector_size(32)));
typedef float v8u __attribute__((vector_size(32), aligned(4)));   // unaligned loads and stores
#define CLONES __attribute__((target_clones("avx2", "default")))
// Inlined with `input` a constant (see WIDTHS below), so that the loops over the inputs unroll and
// ∂Mᵀ's columns stay in registers rather than in an array on the stack.
#define INLINE static inline __attribute__((always_inline))

// Macros, not functions: a v8f returned from a function compiled for baseline x86-64 has no ABI.
#define load8(p) (*(const v8u *)(p))
#define store8(p, v) (*(v8u *)(p) = (v))
#define splat(x) ((v8f){x, x, x, x, x, x, x, x})

INLINE void project(int rows, int n, int input, const float *x, const float *mt, const float *bias, float *h) {
    for (int r = 0; r < rows; r++) {
        const float *xr = x + (size_t)r * input;
        float *hr = h + (size_t)r * n;
        int j = 0;
        for (; j + 8 <= n; j += 8) {
            v8f v = load8(bias + j);
            for (int i = 0; i < input; i++) v = v + splat(xr[i]) * load8(mt + (size_t)i * n + j);
            store8(hr + j, v);
        }
        for (; j < n; j++) {
            float v = bias[j];
            for (int i = 0; i < input; i++) v = v + xr[i] * mt[(size_t)i * n + j];
            hr[j] = v;
        }
    }
}

INLINE void backward(int rows, int n, int input, const float *d, const float *x, const float *mt,
                     float *grad_mt, float *grad_bias, float *grad_x) {
    // ∂b and ∂Mᵀ: a block of 8 columns of each in registers while the rows go by, in row order.
    int j = 0;
    for (; j + 8 <= n; j += 8) {
        v8f gb = load8(grad_bias + j), gm[NI_WIDEST];
        for (int i = 0; i < input; i++) gm[i] = load8(grad_mt + (size_t)i * n + j);
        for (int r = 0; r < rows; r++) {
            v8f dr = load8(d + (size_t)r * n + j);
            const float *xr = x + (size_t)r * input;
            gb = gb + dr;
            for (int i = 0; i < input; i++) gm[i] = gm[i] + splat(xr[i]) * dr;
        }
        store8(grad_bias + j, gb);
        for (int i = 0; i < input; i++) store8(grad_mt + (size_t)i * n + j, gm[i]);
    }
    for (; j < n; j++)
        for (int r = 0; r < rows; r++) {
            float dr = d[(size_t)r * n + j];
            grad_bias[j] += dr;
            for (int i = 0; i < input; i++) grad_mt[(size_t)i * n + j] += x[(size_t)r * input + i] * dr;
        }
    // ∂x[r][i] = δ[r]·Mᵀ[i]: eight partial sums (column j in lane j mod 8), the lanes added in
    // order, then the columns past the last block of 8.
    for (int r = 0; r < rows; r++) {
        const float *dr = d + (size_t)r * n;
        for (int i = 0; i < input; i++) {
            const float *m = mt + (size_t)i * n;
            v8f acc = splat(0);
            int jj = 0;
            for (; jj + 8 <= n; jj += 8) acc = acc + load8(dr + jj) * load8(m + jj);
            float s = 0;
            for (int l = 0; l < 8; l++) s += acc[l];
            for (; jj < n; jj++) s += dr[jj] * m[jj];
            grad_x[(size_t)r * input + i] = s;
        }
    }
}

// Each width its own copy of the loops.
#define WIDTHS(call) \
    switch (input) { \
    case 1: call(1); break; case 2: call(2); break; case 3: call(3); break; case 4: call(4); break; \
    case 5: call(5); break; case 6: call(6); break; case 7: call(7); break; default: call(NI_WIDEST); break; \
    }

CLONES void ni_project(int rows, int n, int input, const float *x, const float *mt, const float *bias, float *h) {
#define PROJECT(w) project(rows, n, w, x, mt, bias, h)
    WIDTHS(PROJECT)
}

CLONES void ni_backward(int rows, int n, int input, const float *d, const float *x, const float *mt,
                        float *grad_mt, float *grad_bias, float *grad_x) {
#define BACKWARD(w) backward(rows, n, w, d, x, mt, grad_mt, grad_bias, grad_x)
    WIDTHS(BACKWARD)
}
