import Hummingbird
import HummingbirdCore

/// The first request head of a connection as the gate reads it, before NIO's HTTP decoder: request line and
/// header fields. Lenient where the decoder may be lenient (bare LF line ends, repeated headers, odd case and
/// spacing) so that every `Upgrade` form the decoder accepts is seen here too; a head this parser cannot read is
/// refused by the gate, never passed on unexamined.
struct RequestHead {
    var method: String
    /// The request target as sent: path and query.
    var target: String
    /// Header fields in order, names lower-cased, values trimmed.
    var fields: [(name: String, value: String)]

    /// Where the head ends in `bytes` (just past the blank line), or nil while it is incomplete.
    static func end(in bytes: some Collection<UInt8>) -> Int? {
        var previous: UInt8 = 0
        var beforePrevious: UInt8 = 0
        var index = 0
        for byte in bytes {
            index += 1
            if byte == 10 && (previous == 10 || (previous == 13 && beforePrevious == 10)) { return index }
            beforePrevious = previous
            previous = byte
        }
        return nil
    }

    /// Parses a complete head; nil when it is not an HTTP/1 request head.
    init?(_ text: Substring) {
        // Split on bytes: in Swift "\r\n" is one Character, so a split on "\n" would not see it.
        var lines = text.utf8.split(separator: 10, omittingEmptySubsequences: false).map { line in
            Substring(decoding: line.last == 13 ? line.dropLast() : line[...], as: UTF8.self)
        }
        while lines.last?.isEmpty == true { lines.removeLast() }
        guard let requestLine = lines.first else { return nil }
        let parts = requestLine.split(separator: " ", omittingEmptySubsequences: true)
        guard parts.count == 3, parts[2].hasPrefix("HTTP/1.") else { return nil }
        method = String(parts[0])
        target = String(parts[1])
        fields = []
        for line in lines.dropFirst() {
            if let first = line.first, first == " " || first == "\t" {
                // obs-fold: a continuation of the previous field's value.
                guard !fields.isEmpty else { return nil }
                fields[fields.count - 1].value += " " + line.trimmingSpaces
                continue
            }
            guard let colon = line.firstIndex(of: ":") else { return nil }
            let name = line[..<colon].trimmingSpaces.lowercased()
            guard !name.isEmpty else { return nil }
            fields.append((name, String(line[line.index(after: colon)...].trimmingSpaces)))
        }
    }

    /// Every value of a field (repeated fields in order).
    func values(_ name: String) -> [String] { fields.filter { $0.name == name }.map(\.value) }

    /// The comma-separated tokens of a field across all its lines, lower-cased.
    func tokens(_ name: String) -> [String] {
        values(name).flatMap { $0.split(separator: ",") }.map { $0.trimmingSpaces.lowercased() }.filter { !$0.isEmpty }
    }

    /// A WebSocket upgrade in any form NIO's upgrader accepts: `websocket` among the `Upgrade` tokens, whatever
    /// else is listed (`h2c, websocket`), however the field is spelled or repeated.
    var isWebSocketUpgrade: Bool { tokens("upgrade").contains("websocket") }

    /// The request target as Hummingbird reads it (path, percent-decoded query parameters): the same reading
    /// the REST routes get.
    var uri: URI { URI(target) }

    var credential: String? {
        AccessPolicy.credential(authorization: values("authorization"), token: uri.queryParameters.get("token"))
    }
}

extension Substring {
    var trimmingSpaces: Substring {
        var s = self
        while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" { s.removeLast() }
        return s
    }
}
