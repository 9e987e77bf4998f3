import Foundation
import TickplexConfig
import TickplexModel
import TickplexRedis
import TickplexUpstream

/// The `/health` document.
struct HealthReport: Encodable, Sendable {
    struct RedisConnectionReport: Encodable, Sendable {
        var state: String
        var since: Date?
        var lastError: String?
        var pingMs: Double?
    }

    struct RedisReport: Encodable, Sendable {
        var url: String
        var commands: RedisConnectionReport
        var subscriber: RedisConnectionReport
    }

    var ok: Bool
    var status: String
    var nodeId: String
    var reasons: [String]
    var bus: String
    var upstream: String
    var simulated: Bool
    var redis: RedisReport?

    /// One upstream connection as `/health` and `/stats` show it.
    struct UpstreamConnectionReport: Encodable, Sendable {
        var id: Int
        var state: String
        var topics: Int
        var connects: Int
        var malformedFrames: Int

        init(_ c: UpstreamPool.ConnectionState) {
            id = c.id
            state = c.live ? "live" : "reconnecting"
            topics = c.topics
            connects = c.sessions
            malformedFrames = c.malformedFrames
        }
    }

    /// Per venue, its connections (a venue nobody asked for has none).
    var upstreams: [String: [UpstreamConnectionReport]]

    /// Per venue, the instrument catalogue: how many symbols trade, when the list was loaded, the last error.
    struct CatalogueReport: Encodable, Sendable {
        var state: String
        var symbols: Int
        var loadedAt: Int64?
        var lastError: String?
    }
    var catalogue: [String: CatalogueReport]
    /// With Redis: this node's part in the cluster ("Scale-out" in the README).
    struct ClusterReport: Encodable, Sendable {
        var role: String
        var redisCluster: Bool
        var leaseTtlMs: Int
        /// Streams whose upstream lease this node holds.
        var owned: Int
        var wantedInCluster: Int
    }
    var cluster: ClusterReport?
    /// What works but not fully (a catalogue not loaded: streams are not checked against it meanwhile).
    var warnings: [String]
}

/// Checks every dependency of the node for `/health`.
struct HealthMonitor: Sendable {
    let config: TickplexConfig
    let redis: RedisClient?
    let subscriber: RedisSubscriber?
    let busKind: String
    let upstream: UpstreamPools
    let catalogue: InstrumentCatalogue
    let nodeId: String
    let ownership: StreamOwnership?

    func report() async -> HealthReport {
        var reasons: [String] = []
        var redisReport: HealthReport.RedisReport?
        if let redis, let subscriber {
            let commands = await check(redis.status, name: "redis commands", reasons: &reasons) {
                try await redis.ping()
            }
            let subs = await check(subscriber.status, name: "redis subscriber", reasons: &reasons) {
                try await subscriber.ping()
            }
            redisReport = .init(url: "\(redis.configuration.url)", commands: commands, subscriber: subs)
        }
        var upstreams: [String: [HealthReport.UpstreamConnectionReport]] = [:]
        for (venue, connections) in await upstream.states() {
            upstreams[venue.rawValue] = connections.map(HealthReport.UpstreamConnectionReport.init)
            for c in connections where !c.live {
                reasons.append("upstream \(venue.rawValue) connection \(c.id): reconnecting")
            }
        }
        var catalogueReport: [String: HealthReport.CatalogueReport] = [:]
        var warnings: [String] = []
        for venue in Venue.allCases {
            let listing = catalogue.snapshot[venue] ?? .init()
            let state = listing.loadedAt == nil ? (listing.lastError == nil ? "loading" : "not loaded") : "loaded"
            catalogueReport[venue.rawValue] = .init(
                state: state, symbols: listing.symbols.count, loadedAt: listing.loadedAt,
                lastError: listing.lastError)
            if let error = listing.lastError {
                warnings.append(
                    listing.loadedAt == nil
                        ? "catalogue \(venue.rawValue): not loaded (\(error)); symbols are not checked meanwhile"
                        : "catalogue \(venue.rawValue): refresh failed (\(error)); the list loaded before is kept")
            }
        }
        var cluster: HealthReport.ClusterReport?
        if let ownership {
            let report = await ownership.report
            cluster = .init(
                role: report.role, redisCluster: config.redisCluster, leaseTtlMs: report.leaseTtlMs,
                owned: report.owned.count, wantedInCluster: report.wantedInCluster)
        }
        return HealthReport(
            ok: reasons.isEmpty, status: reasons.isEmpty ? "healthy" : "degraded", nodeId: nodeId, reasons: reasons,
            bus: busKind, upstream: config.upstream.rawValue, simulated: config.upstream == .sim,
            redis: redisReport, upstreams: upstreams, catalogue: catalogueReport, cluster: cluster, warnings: warnings)
    }

    private func check(
        _ status: RedisConnectionStatus, name: String, reasons: inout [String],
        ping: () async throws -> Duration
    ) async -> HealthReport.RedisConnectionReport {
        var report = HealthReport.RedisConnectionReport(state: status.name)
        switch status {
        case .connected(let since):
            report.since = since
            do {
                let rtt = try await ping()
                report.pingMs = (rtt.inSeconds * 1_000_000).rounded() / 1000
            } catch {
                report.lastError = "\(error)"
                reasons.append("\(name): PING failed: \(error)")
            }
        case .reconnecting(let since, let error):
            report.since = since
            report.lastError = error
            reasons.append("\(name): \(status)")
        case .connecting:
            reasons.append("\(name): connecting")
        case .closed:
            reasons.append("\(name): closed")
        }
        return report
    }
}
