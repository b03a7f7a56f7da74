// swift-tools-version: 6.1
// spectral-lab: a workbench, scripted in Lua, for SVD-parameterized neural networks.
// Layers, bottom to top (see README.md): system libraries (CLua, CEdit) and the C shim (LuaShim);
// the Lua bridge (LuaBridge); the workbench (Workbench: the `lab` module, runs, recipes, REPL);
// the executable (spectral-lab: one subcommand per file).
import PackageDescription

let package = Package(
    name: "spectral-lab",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "spectral-lab", targets: ["spectral-lab"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
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
        .systemLibrary(
            name: "CEdit",
            pkgConfig: "libedit",
            providers: [.apt(["libedit-dev"])]
        ),
        // What Swift cannot do itself: Lua's macros, and raising Lua errors after the Swift frame
        // that detected them has returned (a longjmp must never cross a Swift frame).
        .target(name: "LuaShim", dependencies: ["CLua"]),
        .target(name: "LuaBridge", dependencies: ["CLua", "LuaShim"]),
        // Tensors, Householder kernels, the SVD-parameterized layer: pure Swift on OpenBLAS, no Lua.
        .target(
            name: "Numerics",
            dependencies: ["COpenBLAS"],
            // The kernels are generic over Float/Double and called from other modules: without
            // cross-module optimization they run unspecialized (a witness-table call per element).
            swiftSettings: [.unsafeFlags(["-cross-module-optimization"])]
        ),
        .target(
            name: "Workbench",
            dependencies: ["LuaBridge", "Numerics", "CEdit"]
        ),
        .executableTarget(
            name: "spectral-lab",
            dependencies: [
                "Workbench",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "NumericsTests", dependencies: ["Numerics"]),
        .testTarget(name: "LuaBridgeTests", dependencies: ["LuaBridge", "LuaShim", "CLua"]),
        .testTarget(name: "WorkbenchTests", dependencies: ["Workbench", "LuaBridge", "spectral-lab"]),
    ]
)
