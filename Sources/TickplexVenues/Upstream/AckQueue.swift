import Foundation

/// Matches subscribe/unsubscribe acknowledgements to requests on one connection.
///
/// Bybit acks name no topic and echo `req_id` only when one was sent; Binance echoes `id`. Requests are matched
/// by id when the ack carries one, otherwise first-in first-out. A failed ack is attributed to the topic its
/// message names (Bybit: `error:handler not found,topic:publicTrade.X`), else to every topic of the request.
public struct AckQueue: Sendable, Equatable {
    public struct Request: Sendable, Equatable {
        public var id: String
        public var op: String
        public var topics: [String]
        public init(id: String, op: String, topics: [String]) {
            self.id = id
            self.op = op
            self.topics = topics
        }
    }

    public enum Outcome: Sendable, Equatable {
        case confirmed(Request)
        /// `rejected` topics were refused with the exchange's words; `retry` are the request's other topics,
        /// whose state is unknown after a partial failure and which are safest subscribed again.
        case failed(Request, rejected: [String], retry: [String], message: String)
        /// An ack that matches no request.
        case unmatched
    }

    private var pending: [Request] = []

    public init() {}

    public var count: Int { pending.count }

    public mutating func sent(_ request: Request) {
        pending.append(request)
    }

    public mutating func received(requestId: String?, success: Bool, message: String) -> Outcome {
        let index: Int?
        if let requestId, let i = pending.firstIndex(where: { $0.id == requestId }) {
            index = i
        } else {
            index = pending.isEmpty ? nil : 0
        }
        guard let index else { return .unmatched }
        let request = pending.remove(at: index)
        if success { return .confirmed(request) }
        // "already subscribed" means the topic is there: not a failure for us.
        if message.contains("already subscribed") { return .confirmed(request) }
        let tokens = Self.topicsNamed(in: message)
        let named = request.topics.filter { tokens.contains($0) }
        if !named.isEmpty {
            return .failed(
                request, rejected: named, retry: request.topics.filter { !named.contains($0) }, message: message)
        }
        // Binance errors name no stream: a multi-topic request is retried one topic per request to find the culprit.
        if request.topics.count > 1 { return .failed(request, rejected: [], retry: request.topics, message: message) }
        return .failed(request, rejected: request.topics, retry: [], message: message)
    }

    /// The topics an error message names, whole: `topic:X` up to the next `,` `]` space or quote, and every
    /// comma-separated item of a `[X,Y]` list. Matched exactly, so that refusing `tickers.BTCUSDTT` never takes
    /// `tickers.BTCUSDT` down with it.
    public static func topicsNamed(in message: String) -> Set<String> {
        var names: Set<String> = []
        let stops: Set<Character> = [",", "]", " ", "\"", "}"]
        var rest = Substring(message)
        while let range = rest.range(of: "topic:") {
            let after = rest[range.upperBound...]
            let name = after.prefix { !stops.contains($0) }
            if !name.isEmpty { names.insert(String(name)) }
            rest = after.dropFirst(name.count)
        }
        rest = Substring(message)
        while let open = rest.firstIndex(of: "[") {
            let after = rest[rest.index(after: open)...]
            guard let close = after.firstIndex(of: "]") else { break }
            for item in after[..<close].split(separator: ",") {
                let name = item.drop { $0 == " " }.reversed().drop { $0 == " " }.reversed()
                if !name.isEmpty { names.insert(String(name)) }
            }
            rest = after[after.index(after: close)...]
        }
        return names
    }

    /// The connection closed: every pending request is void (the pool resubscribes on the next connection).
    public mutating func reset() -> [Request] {
        defer { pending.removeAll() }
        return pending
    }
}
