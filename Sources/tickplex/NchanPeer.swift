import Foundation
import NIOCore
import NIOPosix
import Synchronization
import TickplexSimulator

/// The peer a user would otherwise run: nginx with the nchan module, one process (`master_process off`: the worker
/// is the process whose CPU and RSS are measured), fed by HTTP POSTs of ticker-shaped messages — the branded
/// envelope's shape and size, with `stream`, `seq` and `ts`, so that the same load client counts both servers alike.
enum NchanPeer {
    static let module = "/usr/lib/nginx/modules/ngx_nchan_module.so"

    /// Starts nginx on `port` with a configuration in a fresh temporary directory.
    static func start(port: Int) throws -> ChildProcess {
        guard FileManager.default.fileExists(atPath: module) else {
            throw BenchError(
                "nchan is not installed (\(module)); Scripts/bench-fanout installs nginx-light and libnginx-mod-nchan")
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tickplex-nchan-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let conf = """
            load_module \(module);
            worker_processes 1;
            daemon off;
            master_process off;
            error_log \(dir.path)/error.log warn;
            pid \(dir.path)/nginx.pid;
            worker_rlimit_nofile 200000;
            # Accept every pending connection per loop pass (one at a time, a worker busy with the fan-out accepts
            # so slowly that 10,000 clients cannot all connect within minutes).
            events { worker_connections 100000; multi_accept on; }
            http {
              access_log off;
              # The publisher's one keep-alive connection carries every POST of the run (nginx closes after 1,000
              # requests by default).
              keepalive_requests 1000000000;
              keepalive_timeout 3600s;
              client_body_temp_path \(dir.path);
              server {
                listen 127.0.0.1:\(port) backlog=4096;
                location = /pub { nchan_publisher; nchan_channel_id $arg_id; nchan_message_buffer_length 10; }
                location ~ ^/sub/(\\w+)$ { nchan_subscriber websocket; nchan_channel_id $1; }
                # Several channels on one socket (a client with K streams), as `?c=a,b,c`.
                location = /sub {
                  nchan_subscriber websocket; nchan_channel_id $arg_c; nchan_channel_id_split_delimiter ",";
                }
              }
            }
            """
        let path = dir.appendingPathComponent("nginx.conf").path
        try conf.write(toFile: path, atomically: true, encoding: .utf8)
        return try ChildProcess("/usr/sbin/nginx", ["-p", dir.path + "/", "-c", path], [:])
    }

    /// One ticker-shaped message as nchan subscribers receive it.
    static func message(symbol: String, seq: Int, now: Int64) -> String {
        #"{"stream":"nchan.ticker.\#(symbol)","type":"update","seq":\#(seq),"data":{"symbol":"\#(symbol)","price":"65114.31","bid":{"price":"65114.30","size":"5.954"},"ask":{"price":"65114.31","size":"10.470"},"high24h":"66100.00","low24h":"64000.10","volume24h":"123456.789","turnover24h":"8012345678.12","change24hPct":"0.0123","markPrice":"65114.50","indexPrice":"65113.90","fundingRate":"0.0001","openInterest":"59891.732"},"ts":\#(now),"recvTs":\#(now),"source":"nchan"}"#
    }

    /// A request for one extra burst (W4), read by the publisher loop.
    final class BurstRequest: Sendable {
        let pending = Atomic<Int>(0)
        func request(_ messages: Int) { pending.store(messages, ordering: .relaxed) }
    }

    /// Posts `rate` messages a second to each channel over one keep-alive connection until cancelled (replies are
    /// read and dropped), each channel at its own phase in the period (the simulator's phase of the same name), so
    /// that messages are not batched by the publisher's clock. Every message is sent at its planned time, so a late
    /// one does not shift the rest. A burst request adds that many messages on every channel over one second.
    static func publish(
        port: Int, channels: [String], rate: Int, burst: BurstRequest, group: any EventLoopGroup
    ) async throws {
        let channel = try await ClientBootstrap(group: group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(Discard()) }
            }
            .connect(host: "127.0.0.1", port: port).get()
        defer { channel.close(promise: nil) }
        let start = ContinuousClock.now
        let period = Int64(1_000_000_000 / max(rate, 1))
        let slots = Int64(SimPhase.slots)
        var next = channels.map { start + .nanoseconds(period + period * Int64(SimPhase.of("tickers." + $0)) / slots) }
        var seq = Array(repeating: 0, count: channels.count)
        var burstNext: ContinuousClock.Instant?
        var (burstLeft, burstStep) = (0, Duration.zero)
        while !Task.isCancelled {
            let wanted = burst.pending.exchange(0, ordering: .relaxed)
            if wanted > 0 {
                (burstLeft, burstStep) = (wanted, .nanoseconds(1_000_000_000 / Int64(wanted)))
                burstNext = .now
            }
            guard let first = next.indices.min(by: { next[$0] < next[$1] }) else { return }
            var due = next[first]
            let index = first
            var fromBurst = false
            if let b = burstNext, b < due { (due, fromBurst) = (b, true) }
            try? await Task.sleep(until: due, clock: .continuous)
            var batch = ByteBuffer()
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            // A burst tick sends on every channel; a regular one on its own channel.
            let targets = fromBurst ? Array(channels.indices) : [index]
            for i in targets {
                seq[i] += 1
                let body = message(symbol: channels[i], seq: seq[i], now: now)
                batch.writeString(
                    "POST /pub?id=\(channels[i]) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                        + "Content-Length: \(body.utf8.count)\r\n\r\n\(body)")
            }
            if fromBurst {
                burstLeft -= 1
                burstNext = burstLeft > 0 ? due + burstStep : nil
            } else {
                next[index] = due + .nanoseconds(period)
            }
            try await channel.writeAndFlush(batch).get()
        }
    }

    private final class Discard: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {}
    }

    /// Waits until something accepts connections on the port.
    static func waitForPort(_ port: Int, group: any EventLoopGroup) async throws {
        for _ in 0..<200 {
            if let channel = try? await ClientBootstrap(group: group).connect(host: "127.0.0.1", port: port).get() {
                try? await channel.close()
                return
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw BenchError("nginx did not listen on \(port)")
    }
}
