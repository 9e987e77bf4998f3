import Foundation
import Histogram
public import NIOCore
import NIOPosix
import Synchronization

/// Every connection's tally, merged on demand. Each connection counts into its own (one uncontended lock per
/// frame, on its event loop), and all of them record latencies into one shared histogram; the bench reads them
/// between windows.
public final class LoadRecorder: Sendable {
    final class Slot: Sendable {
        let tally = Mutex(DeliveryTally(keepsLatency: false))
    }
    /// Every connection's latencies, in one histogram (not one per connection: see `DeliveryTally.keepsLatency`).
    let latency = Mutex(DeliveryTally.latencyHistogram())
    private let slots = Mutex<[Slot]>([])
    private let withData = Atomic<Int>(0)
    private let upgradedCount = Atomic<Int>(0)
    private let refusedCount = Atomic<Int>(0)
    private let closedCount = Atomic<Int>(0)

    public init() {}

    func newSlot() -> Slot {
        let slot = Slot()
        slots.withLock { $0.append(slot) }
        return slot
    }

    func record(latency micros: UInt64) { latency.withLock { _ = $0.record(micros) } }
    func firstData() { withData.add(1, ordering: .relaxed) }
    func upgradedOne() { upgradedCount.add(1, ordering: .relaxed) }
    func refusedOne() { refusedCount.add(1, ordering: .relaxed) }
    func closedOne() { closedCount.add(1, ordering: .relaxed) }

    /// Connections that received at least one data message.
    public var connectedWithData: Int { withData.load(ordering: .relaxed) }
    /// Connections whose WebSocket upgrade the server answered.
    public var upgraded: Int { upgradedCount.load(ordering: .relaxed) }
    /// Connections whose upgrade the server answered with anything but 101 (they are closed).
    public var refused: Int { refusedCount.load(ordering: .relaxed) }
    /// Connections the server closed (a close frame).
    public var closed: Int { closedCount.load(ordering: .relaxed) }

    /// Everything counted since the window started, all connections merged.
    public func snapshot() -> DeliveryTally {
        var total = DeliveryTally()
        for slot in slots.withLock({ $0 }) { total.merge(slot.tally.withLock { $0 }) }
        total.add(latencies: latency.withLock { $0 })
        return total
    }

    /// Starts a new window on every connection.
    public func startWindow() {
        for slot in slots.withLock({ $0 }) { slot.tally.withLock { $0.startWindow() } }
        latency.withLock { $0.reset() }
    }
}

/// A light WebSocket client on a NIO channel (the load side must cost far less than the server): upgrade, one
/// subscribe with all its streams, then server frames parsed in place, pings answered, and every text frame counted
/// into its tally — peeked at, or parsed as JSON for the share of clients that parse.
public final class LoadConnection: ChannelInboundHandler {
    public typealias InboundIn = ByteBuffer
    public typealias OutboundOut = ByteBuffer
    private var buffer = ByteBuffer()
    private var upgraded = false
    private var sawData = false
    /// Nil for a server that subscribes by URL (nchan).
    private let subscribe: String?
    private let parse: Bool
    private let recorder: LoadRecorder
    private let slot: LoadRecorder.Slot

    init(subscribe: String?, parse: Bool, recorder: LoadRecorder) {
        self.subscribe = subscribe
        self.parse = parse
        self.recorder = recorder
        slot = recorder.newSlot()
    }

    /// `{"op":"subscribe","args":[…]}` for the given stream arguments.
    public static func subscribeMessage(_ arguments: [String]) -> String {
        #"{"op":"subscribe","args":["# + arguments.map { "\"\($0)\"" }.joined(separator: ",") + "]}"
    }

    /// Connects to `ws://host:port/ws` (from `localAddress` when given: spreading many clients over 127.0.0.x),
    /// subscribes `arguments` (none: the path is the subscription, as with nchan), and counts into `recorder`.
    public static func connect(
        host: String = "127.0.0.1", port: Int, path: String = "/ws", arguments: [String], parse: Bool,
        recorder: LoadRecorder, group: any EventLoopGroup, localAddress: String? = nil
    ) async throws -> any Channel {
        let subscribe = arguments.isEmpty ? nil : subscribeMessage(arguments)
        // A server saturated by the fan-out accepts slowly (nginx's one worker at 100 %): a connect may take longer
        // than NIO's default 10 s without anything being wrong.
        var bootstrap = ClientBootstrap(group: group)
            .connectTimeout(.seconds(120))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        LoadConnection(subscribe: subscribe, parse: parse, recorder: recorder))
                }
            }
        if let localAddress { bootstrap = bootstrap.bind(to: try SocketAddress(ipAddress: localAddress, port: 0)) }
        let channel = try await bootstrap.connect(host: host, port: port).get()
        let request =
            "GET \(path) HTTP/1.1\r\nHost: \(host):\(port)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        try await channel.writeAndFlush(ByteBuffer(string: request)).get()
        return channel
    }

    static func maskedFrame(opcode: UInt8, _ payload: [UInt8]) -> ByteBuffer {
        let mask: [UInt8] = [0x11, 0x22, 0x33, 0x44]
        var frame: [UInt8] = [0x80 | opcode]
        if payload.count < 126 {
            frame.append(0x80 | UInt8(payload.count))
        } else {
            frame += [0x80 | 126, UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)]
        }
        frame += mask
        frame += payload.enumerated().map { $1 ^ mask[$0 % 4] }
        return ByteBuffer(bytes: frame)
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var input = Self.unwrapInboundIn(data)
        buffer.writeBuffer(&input)
        let now = Date().timeIntervalSince1970 * 1000
        if !upgraded {
            let view = buffer.readableBytesView
            guard let end = view.firstRange(of: [13, 10, 13, 10]) else { return }
            guard view.starts(with: "HTTP/1.1 101".utf8) else {
                recorder.refusedOne()
                buffer.clear()
                context.close(promise: nil)
                return
            }
            buffer.moveReaderIndex(forwardBy: end.upperBound - view.startIndex)
            upgraded = true
            recorder.upgradedOne()
            if let subscribe {
                context.writeAndFlush(
                    Self.wrapOutboundOut(Self.maskedFrame(opcode: 1, Array(subscribe.utf8))), promise: nil)
            }
        }
        // Each frame is counted where it lies in the buffer (usually one per read): no array per read.
        let parse = self.parse
        var delivered = false
        while let frame = nextFrame() {
            switch frame.opcode {
            case 1:
                let (micros, counted) = slot.tally.withLock { tally in
                    let was = tally.deliveries
                    let micros = tally.record(frame: frame.payload, receivedAtMs: now, parse: parse)
                    return (micros, tally.deliveries > was)
                }
                if let micros { recorder.record(latency: micros) }
                delivered = delivered || counted
            case 9:
                context.writeAndFlush(
                    Self.wrapOutboundOut(Self.maskedFrame(opcode: 0xA, Array(frame.payload.readableBytesView))),
                    promise: nil)
            case 8: recorder.closedOne()
            default: break
            }
        }
        buffer.discardReadBytes()
        if delivered && !sawData {
            sawData = true
            recorder.firstData()
        }
    }

    private func nextFrame() -> (opcode: UInt8, payload: ByteBuffer)? {
        let view = buffer.readableBytesView
        guard view.count >= 2 else { return nil }
        let b0 = view[view.startIndex]
        var length = Int(view[view.startIndex + 1] & 0x7F)
        var header = 2
        if length == 126 {
            guard view.count >= 4 else { return nil }
            length = Int(view[view.startIndex + 2]) << 8 | Int(view[view.startIndex + 3])
            header = 4
        } else if length == 127 {
            guard view.count >= 10 else { return nil }
            length = (2..<10).reduce(0) { $0 << 8 | Int(view[view.startIndex + $1]) }
            header = 10
        }
        guard view.count >= header + length else { return nil }
        buffer.moveReaderIndex(forwardBy: header)
        let payload = buffer.readSlice(length: length)!
        return (b0 & 0x0F, payload)
    }
}
