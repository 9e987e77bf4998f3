import Foundation
import TickplexCore
import TickplexRedis

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
    var reasons: [String]
    var bus: String
    var upstream: String
    var simulated: Bool
    var redis: RedisReport?
}

/// Checks every dependency of the node for `/health`.
struct HealthMonitor: Sendable {
    let config: TickplexConfig
    let redis: RedisClient?
    let subscriber: RedisSubscriber?
    let busKind: String

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
        return HealthReport(
            ok: reasons.isEmpty, status: reasons.isEmpty ? "healthy" : "degraded", reasons: reasons,
            bus: busKind, upstream: config.upstream.rawValue, simulated: config.upstream == .sim,
            redis: redisReport)
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
                report.pingMs =
                    Double(rtt.components.attoseconds / 1_000_000_000_000) / 1000
                    + Double(rtt.components.seconds) * 1000
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
