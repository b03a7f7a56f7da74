import BLASThreading
import COpenBLAS
import Glibc
import VectorMath

/// The element types tensors hold: Float for training, Double for gradient checks. Each maps the
/// BLAS and LAPACK routines the kernels use to its own precision (s… or d…).
public protocol TensorScalar: BinaryFloatingPoint, Sendable, CustomStringConvertible
where Self.RawSignificand: FixedWidthInteger {
    /// "float32" / "float64", as Lua and numpy name them.
    static var dtypeName: String { get }
    /// "F32" / "F64", safetensors' dtype names.
    static var safetensorsName: String { get }
    static var epsilon: Self { get }

    /// C = alpha·op(A)·op(B) + beta·C, row-major.
    static func gemm(_ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Self,
                     _ a: UnsafePointer<Self>, _ lda: Int, _ b: UnsafePointer<Self>, _ ldb: Int,
                     _ beta: Self, _ c: UnsafeMutablePointer<Self>, _ ldc: Int)
    /// `gemm` and `dot` for BatchParallel's parts only: without the BLAS lock, which their pass
    /// holds (BLASLock.c); every other call takes it, so a part must call these and nothing else of
    /// BLAS.
    static func partGemm(_ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Self,
                         _ a: UnsafePointer<Self>, _ lda: Int, _ b: UnsafePointer<Self>, _ ldb: Int,
                         _ beta: Self, _ c: UnsafeMutablePointer<Self>, _ ldc: Int)
    static func partDot(_ n: Int, _ x: UnsafePointer<Self>, _ y: UnsafePointer<Self>) -> Self
    /// y = alpha·op(A)·x + beta·y, row-major.
    static func gemv(_ trans: Bool, _ m: Int, _ n: Int, _ alpha: Self, _ a: UnsafePointer<Self>, _ lda: Int,
                     _ x: UnsafePointer<Self>, _ incx: Int, _ beta: Self, _ y: UnsafeMutablePointer<Self>, _ incy: Int)
    /// A += alpha·x·yᵀ, row-major.
    static func ger(_ m: Int, _ n: Int, _ alpha: Self, _ x: UnsafePointer<Self>, _ incx: Int,
                    _ y: UnsafePointer<Self>, _ incy: Int, _ a: UnsafeMutablePointer<Self>, _ lda: Int)
    /// B = alpha·B·op(A)⁻¹ (right) or alpha·op(A)⁻¹·B (left), A upper triangular, row-major.
    static func trsmUpper(right: Bool, trans: Bool, _ m: Int, _ n: Int, _ alpha: Self,
                          _ a: UnsafePointer<Self>, _ lda: Int, _ b: UnsafeMutablePointer<Self>, _ ldb: Int)
    static func dot(_ n: Int, _ x: UnsafePointer<Self>, _ incx: Int, _ y: UnsafePointer<Self>, _ incy: Int) -> Self
    static func axpy(_ n: Int, _ alpha: Self, _ x: UnsafePointer<Self>, _ incx: Int, _ y: UnsafeMutablePointer<Self>, _ incy: Int)
    /// Singular values of the row-major m×n matrix (destroyed), descending. LAPACK ?gesdd.
    static func singularValues(_ m: Int, _ n: Int, _ a: UnsafeMutablePointer<Self>, _ s: UnsafeMutablePointer<Self>) -> Int32
    /// Householder QR of the row-major m×n matrix in place (?geqrf), then Q (m×min(m,n)) in place (?orgqr).
    static func qrQ(_ m: Int, _ n: Int, _ a: UnsafeMutablePointer<Self>) -> Int32
    static func exp(_ x: Self) -> Self
    static func log(_ x: Self) -> Self
    static func tanh(_ x: Self) -> Self
    /// out[i] = e^{x[i]}, tanh x[i], 1/(1 + e^{−x[i]}) over a buffer (out may be x): vectorized for
    /// Float (VectorMath, within 2.3 ulp), libm for Double, which the gradient references use.
    static func exp(_ x: UnsafePointer<Self>, into out: UnsafeMutablePointer<Self>, count: Int)
    static func tanh(_ x: UnsafePointer<Self>, into out: UnsafeMutablePointer<Self>, count: Int)
    static func sigmoid(_ x: UnsafePointer<Self>, into out: UnsafeMutablePointer<Self>, count: Int)
    /// `Activation`'s loops over a buffer (see there): VectorMath for Float, plain loops for Double.
    /// Both give the same values; the plain loops compile to a branch per element, which mispredicts
    /// on half of a ReLU's inputs (a sixth of a pixel-MNIST step in perf).
    static func activate(_ a: Activation, _ x: UnsafePointer<Self>, into out: UnsafeMutablePointer<Self>, count: Int)
    static func activationBackward(_ a: Activation, _ grad: UnsafePointer<Self>, out: UnsafePointer<Self>,
                                   into delta: UnsafeMutablePointer<Self>, count: Int)
}

private func t(_ b: Bool) -> CBLAS_TRANSPOSE { b ? CblasTrans : CblasNoTrans }

extension Float: TensorScalar {
    public static let dtypeName = "float32"
    public static let safetensorsName = "F32"
    public static var epsilon: Float { .ulpOfOne }
    public static func gemm(_ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Float,
                            _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int,
                            _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int) {
        blas_call_begin(); defer { blas_call_end() }
        partGemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
    }
    public static func partGemm(_ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Float,
                                _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int,
                                _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int) {
        cblas_sgemm(CblasRowMajor, t(transA), t(transB), Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }
    public static func partDot(_ n: Int, _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>) -> Float { cblas_sdot(Int32(n), x, 1, y, 1) }
    public static func gemv(_ trans: Bool, _ m: Int, _ n: Int, _ alpha: Float, _ a: UnsafePointer<Float>, _ lda: Int,
                            _ x: UnsafePointer<Float>, _ incx: Int, _ beta: Float, _ y: UnsafeMutablePointer<Float>, _ incy: Int) {
        blas_call_begin(); defer { blas_call_end() }
        cblas_sgemv(CblasRowMajor, t(trans), Int32(m), Int32(n), alpha, a, Int32(lda), x, Int32(incx), beta, y, Int32(incy))
    }
    public static func ger(_ m: Int, _ n: Int, _ alpha: Float, _ x: UnsafePointer<Float>, _ incx: Int,
                           _ y: UnsafePointer<Float>, _ incy: Int, _ a: UnsafeMutablePointer<Float>, _ lda: Int) {
        blas_call_begin(); defer { blas_call_end() }
        cblas_sger(CblasRowMajor, Int32(m), Int32(n), alpha, x, Int32(incx), y, Int32(incy), a, Int32(lda))
    }
    public static func trsmUpper(right: Bool, trans: Bool, _ m: Int, _ n: Int, _ alpha: Float,
                                 _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafeMutablePointer<Float>, _ ldb: Int) {
        blas_call_begin(); defer { blas_call_end() }
        cblas_strsm(CblasRowMajor, right ? CblasRight : CblasLeft, CblasUpper, t(trans), CblasNonUnit,
                    Int32(m), Int32(n), alpha, a, Int32(lda), b, Int32(ldb))
    }
    public static func dot(_ n: Int, _ x: UnsafePointer<Float>, _ incx: Int, _ y: UnsafePointer<Float>, _ incy: Int) -> Float {
        blas_call_begin(); defer { blas_call_end() }
        return cblas_sdot(Int32(n), x, Int32(incx), y, Int32(incy))
    }
    public static func axpy(_ n: Int, _ alpha: Float, _ x: UnsafePointer<Float>, _ incx: Int, _ y: UnsafeMutablePointer<Float>, _ incy: Int) {
        blas_call_begin(); defer { blas_call_end() }
        cblas_saxpy(Int32(n), alpha, x, Int32(incx), y, Int32(incy))
    }
    public static func singularValues(_ m: Int, _ n: Int, _ a: UnsafeMutablePointer<Float>, _ s: UnsafeMutablePointer<Float>) -> Int32 {
        blas_call_begin(); defer { blas_call_end() }
        return LAPACKE_sgesdd(LAPACK_ROW_MAJOR, CChar(UInt8(ascii: "N")), Int32(m), Int32(n), a, Int32(n), s, nil, Int32(m), nil, Int32(n))   // ldu, ldvt checked even when unused
    }
    public static func qrQ(_ m: Int, _ n: Int, _ a: UnsafeMutablePointer<Float>) -> Int32 {
        blas_call_begin(); defer { blas_call_end() }
        var tau = [Float](repeating: 0, count: min(m, n))
        let info = LAPACKE_sgeqrf(LAPACK_ROW_MAJOR, Int32(m), Int32(n), a, Int32(n), &tau)
        if info != 0 { return info }
        return LAPACKE_sorgqr(LAPACK_ROW_MAJOR, Int32(m), Int32(min(m, n)), Int32(min(m, n)), a, Int32(n), &tau)
    }
    public static func exp(_ x: Float) -> Float { Glibc.expf(x) }
    public static func log(_ x: Float) -> Float { Glibc.logf(x) }
    public static func tanh(_ x: Float) -> Float { Glibc.tanhf(x) }
    public static func exp(_ x: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, count: Int) { vm_expf(x, out, count) }
    public static func tanh(_ x: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, count: Int) { vm_tanhf(x, out, count) }
    public static func sigmoid(_ x: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, count: Int) { vm_sigmoidf(x, out, count) }
    public static func activate(_ a: Activation, _ x: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, count: Int) {
        switch a {
        case .relu: vm_reluf(x, out, count)
        case .tanh: vm_tanhf(x, out, count)
        case .leakyRelu: vm_leaky_reluf(x, out, count)
        case .identity: if UnsafePointer(out) != x { out.update(from: x, count: count) }
        }
    }
    public static func activationBackward(_ a: Activation, _ grad: UnsafePointer<Float>, out: UnsafePointer<Float>,
                                          into delta: UnsafeMutablePointer<Float>, count: Int) {
        switch a {
        case .relu: vm_relu_backwardf(grad, out, delta, count)
        case .tanh: vm_tanh_backwardf(grad, out, delta, count)
        case .leakyRelu: vm_leaky_relu_backwardf(grad, out, delta, count)
        case .identity: if UnsafePointer(delta) != grad { delta.update(from: grad, count: count) }
        }
    }
}

extension Double: TensorScalar {
    public static let dtypeName = "float64"
    public static let safetensorsName = "F64"
    public static var epsilon: Double { .ulpOfOne }
    public static func gemm(_ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Double,
                            _ a: UnsafePointer<Double>, _ lda: Int, _ b: UnsafePointer<Double>, _ ldb: Int,
                            _ beta: Double, _ c: UnsafeMutablePointer<Double>, _ ldc: Int) {
        blas_call_begin(); defer { blas_call_end() }
        partGemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
    }
    public static func partGemm(_ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Double,
                                _ a: UnsafePointer<Double>, _ lda: Int, _ b: UnsafePointer<Double>, _ ldb: Int,
                                _ beta: Double, _ c: UnsafeMutablePointer<Double>, _ ldc: Int) {
        cblas_dgemm(CblasRowMajor, t(transA), t(transB), Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }
    public static func partDot(_ n: Int, _ x: UnsafePointer<Double>, _ y: UnsafePointer<Double>) -> Double { cblas_ddot(Int32(n), x, 1, y, 1) }
    public static func gemv(_ trans: Bool, _ m: Int, _ n: Int, _ alpha: Double, _ a: UnsafePointer<Double>, _ lda: Int,
                            _ x: UnsafePointer<Double>, _ incx: Int, _ beta: Double, _ y: UnsafeMutablePointer<Double>, _ incy: Int) {
        blas_call_begin(); defer { blas_call_end() }
        cblas_dgemv(CblasRowMajor, t(trans), Int32(m), Int32(n), alpha, a, Int32(lda), x, Int32(incx), beta, y, Int32(incy))
    }
    public static func ger(_ m: Int, _ n: Int, _ alpha: Double, _ x: UnsafePointer<Double>, _ incx: Int,
                           _ y: UnsafePointer<Double>, _ incy: Int, _ a: UnsafeMutablePointer<Double>, _ lda: Int) {
        blas_call_begin(); defer { blas_call_end() }
        cblas_dger(CblasRowMajor, Int32(m), Int32(n), alpha, x, Int32(incx), y, Int32(incy), a, Int32(lda))
    }
    public static func trsmUpper(right: Bool, trans: Bool, _ m: Int, _ n: Int, _ alpha: Double,
                                 _ a: UnsafePointer<Double>, _ lda: Int, _ b: UnsafeMutablePointer<Double>, _ ldb: Int) {
        blas_call_begin(); defer { blas_call_end() }
        cblas_dtrsm(CblasRowMajor, right ? CblasRight : CblasLeft, CblasUpper, t(trans), CblasNonUnit,
                    Int32(m), Int32(n), alpha, a, Int32(lda), b, Int32(ldb))
    }
    public static func dot(_ n: Int, _ x: UnsafePointer<Double>, _ incx: Int, _ y: UnsafePointer<Double>, _ incy: Int) -> Double {
        blas_call_begin(); defer { blas_call_end() }
        return cblas_ddot(Int32(n), x, Int32(incx), y, Int32(incy))
    }
    public static func axpy(_ n: Int, _ alpha: Double, _ x: UnsafePointer<Double>, _ incx: Int, _ y: UnsafeMutablePointer<Double>, _ incy: Int) {
        blas_call_begin(); defer { blas_call_end() }
        cblas_daxpy(Int32(n), alpha, x, Int32(incx), y, Int32(incy))
    }
    public static func singularValues(_ m: Int, _ n: Int, _ a: UnsafeMutablePointer<Double>, _ s: UnsafeMutablePointer<Double>) -> Int32 {
        blas_call_begin(); defer { blas_call_end() }
        return LAPACKE_dgesdd(LAPACK_ROW_MAJOR, CChar(UInt8(ascii: "N")), Int32(m), Int32(n), a, Int32(n), s, nil, Int32(m), nil, Int32(n))   // ldu, ldvt checked even when unused
    }
    public static func qrQ(_ m: Int, _ n: Int, _ a: UnsafeMutablePointer<Double>) -> Int32 {
        blas_call_begin(); defer { blas_call_end() }
        var tau = [Double](repeating: 0, count: min(m, n))
        let info = LAPACKE_dgeqrf(LAPACK_ROW_MAJOR, Int32(m), Int32(n), a, Int32(n), &tau)
        if info != 0 { return info }
        return LAPACKE_dorgqr(LAPACK_ROW_MAJOR, Int32(m), Int32(min(m, n)), Int32(min(m, n)), a, Int32(n), &tau)
    }
    public static func exp(_ x: Double) -> Double { Glibc.exp(x) }
    public static func log(_ x: Double) -> Double { Glibc.log(x) }
    public static func tanh(_ x: Double) -> Double { Glibc.tanh(x) }
    public static func exp(_ x: UnsafePointer<Double>, into out: UnsafeMutablePointer<Double>, count: Int) {
        for i in 0 ..< count { out[i] = Glibc.exp(x[i]) }
    }
    public static func tanh(_ x: UnsafePointer<Double>, into out: UnsafeMutablePointer<Double>, count: Int) {
        for i in 0 ..< count { out[i] = Glibc.tanh(x[i]) }
    }
    /// From e = e^{−|x|}, so that neither branch overflows.
    public static func sigmoid(_ x: UnsafePointer<Double>, into out: UnsafeMutablePointer<Double>, count: Int) {
        for i in 0 ..< count {
            let v = x[i], e = Glibc.exp(-Swift.abs(v))
            out[i] = v >= 0 ? 1 / (1 + e) : v.isNaN ? v : e / (1 + e)
        }
    }
    public static func activate(_ a: Activation, _ x: UnsafePointer<Double>, into out: UnsafeMutablePointer<Double>, count: Int) {
        switch a {
        // 0 ≥ x is false for NaN: NaN passes, as in the scalar form.
        case .relu: for i in 0 ..< count { let v = x[i]; out[i] = 0 >= v ? 0 : v }
        case .tanh: tanh(x, into: out, count: count)
        case .leakyRelu: for i in 0 ..< count { let v = x[i]; out[i] = v > 0 ? v : v / 10 }
        case .identity: if UnsafePointer(out) != x { out.update(from: x, count: count) }
        }
    }
    public static func activationBackward(_ a: Activation, _ grad: UnsafePointer<Double>, out: UnsafePointer<Double>,
                                          into delta: UnsafeMutablePointer<Double>, count: Int) {
        switch a {
        case .relu: for i in 0 ..< count { let g = grad[i], o = out[i]; delta[i] = o > 0 ? g : 0 }
        case .tanh: for i in 0 ..< count { delta[i] = grad[i] * (1 - out[i] * out[i]) }
        case .leakyRelu: for i in 0 ..< count { let g = grad[i], o = out[i]; delta[i] = o > 0 ? g : g / 10 }
        case .identity: if UnsafePointer(delta) != grad { delta.update(from: grad, count: count) }
        }
    }
}
