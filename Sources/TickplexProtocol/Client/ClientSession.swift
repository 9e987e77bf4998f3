public import TickplexModel

/// The client side of the wire contract for one WebSocket connection, as a pure state machine: a client frame
/// in, reply frames and subscription actions out. The gateway carries out the actions and writes the replies.
public struct ClientSession: Sendable {
    public struct Limits: Sendable, Equatable {
        public var maxSubscriptions: Int
        public var maxMessagesPerSecond: Int
        public init(maxSubscriptions: Int = 100, maxMessagesPerSecond: Int = 100) {
            self.maxSubscriptions = maxSubscriptions
            self.maxMessagesPerSecond = maxMessagesPerSecond
        }
    }

    public enum Action: Sendable, Equatable {
        case subscribe(StreamKey)
        case unsubscribe(StreamKey)
        /// Close the connection with this WebSocket code.
        case close(code: UInt16, reason: String)
    }

    public struct Output: Sendable, Equatable {
        public var replies: [String] = []
        public var actions: [Action] = []
        public init(replies: [String] = [], actions: [Action] = []) {
            self.replies = replies
            self.actions = actions
        }
    }

    public let limits: Limits
    public let defaultVenue: Venue
    /// Why the venue cannot serve a parsed stream (liquidations on spot, too deep a Binance book), or nil.
    private let venueCheck: @Sendable (StreamKey) -> String?
    private var bucket: TokenBucket
    private var refusedInARow = 0
    /// Current subscriptions in the order they were made, with the argument text the client used.
    public private(set) var subscriptions: [(key: StreamKey, arg: String)] = []

    public init(
        limits: Limits, defaultVenue: Venue, venueCheck: @escaping @Sendable (StreamKey) -> String? = { _ in nil }
    ) {
        self.limits = limits
        self.defaultVenue = defaultVenue
        self.venueCheck = venueCheck
        bucket = TokenBucket(rate: limits.maxMessagesPerSecond)
    }

    public func isSubscribed(_ key: StreamKey) -> Bool { subscriptions.contains { $0.key == key } }

    // MARK: - Frames

    public mutating func handleBinary(now: Int64) -> Output {
        guard let limited = rateLimit(now: now) else {
            return Output(replies: [Self.error("INVALID_JSON", "binary frames are not accepted; send JSON text frames")]
            )
        }
        return limited
    }

    public mutating func handle(text: String, now: Int64) -> Output {
        if let limited = rateLimit(now: now) { return limited }
        let json: JSONValue
        do {
            json = try JSONParser.parse(text)
        } catch {
            return Output(replies: [Self.error("INVALID_JSON", "the frame is not valid JSON (\(error.description))")])
        }
        guard case .object = json else {
            return Output(replies: [Self.error("INVALID_JSON", "send a JSON object such as {\"op\":\"ping\"}")])
        }
        let requestId = json["req_id"]
        guard let op = json["op"]?.string else {
            return Output(replies: [
                Self.error("UNKNOWN_OP", "missing \"op\"; use subscribe, unsubscribe, ping or list", requestId)
            ])
        }
        switch op {
        case "ping":
            var w = JSONWriter(capacity: 64)
            w.beginObject()
            w.key("op")
            w.string("pong")
            w.key("timestamp")
            w.int(now)
            Self.echo(requestId, &w)
            w.endObject()
            return Output(replies: [w.text])
        case "list":
            var w = JSONWriter()
            w.beginObject()
            w.key("op")
            w.string("list")
            w.key("args")
            w.arrayValue()
            for s in subscriptions { w.string(s.arg) }
            w.endArray()
            Self.echo(requestId, &w)
            w.endObject()
            return Output(replies: [w.text])
        case "subscribe", "unsubscribe":
            // DESIGN: args missing, not a list, empty, or holding a non-string → one INVALID_ARGS error.
            guard let items = json["args"]?.array, !items.isEmpty else {
                return Output(replies: [
                    Self.error(
                        "INVALID_ARGS",
                        "\"args\" must be a non-empty list of stream arguments such as [\"ticker:BTCUSDT\"]",
                        requestId)
                ])
            }
            guard items.count <= limits.maxSubscriptions else {
                return Output(replies: [
                    Self.error(
                        "LIMIT_EXCEEDED",
                        "\(items.count) args in one request; at most \(limits.maxSubscriptions) (the subscription limit per connection)",
                        requestId)
                ])
            }
            let args = items.compactMap(\.string)
            guard args.count == items.count else {
                return Output(replies: [
                    Self.error(
                        "INVALID_ARGS", "every element of \"args\" must be a string such as \"ticker:BTCUSDT\"",
                        requestId)
                ])
            }
            return op == "subscribe" ? subscribe(args, requestId: requestId) : unsubscribe(args, requestId: requestId)
        default:
            return Output(replies: [
                Self.error("UNKNOWN_OP", "unknown op \"\(op)\"; use subscribe, unsubscribe, ping or list", requestId)
            ])
        }
    }

    /// The exchange refused a stream this client asked for: drop it and tell the client in the exchange's words.
    public mutating func subscriptionError(_ key: StreamKey, reason: String) -> Output {
        guard let i = subscriptions.firstIndex(where: { $0.key == key }) else { return Output() }
        let arg = subscriptions.remove(at: i).arg
        var w = JSONWriter()
        w.beginObject()
        w.key("op")
        w.string("subscription_error")
        w.key("arg")
        w.string(arg)
        w.key("reason")
        w.string(reason)
        w.endObject()
        return Output(replies: [w.text], actions: [.unsubscribe(key)])
    }

    // MARK: - Subscriptions

    private mutating func subscribe(_ args: [String], requestId: JSONValue?) -> Output {
        var accepted: [String] = []
        var rejected: [(String, String)] = []
        var actions: [Action] = []
        for arg in args {
            switch StreamArgument.parse(arg, defaultVenue: defaultVenue) {
            case .failure(let r):
                rejected.append((arg, r.reason))
            case .success(let key):
                if let reason = venueCheck(key) {
                    rejected.append((arg, reason))
                } else if isSubscribed(key) {
                    accepted.append(arg)
                } else if subscriptions.count >= limits.maxSubscriptions {
                    rejected.append(
                        (
                            arg,
                            "subscription limit reached (\(limits.maxSubscriptions) per connection); unsubscribe something first"
                        ))
                } else {
                    subscriptions.append((key, arg))
                    accepted.append(arg)
                    actions.append(.subscribe(key))
                }
            }
        }
        var w = JSONWriter()
        w.beginObject()
        w.key("op")
        w.string("subscribe")
        w.key("success")
        w.bool(!accepted.isEmpty)
        w.key("args")
        w.arrayValue()
        for a in accepted { w.string(a) }
        w.endArray()
        w.key("rejected")
        if rejected.isEmpty {
            w.null()
        } else {
            w.arrayValue()
            for (arg, reason) in rejected {
                w.beginObject()
                w.key("arg")
                w.string(arg)
                w.key("reason")
                w.string(reason)
                w.endObject()
            }
            w.endArray()
        }
        Self.echo(requestId, &w)
        w.endObject()
        return Output(replies: [w.text], actions: actions)
    }

    private mutating func unsubscribe(_ args: [String], requestId: JSONValue?) -> Output {
        var removed: [String] = []
        var actions: [Action] = []
        for arg in args {
            guard case .success(let key) = StreamArgument.parse(arg, defaultVenue: defaultVenue),
                let i = subscriptions.firstIndex(where: { $0.key == key })
            else { continue }
            subscriptions.remove(at: i)
            removed.append(arg)
            actions.append(.unsubscribe(key))
        }
        var w = JSONWriter()
        w.beginObject()
        w.key("op")
        w.string("unsubscribe")
        w.key("success")
        w.bool(!removed.isEmpty)
        w.key("args")
        w.arrayValue()
        for a in removed { w.string(a) }
        w.endArray()
        Self.echo(requestId, &w)
        w.endObject()
        return Output(replies: [w.text], actions: actions)
    }

    /// Every subscription, for the gateway to release when the client goes away.
    public mutating func closeAll() -> [StreamKey] {
        defer { subscriptions.removeAll() }
        return subscriptions.map(\.key)
    }

    // MARK: - Helpers

    /// Over the rate: `RATE_LIMIT_EXCEEDED`; a client that keeps sending after a second's worth of refusals is
    /// closed with 1008 (policy violation).
    private mutating func rateLimit(now: Int64) -> Output? {
        if bucket.take(now: now) {
            refusedInARow = 0
            return nil
        }
        refusedInARow += 1
        if refusedInARow > limits.maxMessagesPerSecond {
            return Output(actions: [.close(code: 1008, reason: "rate limit exceeded")])
        }
        return Output(replies: [
            Self.error(
                "RATE_LIMIT_EXCEEDED", "more than \(limits.maxMessagesPerSecond) messages per second; slow down")
        ])
    }

    static func echo(_ requestId: JSONValue?, _ w: inout JSONWriter) {
        guard let requestId else { return }
        w.key("req_id")
        switch requestId {
        case .string(let s): w.string(s)
        case .number(let n): w.number(n)
        default: w.null()
        }
    }

    public static func error(_ code: String, _ message: String, _ requestId: JSONValue? = nil) -> String {
        var w = JSONWriter()
        w.beginObject()
        w.key("op")
        w.string("error")
        w.key("code")
        w.string(code)
        w.key("message")
        w.string(message)
        echo(requestId, &w)
        w.endObject()
        return w.text
    }
}

extension JSONWriter {
    public var text: String { String(decoding: bytes, as: UTF8.self) }
}
