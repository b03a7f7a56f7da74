import Foundation

/// A text for character-level language modelling, as three splits of character ids over a
/// vocabulary built from the training split (sorted, so the same text gives the same ids). The
/// characters of the other splits that training never saw map to one extra id, `unknownID`, and
/// are counted.
public struct CharCorpus: Sendable {
    public enum Format: String, Sendable, CaseIterable {
        /// Decide from the files: PTB's character files by name, fortune files by their .dat index.
        case auto
        case plain
        /// Space-separated characters, `_` for the spaces between words, one sentence per line.
        case ptb
        /// fortune(6) files: the lines holding only "%" between the fortunes are dropped.
        case fortune
    }

    public let source: String
    /// The characters with ids 0..<vocabulary.count; `unknownID` = vocabulary.count.
    public let vocabulary: [Character]
    public let train: [Int32], validation: [Int32], test: [Int32]
    public let unknown: (validation: Int, test: Int)
    public var unknownID: Int { vocabulary.count }
    /// Output classes: the vocabulary and the unknown character.
    public var classes: Int { vocabulary.count + 1 }

    /// Reads `path`: a file, a directory of text files (every regular file not ending in .dat or .u8
    /// and not hidden, in name order), or a directory with PTB's ptb.char.{train,valid,test}.txt
    /// (used as the three splits). Otherwise the text is split contiguously by `fractions`.
    public init(path: String, format: Format = .auto, fractions: (train: Double, validation: Double) = (0.9, 0.05)) throws {
        guard fractions.train > 0, fractions.validation > 0, fractions.train + fractions.validation < 1 else {
            throw TaskError("char_lm: split fractions must be positive and leave some text for the test split")
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { throw TaskError("\(path): no such file or directory") }
        let splits: (String, String, String)
        if isDirectory.boolValue, let ptb = try Self.ptbSplits(path), format == .auto || format == .ptb {
            splits = ptb
        } else {
            let files = isDirectory.boolValue ? try Self.textFiles(in: path) : [path]
            guard !files.isEmpty else { throw TaskError("\(path): no text files in this directory") }
            let text = try files.map { try Self.read($0, format: format) }.joined(separator: "\n")
            let chars = Array(text)
            let a = Int(Double(chars.count) * fractions.train), b = a + Int(Double(chars.count) * fractions.validation)
            guard a >= 2, b - a >= 2, chars.count - b >= 2 else { throw TaskError("\(path): too little text to split (\(chars.count) characters)") }
            splits = (String(chars[0 ..< a]), String(chars[a ..< b]), String(chars[b...]))
        }
        source = path
        vocabulary = Array(Set(splits.0)).sorted()
        let ids = Dictionary(uniqueKeysWithValues: vocabulary.enumerated().map { ($1, Int32($0)) })
        let unknownID = Int32(vocabulary.count)
        func encode(_ s: String) -> ([Int32], Int) {
            var missing = 0
            let e = s.map { c -> Int32 in
                if let id = ids[c] { return id }
                missing += 1
                return unknownID
            }
            return (e, missing)
        }
        train = encode(splits.0).0
        let v = encode(splits.1), t = encode(splits.2)
        validation = v.0
        test = t.0
        unknown = (v.1, t.1)
    }

    /// PTB's three character files in `directory`, converted, or nil when they are not there.
    static func ptbSplits(_ directory: String) throws -> (String, String, String)? {
        let names = ["train", "valid", "test"].map { (directory as NSString).appendingPathComponent("ptb.char.\($0).txt") }
        guard names.allSatisfy(FileManager.default.fileExists) else { return nil }
        let texts = try names.map { try read($0, format: .ptb) }
        return (texts[0], texts[1], texts[2])
    }

    static func textFiles(in directory: String) throws -> [String] {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
        return names.compactMap { name in
            guard !name.hasPrefix("."), !name.hasSuffix(".dat"), !name.hasSuffix(".u8") else { return nil }
            let p = (directory as NSString).appendingPathComponent(name)
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: p, isDirectory: &isDirectory), !isDirectory.boolValue else { return nil }
            return p
        }
    }

    /// One file's text in the given format (bytes that are not UTF-8 read as U+FFFD).
    static func read(_ path: String, format: Format) throws -> String {
        guard let data = FileManager.default.contents(atPath: path) else { throw TaskError("\(path): cannot be read") }
        let text = String(decoding: data, as: UTF8.self)
        var resolved = format
        if format == .auto {
            let name = (path as NSString).lastPathComponent
            if name.hasPrefix("ptb.char.") { resolved = .ptb }
            else if FileManager.default.fileExists(atPath: path + ".dat") { resolved = .fortune }
            else { resolved = .plain }
        }
        switch resolved {
        case .auto, .plain:
            return text
        case .fortune:
            return text.split(separator: "\n", omittingEmptySubsequences: false).filter { $0 != "%" }.joined(separator: "\n")
        case .ptb:
            return fromPTB(text)
        }
    }

    /// "a _ c a t" → "a cat": characters are separated by single spaces, `_` marks a word boundary.
    static func fromPTB(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            String(line.split(separator: " ").map { $0 == "_" ? " " : String($0) }.joined())
        }.joined(separator: "\n")
    }
}
