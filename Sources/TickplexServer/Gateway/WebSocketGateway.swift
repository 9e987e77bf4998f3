import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle
import Synchronization
import TickplexBus
import TickplexConfig
import TickplexModel
import TickplexProtocol
import TickplexUpstream
import TickplexVenues

/// `GET /ws`: the client wire contract. Each upgraded connection gets a `ClientChannelHandler` on its event loop
/// (no task per connection): client frames → `ClientSession` → replies and hub actions; everything it is sent
/// goes through its `ClientOutbox`, so nothing runs per message per client.
final class WebSocketGateway: Sendable {
    let hub: FanoutHub
    let config: TickplexConfig
    let stats: GatewayStats
    let logger: Logger
    /// `AUTH_MODE=jwt`: the token's claims narrow what the client may subscribe to, and its expiry ends it.
    let access: AccessPolicy
    private let nextId = Atomic<Int>(0)

    init(hub: FanoutHub, config: TickplexConfig, stats: GatewayStats, access: AccessPolicy, logger: Logger) {
        self.access = access
        self.hub = hub
        self.config = config
        self.stats = stats
        self.logger = logger
    }

    /// The upgrade paths this gateway serves.
    static func serves(uri: String) -> Bool {
        uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first == "/ws"
    }

    /// After the 101: the client's handler goes on the channel. MAX_CLIENTS, the origin and the credential were
    /// checked by `ConnectionGate` before the upgrade; with tokens the credential is read again here for its
    /// claims (off the loop; NIO's upgrader holds any early frames until this future completes).
    func attach(to channel: any Channel, head: HTTPRequestHead) -> EventLoopFuture<Void> {
        guard let tokens = access.tokens else {
            return channel.eventLoop.makeCompletedFuture { _ = try self.addHandler(to: channel, grant: nil) }
        }
        let credential = AccessPolicy.credential(
            authorization: head.headers["authorization"], token: URI(head.uri).queryParameters.get("token"))
        let promise = channel.eventLoop.makePromise(of: ClientGrant?.self)
        promise.completeWithTask { await tokens.verify(credential).grant }
        return promise.futureResult.flatMapThrowing { grant in
            let handler = try self.addHandler(to: channel, grant: grant)
            // Valid at the gate, not any more (expired in between): 4001 with the reason.
            if grant == nil { handler.startClose(code: 4001, reason: "token not valid") }
        }
    }

    private func addHandler(to channel: any Channel, grant: ClientGrant?) throws -> ClientChannelHandler {
        let session = ClientSession(
            limits: .init(
                maxSubscriptions: min(config.maxSubscriptionsPerClient, grant?.maxSubscriptions ?? .max),
                maxMessagesPerSecond: config.maxMessageRatePerClient),
            defaultVenue: config.defaultVenue,
            venueCheck: { [grant] key in
                if let refusal = grant?.refusal(for: key) { return refusal }
                if case .failure(let r) = VenueCodec(venue: key.venue).topic(for: key) { return r.reason }
                return nil
            })
        let settings = ClientChannelHandler.Settings(
            maxMessageBytes: config.maxClientFrameBytes, maxFragments: config.maxClientFragments,
            // Pings every half idle timeout; a client that does not answer one by the next is closed.
            pingPeriod: .seconds(Int64(max(1, config.clientIdleTimeoutSeconds / 2))),
            closeTimeout: .seconds(2), writeStall: .seconds(Int64(config.clientWriteStallSeconds)),
            maxQueueBytes: config.clientMaxQueueBytes)
        let handler = ClientChannelHandler(
            id: nextId.wrappingAdd(1, ordering: .relaxed).newValue, hub: hub, session: session, grant: grant,
            settings: settings, stats: stats, logger: logger)
        try channel.pipeline.syncOperations.addHandler(handler)
        return handler
    }
}

/// Runs last in the service group, so it is the first to hear of a shutdown: it closes every client with 1001
/// "going away" before the HTTP server starts its own drain (which would close with 1000).
struct ClientCloser: Service {
    let hub: FanoutHub

    func run() async throws {
        try? await gracefulShutdown()
        await hub.closeAllClients()
    }
}

/// Reads the node's bus and hands every message to the hub.
struct BusListener: Service {
    let bus: any MessageBus
    let hub: FanoutHub

    func run() async throws {
        // Cancelling the iteration ends it at shutdown; the bus stream has no other end.
        await cancelWhenGracefulShutdown {
            for await message in bus.messages {
                await hub.deliver(message, receivedAt: .now())
            }
        }
    }
}

/// One client's protocol state, shared by its reader and by the hub's refusal callback.
final class SessionBox: Sendable {
    let state: Mutex<ClientSession>
    init(_ session: sending ClientSession) { state = Mutex(session) }
}
