import Foundation
import Probes

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    Probe.model(Data(bytes: bytes, count: count))
    return 0
}
