import Foundation
import Testing

/// The console's palette, read from `console.css`: every text color on its background has a
/// WCAG contrast of at least 4.5:1, and the focus ring at least 3:1 against what it surrounds.
@Suite("Web console: the stylesheet's colors have enough contrast")
struct ConsolePaletteTests {
    struct Rule {
        let selectors: [String]
        let declarations: [String: String]
    }

    static func stylesheet() throws -> String {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Sources/ClaiflowServer/Resources/console/console.css")
        return try String(contentsOf: url, encoding: .utf8)
    }

    /// The rules of a flat stylesheet (no at-rules), comments removed, each `var(--x)` resolved from `:root`.
    static func rules(_ css: String) -> [Rule] {
        var text = css
        while let start = text.range(of: "/*"), let end = text.range(of: "*/", range: start.upperBound..<text.endIndex) {
            text.removeSubrange(start.lowerBound..<end.upperBound)
        }
        var rules: [Rule] = text.split(separator: "}").compactMap { chunk in
            let parts = chunk.split(separator: "{", maxSplits: 1)
            guard parts.count == 2 else { return nil }
            let selectors = parts[0].split(separator: ",").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
            var declarations: [String: String] = [:]
            for d in parts[1].split(separator: ";") {
                let kv = d.split(separator: ":", maxSplits: 1)
                guard kv.count == 2 else { continue }
                declarations[kv[0].trimmingCharacters(in: .whitespacesAndNewlines)] = kv[1].trimmingCharacters(
                    in: .whitespacesAndNewlines)
            }
            return Rule(selectors: selectors, declarations: declarations)
        }
        let root = rules.first { $0.selectors == [":root"] }?.declarations ?? [:]
        rules = rules.map { r in
            Rule(
                selectors: r.selectors,
                declarations: r.declarations.mapValues { v in
                    var v = v
                    while let start = v.range(of: "var("), let end = v.range(of: ")", range: start.upperBound..<v.endIndex) {
                        v.replaceSubrange(
                            start.lowerBound..<end.upperBound, with: root[String(v[start.upperBound..<end.lowerBound])] ?? "")
                    }
                    return v
                })
        }
        return rules
    }

    /// The first `#rgb` or `#rrggbb` color of a value, if it has one.
    static func color(_ value: String?) -> (Double, Double, Double)? {
        guard let value, let hash = value.firstIndex(of: "#") else { return nil }
        var hex = String(value[value.index(after: hash)...].prefix(while: { $0.isHexDigit }))
        if hex.count == 3 { hex = hex.map { "\($0)\($0)" }.joined() }
        guard hex.count == 6, let n = UInt32(hex, radix: 16) else { return nil }
        return (Double(n >> 16 & 0xFF) / 255, Double(n >> 8 & 0xFF) / 255, Double(n & 0xFF) / 255)
    }

    /// WCAG 2 contrast ratio of two colors.
    static func contrast(_ a: (Double, Double, Double), _ b: (Double, Double, Double)) -> Double {
        func channel(_ c: Double) -> Double { c <= 0.03928 ? c / 12.92 : pow((c + 0.055) / 1.055, 2.4) }
        func luminance(_ c: (Double, Double, Double)) -> Double {
            0.2126 * channel(c.0) + 0.7152 * channel(c.1) + 0.0722 * channel(c.2)
        }
        let (x, y) = (luminance(a), luminance(b))
        return (max(x, y) + 0.05) / (min(x, y) + 0.05)
    }

    @Test("the contrast formula: black on white is 21, a color on itself 1")
    func formula() throws {
        let white = try #require(Self.color("#fff"))
        let black = try #require(Self.color("#000000"))
        #expect(abs(Self.contrast(black, white) - 21) < 0.001)
        #expect(Self.contrast(white, white) == 1)
        #expect(Self.contrast(try #require(Self.color("#777777")), white) < 4.5)
    }

    @Test("every rule's text color has at least 4.5:1 on its background (its own, the header's or the page's)")
    func textContrast() throws {
        let rules = Self.rules(try Self.stylesheet())
        #expect(rules.count > 30)
        let page = try #require(Self.color(rules.first { $0.selectors == ["body"] }?.declarations["background"]))
        let header = try #require(Self.color(rules.first { $0.selectors == [".top"] }?.declarations["background"]))
        var checked = 0
        for rule in rules {
            guard let text = Self.color(rule.declarations["color"]) else { continue }
            let own = Self.color(rule.declarations["background"] ?? rule.declarations["background-color"])
            let inHeader = rule.selectors.allSatisfy { $0.hasPrefix(".top") }
            let background = own ?? (inHeader ? header : page)
            let ratio = Self.contrast(text, background)
            #expect(ratio >= 4.5, "\(rule.selectors.joined(separator: ", ")): \(String(format: "%.2f", ratio)):1")
            checked += 1
        }
        #expect(checked >= 15)
        // Every status has its own text and background color (and the pages write its word).
        let statuses = rules.filter { $0.selectors.contains { $0.hasPrefix(".status-") } }
        for word in [
            "regist", "pending", "running", "succeeded", "failed", "canceled", "expired", "skipped", "done", "in-progress",
        ] {
            let rule = statuses.first { $0.selectors.contains(".status-\(word)") }
            #expect(rule?.declarations["color"] != nil && rule?.declarations["background"] != nil, "status-\(word)")
        }
    }

    @Test("the focus ring has at least 3:1 against the page and the header")
    func focusRing() throws {
        let rules = Self.rules(try Self.stylesheet())
        let focus = try #require(rules.first { $0.selectors == [":focus-visible"] }?.declarations["outline"])
        let ring = try #require(Self.color(focus))
        for selector in ["body", ".top"] {
            let background = try #require(Self.color(rules.first { $0.selectors == [selector] }?.declarations["background"]))
            #expect(Self.contrast(ring, background) >= 3, "\(selector)")
        }
    }
}
