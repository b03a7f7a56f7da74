// A recurrent step's kernels, for Float (the Swift loops and BLAS serve Double).
//
// The products with the step's fixed matrix: C = β·C + A·op(W) for a part's rows A (m×k,
// row-major) and a W that stays the same through a whole pass, packed once per pass instead of once
// per call as a BLAS call must (OpenBLAS repacked W at every step: 12% of a pixel-MNIST step in
// perf). Every entry of C is one chain of fused multiply-adds over k in order, from zero, then added
// to β·C: the same bits whatever m and whatever the tiling, so a part's rows get the values the
// whole batch's would. Needs AVX2 and FMA (sg_available); elsewhere use BLAS.
#pragma once
#include <stddef.h>

/// 1 where this CPU runs the kernels (AVX2 and FMA), else 0.
int sg_available(void);
/// Floats `sg_pack` writes for op(W) of k rows and n columns.
size_t sg_packed_count(int k, int n);
/// Packs op(W), k×n: W itself (row-major k×n, leading dimension ldw) or, when `transposed`, Wᵀ of a
/// row-major n×k W. Columns beyond n are padded with zeros.
void sg_pack(int transposed, int k, int n, const float *w, int ldw, float *packed);
/// C (m×n, ldc) = β·C + A (m×k, lda) · op(W), with op(W) packed by sg_pack; β is 0 or 1 (with 0,
/// C's old values are never read, so they may be anything, NaN included).
void sg_gemm(int m, int n, int k, const float *a, int lda, const float *packed, int beta, float *c, int ldc);

// A narrow input (a few numbers per step: a pixel, the adding task's pair) projected and
// differentiated by loops over a part's rows instead of GEMMs whose packing outweighs K or N of 1–2.
// Mᵀ is the input weight transposed (input×n), so each input's column is contiguous. Sums run in
// row order, products then sums (no FMA), as the Swift loops for Double do.

/// Inputs up to this width take these loops; wider ones GEMMs.
#define NI_WIDEST 8
/// h[r] = bias + Σ_i x[r][i]·Mᵀ[i] for rows×n h and rows×input x.
void ni_project(int rows, int n, int input, const float *x, const float *mt, const float *bias, float *h);
/// For δ (rows×n) and x: ∂b += Σ_r δ[r], ∂Mᵀ[i] += Σ_r x[r][i]·δ[r], ∂x[r][i] = δ[r]·Mᵀ[i] (eight
/// partial sums over the columns, column j in sum j mod 8, added in order, then the columns past the
/// last multiple of 8).
void ni_backward(int rows, int n, int input, const float *d, const float *x, const float *mt,
                 float *grad_mt, float *grad_bias, float *grad_x);
