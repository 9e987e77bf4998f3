import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import TickplexBus
import TickplexConfig
import TickplexModel
import TickplexUpstream
import TickplexVenues

/// `GET /v1/quote/{symbol}?venue=`: the stream's latest ticker state with its age, never stale. A symbol not
/// streamed yet is subscribed upstream on demand and the request waits (up to QUOTE_WAIT_MS) for its first data.
/// Each request holds an upstream reference only while it runs; the pool's linger keeps the subscription warm
/// between requests and lets it go UPSTREAM_LINGER_S after the last one.
struct QuoteRoutes: Sendable {
    let config: TickplexConfig
    let store: any LastValueStore
    /// Where the stream's last value is stored.
    let keyspace: RedisKeyspace
    let upstream: UpstreamPools
    /// Where the request's reference goes (this node's pools, or the cluster's ownership).
    let demand: any UpstreamDemand
    let rejections: RejectionBook
    /// A stream new to the node spends the caller's budget (by API key under AUTH_MODE=apikey, where the key was
    /// checked; otherwise every REST caller shares one bucket, or a made-up `?token=` would buy a fresh one).
    let budget: NewStreamBudget
    /// The stream's first event wakes the waiting request (no polling of the store).
    let signal: StreamEventSignal

    static let path = "/v1/quote/:symbol"

    func register(on router: Router<some RequestContext>) {
        router.get(RouterPath(stringLiteral: Self.path)) { request, context in
            await quote(
                symbol: context.parameters.get("symbol"), venue: request.uri.queryParameters["venue"].map(String.init),
                caller: caller(request))
        }
        router.head(RouterPath(stringLiteral: Self.path)) { request, context in
            let full = await quote(
                symbol: context.parameters.get("symbol"), venue: request.uri.queryParameters["venue"].map(String.init),
                caller: caller(request))
            return Response(status: full.status, headers: full.headers, body: .init())
        }
        MethodNotAllowed.register(Self.path, allow: "GET, HEAD", on: router)
    }

    /// The budget a REST caller spends.
    func caller(_ request: Request) -> String {
        guard config.authMode == .apikey else { return "rest:" }
        let credential = AccessPolicy.credential(
            authorization: request.headers[values: .authorization], token: request.uri.queryParameters.get("token"))
        return "rest:" + (credential ?? "")
    }

    /// A fresh quote's body, or the answer that says why there is none.
    enum Answer {
        case fresh(ByteBuffer)
        case refused(Response)
    }

    func quote(symbol rawSymbol: String?, venue rawVenue: String?, caller: String = "rest:") async -> Response {
        switch await answer(symbol: rawSymbol, venue: rawVenue, caller: caller) {
        case .fresh(let body): JSONResponse.make(.ok, bytes: body)
        case .refused(let response): response
        }
    }

    func answer(symbol rawSymbol: String?, venue rawVenue: String?, caller: String = "rest:") async -> Answer {
        let symbol: String
        let venue: Venue
        do {
            symbol = try RESTParameters.symbol(rawSymbol)
            venue = try RESTParameters.venue(rawVenue, default: config.defaultVenue)
        } catch {
            return .refused(error.response)
        }
        let key = StreamKey.ticker(symbol, venue)
        let started = ContinuousClock.now
        // Refused moments ago: answer with the exchange's words without asking it again.
        if let reason = rejections.reason(for: key, since: started - .seconds(60)) {
            return .refused(unknownSymbol(key, reason))
        }
        guard let pool = upstream.pool(for: venue) else {
            return .refused(JSONResponse.error(.badRequest, "venue \(venue.rawValue) is not configured on this node"))
        }
        if let unlisted = pool.listingRefusal(key) { return .refused(unknownSymbol(key, unlisted.reason)) }
        if !(await demand.carries(key)), let refusal = budget.spend(caller) {
            return .refused(JSONResponse.error(.tooManyRequests, refusal))
        }
        if let refusal = await demand.want(key) {
            return .refused(unknownSymbol(key, refusal.reason))
        }
        let response = await waitForQuote(key, started: started)
        await demand.unwant(key)
        return response
    }

    /// The stored value when there is one; otherwise the stream's first event, as the publisher publishes it.
    /// An event published between the store read and the wait is found by the second read, after the wait.
    private func waitForQuote(_ key: StreamKey, started: ContinuousClock.Instant) async -> Answer {
        let storeKey = keyspace.lastValue(key)
        var waited = false
        while true {
            let stored: StoredValue?
            do {
                stored = try await store.get(storeKey)
            } catch {
                return .refused(JSONResponse.error(.serviceUnavailable, "last-value store unavailable: \(error)"))
            }
            if let stored {
                guard stored.ageMs <= config.quoteMaxAgeMs else {
                    return .refused(
                        JSONResponse.make(
                            .serviceUnavailable,
                            bytes: ByteBuffer(
                                string:
                                    #"{"error":"stale","ageMs":\#(stored.ageMs),"maxAgeMs":\#(config.quoteMaxAgeMs)}"#))
                    )
                }
                return .fresh(Self.body(stored, key: key, brand: config.brand))
            }
            if let reason = rejections.reason(for: key, since: started - .seconds(60)) {
                return .refused(unknownSymbol(key, reason))
            }
            let remaining = started + .milliseconds(config.quoteWaitMs) - ContinuousClock.now
            if !demand.publishesLocally {
                // Another node may be the one publishing it: its first event shows in the store, read again soon.
                guard remaining > .zero else { break }
                try? await Task.sleep(for: min(remaining, .milliseconds(50)))
                continue
            }
            guard !waited else { break }
            waited = true
            if remaining > .zero, let event = await signal.next(key.streamName(brand: config.brand), timeout: remaining)
            {
                // Just published: its age is the time since it was received.
                return .fresh(Self.body(StoredValue(value: event, ageMs: 0), key: key, brand: config.brand))
            }
        }
        let ms = (ContinuousClock.now - started).milliseconds
        return .refused(
            JSONResponse.make(
                .gatewayTimeout,
                bytes: ByteBuffer(
                    string:
                        #"{"error":"no data from the exchange within QUOTE_WAIT_MS","waitedMs":\#(ms),"stream":"\#(key.streamName(brand: config.brand))"}"#
                )))
    }

    private func unknownSymbol(_ key: StreamKey, _ reason: String) -> Response {
        var w = JSONWriter(capacity: 200)
        w.beginObject()
        w.key("error")
        w.string("unknown symbol")
        w.key("symbol")
        w.string(key.symbol)
        w.key("venue")
        w.string(key.venue.rawValue)
        w.key("reason")
        w.string(reason)
        w.endObject()
        return JSONResponse.make(.notFound, bytes: ByteBuffer(bytes: w.bytes))
    }

    /// The ticker fields at top level, then `venue`, `stream`, `ts`, `ageMs` (prices stay the exchange's strings).
    static func body(_ stored: StoredValue, key: StreamKey, brand: String) -> ByteBuffer {
        let message = (try? JSONParser.parse(stored.value.readableBytesView)) ?? .object([])
        var w = JSONWriter(capacity: stored.value.readableBytes + 100)
        w.beginObject()
        if case .object(let fields)? = message["data"] {
            for (k, v) in fields {
                w.key(k)
                w.value(v)
            }
        }
        w.key("venue")
        w.string(key.venue.rawValue)
        w.key("stream")
        w.string(key.streamName(brand: brand))
        w.key("ts")
        w.value(message["ts"] ?? .null)
        w.key("ageMs")
        w.int(stored.ageMs)
        w.endObject()
        return ByteBuffer(bytes: w.bytes)
    }
}

/// Other methods on a REST resource: 405 with `Allow`.
enum MethodNotAllowed {
    static func register(_ path: String, allow: String, on router: Router<some RequestContext>) {
        for method in [HTTPRequest.Method.post, .put, .delete, .patch, .options] {
            router.on(RouterPath(stringLiteral: path), method: method) { _, _ in
                var response = JSONResponse.error(.methodNotAllowed, "method not allowed; use \(allow)")
                response.headers[.allow] = allow
                return response
            }
        }
    }
}
