import Hummingbird
import TickplexModel

/// A REST parameter that is missing or wrong: 400 naming it, with what is accepted.
struct BadParameter: Error {
    let parameter: String
    let message: String
    var extra: [String: [String]] = [:]

    var response: Response {
        var w = JSONWriter(capacity: 256)
        w.beginObject()
        w.key("error")
        w.string(message)
        w.key("parameter")
        w.string(parameter)
        for (k, values) in extra.sorted(by: { $0.key < $1.key }) {
            w.key(k)
            w.beginArray()
            for v in values { w.string(v) }
            w.endArray()
        }
        w.endObject()
        return JSONResponse.make(.badRequest, bytes: .init(bytes: w.bytes))
    }
}

enum RESTParameters {
    /// The first parameter of `query` (in name order) that is not `accepted`, if any.
    static func firstUnknown(_ query: Parameters, accepted: Set<String>) -> String? {
        query.map { String($0.key) }.sorted().first { !accepted.contains($0) }
    }

    static func venue(_ raw: String?, default defaultVenue: Venue) throws(BadParameter) -> Venue {
        guard let raw else { return defaultVenue }
        guard let venue = Venue(rawValue: raw.lowercased()) else {
            throw BadParameter(
                parameter: "venue", message: "unknown venue \"\(raw)\"; use one of \(Venue.allowedList)",
                extra: ["venues": Venue.allCases.map(\.rawValue)])
        }
        return venue
    }

    /// Exchange symbols: letters, digits and `-_.`, at most 40 characters; upper-cased.
    static func symbol(_ raw: String?) throws(BadParameter) -> String {
        guard let raw, !raw.isEmpty else {
            throw BadParameter(parameter: "symbol", message: "symbol is required, e.g. BTCUSDT")
        }
        let upper = raw.uppercased()
        let allowed =
            upper.count <= 40
            && upper.unicodeScalars.allSatisfy {
                ("A"..."Z").contains($0) || ("0"..."9").contains($0) || "-_.".unicodeScalars.contains($0)
            }
        guard allowed else {
            throw BadParameter(
                parameter: "symbol",
                message: "symbol \"\(raw)\" is not a symbol: letters, digits and -_. only, at most 40, e.g. BTCUSDT")
        }
        return upper
    }

    static func interval(_ raw: String?) throws(BadParameter) -> KlineInterval {
        let list = KlineInterval.allCases.map(\.rawValue)
        guard let raw, !raw.isEmpty else {
            throw BadParameter(
                parameter: "interval", message: "interval is required: one of \(list.joined(separator: " "))",
                extra: ["intervals": list])
        }
        if let interval = KlineInterval(rawValue: raw) ?? KlineInterval(bybitName: raw) {
            return interval
        }
        throw BadParameter(
            parameter: "interval", message: "interval \"\(raw)\" is not one of \(list.joined(separator: " "))",
            extra: ["intervals": list])
    }

    /// A time in epoch milliseconds (0 ... year 9999).
    static func millis(_ name: String, _ raw: String?) throws(BadParameter) -> Int64? {
        guard let raw else { return nil }
        guard let value = Int64(raw), (0...253_402_300_799_999).contains(value) else {
            throw BadParameter(
                parameter: name,
                message: "\(name) \"\(raw)\" must be a time in milliseconds since 1970, e.g. 1786310817583")
        }
        return value
    }

    static func limit(_ raw: String?) throws(BadParameter) -> Int {
        guard let raw else { return 500 }
        guard let value = Int(raw), (1...1000).contains(value) else {
            throw BadParameter(
                parameter: "limit", message: "limit \"\(raw)\" must be a whole number from 1 to 1000 (default 500)")
        }
        return value
    }
}
