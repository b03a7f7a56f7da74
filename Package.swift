// swift-tools-version: 6.1
// spectral-lab: a workbench, scripted in Lua, for SVD-parameterized neural networks.
// Layers, bottom to top (see README.md): system libraries (CLua, CEdit, COpenBLAS, CZlib), the C
// shim (LuaShim), vectorized exp/tanh/sigmoid (VectorMath, C) and a recurrent step's kernels
// (StepKernels, C); the numerical core
// (SpectralNumerics: tensors, kernels, layers, models, tasks and datasets; no Lua); the Lua bridge
// (LuaBridge); the workbench (Workbench: the `lab` module, runs, recipes, REPL); the benchmarks'
// workloads (BenchmarkWorkloads); the executable (spectral-lab: one subcommand per file).
import PackageDescription

let package = Package(
    name: "spectral-lab",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "spectral-lab", targets: ["spectral-lab"]),
        // For Fuzz/ (the file readers' fuzz targets, a package of its own) and anyone embedding the workbench.
        .library(name: "Workbench", targets: ["Workbench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        // Benchmarks (`swift package benchmark`); only its malloc interposer trait, as mirrored here.
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .systemLibrary(
            name: "CLua",
            pkgConfig: "lua5.4",
            providers: [.apt(["liblua5.4-dev"])]
        ),
        .systemLibrary(
            name: "COpenBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev", "liblapacke-dev"])]
        ),
        // Gzip, for the datasets' IDX files.
        .systemLibrary(
            name: "CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        .systemLibrary(
            name: "CEdit",
            pkgConfig: "libedit",
            providers: [.apt(["libedit-dev"])]
        ),
        // What Swift cannot do itself: Lua's macros, and raising Lua errors after the Swift frame
        // that detected them has returned (a longjmp must never cross a Swift frame).
        .target(name: "LuaShim", dependencies: ["CLua"]),
        .target(name: "LuaBridge", dependencies: ["CLua", "LuaShim"]),
        // Vectorized exp, tanh and sigmoid for Float buffers (AVX2 or SSE2, picked at run time). Always
        // optimized, so that debug builds and the tests train at a usable speed too; never contracted
        // into FMAs, so that both instruction sets give the same bits.
        .target(name: "VectorMath", cSettings: [.unsafeFlags(["-O2", "-ffp-contract=off"])]),
        // A recurrent step's kernels in C: the products with W packed once per pass (AVX2/FMA
        // micro-kernel) and a narrow input's projection and gradients. Always optimized, as
        // VectorMath; not contracted into FMAs beyond the GEMM's own, so the narrow input's sums
        // round as the Swift loops for Double do.
        .target(name: "StepKernels", cSettings: [.unsafeFlags(["-O2", "-ffp-contract=off"])]),
        // How long OpenBLAS's idle threads spin (shortened before any BLAS call of ours), and the lock
        // that lets the batch's parts run OpenBLAS single-threaded on several threads at once.
        .target(name: "BLASThreading", dependencies: ["COpenBLAS"]),
        // Tensors, Householder kernels, the SVD-parameterized layer: pure Swift on OpenBLAS, no Lua.
        .target(
            name: "SpectralNumerics",
            dependencies: ["COpenBLAS", "CZlib", "VectorMath", "StepKernels", "BLASThreading"],
            // The kernels are generic over Float/Double and called from other modules: without
            // cross-module optimization they run unspecialized (a witness-table call per element).
            // Without -fno-math-errno, squareRoot() is a call to glibc's sqrtf (it may set errno),
            // which keeps element-wise loops such as Adam's from being vectorized.
            swiftSettings: [.unsafeFlags(["-cross-module-optimization", "-Xcc", "-fno-math-errno"])]
        ),
        .target(
            name: "Workbench",
            dependencies: ["LuaBridge", "LuaShim", "SpectralNumerics", "CEdit"],
            // The .lua files are compiled in through Lab/EmbeddedLua.swift (scripts/embed-lua).
            exclude: ["lua"]
        ),
        // What `spectral-lab bench` and the benchmark target both time: the same workloads, one definition.
        .target(name: "BenchmarkWorkloads", dependencies: ["SpectralNumerics"]),
        .executableTarget(
            name: "spectral-lab",
            dependencies: [
                "Workbench",
                "BenchmarkWorkloads",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // The plugin finds benchmark targets by their parent folder's name, "Benchmarks".
        .executableTarget(
            name: "SpectralLabBenchmarks",
            dependencies: ["SpectralNumerics", "BenchmarkWorkloads", .product(name: "Benchmark", package: "benchmark")],
            path: "Sources/Benchmarks/SpectralLabBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .testTarget(name: "SpectralNumericsTests", dependencies: ["SpectralNumerics"]),
        .testTarget(name: "LuaBridgeTests", dependencies: ["LuaBridge", "LuaShim", "CLua"]),
        .testTarget(name: "WorkbenchTests", dependencies: ["Workbench", "LuaBridge", "spectral-lab"]),
    ]
)
