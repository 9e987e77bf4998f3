import Foundation
public import Logging
public import ServiceLifecycle
import Synchronization
public import TickplexModel
public import TickplexVenues

/// The symbols each venue lists and trades, as its REST API says (Bybit `instruments-info`, Binance
/// `exchangeInfo`). A symbol that is not listed, or not trading, is refused at subscribe time with a sentence and
/// no upstream request. While a venue's list cannot be loaded, nothing is refused for it (the node keeps serving
/// what it serves) and `/health` says so. Read on every subscribe, written by the refresh: one lock around the
/// listings.
public final class InstrumentCatalogue: Sendable {
    public struct Listing: Sendable, Equatable {
        public var symbols: Set<String> = []
        /// When the list was last loaded (ms since 1970); nil: never.
        public var loadedAt: Int64?
        public var lastError: String?
        public var lastAttemptAt: Int64?
        public init() {}
    }

    private let listings = Mutex<[Venue: Listing]>([:])

    public init() {}

    /// Why `key` cannot be subscribed, or nil (listed and trading, or the venue's list is not loaded yet).
    public func refusal(for key: StreamKey) -> VenueRejection? {
        listings.withLock { all in
            guard let listing = all[key.venue], listing.loadedAt != nil else { return nil }
            guard !listing.symbols.contains(key.symbol) else { return nil }
            return VenueRejection("\(key.symbol) is not listed on \(key.venue.rawValue)")
        }
    }

    public func loaded(_ venue: Venue, symbols: Set<String>, at now: Int64) {
        listings.withLock {
            $0[venue, default: Listing()].symbols = symbols
            $0[venue, default: Listing()].loadedAt = now
            $0[venue, default: Listing()].lastError = nil
            $0[venue, default: Listing()].lastAttemptAt = now
        }
    }

    public func failed(_ venue: Venue, error: String, at now: Int64) {
        listings.withLock {
            $0[venue, default: Listing()].lastError = error
            $0[venue, default: Listing()].lastAttemptAt = now
        }
    }

    public var snapshot: [Venue: Listing] { listings.withLock { $0 } }
}

/// Reads the venues' instrument lists from their bodies. Pure; fed the recorded REST bodies in tests.
public enum CatalogueParser {
    /// Bybit `instruments-info`: the `Trading` symbols of one page and the cursor of the next ("" or nil: last).
    public static func bybitPage(_ body: String) throws(RESTError) -> (symbols: [String], next: String?) {
        let json: JSONValue
        do { json = try JSONParser.parse(body) } catch { throw RESTError("instruments-info: not JSON: \(error)") }
        guard let code = json["retCode"]?.int64 else { throw RESTError("instruments-info: no retCode") }
        guard code == 0 else {
            throw RESTError("instruments-info: retCode \(code) \(json["retMsg"]?.string ?? "")")
        }
        guard let list = json["result"]?["list"]?.array else { throw RESTError("instruments-info: no result.list") }
        let symbols = list.compactMap { item -> String? in
            guard item["status"]?.string == "Trading" else { return nil }
            return item["symbol"]?.string
        }
        let next = json["result"]?["nextPageCursor"]?.string
        return (symbols, next?.isEmpty == false ? next : nil)
    }

    /// Binance `exchangeInfo` (spot or USD-M): the `TRADING` symbols and the request-weight limit per minute.
    public static func binance(_ body: String) throws(RESTError) -> (symbols: [String], weightLimit: Int?) {
        let json: JSONValue
        do { json = try JSONParser.parse(body) } catch { throw RESTError("exchangeInfo: not JSON: \(error)") }
        guard let list = json["symbols"]?.array else {
            if let code = json["code"]?.int64 {
                throw RESTError("exchangeInfo: code \(code) \(json["msg"]?.string ?? "")")
            }
            throw RESTError("exchangeInfo: no symbols")
        }
        let symbols = list.compactMap { item -> String? in
            guard item["status"]?.string == "TRADING" else { return nil }
            return item["symbol"]?.string
        }
        let limit = json["rateLimits"]?.array?.first {
            $0["rateLimitType"]?.string == "REQUEST_WEIGHT" && $0["interval"]?.string == "MINUTE"
                && ($0["intervalNum"]?.int64 ?? 1) == 1
        }?["limit"]?.int64
        return (symbols, limit.map(Int.init))
    }
}

/// Where nodes on one Redis share the catalogue: a list another node loaded less than `refresh` ago is taken from
/// there instead of asking the exchange again (each node would otherwise spend the IP's REST weight on the same
/// list).
public struct CatalogueSharing: Sendable {
    public var read: @Sendable (Venue) async -> (symbols: Set<String>, loadedAt: Int64)?
    public var write: @Sendable (Venue, Set<String>, Int64) async -> Void
    public init(
        read: @escaping @Sendable (Venue) async -> (symbols: Set<String>, loadedAt: Int64)?,
        write: @escaping @Sendable (Venue, Set<String>, Int64) async -> Void
    ) {
        self.read = read
        self.write = write
    }
}

/// Loads every venue's instrument list at start and again every `refresh`; a failed load is retried sooner
/// (`retry`). The REST clients keep each request inside the exchange's limits; with `sharing`, a fresh list
/// another node stored is used instead.
public struct CatalogueService: Service {
    public struct Clients: Sendable {
        public var bybit: ExchangeRESTClient
        public var binanceSpot: ExchangeRESTClient
        public var binanceUSDM: ExchangeRESTClient
        public init(bybit: ExchangeRESTClient, binanceSpot: ExchangeRESTClient, binanceUSDM: ExchangeRESTClient) {
            self.bybit = bybit
            self.binanceSpot = binanceSpot
            self.binanceUSDM = binanceUSDM
        }
    }

    public let catalogue: InstrumentCatalogue
    public let clients: Clients
    public let venues: [Venue]
    public let refresh: Duration
    public let retry: Duration
    public let sharing: CatalogueSharing?
    let logger: Logger

    public init(
        catalogue: InstrumentCatalogue, clients: Clients, venues: [Venue] = Venue.allCases, refresh: Duration,
        retry: Duration = .seconds(30), sharing: CatalogueSharing? = nil, logger: Logger
    ) {
        self.sharing = sharing
        self.catalogue = catalogue
        self.clients = clients
        self.venues = venues
        self.refresh = refresh
        self.retry = retry
        self.logger = logger
    }

    /// Each REST host's counters, by host name.
    public func restCounters() async -> [String: ExchangeRESTClient.Counters] {
        var out: [String: ExchangeRESTClient.Counters] = [:]
        for client in [clients.bybit, clients.binanceSpot, clients.binanceUSDM] {
            out[client.name] = await client.counters
        }
        return out
    }

    public func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let allLoaded = await loadAll()
            let wait = allLoaded ? refresh : retry
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: wait) }
        }
    }

    /// Loads each venue once, all at the same time (one slow host does not hold up the others); true when every
    /// one loaded.
    /// `fromExchange`: ask the exchange even when another node stored a fresh list (a forced refresh).
    @discardableResult
    public func loadAll(fromExchange: Bool = false) async -> Bool {
        await withTaskGroup(of: Bool.self) { group in
            for venue in venues {
                group.addTask {
                    let now = UpstreamPool.nowMs()
                    if !fromExchange, let shared = await sharing?.read(venue),
                        now - shared.loadedAt < refresh.milliseconds,
                        !shared.symbols.isEmpty
                    {
                        catalogue.loaded(venue, symbols: shared.symbols, at: shared.loadedAt)
                        logger.info(
                            "catalogue: \(shared.symbols.count) symbols on \(venue.rawValue), shared by another node")
                        return true
                    }
                    do {
                        let symbols = try await load(venue)
                        let loadedAt = UpstreamPool.nowMs()
                        catalogue.loaded(venue, symbols: symbols, at: loadedAt)
                        await sharing?.write(venue, symbols, loadedAt)
                        logger.info("catalogue: \(symbols.count) symbols trading on \(venue.rawValue)")
                        return true
                    } catch {
                        catalogue.failed(venue, error: "\(error)", at: now)
                        logger.warning(
                            "catalogue: \(venue.rawValue) not loaded: \(error); streams are not checked meanwhile")
                        return false
                    }
                }
            }
            var ok = true
            for await loaded in group where !loaded { ok = false }
            return ok
        }
    }

    func load(_ venue: Venue) async throws -> Set<String> {
        switch venue {
        case .bybitSpot, .bybitLinear, .bybitInverse:
            let category = BybitAdapter.Category(venue: venue)?.rawValue ?? "linear"
            var symbols: Set<String> = []
            var cursor: String?
            // Bounded: Bybit lists a few thousand instruments, 1,000 a page.
            for _ in 0..<50 {
                var query = [("category", category), ("limit", "1000")]
                if let cursor { query.append(("cursor", cursor)) }
                let reply = try await clients.bybit.get("/v5/market/instruments-info", query: query)
                guard reply.status == 200 else { throw RESTError("instruments-info: HTTP \(reply.status)") }
                let page = try CatalogueParser.bybitPage(reply.body)
                symbols.formUnion(page.symbols)
                guard let next = page.next, venue != .bybitSpot else { return symbols }
                cursor = next
            }
            throw RESTError("instruments-info: more than 50 pages")
        case .binanceSpot, .binanceUSDM:
            let spot = venue == .binanceSpot
            let client = spot ? clients.binanceSpot : clients.binanceUSDM
            let reply = try await client.get(
                spot ? "/api/v3/exchangeInfo" : "/fapi/v1/exchangeInfo", weight: spot ? 20 : 1)
            guard reply.status == 200 else { throw RESTError("exchangeInfo: HTTP \(reply.status)") }
            let parsed = try CatalogueParser.binance(reply.body)
            if let limit = parsed.weightLimit { await client.learnedLimit(limit) }
            return Set(parsed.symbols)
        }
    }
}
