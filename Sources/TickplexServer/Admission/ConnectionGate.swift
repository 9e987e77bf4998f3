import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import Synchronization
import TickplexModel

/// The node's one admission table and what it refused, shared by every connection's gate (they run on every event
/// loop, hence the one lock around a pure table).
final class ConnectionAdmission: Sendable {
    private let table: Mutex<AdmissionTable>
    /// Refusals by HTTP status (400 bad head, 401, 403, 429, 431, 503), and heads that never completed.
    let refused = Mutex<[Int: Int]>([:])
    let headTimeouts = Atomic<Int>(0)
    /// WebSocket upgrades admitted and not yet closed: MAX_CLIENTS is held here, at the moment of admission, so
    /// that many upgrades at once cannot all pass a count that only moves once each has finished.
    private let clientSlots = Atomic<Int>(0)

    func reserveClientSlot(max: Int) -> Bool { clientSlots.incrementIfBelow(max) }

    func releaseClientSlot() { clientSlots.subtract(1, ordering: .relaxed) }

    /// WebSocket upgrades holding a MAX_CLIENTS place: a place is freed when its socket closes, which can be a
    /// moment after the client's session has ended.
    var clientSlotsInUse: Int { clientSlots.load(ordering: .relaxed) }

    init(limits: AdmissionTable.Limits) { table = Mutex(AdmissionTable(limits: limits)) }

    func socketOpened() -> Admission { table.withLock { $0.socketOpened() } }
    func socketClosed() { table.withLock { $0.socketClosed() } }
    func admit(ip: String, now: Int64) -> Admission { table.withLock { $0.admit(ip: ip, now: now) } }
    func release(ip: String) { table.withLock { $0.release(ip: ip) } }
    var openSockets: Int { table.withLock { $0.sockets } }
    func countRefusal(_ status: Int) { refused.withLock { $0[status, default: 0] += 1 } }
}

/// What the gate checks, fixed at start.
struct GateSettings: Sendable {
    let admission: ConnectionAdmission
    let policy: AccessPolicy
    let trustProxyHeaders: Bool
    let headTimeout: TimeAmount
    let maxClients: Int
    /// Request heads larger than this are refused with 431 (never passed on unexamined).
    static let maxHeadBytes = 16 * 1024
}

/// In front of NIO's HTTP decoder and WebSocket upgrader, for every connection: counts the socket against
/// MAX_CONNECTIONS for as long as it is open (upgraded or not), closes a connection whose first request head does
/// not arrive within HTTP_HEAD_TIMEOUT_MS (slowloris), and once the head is in, admits the client address
/// (MAX_CONNECTIONS_PER_IP and the per-IP rate, 429) and for a WebSocket upgrade in any form checks the origin
/// (403), the credential (401) and MAX_CLIENTS (503). NIO's upgrader can only refuse with 400, so the refusals
/// happen here. Only the first request of a connection can be an upgrade (`GatewayChildChannel` answers a later
/// one with a redirect and a close), so after it the gate only passes bytes on.
final class ConnectionGate: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private enum State { case reading, verifying, passing, refused }

    private let settings: GateSettings
    private var state = State.reading
    private var head = ByteBuffer()
    private var admittedIP: String?
    private var holdsClientSlot = false
    private var counted = false
    private var timer: Scheduled<Void>?

    init(_ settings: GateSettings) { self.settings = settings }

    // An accepted socket may be active before the gate is added: start from whichever comes first.
    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { start(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        start(context: context)
        context.fireChannelActive()
    }

    private func start(context: ChannelHandlerContext) {
        guard !counted else { return }
        counted = true
        let verdict = settings.admission.socketOpened()
        guard verdict == .admitted else {
            refuse(context: context, verdict)
            return
        }
        let admission = settings.admission
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: settings.headTimeout) { [weak self] in
            guard let self, self.state == .reading else { return }
            admission.headTimeouts.add(1, ordering: .relaxed)
            self.state = .refused
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        if state != .passing { state = .refused }
        if counted { settings.admission.socketClosed() }
        counted = false
        if let ip = admittedIP { settings.admission.release(ip: ip) }
        admittedIP = nil
        if holdsClientSlot { settings.admission.releaseClientSlot() }
        holdsClientSlot = false
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch state {
        case .passing:
            context.fireChannelRead(data)
            return
        case .refused:
            return
        case .verifying:
            // A client that does not wait for its 101: kept (bounded) and passed on with the head.
            var bytes = Self.unwrapInboundIn(data)
            head.writeBuffer(&bytes)
            if head.readableBytes > 4 * GateSettings.maxHeadBytes {
                refuse(context: context, .refused(status: 431, reason: "data sent before the upgrade was answered"))
            }
            return
        case .reading:
            break
        }
        var bytes = Self.unwrapInboundIn(data)
        head.writeBuffer(&bytes)
        let end = RequestHead.end(in: head.readableBytesView)
        guard (end ?? head.readableBytes) <= GateSettings.maxHeadBytes else {
            refuse(
                context: context,
                .refused(status: 431, reason: "request head larger than \(GateSettings.maxHeadBytes) bytes"))
            return
        }
        guard let end else { return }
        timer?.cancel()
        guard let request = RequestHead(Substring(head.getString(at: head.readerIndex, length: end) ?? "")) else {
            refuse(context: context, .refused(status: 400, reason: "malformed request head"))
            return
        }
        let ip = clientAddress(request, context: context)
        let byAddress = settings.admission.admit(ip: ip, now: Self.nowMs())
        if byAddress == .admitted { admittedIP = ip }
        let verdict = byAddress.then {
            request.isWebSocketUpgrade ? settings.policy.origin(request.values("origin").first) : .admitted
        }
        guard verdict == .admitted else {
            refuse(context: context, verdict)
            return
        }
        guard request.isWebSocketUpgrade else {
            pass(context: context)
            return
        }
        guard settings.policy.checksAsynchronously else {
            finishUpgrade(settings.policy.apiKey(credential: request.credential), context: context)
            return
        }
        // A JWT or a key in Redis is checked off the loop; the head waits here meanwhile.
        state = .verifying
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let (policy, credential) = (settings.policy, request.credential)
        Task {
            let verdict = await policy.client(credential: credential).verdict
            bound.eventLoop.execute {
                let (gate, context) = bound.value
                gate.finishUpgrade(verdict, context: context)
            }
        }
    }

    /// The credential's verdict is in: then a MAX_CLIENTS place, held until the socket closes.
    private func finishUpgrade(_ credential: Admission, context: ChannelHandlerContext) {
        guard state == .reading || state == .verifying else { return }
        let verdict = credential.then {
            holdsClientSlot = settings.admission.reserveClientSlot(max: settings.maxClients)
            return holdsClientSlot
                ? .admitted : .refused(status: 503, reason: "too many clients (at most \(settings.maxClients))")
        }
        guard verdict == .admitted else {
            refuse(context: context, verdict)
            return
        }
        pass(context: context)
    }

    /// Admitted: the head (and anything after it) goes on to NIO's decoder; from now on bytes only pass.
    private func pass(context: ChannelHandlerContext) {
        state = .passing
        let pending = head
        head = ByteBuffer()
        context.fireChannelRead(Self.wrapInboundOut(pending))
    }

    /// The client's address: the socket's peer, or behind a trusted proxy the last `X-Forwarded-For` entry (the
    /// one the proxy itself added; earlier entries are whatever the client claimed).
    private func clientAddress(_ request: RequestHead, context: ChannelHandlerContext) -> String {
        if settings.trustProxyHeaders,
            let last = request.values("x-forwarded-for").last?.split(separator: ",").last?.trimmingSpaces,
            !last.isEmpty, last.count <= 64
        {
            return String(last)
        }
        return context.channel.remoteAddress?.ipAddress ?? "unknown"
    }

    private func refuse(context: ChannelHandlerContext, _ verdict: Admission) {
        guard case .refused(let status, let reason) = verdict else { return }
        state = .refused
        timer?.cancel()
        head = ByteBuffer()
        settings.admission.countRefusal(status)
        var body = JSONWriter(capacity: 128)
        body.beginObject()
        body.key("error")
        body.string(reason)
        body.endObject()
        var response =
            "HTTP/1.1 \(status) \(Self.phrase(status))\r\nContent-Type: application/json\r\n"
            + "Content-Length: \(body.bytes.count)\r\nConnection: close\r\n"
        if status == 503 || status == 429 { response += "Retry-After: 1\r\n" }
        if status == 401 { response += "WWW-Authenticate: Bearer\r\n" }
        var buffer = ByteBuffer(string: response + "\r\n")
        buffer.writeBytes(body.bytes)
        context.writeAndFlush(Self.wrapOutboundOut(buffer)).whenComplete { _ in context.close(promise: nil) }
    }

    static func phrase(_ status: Int) -> String {
        switch status {
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 429: "Too Many Requests"
        case 431: "Request Header Fields Too Large"
        default: "Service Unavailable"
        }
    }

    static func nowMs() -> Int64 { Int64(NIODeadline.now().uptimeNanoseconds / 1_000_000) }
}
