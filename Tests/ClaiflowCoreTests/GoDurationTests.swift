import ClaiflowCore
import Testing

@Suite("GoDuration")
struct GoDurationTests {
    private static let second: Int64 = 1_000_000_000
    private static let minute: Int64 = 60 * second
    private static let hour: Int64 = 60 * minute

    @Test(
        "parses Go duration syntax",
        arguments: [
            ("8760h0m0s", 8760 * hour), ("1m0s", minute), ("10m", 10 * minute), ("1.5h", 5_400 * second),
            ("300ms", 300_000_000), ("0", 0), ("-0", 0), ("+0", 0), ("-2s", -2 * second), ("+1s", second),
            ("1h30m", 90 * minute), ("3h30m", 210 * minute), ("10.5s4m", 4 * minute + 10_500_000_000),
            ("-2m3.4s", -(2 * minute + 3_400_000_000)), ("1h2m3s4ms5us6ns", hour + 2 * minute + 3 * second + 4_005_006),
            ("39h9m14.425s", 39 * hour + 9 * minute + 14_425_000_000), ("52763797000ns", 52_763_797_000),
        ] as [(String, Int64)])
    func parse(text: String, ns: Int64) {
        #expect(GoDuration(parsing: text)?.nanoseconds == ns)
    }

    @Test(
        "parses every unit, both micro signs included",
        arguments: [
            ("7ns", 7), ("2us", 2_000), ("2\u{00B5}s", 2_000), ("2\u{03BC}s", 2_000), ("13ms", 13_000_000),
            ("14s", 14 * second), ("15m", 15 * minute), ("16h", 16 * hour),
        ] as [(String, Int64)])
    func units(text: String, ns: Int64) {
        #expect(GoDuration(parsing: text)?.nanoseconds == ns)
    }

    @Test(
        "scales fractions exactly, with integer arithmetic",
        arguments: [
            // A float64 scale gave 1,349,999 ns and 2.099999999 s for these two.
            ("0.00135s", 1_350_000), ("0.035m", 2_100_000_000),
            ("5.0s", 5 * second), ("5.6s", 5_600_000_000), ("5.s", 5 * second), (".5s", 500_000_000),
            ("1.004s", 1_004_000_000), ("1.0040s", 1_004_000_000), ("100.00100s", 100_001_000_000),
            ("0.1h", 6 * minute), ("0.5us", 500), ("1.5ns", 1), ("0.9ns", 0), ("1.0000000001s", second),
            // Exact truncation, where Go's float64 rounds up to 20m.
            ("0.3333333333333333333h", 20 * minute - 1),
            // Digits beyond 63 bits of precision are ignored, as in Go.
            ("0.100000000000000000000h", 6 * minute),
            ("0.830103483285477580700h", 49 * minute + 48 * second + 372_539_827),
            ("9007199254740993ns", (1 << 53) + 1),
        ] as [(String, Int64)])
    func fractions(text: String, ns: Int64) {
        #expect(GoDuration(parsing: text)?.nanoseconds == ns)
    }

    @Test(
        "accepts the whole range of Go's Duration",
        arguments: [
            ("9223372036854775807ns", Int64.max), ("9223372036854775.807us", Int64.max),
            ("9223372036s854ms775us807ns", Int64.max), ("-9223372036854775808ns", Int64.min),
            ("-9223372036854775.808us", Int64.min), ("-9223372036s854ms775us808ns", Int64.min),
            ("-2562047h47m16.854775808s", Int64.min),
        ] as [(String, Int64)])
    func range(text: String, ns: Int64) {
        #expect(GoDuration(parsing: text)?.nanoseconds == ns)
    }

    @Test(
        "rejects invalid and out-of-range durations",
        arguments: [
            "", "abc", "10", "3", "1d", "h", "s", ".", "-.", ".s", "+.s", "1.h.", "-", "00", "1m5", "1sec", "1 s",
            "99999999999999999999h", "3000000h", "9223372036854775808ns", "9223372036854775.808us",
            "9223372036854ms775us808ns", "-9223372036854775809ns", "2562047h47m16.854775808s",
            "9223372036854775808ns9223372036854775808ns", "-9223372036854775808ns1ns",
        ])
    func reject(text: String) {
        #expect(GoDuration(parsing: text) == nil)
    }

    @Test("renders like Go's Duration.String")
    func render() {
        #expect(GoDuration.seconds(8760 * 3600).description == "8760h0m0s")
        #expect(GoDuration.seconds(60).description == "1m0s")
        #expect(GoDuration.seconds(600).description == "10m0s")
        #expect(GoDuration(nanoseconds: 1_500_000_000).description == "1.5s")
        #expect(GoDuration(nanoseconds: 300_000_000).description == "300ms")
        #expect(GoDuration(nanoseconds: 0).description == "0s")
        #expect(GoDuration(nanoseconds: -90_000_000_000).description == "-1m30s")
    }

    @Test("renders what it parses back to the same duration")
    func roundTrip() {
        for text in ["0.00135s", "0.035m", "1h2m3s4ms5us6ns", "-2m3.4s", "9223372036854775807ns"] {
            let parsed = GoDuration(parsing: text)
            #expect(parsed.flatMap { GoDuration(parsing: $0.description) } == parsed, "\(text)")
        }
    }
}
