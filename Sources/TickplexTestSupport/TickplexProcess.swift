import Foundation
import Synchronization

/// The real `tickplex` binary run as a child process, for tests of start-up, exit codes and signals.
public final class TickplexProcess: Sendable {
    public struct Result: Sendable {
        public let exitCode: Int32
        public let stdout: String
        public let stderr: String
    }

    private let process: Mutex<Process>
    private let output = OutputBuffer()
    public let pid: Int32

    /// Runs the binary to completion (at most `timeout`) with exactly `environment` (plus PATH).
    public static func run(
        arguments: [String] = [], environment: [String: String], timeout: Duration = .seconds(20)
    ) async throws -> Result {
        let child = try TickplexProcess(arguments: arguments, environment: environment)
        let exited = await child.waitForExit(timeout: timeout)
        if !exited {
            child.signal(SIGKILL)
            _ = await child.waitForExit(timeout: .seconds(5))
        }
        let out = child.output.state.withLock { $0 }
        return Result(exitCode: exited ? child.exitCode : -1, stdout: out.stdout, stderr: out.stderr)
    }

    /// Starts the binary; use `waitForListening` for its port.
    public init(arguments: [String] = ["serve"], environment: [String: String]) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: try ExecutableLocator.tickplex())
        p.arguments = arguments
        var env = TestNetwork.loopbackOnly(environment)
        env["PATH"] = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        p.environment = env
        // Run from an empty directory so that a developer's own .env is never picked up.
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tickplex-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        p.currentDirectoryURL = dir
        let outPipe = Pipe()
        let errPipe = Pipe()
        p.standardOutput = outPipe
        p.standardError = errPipe
        let output = self.output
        outPipe.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            if !data.isEmpty { output.state.withLock { $0.stdout += String(decoding: data, as: UTF8.self) } }
        }
        errPipe.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            if !data.isEmpty { output.state.withLock { $0.stderr += String(decoding: data, as: UTF8.self) } }
        }
        try p.run()
        pid = p.processIdentifier
        process = Mutex(p)
    }

    public var stdout: String { output.state.withLock { $0.stdout } }
    public var stderr: String { output.state.withLock { $0.stderr } }
    public var isRunning: Bool { process.withLock { $0.isRunning } }
    public var exitCode: Int32 { process.withLock { $0.terminationStatus } }

    public func signal(_ signal: Int32) {
        kill(pid, signal)
    }

    /// Waits until the log says `listening on http://HOST:PORT` and returns PORT.
    public func waitForListening(timeout: Duration = .seconds(20)) async throws -> Int {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let text = stdout
            if let range = text.range(of: #"listening on http://[^ \n]*:(\d+)"#, options: .regularExpression) {
                let match = text[range]
                if let colon = match.lastIndex(of: ":"), let port = Int(match[match.index(after: colon)...]) {
                    return port
                }
            }
            guard isRunning else { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw TestSupportError(
            description: "tickplex did not report listening; stdout:\n\(stdout)\nstderr:\n\(stderr)")
    }

    /// Waits for the process to exit; false after `timeout`.
    public func waitForExit(timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while isRunning {
            guard ContinuousClock.now < deadline else { return false }
            try? await Task.sleep(for: .milliseconds(20))
        }
        // Let the pipes drain.
        try? await Task.sleep(for: .milliseconds(50))
        return true
    }

    deinit {
        process.withLock { p in
            if p.isRunning {
                kill(p.processIdentifier, SIGKILL)
                p.waitUntilExit()
            }
        }
    }
}

/// Captured output of a child, appended from the pipes' reader threads.
private final class OutputBuffer: Sendable {
    let state = Mutex<(stdout: String, stderr: String)>(("", ""))
}

extension TickplexProcess {
    /// The child's resident set size in bytes (`VmRSS` in /proc), or nil once it has gone.
    public var residentBytes: Int? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
            let kb = line.split(separator: " ").dropFirst().first.flatMap({ Int($0) })
        else { return nil }
        return kb * 1024
    }

    /// Starts `tickplex serve` on a free loopback port with the simulator and `environment` on top, runs `body`
    /// with its port, then stops it (SIGTERM, SIGKILL if it lingers). The process must still be alive when `body`
    /// ends: a crash is a failure whatever the body saw.
    public static func serving<T: Sendable>(
        _ environment: [String: String], _ body: (_ port: Int, _ process: TickplexProcess) async throws -> T
    ) async throws -> T {
        var env = ["PORT": "0", "HOST": "127.0.0.1", "UPSTREAM": "sim", "SHUTDOWN_GRACE_S": "2"]
        env.merge(environment) { _, given in given }
        let child = try TickplexProcess(environment: env)
        let port = try await child.waitForListening()
        let result: T
        do {
            result = try await body(port, child)
        } catch {
            child.signal(SIGKILL)
            throw error
        }
        guard child.isRunning else {
            throw TestSupportError(
                description: "tickplex exited (code \(child.exitCode)) during the test; stderr:\n\(child.stderr)")
        }
        child.signal(SIGTERM)
        if !(await child.waitForExit(timeout: .seconds(6))) { child.signal(SIGKILL) }
        return result
    }
}

/// Tests touch loopback only: a node under test that was given no REST hosts (its catalogue would ask the real
/// exchanges) gets a closed loopback port instead, which refuses at once.
public enum TestNetwork {
    public static let closedPort = "http://127.0.0.1:9"
    static let restVariables = ["BYBIT_REST_URL", "BINANCE_REST_URL_SPOT", "BINANCE_REST_URL_USDM"]

    /// The REST hosts pointed at the closed port: the catalogue never loads (the node serves unchecked).
    public static func restUnreachable(_ environment: [String: String]) -> [String: String] {
        var env = environment
        for name in restVariables { env[name] = closedPort }
        return env
    }

    public static func loopbackOnly(_ environment: [String: String]) -> [String: String] {
        var env = environment
        guard env["UPSTREAM"] != "sim" else { return env }
        for name in restVariables where env[name] == nil {
            env[name] = closedPort
        }
        return env
    }
}
