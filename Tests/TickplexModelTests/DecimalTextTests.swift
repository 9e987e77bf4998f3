import Testing

@testable import TickplexModel

@Suite("Decimal strings, exactly")
struct DecimalTextTests {
    @Test(
        "moving the point keeps every digit",
        arguments: [
            ("0.001624", 2, "0.1624"), ("0.0015", 2, "0.15"), ("-0.012", 2, "-1.2"), ("1", 2, "100"),
            ("12.5", 2, "1250"),
            ("0", 2, "0"), ("-0.0000", 2, "0.00"), ("", 2, ""), ("abc", 2, "abc"), ("5", -2, "0.05"),
        ])
    func movePoint(_ input: String, _ places: Int, _ expected: String) {
        #expect(DecimalText.movePoint(input, by: places) == expected)
    }

    @Test("zero detection and numeric order")
    func zeroAndOrder() {
        #expect(DecimalText.isZero("0") && DecimalText.isZero("0.00000000") && !DecimalText.isZero("0.001"))
        #expect(DecimalText.compare("65140", "65140.4") < 0)
        #expect(DecimalText.compare("65239.1", "65239") > 0)
        #expect(DecimalText.compare("0.48560000", "0.4856") == 0)
        #expect(DecimalText.compare("9", "10") < 0)
        #expect(DecimalText.sortKey("1e5") == nil)
    }
}
