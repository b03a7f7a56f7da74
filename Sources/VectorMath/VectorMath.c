// See include/VectorMath.h. The kernels work on 8 floats at once with clang's vector extensions;
// the approximations are Cody–Waite range reduction with a degree-6 polynomial for exp (Cephes'
// coefficients for e^r on |r| ≤ ln2/2), and for tanh an odd polynomial on |x| < 0.625 (Cephes'
// tanhf) and (1 − e)/(1 + e) with e = e^{−2|x|} above, which cannot overflow.
#include "VectorMath.h"
#include <string.h>

typedef float v8f __attribute__((vector_size(32)));
typedef int v8i __attribute__((vector_size(32)));
#define SPLAT(x) ((v8f){x, x, x, x, x, x, x, x})
#define ISPLAT(x) ((v8i){x, x, x, x, x, x, x, x})
#define INLINE static inline __attribute__((always_inline))

#pragma clang attribute push(__attribute__((target("avx2"))), apply_to = function)
#define ISA(name) name##_avx2
#include "kernels.h"
#undef ISA
#pragma clang attribute pop

// Baseline x86-64: a v8f is two SSE registers. Passing one to an inlined helper is not an ABI issue.
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wpsabi"
#define ISA(name) name##_sse2
#include "kernels.h"
#undef ISA
#pragma clang diagnostic pop

static int has_avx2(void) {
    static int known = -1;   // a benign race: every thread computes the same value
    if (known < 0) { __builtin_cpu_init(); known = __builtin_cpu_supports("avx2") ? 1 : 0; }
    return known;
}

void vm_expf(const float *in, float *out, size_t count) { (has_avx2() ? exp_avx2 : exp_sse2)(in, out, count); }
void vm_tanhf(const float *in, float *out, size_t count) { (has_avx2() ? tanh_avx2 : tanh_sse2)(in, out, count); }
void vm_sigmoidf(const float *in, float *out, size_t count) { (has_avx2() ? sigmoid_avx2 : sigmoid_sse2)(in, out, count); }
void vm_reluf(const float *in, float *out, size_t count) { (has_avx2() ? relu_avx2 : relu_sse2)(in, out, count); }
void vm_leaky_reluf(const float *in, float *out, size_t count) { (has_avx2() ? leaky_relu_avx2 : leaky_relu_sse2)(in, out, count); }
void vm_relu_backwardf(const float *grad, const float *out, float *delta, size_t count) {
    (has_avx2() ? relu_backward_avx2 : relu_backward_sse2)(grad, out, delta, count);
}
void vm_leaky_relu_backwardf(const float *grad, const float *out, float *delta, size_t count) {
    (has_avx2() ? leaky_relu_backward_avx2 : leaky_relu_backward_sse2)(grad, out, delta, count);
}
void vm_tanh_backwardf(const float *grad, const float *out, float *delta, size_t count) {
    (has_avx2() ? tanh_backward_avx2 : tanh_backward_sse2)(grad, out, delta, count);
}
const char *vm_isa(void) { return has_avx2() ? "avx2" : "sse2"; }
