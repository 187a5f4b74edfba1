/// Rows of text printed in aligned columns under an upper-case header, like kubectl.
public struct Table: Sendable, Equatable {
    /// The column titles.
    public var header: [String]
    /// The rows (each as many cells as the header).
    public var rows: [[String]]

    /// Creates a table.
    public init(header: [String], rows: [[String]]) {
        self.header = header
        self.rows = rows
    }

    /// The table as text: columns separated by three spaces, the last column not padded, one
    /// line per row and a newline after each.
    public func render() -> String {
        let all = [header.map { $0.uppercased() }] + rows
        var widths = Array(repeating: 0, count: header.count)
        for row in all {
            for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) }
        }
        var out = ""
        for row in all {
            var line = ""
            for (i, cell) in row.enumerated() where i < widths.count {
                if i == widths.count - 1 {
                    line += cell
                } else {
                    line += cell + String(repeating: " ", count: widths[i] - cell.count + 3)
                }
            }
            while line.hasSuffix(" ") { line.removeLast() }
            out += line + "\n"
        }
        return out
    }
}
