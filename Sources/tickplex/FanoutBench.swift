import ArgumentParser
import Foundation
import NIOCore
import NIOPosix
import Synchronization
import TickplexLoad
import TickplexModel
import TickplexSimulator

/// Fan-out to many WebSocket clients, end to end on loopback: the simulator (in this process) feeds a
/// `tickplex serve` child process — or nginx + nchan is fed by HTTP POSTs at the same rates; light NIO clients
/// (`TickplexLoad`, in this process) subscribe to the workload's streams, a share of them parsing every frame, and
/// count deliveries, gaps and duplicates by `seq` and the latency from the exchange's `ts` (HdrHistogram).
struct FanoutBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fanout",
        abstract: "N clients × K streams: deliveries/s and per server CPU-second, latency p50/p99/p999, server RSS."
    )

    @Option(help: "A workload of issue 12: W1, W2, W1-large, W2-large, W3, W4 (the options below override it)")
    var workload: String?
    @Option(help: "WebSocket clients") var clients: Int?
    @Option(help: "Messages per second per stream (0: idle)") var rate: Int?
    @Option(help: "Distinct streams (synthetic tickers T001USDT… when more than one)") var streams: Int?
    @Option(help: "Streams per client") var perClient: Int?
    @Option(help: "Extra messages on every stream in one second, after the windows") var burst: Int?
    @Option(help: "Stream arguments every client subscribes, comma-separated (one-stream workloads only)")
    var stream: String?
    @Option(help: "Share of clients that parse every frame as JSON (the others peek at seq and ts)")
    var parseShare = 0.2
    @Option(help: "Seconds per measurement window") var seconds = 10.0
    @Option(help: "Measurement windows (medians are reported)") var runs = 3
    @Option(help: "Bus: inprocess, or redis (starts a throwaway redis-server on a free loopback port)")
    var bus = "inprocess"
    @Option(help: "The tickplex binary to serve (default: this one)") var server: String?
    @Option(help: "tickplex, or nchan (nginx + nchan, one process, fed by HTTP POSTs at the same rates)")
    var peer = "tickplex"
    @Option(help: "Appends the result as one JSON line to this file (Scripts/bench collects them)")
    var jsonOut: String?
    @Option(help: "The round this run belongs to (recorded in the JSON line)") var round = 1

    func validate() throws {
        guard ["inprocess", "redis"].contains(bus) else { throw ValidationError("--bus must be inprocess or redis") }
        guard ["tickplex", "nchan"].contains(peer) else { throw ValidationError("--peer must be tickplex or nchan") }
        if let workload, FanoutWorkload.preset(workload) == nil {
            throw ValidationError(
                "--workload must be one of \(FanoutWorkload.presets.map(\.name).joined(separator: ", "))")
        }
        let w = resolved
        guard w.clients > 0, w.rate >= 0, w.streams > 0, w.perClient > 0, w.perClient <= w.streams, w.burst >= 0,
            seconds > 0, runs > 0
        else { throw ValidationError("counts must be positive, and --per-client at most --streams") }
        guard (0...1).contains(parseShare) else { throw ValidationError("--parse-share must be from 0 to 1") }
        if stream != nil, w.streams > 1 { throw ValidationError("--stream is for one-stream workloads") }
    }

    /// The workload after the options' overrides (W1 when none is named).
    var resolved: FanoutWorkload {
        var w = workload.flatMap(FanoutWorkload.preset) ?? FanoutWorkload.presets[0]
        if workload == nil { w.name = "custom" }
        if let clients { w.clients = clients }
        if let rate { w.rate = rate }
        if let streams { w.streams = streams }
        if let perClient { w.perClient = perClient }
        if let burst { w.burst = burst }
        return w
    }

    func run() async throws {
        var chosen = resolved
        // The bench process holds a socket per client, and so does the server: both under this process's limit.
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        let fdLimit = Int(limit.rlim_cur)
        var clampNote: String?
        if chosen.clients > fdLimit - 500 {
            clampNote = "clients clamped from \(chosen.clients) to \(fdLimit - 500) by the open-file limit (\(fdLimit))"
            chosen.clients = fdLimit - 500
            say("note: \(clampNote!)")
        }
        let w = chosen
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let child: ChildProcess
        let port: Int
        var stopPeer: () async -> Void = {}
        let symbols = w.symbols
        let subscriptions: @Sendable (Int) -> (path: String, arguments: [String])
        var serverName = server ?? CommandLine.arguments[0]
        let triggerBurst: () async -> Void
        if peer == "nchan" {
            port = try await Self.freePort()
            child = try NchanPeer.start(port: port)
            try await NchanPeer.waitForPort(port, group: group)
            let burstRequest = NchanPeer.BurstRequest()
            let publisher = Task {
                if w.rate > 0 {
                    try await NchanPeer.publish(
                        port: port, channels: symbols, rate: w.rate, burst: burstRequest, group: group)
                }
            }
            stopPeer = {
                publisher.cancel()
                child.terminate(kill: true)
            }
            subscriptions = { i in
                ("/sub?c=" + w.streams(ofClient: i).map { symbols[$0] }.joined(separator: ","), [])
            }
            serverName = "nginx + nchan (1 process)"
            triggerBurst = { burstRequest.request(w.burst) }
        } else {
            var simConfig = ExchangeSimulator.Configuration()
            simConfig.framesPerSecond = w.rate
            simConfig.randomPhase = w.streams > 1
            if w.streams > 1 {
                simConfig.prices.merge(ExchangeSimulator.syntheticPrices(w.streams)) { a, _ in a }
            }
            let sim = try await ExchangeSimulator.start(simConfig)
            var redis: ChildProcess?
            var env = [
                "HOST": "127.0.0.1", "PORT": "0", "BYBIT_WS_URL_LINEAR": sim.baseURL + "/v5/public/linear",
                // The catalogue from the same simulator: the bench touches loopback only.
                "BYBIT_REST_URL": sim.restBaseURL, "BINANCE_REST_URL_SPOT": sim.restBaseURL,
                "BINANCE_REST_URL_USDM": sim.restBaseURL,
                "MAX_CLIENTS": "\(w.clients + 100)", "LOG_LEVEL": "info",
                // The bench's clients come from a few loopback addresses: the per-IP limits are not what is measured.
                "MAX_CONNECTIONS_PER_IP": "1000000", "MAX_NEW_CONNECTIONS_PER_IP_PER_MIN": "1000000",
            ]
            if bus == "redis" {
                let redisPort = try await Self.freePort()
                redis = try ChildProcess(
                    "/usr/bin/env",
                    [
                        "redis-server", "--port", "\(redisPort)", "--bind", "127.0.0.1", "--save", "", "--appendonly",
                        "no",
                    ],
                    [:])
                try await Task.sleep(for: .milliseconds(300))
                env["REDIS_URL"] = "redis://127.0.0.1:\(redisPort)/0"
            }
            let tickplex = try ChildProcess(server ?? CommandLine.arguments[0], ["serve"], env)
            child = tickplex
            stopPeer = {
                tickplex.terminate()
                redis?.terminate(kill: true)
                await sim.stop()
            }
            port = try await child.waitForListeningPort()
            let explicit = stream.map { $0.split(separator: ",").map(String.init) }
            subscriptions = { i in
                ("/ws", explicit ?? w.streams(ofClient: i).map { "ticker:" + symbols[$0] })
            }
            triggerBurst = { await sim.burst(frames: w.burst, seconds: 1) }
        }
        do {
            var result = try await measure(
                w, child: child, port: port, subscriptions: subscriptions, serverName: serverName,
                triggerBurst: triggerBurst, group: group)
            result.note = clampNote
            result.round = round
            if let jsonOut { try result.append(to: jsonOut) }
        } catch {
            await stopPeer()
            throw error
        }
        await stopPeer()
        try? await group.shutdownGracefully()
    }

    /// Connects the clients, then measures `runs` windows (and the burst, if any).
    private func measure(
        _ w: FanoutWorkload, child: ChildProcess, port: Int,
        subscriptions: @escaping @Sendable (Int) -> (path: String, arguments: [String]),
        serverName: String, triggerBurst: () async -> Void, group: MultiThreadedEventLoopGroup
    ) async throws -> FanoutResult {
        let rssIdle = child.rssKiB
        let recorder = LoadRecorder()
        // Every fifth client (for the default share) parses every frame.
        let parseEvery = parseShare > 0 ? max(1, Int((1 / parseShare).rounded())) : Int.max
        // Many clients come from several loopback source addresses (10,000 each), as a real crowd would: one
        // source address has ~28,000 ephemeral ports towards one server port.
        let spread = w.clients > 10_000
        func connect(_ index: Int) async throws -> any Channel {
            let (path, arguments) = subscriptions(index)
            return try await LoadConnection.connect(
                port: port, path: path, arguments: arguments, parse: index % parseEvery == 0, recorder: recorder,
                group: group, localAddress: spread ? "127.0.0.\(2 + index / 10_000)" : nil)
        }
        func ready() -> Int { w.idle ? recorder.upgraded : recorder.connectedWithData }
        var channels: [any Channel] = [try await connect(0)]
        try await waitFor(seconds: 10) { ready() >= 1 }
        try await Task.sleep(for: .seconds(1))
        let rssOne = child.rssKiB
        var index = 1
        let connectStart = ContinuousClock.now
        while index < w.clients {
            let batch = min(200, w.clients - index)
            let first = index
            try await withThrowingTaskGroup(of: (any Channel).self) { tasks in
                for i in first..<(first + batch) { tasks.addTask { try await connect(i) } }
                for try await channel in tasks { channels.append(channel) }
            }
            index += batch
        }
        try await waitFor(seconds: 60 + Double(w.clients) / 500) { recorder.upgraded + recorder.refused >= w.clients }
        guard recorder.refused == 0 else { throw BenchError("\(recorder.refused) upgrade(s) refused by the server") }
        // A saturated server may take long to send every client its first message: measured anyway after 30 s,
        // with the count of clients still without data printed.
        _ = try await poll(seconds: 30) { ready() >= w.clients }
        if ready() < w.clients { say("note: \(w.clients - ready()) client(s) had no data 30 s after connecting") }
        let connectSeconds = (ContinuousClock.now - connectStart).inSeconds
        // Idle clients: their subscriptions are answered before memory is read.
        try await Task.sleep(for: .seconds(w.idle ? 5 : 2))
        let rssAll = child.rssKiB
        let perConnection = Double(rssAll - rssOne) / Double(max(w.clients - 1, 1))

        say(
            "fanout \(w.summary) (\(Int(parseShare * 100)) % parse every frame), \(peer == "nchan" ? "" : "bus \(bus), ")server \(serverName); connected in \(String(format: "%.1f", connectSeconds)) s"
        )
        var result = FanoutResult(
            workload: w.name, peer: peer == "nchan" ? "nchan" : "tickplex-\(bus)", clients: w.clients,
            expectedPerSecond: w.expectedPerSecond, rssIdleKiB: rssIdle, rssKiB: rssAll,
            rssPerConnectionKiB: perConnection)
        var windows: [Window] = []
        for run in 1..<(w.idle ? 1 : runs + 1) {
            let window = try await measureWindow(child: child, recorder: recorder, seconds: seconds)
            windows.append(window)
            say(
                String(
                    format:
                        "  run %d: %.0f deliveries/s, %.0f per server CPU-s, latency from ts p50 %.2f p99 %.2f p999 %.2f max %.2f ms, gaps %d, duplicates %d, bench process CPU %.2f× the server's",
                    run, window.deliveriesPerSecond, window.deliveriesPerCPUSecond, window.p50, window.p99,
                    window.p999, window.max, window.gaps, window.duplicates, window.loadCPUShare))
        }
        if !windows.isEmpty {
            func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
            result.deliveriesPerSecond = median(windows.map(\.deliveriesPerSecond))
            result.deliveriesPerCPUSecond = median(windows.map(\.deliveriesPerCPUSecond))
            result.p50 = median(windows.map(\.p50))
            result.p99 = median(windows.map(\.p99))
            result.p999 = median(windows.map(\.p999))
            result.maxMs = windows.map(\.max).max() ?? .nan
            result.gaps = windows.map(\.gaps).reduce(0, +)
            result.duplicates = windows.map(\.duplicates).reduce(0, +)
            result.loadCPUShare = median(windows.map(\.loadCPUShare))
            say(
                String(
                    format:
                        "median: %.0f deliveries/s (%d expected), %.0f per server CPU-s, p50 %.2f ms, p99 %.2f ms, p999 %.2f ms, server CPU %.1f µs/delivery",
                    result.deliveriesPerSecond, w.expectedPerSecond, result.deliveriesPerCPUSecond, result.p50,
                    result.p99, result.p999, 1_000_000 / result.deliveriesPerCPUSecond))
        }
        if w.burst > 0 { result.burst = try await measureBurst(w, recorder: recorder, trigger: triggerBurst) }
        say(
            String(
                format: "server RSS: idle %.1f MiB, 1 client %.1f MiB, %d clients %.1f MiB → %.1f KiB per connection",
                Double(rssIdle) / 1024, Double(rssOne) / 1024, w.clients, Double(rssAll) / 1024, perConnection))
        result.closed = recorder.closed
        say("frames lost to closes: \(recorder.closed) client(s) closed during the run")
        for channel in channels { channel.close(promise: nil) }
        return result
    }

    private func measureWindow(child: ChildProcess, recorder: LoadRecorder, seconds: Double) async throws -> Window {
        recorder.startWindow()
        let cpu0 = child.cpuSeconds
        let own0 = ChildProcess.cpuSeconds(pid: getpid())
        let t0 = ContinuousClock.now
        try await Task.sleep(for: .seconds(seconds))
        let elapsed = (ContinuousClock.now - t0).inSeconds
        let cpu = child.cpuSeconds - cpu0
        let own = ChildProcess.cpuSeconds(pid: getpid()) - own0
        let tally = recorder.snapshot()
        return Window(
            deliveriesPerSecond: Double(tally.deliveries) / elapsed,
            p50: tally.latencyMs(50), p99: tally.latencyMs(99), p999: tally.latencyMs(99.9),
            max: tally.maxLatencyMs,
            deliveriesPerCPUSecond: cpu > 0 ? Double(tally.deliveries) / cpu : .nan,
            gaps: tally.gaps, duplicates: tally.duplicates, loadCPUShare: cpu > 0 ? own / cpu : .nan)
    }

    /// W4: half-second slots, two before the burst and fourteen from its start; the p99 of each, and how long after
    /// the burst's end (one second after its start) the p99 stayed at 100 ms or more (-1: still at the end).
    private func measureBurst(
        _ w: FanoutWorkload, recorder: LoadRecorder, trigger: () async -> Void
    ) async throws -> FanoutResult.Burst {
        var slots: [Double] = []
        var conflated = 0
        let closedBefore = recorder.closed
        for slot in 0..<16 {
            recorder.startWindow()
            if slot == 2 { await trigger() }
            try await Task.sleep(for: .milliseconds(500))
            let tally = recorder.snapshot()
            slots.append(tally.latencyMs(99))
            if slot >= 2 { conflated += tally.gaps }
        }
        // Slots 2–3 are the burst second; from slot 4 on, the time after it.
        let lastSlow = (4..<slots.count).last { !(slots[$0] < 100) }
        let recovery = lastSlow == slots.count - 1 ? -1 : lastSlow.map { Double($0 - 3) * 0.5 } ?? 0
        let text = slots.map { $0.isNaN ? "-" : String(format: "%.0f", $0) }.joined(separator: " / ")
        say(
            "burst of \(w.burst) in 1 s: p99 per 0.5 s slot (2 before, 2 during, 12 after) \(text) ms; back under 100 ms \(recovery < 0 ? "not within 6 s" : String(format: "%.1f s", recovery)) after the burst; \(recorder.closed - closedBefore) client(s) closed; \(conflated) ticker update(s) conflated (seq skipped)"
        )
        return .init(
            slotP99: slots, recoverySeconds: recovery, closed: recorder.closed - closedBefore, conflated: conflated)
    }

    struct Window {
        var deliveriesPerSecond: Double
        var p50: Double
        var p99: Double
        var p999: Double
        var max: Double
        var deliveriesPerCPUSecond: Double
        var gaps: Int
        var duplicates: Int
        /// The bench process's CPU (load clients and simulator or publisher) over the server's.
        var loadCPUShare: Double
    }

    /// Whether `condition` held within `seconds` (polled every 50 ms).
    private func poll(seconds: Double, _ condition: () -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while !condition() {
            guard ContinuousClock.now < deadline else { return false }
            try await Task.sleep(for: .milliseconds(50))
        }
        return true
    }

    private func waitFor(seconds: Double, _ condition: () -> Bool) async throws {
        guard try await poll(seconds: seconds, condition) else { throw BenchError("timed out waiting for the clients") }
    }

    static func freePort() async throws -> Int {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0).get()
        let port = channel.localAddress!.port!
        try await channel.close()
        return port
    }
}

/// One bench run's figures, as `Scripts/bench` collects them (one JSON line each).
struct FanoutResult: Codable {
    struct Burst: Codable {
        var slotP99: [Double]
        var recoverySeconds: Double
        var closed: Int
        var conflated: Int
    }
    var workload: String
    var peer: String
    var round = 1
    var clients: Int
    var expectedPerSecond: Int
    var rssIdleKiB: Int
    var rssKiB: Int
    var rssPerConnectionKiB: Double
    var deliveriesPerSecond = Double.nan
    var deliveriesPerCPUSecond = Double.nan
    var p50 = Double.nan
    var p99 = Double.nan
    var p999 = Double.nan
    var maxMs = Double.nan
    var gaps = 0
    var duplicates = 0
    var closed = 0
    var loadCPUShare = Double.nan
    var burst: Burst?
    var note: String?

    func append(to path: String) throws {
        let encoder = JSONEncoder()
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        encoder.outputFormatting = .sortedKeys
        var line = try encoder.encode(self)
        line.append(UInt8(ascii: "\n"))
        if !FileManager.default.fileExists(atPath: path) { FileManager.default.createFile(atPath: path, contents: nil) }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: line)
    }
}
