/// The first request head of a connection as the gate reads it, before NIO's HTTP decoder: request line and
/// header fields. Lenient where the decoder may be lenient (bare LF line ends, repeated headers, odd case and
/// spacing) so that every `Upgrade` form the decoder accepts is seen here too; a head this parser cannot read is
/// refused by the gate, never passed on unexamined.
struct RequestHead: Equatable {
    var method: String
    /// The request target as sent: path and query.
    var target: String
    /// Header fields in order, names lower-cased, values trimmed.
    var fields: [(name: String, value: String)]

    static func == (a: RequestHead, b: RequestHead) -> Bool {
        a.method == b.method && a.target == b.target && a.fields.elementsEqual(b.fields) { $0 == $1 }
    }

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

    var path: Substring { target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)[0] }

    /// A query parameter's value (percent-decoded), e.g. `token`.
    func query(_ name: String) -> String? {
        let parts = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2 else { return nil }
        for pair in parts[1].split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            if kv[0] == name { return kv.count == 2 ? String(kv[1]).percentDecoded : "" }
        }
        return nil
    }

    /// The credential a client presents: `Authorization: Bearer <token>`, else `?token=` (browsers cannot set
    /// headers on a WebSocket).
    var credential: String? {
        for value in values("authorization") {
            let parts = value.split(separator: " ", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == "bearer" { return String(parts[1].trimmingSpaces) }
        }
        return query("token")
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

extension String {
    /// `%XX` decoded and `+` as space, as in a form-encoded query; a malformed escape is kept as it is.
    var percentDecoded: String {
        guard contains("%") || contains("+") else { return self }
        var bytes: [UInt8] = []
        let utf8 = Array(self.utf8)
        var i = 0
        while i < utf8.count {
            if utf8[i] == UInt8(ascii: "%"), i + 2 < utf8.count,
                let v = UInt8(String(decoding: utf8[(i + 1)...(i + 2)], as: UTF8.self), radix: 16)
            {
                bytes.append(v)
                i += 3
            } else {
                bytes.append(utf8[i] == UInt8(ascii: "+") ? UInt8(ascii: " ") : utf8[i])
                i += 1
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
