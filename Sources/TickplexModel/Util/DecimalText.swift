/// Exact operations on decimal strings, so that prices and sizes never pass through floating point.
public enum DecimalText {
    /// Splits `[-]digits[.digits]`; nil for anything else (exponents included).
    static func split(_ s: Substring) -> (negative: Bool, integer: Substring, fraction: Substring)? {
        var rest = s
        var negative = false
        if rest.first == "-" {
            negative = true
            rest = rest.dropFirst()
        } else if rest.first == "+" {
            rest = rest.dropFirst()
        }
        let integer: Substring
        let fraction: Substring
        if let dot = rest.firstIndex(of: ".") {
            integer = rest[..<dot]
            fraction = rest[rest.index(after: dot)...]
        } else {
            integer = rest
            fraction = ""
        }
        guard !(integer.isEmpty && fraction.isEmpty),
            integer.allSatisfy({ $0.isASCII && $0.isNumber }), fraction.allSatisfy({ $0.isASCII && $0.isNumber })
        else { return nil }
        return (negative, integer, fraction)
    }

    /// Moves the decimal point `places` to the right (`"0.001624"`, 2 → `"0.1624"`). Digits are kept exactly;
    /// only leading zeros of the integer part are normalised. Returns the input for text that is not a plain decimal
    /// (such as `""`), so that nothing the exchange sent is lost.
    public static func movePoint(_ s: String, by places: Int) -> String {
        var sign: [UInt8] = []
        var digits: [UInt8] = []
        digits.reserveCapacity(s.utf8.count + abs(places) + 2)
        var integerCount = 0
        var seenDot = false
        for (i, b) in s.utf8.enumerated() {
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                digits.append(b)
                if !seenDot { integerCount += 1 }
            case UInt8(ascii: "."):
                guard !seenDot else { return s }
                seenDot = true
            case UInt8(ascii: "-") where i == 0:
                sign = [b]
            case UInt8(ascii: "+") where i == 0:
                continue
            default:
                return s
            }
        }
        guard !digits.isEmpty else { return s }
        var point = integerCount + places
        if point < 0 {
            digits.insert(contentsOf: repeatElement(UInt8(ascii: "0"), count: -point), at: 0)
            point = 0
        }
        if point > digits.count {
            digits.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: point - digits.count))
        }
        // Leading zeros of the integer part go, keeping one.
        var firstInteger = 0
        while firstInteger < point - 1, digits[firstInteger] == UInt8(ascii: "0") { firstInteger += 1 }
        var out: [UInt8] = []
        out.reserveCapacity(digits.count + 2)
        if point == 0 {
            out.append(UInt8(ascii: "0"))
        } else {
            out.append(contentsOf: digits[firstInteger..<point])
        }
        if point < digits.count {
            out.append(UInt8(ascii: "."))
            out.append(contentsOf: digits[point...])
        }
        let isZero = digits.allSatisfy { $0 == UInt8(ascii: "0") }
        return String(decoding: (isZero ? [] : sign) + out, as: UTF8.self)
    }

    /// Whether the decimal is zero (`"0"`, `"0.00000000"`); non-decimal text is not zero.
    public static func isZero(_ s: String) -> Bool {
        guard let (_, integer, fraction) = split(Substring(s)) else { return false }
        return integer.allSatisfy { $0 == "0" } && fraction.allSatisfy { $0 == "0" }
    }

    /// An exact fixed-point key (value × 10^18) for ordering price levels without floating point; nil when the
    /// text is not a plain decimal or has more than 18 decimals or 19 integer digits.
    public static func sortKey(_ s: String) -> Int128? {
        var key: Int128 = 0
        var fractionDigits = 0
        var integerDigits = 0
        var seenDot = false
        var negative = false
        var any = false
        for (i, b) in s.utf8.enumerated() {
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                if seenDot {
                    fractionDigits += 1
                    guard fractionDigits <= 18 else { return nil }
                } else {
                    integerDigits += 1
                    guard integerDigits <= 19 else { return nil }
                }
                key = key * 10 + Int128(b - 48)
                any = true
            case UInt8(ascii: "."):
                guard !seenDot else { return nil }
                seenDot = true
            case UInt8(ascii: "-") where i == 0:
                negative = true
            default:
                return nil
            }
        }
        guard any else { return nil }
        key *= Int128(10).power(18 - fractionDigits)
        return negative ? -key : key
    }

    /// Numeric comparison of two decimals given as text; falls back to text order for non-decimals.
    public static func compare(_ a: String, _ b: String) -> Int {
        guard let x = sortKey(a), let y = sortKey(b) else { return a < b ? -1 : (a == b ? 0 : 1) }
        return x < y ? -1 : (x == y ? 0 : 1)
    }
}

extension Int128 {
    fileprivate func power(_ n: Int) -> Int128 {
        var r: Int128 = 1
        for _ in 0..<n { r *= self }
        return r
    }
}
