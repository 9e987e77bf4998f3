import ArgumentParser
import Foundation
import NIOCore
import NIOPosix
import Synchronization
import TickplexModel
import TickplexSimulator

/// Fan-out of one hot stream to many WebSocket clients, end to end on loopback: the simulator (in this process)
/// feeds a `tickplex serve` child process; light NIO clients (in this process) subscribe and time every frame.
struct FanoutBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fanout",
        abstract: "N clients on one hot stream: deliveries/s, delivery latency p50/p99, server CPU and RSS."
    )

    @Option(help: "WebSocket clients") var clients = 1000
    @Option(help: "Simulator frames per second on the stream") var rate = 50
    @Option(help: "Stream argument every client subscribes") var stream = "ticker:BTCUSDT"
    @Option(help: "Seconds per measurement window") var seconds = 10.0
    @Option(help: "Measurement windows (medians are reported)") var runs = 3
    @Option(help: "Bus: inprocess, or redis (starts a throwaway redis-server on a free loopback port)")
    var bus = "inprocess"
    @Option(help: "The tickplex binary to serve (default: this one)") var server: String?

    func validate() throws {
        guard ["inprocess", "redis"].contains(bus) else { throw ValidationError("--bus must be inprocess or redis") }
        guard clients > 0, rate > 0, seconds > 0, runs > 0 else { throw ValidationError("counts must be positive") }
    }

    func run() async throws {
        var simConfig = ExchangeSimulator.Configuration()
        simConfig.framesPerSecond = rate
        let sim = try await ExchangeSimulator.start(simConfig)
        var redis: ChildProcess?
        var env = [
            "HOST": "127.0.0.1", "PORT": "0", "BYBIT_WS_URL_LINEAR": sim.baseURL + "/v5/public/linear",
            // The catalogue from the same simulator: the bench touches loopback only.
            "BYBIT_REST_URL": sim.restBaseURL, "BINANCE_REST_URL_SPOT": sim.restBaseURL,
            "BINANCE_REST_URL_USDM": sim.restBaseURL,
            "MAX_CLIENTS": "\(clients + 100)", "LOG_LEVEL": "info",
            // Every bench client comes from 127.0.0.1: the per-IP limits must not be what is measured.
            "MAX_CONNECTIONS_PER_IP": "1000000", "MAX_NEW_CONNECTIONS_PER_IP_PER_MIN": "1000000",
        ]
        if bus == "redis" {
            let port = try await Self.freePort()
            redis = try ChildProcess(
                "/usr/bin/env",
                ["redis-server", "--port", "\(port)", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], [:])
            try await Task.sleep(for: .milliseconds(300))
            env["REDIS_URL"] = "redis://127.0.0.1:\(port)/0"
        }
        let serverPath = server ?? CommandLine.arguments[0]
        let child = try ChildProcess(serverPath, ["serve"], env)
        defer {
            child.terminate()
            redis?.terminate(kill: true)
        }
        let port = try await child.waitForListeningPort()
        let rssIdle = child.rssKiB

        let recorder = Recorder()
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let subscribe = #"{"op":"subscribe","args":["\#(stream)"]}"#
        var channels: [any Channel] = [try await BenchClient.connect(port: port, subscribe: subscribe, recorder, group)]
        try await waitFor(seconds: 10) { recorder.connectedWithData >= 1 }
        try await Task.sleep(for: .seconds(1))
        let rssOne = child.rssKiB
        var index = 1
        while index < clients {
            let batch = min(100, clients - index)
            try await withThrowingTaskGroup(of: (any Channel).self) { tasks in
                for _ in 0..<batch {
                    tasks.addTask { try await BenchClient.connect(port: port, subscribe: subscribe, recorder, group) }
                }
                for try await channel in tasks { channels.append(channel) }
            }
            index += batch
        }
        try await waitFor(seconds: 30) { recorder.connectedWithData >= clients }
        try await Task.sleep(for: .seconds(2))
        let rssAll = child.rssKiB

        say(
            "fanout: \(clients) clients on \(stream), simulator \(rate) frames/s, bus \(bus), server \(serverPath)")
        var results: [Window] = []
        for run in 1...runs {
            recorder.reset()
            let cpu0 = child.cpuSeconds
            let t0 = ContinuousClock.now
            try await Task.sleep(for: .seconds(seconds))
            let elapsed = (ContinuousClock.now - t0).inSeconds
            let cpu = child.cpuSeconds - cpu0
            let (count, latencies) = recorder.take()
            let sorted = latencies.sorted()
            let window = Window(
                deliveriesPerSecond: Double(count) / elapsed,
                p50: sorted.isEmpty ? .nan : sorted[sorted.count / 2],
                p99: sorted.isEmpty ? .nan : sorted[min(sorted.count - 1, sorted.count * 99 / 100)],
                cpuMicrosPerDelivery: count == 0 ? .nan : cpu * 1_000_000 / Double(count))
            results.append(window)
            say(
                String(
                    format: "  run %d: %.0f deliveries/s, latency p50 %.2f ms p99 %.2f ms, server CPU %.1f µs/delivery",
                    run, window.deliveriesPerSecond, window.p50, window.p99, window.cpuMicrosPerDelivery))
        }
        func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
        say(
            String(
                format:
                    "median: %.0f deliveries/s (%.0f expected), p50 %.2f ms, p99 %.2f ms, server CPU %.1f µs/delivery",
                median(results.map(\.deliveriesPerSecond)), Double(clients * rate), median(results.map(\.p50)),
                median(results.map(\.p99)), median(results.map(\.cpuMicrosPerDelivery))))
        say(
            String(
                format: "server RSS: idle %.1f MiB, 1 client %.1f MiB, %d clients %.1f MiB → %.1f KiB per connection",
                Double(rssIdle) / 1024, Double(rssOne) / 1024, clients, Double(rssAll) / 1024,
                Double(rssAll - rssOne) / Double(max(clients - 1, 1))))
        say("frames lost to closes: \(recorder.closed) client(s) closed during the run")
        for channel in channels { channel.close(promise: nil) }
        await sim.stop()
        try? await group.shutdownGracefully()
    }

    struct Window {
        var deliveriesPerSecond: Double
        var p50: Double
        var p99: Double
        var cpuMicrosPerDelivery: Double
    }

    private func waitFor(seconds: Double, _ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while !condition() {
            guard ContinuousClock.now < deadline else { throw BenchError("timed out waiting for the clients") }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    static func freePort() async throws -> Int {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0).get()
        let port = channel.localAddress!.port!
        try await channel.close()
        return port
    }
}

/// Unbuffered, so that a bench stopped early still shows what it measured.
func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Every client's deliveries and latencies (arrival − the node's `recvTs`, ms), behind one lock: a handful of
/// frames per lock on the measuring side, which is not the side being measured.
final class Recorder: Sendable {
    struct State {
        var count = 0
        var latencies: [Double] = []
        var withData = 0
        var closed = 0
    }
    private let state = Mutex(State())

    func record(_ latency: Double) {
        state.withLock {
            $0.count += 1
            $0.latencies.append(latency)
        }
    }
    func firstData() { state.withLock { $0.withData += 1 } }
    func closedOne() { state.withLock { $0.closed += 1 } }
    var connectedWithData: Int { state.withLock { $0.withData } }
    var closed: Int { state.withLock { $0.closed } }
    func reset() {
        state.withLock {
            $0.count = 0
            $0.latencies.removeAll(keepingCapacity: true)
        }
    }
    func take() -> (Int, [Double]) { state.withLock { ($0.count, $0.latencies) } }
}

/// A minimal WebSocket client on a NIO channel: upgrade, one subscribe, then it parses server frames in place,
/// answers pings, and records each data frame's latency from its `recvTs`.
final class BenchClient: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    private var buffer = ByteBuffer()
    private var upgraded = false
    private var sawData = false
    private let subscribe: String
    private let recorder: Recorder

    init(subscribe: String, recorder: Recorder) {
        self.subscribe = subscribe
        self.recorder = recorder
    }

    static func connect(
        port: Int, subscribe: String, _ recorder: Recorder, _ group: any EventLoopGroup
    ) async throws -> any Channel {
        let channel = try await ClientBootstrap(group: group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        BenchClient(subscribe: subscribe, recorder: recorder))
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        let request =
            "GET /ws HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
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

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var input = Self.unwrapInboundIn(data)
        buffer.writeBuffer(&input)
        let now = Date().timeIntervalSince1970 * 1000
        if !upgraded {
            let view = buffer.readableBytesView
            guard let end = view.firstRange(of: [13, 10, 13, 10]) else { return }
            buffer.moveReaderIndex(forwardBy: end.upperBound - view.startIndex)
            upgraded = true
            context.writeAndFlush(
                Self.wrapOutboundOut(Self.maskedFrame(opcode: 1, Array(subscribe.utf8))), promise: nil)
        }
        while let frame = nextFrame() {
            switch frame.opcode {
            case 1:
                if let recvTs = Self.recvTs(frame.payload) {
                    if !sawData {
                        sawData = true
                        recorder.firstData()
                    }
                    recorder.record(now - recvTs)
                }
            case 9:
                context.writeAndFlush(
                    Self.wrapOutboundOut(Self.maskedFrame(opcode: 0xA, Array(frame.payload.readableBytesView))),
                    promise: nil)
            case 8: recorder.closedOne()
            default: break
            }
        }
        buffer.discardReadBytes()
    }

    typealias OutboundOut = ByteBuffer

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

    /// The integer after `"recvTs":` (near the end of every data frame, so only the tail is searched).
    static func recvTs(_ payload: ByteBuffer) -> Double? {
        let key = Array(#""recvTs":"#.utf8)
        let view = payload.readableBytesView.suffix(96)
        guard let range = view.firstRange(of: key) else { return nil }
        var value = 0
        var i = range.upperBound
        while i < view.endIndex, view[i] >= 48, view[i] <= 57 {
            value = value * 10 + Int(view[i] - 48)
            i += 1
        }
        return Double(value)
    }
}

final class TextBox: Sendable {
    let text = Mutex("")
}

/// A child process with its stdout collected: the server under test or a throwaway redis-server.
final class ChildProcess {
    private let process: Process
    private let output = TextBox()

    init(_ path: String, _ arguments: [String], _ environment: [String: String]) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env.merge(environment) { _, new in new }
        p.environment = env
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        let output = self.output
        pipe.fileHandleForReading.readabilityHandler = { handle in
            let text = String(decoding: handle.availableData, as: UTF8.self)
            output.text.withLock { $0 += text }
        }
        try p.run()
        process = p
    }

    func waitForListeningPort() async throws -> Int {
        for _ in 0..<600 {
            let text = output.text.withLock { $0 }
            if let range = text.range(of: #"listening on http://[^ \n]*:(\d+)"#, options: .regularExpression),
                let colon = text[range].lastIndex(of: ":"), let port = Int(text[range][text.index(after: colon)...])
            {
                return port
            }
            guard process.isRunning else { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw BenchError("the server did not start:\n\(output.text.withLock { $0 })")
    }

    /// Resident set size from /proc, KiB.
    var rssKiB: Int {
        let status = (try? String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
        return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
    }

    /// User + system CPU time from /proc, seconds.
    var cpuSeconds: Double {
        let stat = (try? String(contentsOfFile: "/proc/\(process.processIdentifier)/stat", encoding: .utf8)) ?? ""
        // Fields after the parenthesised command name; utime and stime are the 14th and 15th fields overall.
        guard let close = stat.lastIndex(of: ")") else { return 0 }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// SIGTERM (the server's graceful path), or SIGKILL for a throwaway helper.
    func terminate(kill: Bool = false) {
        if process.isRunning {
            if kill { _ = Glibc.kill(process.processIdentifier, SIGKILL) } else { process.terminate() }
            process.waitUntilExit()
        }
    }
}
