/// Columns aligned for a terminal: the first left-aligned, numbers right-aligned, two spaces apart.
public enum TextTable {
    public static func render(_ header: [String], _ rows: [[String]]) -> String {
        let all = [header] + rows
        let widths = header.indices.map { j in all.map { $0.indices.contains(j) ? $0[j].count : 0 }.max() ?? 0 }
        return all.map { row in
            row.enumerated().map { j, cell in
                let pad = String(repeating: " ", count: widths[j] - cell.count)
                return j > 0 && Double(cell.split(separator: " ").first ?? "") != nil ? pad + cell : cell + pad
            }.joined(separator: "  ").replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression)
        }.joined(separator: "\n")
    }
}
