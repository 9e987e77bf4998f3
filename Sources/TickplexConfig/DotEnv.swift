import Foundation

/// Parser for `.env` files: `KEY=VALUE` lines, `#` comments, optional `export ` prefix and
/// single- or double-quoted values. Malformed lines are reported with their line number.
public enum DotEnv {
    public struct ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        public let line: Int
        public let text: String
        public var description: String {
            "invalid .env line \(line): \"\(text)\" (expected KEY=VALUE)"
        }
    }

    public static func parse(_ contents: String) throws(ParseError) -> [String: String] {
        var result: [String: String] = [:]
        var lineNumber = 0
        for rawLine in contents.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            var line = rawLine.trimmingWhitespace()
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("export ") { line = line.dropFirst("export ".count).trimmingWhitespace() }
            guard let eq = line.firstIndex(of: "=") else { throw ParseError(line: lineNumber, text: String(rawLine)) }
            let key = line[..<eq].trimmingWhitespace()
            guard !key.isEmpty, key.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else {
                throw ParseError(line: lineNumber, text: String(rawLine))
            }
            var value = line[line.index(after: eq)...].trimmingWhitespace()
            if let quote = value.first, quote == "\"" || quote == "'" {
                guard value.count >= 2, value.last == quote else {
                    throw ParseError(line: lineNumber, text: String(rawLine))
                }
                value = value.dropFirst().dropLast()[...]
            } else if let hash = value.range(of: " #") {
                // An unquoted value may carry a trailing comment.
                value = value[..<hash.lowerBound].trimmingWhitespace()
            }
            result[String(key)] = String(value)
        }
        return result
    }
}

extension Substring {
    func trimmingWhitespace() -> Substring {
        var s = self
        while let f = s.first, f == " " || f == "\t" || f == "\r" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" || l == "\r" { s = s.dropLast() }
        return s
    }
}
