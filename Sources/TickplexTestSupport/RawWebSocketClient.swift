import NIOCore
import NIOPosix
import Synchronization

/// A bare WebSocket client on a NIO socket that can stop reading: the server then faces a peer whose TCP window
/// closes, which is what a stalled browser tab or a paused consumer looks like. Its receive buffer is small so
/// that the stall reaches the server quickly. Frames are parsed from the raw bytes it collected.
public final class RawWebSocketClient: Sendable {
    /// What the server sent so far.
    public struct Received: Sendable {
        public var handshakeStatus: Int?
        public var texts: [String] = []
        public var closeCode: Int?
        public var closeReason: String?
        /// The upgrade response's head and whatever body followed it (an HTTP refusal says why there).
        public var handshakeText = ""
        /// Ping frames the server sent (this client never answers them).
        public var pings = 0
    }

    /// Parses as bytes arrive (the upgrade response, then complete frames), so reading the result stays cheap.
    private final class Collector: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        struct State {
            var pending: [UInt8] = []
            var received = Received()
            var upgraded = false
        }
        let state = Mutex(State())
        let inactive = Atomic<Bool>(false)

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let buffer = Self.unwrapInboundIn(data)
            state.withLock { s in
                s.pending.append(contentsOf: buffer.readableBytesView)
                Self.parse(&s)
            }
        }

        func channelInactive(context: ChannelHandlerContext) {
            inactive.store(true, ordering: .relaxed)
            context.fireChannelInactive()
        }

        static func parse(_ s: inout State) {
            var i = 0
            let bytes = s.pending
            if !s.upgraded {
                guard let end = bytes.firstRange(of: [13, 10, 13, 10])?.lowerBound else { return }
                let statusLine = String(decoding: bytes[..<end].prefix { $0 != 13 }, as: UTF8.self)
                s.received.handshakeStatus = statusLine.split(separator: " ").dropFirst().first.flatMap { Int($0) }
                s.received.handshakeText = String(decoding: bytes, as: UTF8.self)
                s.upgraded = true
                i = end + 4
            }
            while i + 2 <= bytes.count {
                let opcode = bytes[i] & 0x0F
                var length = Int(bytes[i + 1] & 0x7F)
                var header = 2
                if length == 126 {
                    guard i + 4 <= bytes.count else { break }
                    length = Int(bytes[i + 2]) << 8 | Int(bytes[i + 3])
                    header = 4
                } else if length == 127 {
                    guard i + 10 <= bytes.count else { break }
                    length = (2..<10).reduce(0) { $0 << 8 | Int(bytes[i + $1]) }
                    header = 10
                }
                guard i + header + length <= bytes.count else { break }
                let payload = bytes[(i + header)..<(i + header + length)]
                switch opcode {
                case 0x1: s.received.texts.append(String(decoding: payload, as: UTF8.self))
                case 0x9: s.received.pings += 1
                case 0x8 where payload.count >= 2:
                    s.received.closeCode = Int(payload[payload.startIndex]) << 8 | Int(payload[payload.startIndex + 1])
                    s.received.closeReason = String(decoding: payload.dropFirst(2), as: UTF8.self)
                default: break
                }
                i += header + length
            }
            s.pending.removeFirst(i)
        }
    }

    private let channel: any Channel
    private let collector: Collector

    private init(channel: any Channel, collector: Collector) {
        self.channel = channel
        self.collector = collector
    }

    /// Connects to `ws://127.0.0.1:port/ws` and sends the upgrade request (`target` and `headers` change it:
    /// tests of the gate send odd `Upgrade` forms, tokens and origins).
    public static func connect(
        port: Int, target: String = "/ws", headers: [(String, String)] = [("Upgrade", "websocket")],
        receiveBufferBytes: Int = 4096
    ) async throws -> RawWebSocketClient {
        let collector = Collector()
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(ChannelOptions.socketOption(.so_rcvbuf), value: SocketOptionValue(receiveBufferBytes))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(collector) }
            }
            .connect(host: "127.0.0.1", port: port).get()
        var request = "GET \(target) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: Upgrade\r\n"
        for (name, value) in headers { request += "\(name): \(value)\r\n" }
        request += "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        do {
            try await channel.writeAndFlush(ByteBuffer(string: request)).get()
        } catch ChannelError.ioOnClosedChannel {
            // A server that refuses at accept (MAX_CONNECTIONS: 503 at once) may answer and close before the
            // request is written: what it sent is in the collector, as for any refusal.
        }
        return RawWebSocketClient(channel: channel, collector: collector)
    }

    /// Sends one masked text frame (clients must mask).
    public func send(_ text: String) async throws {
        try await sendFrame(opcode: 0x1, fin: true, payload: Array(text.utf8))
    }

    /// One masked frame of any kind, as a hostile client may send it (e.g. an empty non-final continuation).
    public func sendFrame(opcode: UInt8, fin: Bool, payload: [UInt8]) async throws {
        try await channel.writeAndFlush(ByteBuffer(bytes: Self.frame(opcode: opcode, fin: fin, payload: payload))).get()
    }

    /// Raw bytes, e.g. many frames at once.
    public func sendRaw(_ bytes: [UInt8]) async throws {
        try await channel.writeAndFlush(ByteBuffer(bytes: bytes)).get()
    }

    public static func frame(opcode: UInt8, fin: Bool, payload: [UInt8]) -> [UInt8] {
        let mask: [UInt8] = [0x12, 0x34, 0x56, 0x78]
        var frame: [UInt8] = [(fin ? 0x80 : 0) | opcode]
        switch payload.count {
        case ..<126: frame.append(0x80 | UInt8(payload.count))
        case ..<65536: frame += [0x80 | 126, UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)]
        default:
            frame.append(0x80 | 127)
            frame += (0..<8).reversed().map { UInt8((payload.count >> ($0 * 8)) & 0xFF) }
        }
        frame += mask
        frame += payload.enumerated().map { $1 ^ mask[$0 % 4] }
        return frame
    }

    /// Stops (false) or resumes (true) reading from the socket.
    public func setReading(_ reading: Bool) async throws {
        try await channel.setOption(ChannelOptions.autoRead, value: reading).get()
        if reading { channel.read() }
    }

    /// Waits for the upgrade response (or the socket's close) and returns its status: 101, or the refusal's.
    public func handshake(timeout: Duration = .seconds(10)) async -> Int? {
        _ = await eventually(timeout: timeout) { self.received.handshakeStatus != nil || self.isClosed }
        return received.handshakeStatus
    }

    /// The connection is closed (by either side).
    public var isClosed: Bool { collector.inactive.load(ordering: .relaxed) }

    public func close() { channel.close(promise: nil) }

    /// What arrived so far: the upgrade response's status, then every complete server frame.
    public var received: Received { collector.state.withLock { $0.received } }
}
