import Foundation
import Hummingbird
import TickplexModel
import TickplexRedis
import TickplexUpstream

/// The `/stats` document: what the node is doing now.
struct NodeStats: Encodable, Sendable {
    struct Messages: Encodable, Sendable {
        var inPerSecond: Double
        var outPerSecond: Double
        var inTotal: Int
        var outTotal: Int
    }
    struct Venue: Encodable, Sendable {
        var connections: [HealthReport.UpstreamConnectionReport]
        var live: Int
    }
    struct Redis: Encodable, Sendable {
        var commands: String
        var subscriber: String
    }

    var version: String
    /// `NODE_ID`, or host and process id.
    var nodeId: String
    var uptimeSeconds: Int
    var simulated: Bool
    var bus: String
    var clients: Int
    var subscriptions: Int
    var streams: Int
    /// Bus channels this node is subscribed to (one per stream it serves).
    var busChannels: Int
    var messages: Messages
    /// Ticker/book frames replaced by a newer one for a client that fell behind.
    var conflated: Int
    /// Conflatable frames that did not fit even after conflation (superseded by the next).
    var dropped: Int
    var slowConsumerCloses: Int
    /// Clients closed because their socket took no bytes for CLIENT_WRITE_STALL_S.
    var writeStallCloses: Int
    /// Events that could not be stored or published while the bus was down.
    var publishFailures: Int
    var upstreams: [String: Venue]
    var redis: Redis?
    var limits: Limits
    /// Per exchange REST host: requests, weight, refusals (429/418/403, "error"), waits for the budget.
    var rest: [String: ExchangeRESTClient.Counters]
    /// With Redis: this node's role, the streams it holds the upstream lease of (`owned`) and those it only serves
    /// to its clients from the bus (`served`).
    var cluster: Cluster?

    struct Cluster: Encodable, Sendable {
        var role: String
        var leaseTtlMs: Int
        var owned: [String]
        var served: [String]
        /// Streams some node of the cluster wants now.
        var wantedInCluster: Int
        /// Streams this node took from a holder that stopped renewing; leases this node lost.
        var takeovers: Int
        var leasesLost: Int
        /// Events not published for want of the lease: no fence here, or refused by Redis's publish script.
        var fencedEvents: Int
        /// Bus messages not delivered because their `seq` was not newer (duplicates).
        var duplicatesDropped: Int
    }

    /// What the node refused to protect itself and the exchange (README "Security and limits").
    struct Limits: Encodable, Sendable {
        /// Sockets open now, upgraded or not (MAX_CONNECTIONS).
        var openConnections: Int
        /// Connections refused before the upgrade, by HTTP status (as a string key).
        var refusedConnections: [String: Int]
        /// Connections closed because their request head did not arrive within HTTP_HEAD_TIMEOUT_MS.
        var headTimeouts: Int
        /// Subscriptions refused for MAX_NEW_STREAMS_PER_CLIENT_PER_MIN.
        var newStreamRefusals: Int
        /// Upstream streams held now, and those refused at MAX_UPSTREAM_STREAMS.
        var upstreamStreams: Int
        var upstreamStreamRefusals: Int
        /// Upstream connection attempts, those that waited for the budget, and attempts per group in the last
        /// 5 minutes.
        var upstreamConnectAttempts: Int
        var upstreamConnectAttemptsDelayed: Int
        var upstreamConnectAttemptsLast5Min: [String: Int]
        /// Upstream notices dropped because the publisher's input was full.
        var publisherInputDropped: Int
        /// Bus messages dropped because the node's listener fell `messageBound` behind.
        var busDropped: Int
        /// Refusals and status notices dropped because their relay fell 4,096 behind.
        var controlNoticesDropped: Int
    }
}

struct StatsRoutes: Sendable {
    let collect: @Sendable () async -> NodeStats

    func register(on router: Router<some RequestContext>) {
        router.get("/stats") { _, _ in JSONResponse.make(.ok, await collect()) }
        MethodNotAllowed.register("/stats", allow: "GET", on: router)
    }
}
