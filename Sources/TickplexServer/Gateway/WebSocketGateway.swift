import Foundation
import Hummingbird
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOWebSocket
import ServiceLifecycle
import Synchronization
import TickplexBus
import TickplexConfig
import TickplexModel
import TickplexProtocol
import TickplexUpstream
import TickplexVenues

/// `GET /ws`: the client wire contract. Each connection has one task, its reader (client frames →
/// `ClientSession` → replies and hub actions); everything it is sent goes through its `ClientOutbox` on the
/// channel's event loop, so nothing runs per message per client.
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

    /// MAX_CLIENTS is enforced in front of the upgrade by `ConnectionGate` (a refusal from here would reach the
    /// client as 400).
    func register(on router: Router<GatewayRequestContext>) {
        router.ws("/ws") { inbound, outbound, context in
            try await self.serve(
                inbound: inbound, outbound: outbound, channel: context.requestContext.channel, request: context.request)
        }
    }

    private static func now() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    private func serve(
        inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter, channel: any Channel, request: Request
    ) async throws {
        // The gate verified the token before the upgrade; it is read again here for its claims.
        var grant: ClientGrant?
        if let tokens = access.tokens {
            let credential = AccessPolicy.credential(
                authorization: request.headers[values: .authorization], token: request.uri.queryParameters.get("token"))
            grant = await tokens.verify(credential).grant
            guard grant != nil else {
                try await outbound.close(.unknown(4001), reason: "token not valid")
                return
            }
        }
        // An expired token ends the connection: 4001 with the reason.
        let expiry = grant?.expiresAt.map { expiresAt in
            channel.eventLoop.scheduleTask(in: .milliseconds(Int64(max(0, expiresAt.timeIntervalSinceNow) * 1000))) {
                Task { try? await outbound.close(.unknown(4001), reason: "token expired") }
            }
        }
        defer { expiry?.cancel() }
        let id = nextId.wrappingAdd(1, ordering: .relaxed).newValue
        let outbox = ClientOutbox(
            id: id, channel: channel, maxBytes: config.clientMaxQueueBytes,
            writeStall: .seconds(Int64(config.clientWriteStallSeconds)), stats: stats
        ) {
            // Close 4008 goes out once the socket takes it (the WebSocket writer waits for writability); a client
            // that never reads again is cut by the write-stall rule (CLIENT_WRITE_STALL_S).
            Task { try? await outbound.close(.unknown(4008), reason: "slow consumer") }
        }
        try await channel.pipeline.addHandler(WritabilityObserver(outbox), position: .first).get()
        let session = SessionBox(
            ClientSession(
                limits: .init(
                    maxSubscriptions: min(config.maxSubscriptionsPerClient, grant?.maxSubscriptions ?? .max),
                    maxMessagesPerSecond: config.maxMessageRatePerClient),
                defaultVenue: config.defaultVenue,
                venueCheck: { [grant] key in
                    if let refusal = grant?.refusal(for: key) { return refusal }
                    if case .failure(let r) = VenueCodec(venue: key.venue).topic(for: key) { return r.reason }
                    return nil
                }))
        let hub = self.hub
        let subscriber = FanoutHub.Subscriber(
            outbox: outbox,
            onRejected: { key, reason in
                let output = session.state.withLock { $0.subscriptionError(key, reason: reason) }
                for reply in output.replies { outbox.send(ByteBuffer(string: reply), stream: nil, conflate: false) }
                for case .unsubscribe(let k) in output.actions { Task { await hub.unsubscribe(id, k) } }
            },
            goAway: {
                outbox.close()
                try? await outbound.close(.goingAway, reason: "server shutting down")
            })
        await hub.register(id, subscriber)
        stats.clients.add(1)
        defer { stats.clients.add(-1) }
        let (maxBytes, maxFragments) = (config.maxClientFrameBytes, config.maxClientFragments)
        do {
            try await withGracefulShutdownHandler {
                var assembler = BoundedMessageAssembler(maxBytes: maxBytes, maxFragments: maxFragments)
                // The reader: client frames → whole messages (bounded) → session → replies and hub actions. Writes
                // need no task of their own (see ClientOutbox).
                for try await frame in inbound {
                    let now = Self.now()
                    let output: ClientSession.Output
                    switch assembler.receive(frame) {
                    case .pending: continue
                    case .text(let text): output = session.state.withLock { $0.handle(text: text, now: now) }
                    case .binary: output = session.state.withLock { $0.handleBinary(now: now) }
                    case .close(let code, let reason):
                        output = ClientSession.Output(actions: [.close(code: code, reason: reason)])
                    }
                    for reply in output.replies {
                        outbox.send(ByteBuffer(string: reply), stream: nil, conflate: false)
                    }
                    for action in output.actions {
                        switch action {
                        case .subscribe(let key):
                            if let rejection = await hub.subscribe(id, subscriber, key) {
                                subscriber.onRejected(key, rejection.reason)
                            }
                        case .unsubscribe(let key):
                            await hub.unsubscribe(id, key)
                        case .close(let code, let reason):
                            outbox.close()
                            try await outbound.close(.unknown(code), reason: reason)
                            return
                        }
                    }
                }
                outbox.close()
            } onGracefulShutdown: {
                // SIGTERM: every client gets 1001 "going away".
                Task { try? await outbound.close(.goingAway, reason: "server shutting down") }
                outbox.close()
            }
        } catch {
            logger.debug("client \(id) ended: \(error)")
        }
        let keys = session.state.withLock { $0.closeAll() }
        await hub.remove(id, keys: keys)
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
