import Foundation
import TickplexModel
import TickplexVenues

/// The control protocol of one simulated Bybit V5 public connection, as a pure state machine: a client text frame
/// in, the exact reply frames out (byte shapes of the recorded acks and pongs, per category).
///
/// What it reproduces (PROTOCOLS.md §1.3–1.4): one ack per request naming no topic; spot acks put
/// `ret_msg:"subscribe"` and carry `req_id` only when one was sent; linear/inverse acks put `ret_msg:""` and
/// always carry `req_id`; spot refuses more than 10 args with `args size \u003e10` (escaped on the wire); an unknown
/// symbol fails with `error:handler not found,topic:<topic>`; pongs answer `{"op":"ping"}` with `op:"ping"`.
public struct BybitSimSession: Sendable {
    public enum Category: String, Sendable { case spot, linear, inverse }

    public let category: Category
    public let connectionId: String
    /// Symbols the simulated market lists; any other symbol is unknown to the exchange.
    public let symbols: Set<String>
    public private(set) var subscribed: [String] = []
    public private(set) var pingsReceived = 0
    /// Every request frame received, for tests that check what the proxy sent.
    public private(set) var requests: [String] = []

    public init(category: Category, connectionId: String, symbols: Set<String>) {
        self.category = category
        self.connectionId = connectionId
        self.symbols = symbols
    }

    /// What the connection must do after a client frame.
    public struct Outcome: Sendable, Equatable {
        /// Reply frames, in order.
        public var replies: [String] = []
        /// Topics that became subscribed (the server starts their data, on linear possibly before the ack).
        public var newTopics: [String] = []
        public var removedTopics: [String] = []
    }

    public mutating func handle(_ frame: String) -> Outcome {
        requests.append(frame)
        guard let json = try? JSONParser.parse(frame), case .object = json, let op = json["op"]?.string else {
            return Outcome(replies: [ack(op: "", success: false, message: "error:invalid request", requestId: nil)])
        }
        let requestId = json["req_id"]?.string
        switch op {
        case "ping":
            pingsReceived += 1
            return Outcome(replies: [ack(op: "ping", success: true, message: "pong", requestId: requestId)])
        case "subscribe", "unsubscribe":
            guard let args = json["args"]?.array?.compactMap(\.string), !args.isEmpty else {
                return Outcome(replies: [ack(op: op, success: false, message: "error:args empty", requestId: requestId)]
                )
            }
            if category == .spot && args.count > 10 {
                return Outcome(replies: [ack(op: op, success: false, message: "args size >10", requestId: requestId)])
            }
            return op == "subscribe" ? subscribe(args, requestId: requestId) : unsubscribe(args, requestId: requestId)
        default:
            return Outcome(replies: [
                ack(op: op, success: false, message: "error:request not supported,op:\(op)", requestId: requestId)
            ])
        }
    }

    private func isKnown(_ topic: String) -> Bool {
        guard let parsed = BybitTopics.parse(topic: topic), symbols.contains(parsed.symbol) else { return false }
        if parsed.kind == .book, let depth = parsed.bookDepth, !BybitTopics.bookDepths.contains(depth) { return false }
        if parsed.kind == .liquidation && (category == .spot || parsed.legacyLiquidation) { return false }
        return true
    }

    private mutating func subscribe(_ topics: [String], requestId: String?) -> Outcome {
        var outcome = Outcome()
        var failure: String?
        for topic in topics {
            if !isKnown(topic) {
                failure = failure ?? "error:handler not found,topic:\(topic)"
            } else if subscribed.contains(topic) {
                failure = failure ?? "error:already subscribed,topic:\(topic)"
            } else {
                subscribed.append(topic)
                outcome.newTopics.append(topic)
            }
        }
        outcome.replies.append(
            ack(
                op: "subscribe", success: failure == nil, message: failure ?? successMessage("subscribe"),
                requestId: requestId))
        return outcome
    }

    private mutating func unsubscribe(_ topics: [String], requestId: String?) -> Outcome {
        var outcome = Outcome()
        for topic in topics {
            if let i = subscribed.firstIndex(of: topic) {
                subscribed.remove(at: i)
                outcome.removedTopics.append(topic)
            }
        }
        outcome.replies.append(
            ack(op: "unsubscribe", success: true, message: successMessage("unsubscribe"), requestId: requestId))
        return outcome
    }

    private func successMessage(_ op: String) -> String {
        category == .spot ? op : ""
    }

    /// The ack/pong frame in the category's key order. `>` is escaped as `\u003e`, as Bybit's encoder does.
    func ack(op: String, success: Bool, message: String, requestId: String?) -> String {
        let escaped = message.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: ">", with: "\\u003e")
        var frame = #"{"success":\#(success),"ret_msg":"\#(escaped)","conn_id":"\#(connectionId)""#
        switch category {
        case .spot:
            if let requestId { frame += #","req_id":"\#(requestId)""# }
        case .linear, .inverse:
            frame += #","req_id":"\#(requestId ?? "")""#
        }
        return frame + #","op":"\#(op)"}"#
    }
}
