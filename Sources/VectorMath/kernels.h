// The kernels of VectorMath.c, included once per instruction set with ISA(name) naming each
// function for it (exp8_avx2, …) and the functions compiled for that set.

INLINE v8f ISA(select)(v8i mask, v8f a, v8f b) {   // mask lanes all ones: a, else b
    return (v8f)(((v8i)a & mask) | ((v8i)b & ~mask));
}
INLINE v8f ISA(vmin)(v8f a, v8f b) { return ISA(select)(a < b, a, b); }
INLINE v8f ISA(vmax)(v8f a, v8f b) { return ISA(select)(a > b, a, b); }
INLINE v8f ISA(vabs)(v8f x) { return (v8f)((v8i)x & ISPLAT(0x7fffffff)); }

/// e^x. x = k ln2 + r with |r| ≤ ln2/2; e^r by polynomial; 2^k applied as two factors 2^{k/2} and
/// 2^{k−k/2}, each a normal float, so results in the subnormal range round once. The clamp to
/// [−104, 89] keeps k in range: below, the result rounds to 0; above, it overflows to inf.
INLINE v8f ISA(exp8)(v8f x) {
    v8f xc = ISA(vmin)(ISA(vmax)(x, SPLAT(-104.0f)), SPLAT(89.0f));
    // k = round(x log2 e): adding and subtracting 1.5·2^23 rounds to nearest (|x log2 e| < 2^22).
    const v8f magic = SPLAT(12582912.0f);
    v8f kf = (xc * SPLAT(1.44269504088896341f) + magic) - magic;
    // ln2 = hi + lo with hi's low 9 mantissa bits zero, so k·hi is exact for |k| < 2^9.
    v8f r = (xc - kf * SPLAT(0.693145751953125f)) - kf * SPLAT(1.428606765330187e-6f);
    v8f p = SPLAT(1.9875691500e-4f);
    p = p * r + SPLAT(1.3981999507e-3f);
    p = p * r + SPLAT(8.3334519073e-3f);
    p = p * r + SPLAT(4.1665795894e-2f);
    p = p * r + SPLAT(1.6666665459e-1f);
    p = p * r + SPLAT(5.0000001201e-1f);
    p = p * (r * r) + r + SPLAT(1.0f);
    v8i k = __builtin_convertvector(kf, v8i);
    v8i k1 = k >> 1, k2 = k - k1;
    v8f s1 = (v8f)((k1 + 127) << 23), s2 = (v8f)((k2 + 127) << 23);
    v8f y = (p * s1) * s2;
    return ISA(select)(x != x, x, y);   // NaN in, NaN out
}

/// tanh x, its sign from x (so tanh(−0) = −0).
INLINE v8f ISA(tanh8)(v8f x) {
    v8f ax = ISA(vabs)(x);
    v8i sign = (v8i)x & ISPLAT((int)0x80000000);
    v8f z = ax * ax;
    v8f p = SPLAT(-5.70498872745e-3f);
    p = p * z + SPLAT(2.06390887954e-2f);
    p = p * z - SPLAT(5.37397155531e-2f);
    p = p * z + SPLAT(1.33314422036e-1f);
    p = p * z - SPLAT(3.33332819422e-1f);
    v8f small = p * z * ax + ax;
    v8f e = ISA(exp8)(SPLAT(-2.0f) * ax);
    v8f large = (SPLAT(1.0f) - e) / (SPLAT(1.0f) + e);
    v8f y = ISA(select)(ax < SPLAT(0.625f), small, large);
    y = (v8f)((v8i)y | sign);
    return ISA(select)(x != x, x, y);
}

/// 1/(1 + e^−x) from e = e^{−|x|} ≤ 1: 1/(1 + e) for x ≥ 0, e/(1 + e) below, so that neither
/// overflows and tiny results keep their precision down to the subnormals.
INLINE v8f ISA(sigmoid8)(v8f x) {
    v8f e = ISA(exp8)(-ISA(vabs)(x));
    v8f d = SPLAT(1.0f) + e;
    v8f y = ISA(select)(x >= SPLAT(0.0f), SPLAT(1.0f) / d, e / d);
    return ISA(select)(x != x, x, y);
}

/// max(x, 0) with NaN kept (0 ≥ NaN is false): a diverged run must show, not vanish.
INLINE v8f ISA(relu8)(v8f x) { return ISA(select)(SPLAT(0.0f) >= x, SPLAT(0.0f), x); }
/// x for x > 0, else x/10 (a division, as the Double path does, not a multiply by 0.1).
INLINE v8f ISA(leaky_relu8)(v8f x) { return ISA(select)(x > SPLAT(0.0f), x, x / SPLAT(10.0f)); }

// δ = g·φ'(pre) from the output o = φ(pre): φ(x) > 0 exactly when x > 0 for relu and leaky relu.
INLINE v8f ISA(relu_backward8)(v8f g, v8f o) { return ISA(select)(o > SPLAT(0.0f), g, SPLAT(0.0f)); }
INLINE v8f ISA(leaky_relu_backward8)(v8f g, v8f o) { return ISA(select)(o > SPLAT(0.0f), g, g / SPLAT(10.0f)); }
INLINE v8f ISA(tanh_backward8)(v8f g, v8f o) { return g * (SPLAT(1.0f) - o * o); }

// n ≤ 8 floats from p as a vector, the missing lanes zero; and the first n lanes of z stored to p.
// The loops below pass n = 8 for whole blocks (a plain vector load and store once inlined) and the
// remainder for the tail.
INLINE v8f ISA(load)(const float *p, size_t n) {
    float block[8] = {0};
    memcpy(block, p, n * sizeof(float));
    v8f x;
    memcpy(&x, block, sizeof x);
    return x;
}
INLINE void ISA(store)(float *p, v8f z, size_t n) {
    float block[8];
    memcpy(block, &z, sizeof z);
    memcpy(p, block, n * sizeof(float));
}

// The loop over a buffer, 8 at a time, the tail through a zero-padded block.
#define KERNEL(name, body)                                                                  \
    static void ISA(name)(const float *in, float *out, size_t count) {                      \
        size_t i = 0;                                                                       \
        for (; i + 8 <= count; i += 8) ISA(store)(out + i, ISA(body)(ISA(load)(in + i, 8)), 8); \
        if (i < count) ISA(store)(out + i, ISA(body)(ISA(load)(in + i, count - i)), count - i); \
    }

KERNEL(exp, exp8)
KERNEL(tanh, tanh8)
KERNEL(sigmoid, sigmoid8)
KERNEL(relu, relu8)
KERNEL(leaky_relu, leaky_relu8)
#undef KERNEL

// The same loop for a function of two buffers, out[i] = f(a[i], b[i]).
#define KERNEL2(name, body)                                                                 \
    static void ISA(name)(const float *a, const float *b, float *out, size_t count) {      \
        size_t i = 0;                                                                       \
        for (; i + 8 <= count; i += 8)                                                      \
            ISA(store)(out + i, ISA(body)(ISA(load)(a + i, 8), ISA(load)(b + i, 8)), 8);    \
        if (i < count)                                                                      \
            ISA(store)(out + i, ISA(body)(ISA(load)(a + i, count - i), ISA(load)(b + i, count - i)), count - i); \
    }

KERNEL2(relu_backward, relu_backward8)
KERNEL2(leaky_relu_backward, leaky_relu_backward8)
KERNEL2(tanh_backward, tanh_backward8)
#undef KERNEL2
