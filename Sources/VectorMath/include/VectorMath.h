// Element-wise exp, tanh, sigmoid and the activations' forward and backward over float buffers,
// vectorized: the recurrent cells' gate and activation loops call these instead of one libm call per
// element, or a compare-and-branch per element that mispredicts on half of a ReLU's inputs.
//
// Each function is compiled twice, for AVX2 (8 lanes) and for baseline x86-64 (SSE2, 8 lanes as
// two registers); the first call picks one from the CPU. Both do the same float operations in the
// same order, never contracted into FMAs, so a result is the same bits on every machine. The
// maximum errors against the correctly rounded values, measured by VectorMathTests over a dense
// sweep of inputs, are stated there. `out` may be `in` (in place); otherwise they must not overlap.
#pragma once
#include <stddef.h>

void vm_expf(const float *in, float *out, size_t count);
void vm_tanhf(const float *in, float *out, size_t count);
/// 1 / (1 + e^−x)
void vm_sigmoidf(const float *in, float *out, size_t count);
/// max(x, 0), NaN kept; x > 0 ? x : x/10
void vm_reluf(const float *in, float *out, size_t count);
void vm_leaky_reluf(const float *in, float *out, size_t count);
/// delta = grad·φ'(pre) from out = φ(pre): out > 0 ? grad : 0, out > 0 ? grad : grad/10,
/// grad·(1 − out²). delta may be grad or out.
void vm_relu_backwardf(const float *grad, const float *out, float *delta, size_t count);
void vm_leaky_relu_backwardf(const float *grad, const float *out, float *delta, size_t count);
void vm_tanh_backwardf(const float *grad, const float *out, float *delta, size_t count);
/// Which kernels the first call picked: "avx2" or "sse2".
const char *vm_isa(void);
