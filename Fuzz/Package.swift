// swift-tools-version: 6.1
// libFuzzer targets for every file reader of spectral-lab: IDX, gzip, safetensors, checkpoint
// JSON, text corpora, model files and PyTorch state_dicts. A package of its own, so that the workbench's builds and tests never build
// them; scripts/fuzz builds them with `--sanitize=fuzzer --sanitize=address` and runs them.
import PackageDescription

let readers = ["idx", "gzip", "safetensors", "checkpoint", "text", "model"]

let package = Package(
    name: "spectral-lab-fuzz",
    dependencies: [.package(name: "spectral-lab", path: "..")],
    targets: [
        .target(name: "Probes", dependencies: [.product(name: "Workbench", package: "spectral-lab")]),
    ] + readers.map { reader in
        // No main: libFuzzer's is linked in, and calls LLVMFuzzerTestOneInput.
        .executableTarget(name: "fuzz-\(reader)", dependencies: ["Probes"], path: "Sources/fuzz-\(reader)",
                          swiftSettings: [.unsafeFlags(["-parse-as-library"])])
    }
)
