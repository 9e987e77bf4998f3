import AsyncHTTPClient
import Foundation
public import Logging
import NIOCore
import NIOHTTP1
import TickplexModel

/// A reply from an exchange's REST API.
public struct RESTReply: Sendable {
    public var status: Int
    public var body: String
}

/// What went wrong talking to an exchange's REST API, in a sentence.
public struct RESTError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ text: String) { description = text }
}

/// One exchange REST host (Bybit, Binance spot, Binance USD-M): GET requests within the host's limits per IP
/// (`RESTBudget`: waits rather than risk a 429, honours `Retry-After`, never reaches a 418 or a Bybit 403 ban),
/// with timeouts, counting requests, weight and refusals for `/stats` and `/metrics`.
public actor ExchangeRESTClient {
    public struct Counters: Sendable, Equatable, Encodable {
        public var requests = 0
        public var weight = 0
        /// Answers by refusal status (429, 418, 403) and transport failures ("error").
        public var refusals: [String: Int] = [:]
        /// Requests that waited for the budget, and how long in all.
        public var delayed = 0
        public var delayedMs: Int64 = 0
        /// The exchange's own count of this IP's weight in the current minute (Binance).
        public var exchangeUsedWeight: Int?
    }

    public let name: String
    public let baseURL: String
    private var budget: RESTBudget
    private let timeout: TimeAmount
    private let maxBodyBytes: Int
    private let logger: Logger
    public private(set) var counters = Counters()

    public init(
        name: String, baseURL: String, budget: RESTBudget, timeout: Duration = .seconds(10),
        maxBodyBytes: Int = 64 << 20, logger: Logger
    ) {
        self.name = name
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.budget = budget
        self.timeout = .milliseconds(timeout.milliseconds)
        self.maxBodyBytes = maxBodyBytes
        self.logger = logger
    }

    public func learnedLimit(_ limit: Int) { budget.learnedLimit(limit) }

    /// GET `path?query`, costing `weight`. Waits for the budget first (at most `maxWait`; past it, fails without
    /// asking the exchange).
    public func get(
        _ path: String, query: [(String, String)] = [], weight: Int = 1, maxWait: Duration = .seconds(70)
    ) async throws -> RESTReply {
        var waited: Int64 = 0
        while true {
            let wait = budget.delay(now: UpstreamPool.nowMs(), weight: weight)
            guard wait > 0 else { break }
            guard waited + wait <= maxWait.milliseconds else {
                throw RESTError("\(name) REST: budget spent (waiting \(wait) ms more would exceed \(maxWait))")
            }
            if waited == 0 { counters.delayed += 1 }
            waited += wait
            counters.delayedMs += wait
            try await Task.sleep(for: .milliseconds(wait))
        }
        budget.sent(now: UpstreamPool.nowMs(), weight: weight)
        counters.requests += 1
        counters.weight += weight
        let url = baseURL + path + Self.encode(query)
        var request = HTTPClientRequest(url: url)
        request.method = .GET
        request.headers.add(name: "User-Agent", value: "tickplex/\(TickplexVersion.string)")
        let response: HTTPClientResponse
        let body: ByteBuffer
        do {
            response = try await HTTPClient.shared.execute(request, timeout: timeout)
            body = try await response.body.collect(upTo: maxBodyBytes)
        } catch {
            counters.refusals["error", default: 0] += 1
            throw RESTError("\(name) REST: GET \(path) failed: \(error)")
        }
        let status = Int(response.status.code)
        let used = response.headers.first(name: "X-MBX-USED-WEIGHT-1M").flatMap { Int($0) }
        let retryAfter = response.headers.first(name: "Retry-After").flatMap { Int($0) }
        budget.answered(now: UpstreamPool.nowMs(), status: status, usedWeight: used, retryAfterSeconds: retryAfter)
        counters.exchangeUsedWeight = used ?? counters.exchangeUsedWeight
        if [403, 418, 429].contains(status) {
            counters.refusals[String(status), default: 0] += 1
            logger.warning(
                "\(name) REST: HTTP \(status) on GET \(path); no request to this host for \(retryAfter.map { "\($0) s" } ?? "a while")"
            )
        }
        return RESTReply(status: status, body: String(buffer: body))
    }

    static func encode(_ query: [(String, String)]) -> String {
        guard !query.isEmpty else { return "" }
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-_.~"))
        return "?"
            + query.map { k, v in
                "\(k)=\(v.addingPercentEncoding(withAllowedCharacters: allowed) ?? v)"
            }.joined(separator: "&")
    }

}
