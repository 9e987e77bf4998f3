import Foundation
import Synchronization

/// A real `redis-server` on a free loopback port, owned by one test: started on demand, killed and restarted
/// on the same port to simulate an outage, stopped (and its process reaped) when the test ends.
public final class RedisServer: Sendable {
    public let port: Int
    public let password: String?
    /// Serve TLS only (`--port 0 --tls-port`), with this server certificate.
    public let tls: TestCertificates?
    private let process = Mutex<Process?>(nil)
    /// More `redis-server` arguments (a cluster node's).
    let extraArguments: [String]

    private var pidFile: String { NSTemporaryDirectory() + "tickplex-test-redis-\(port).pid" }

    public var url: String {
        let scheme = tls == nil ? "redis" : "rediss"
        if let password { return "\(scheme)://:\(password)@127.0.0.1:\(port)/0" }
        return "\(scheme)://127.0.0.1:\(port)/0"
    }

    private init(port: Int, password: String?, tls: TestCertificates?, extraArguments: [String] = []) {
        self.extraArguments = extraArguments
        self.port = port
        self.password = password
        self.tls = tls
    }

    /// Starts a server on a free port and waits until it accepts connections; with `tls`, TLS only.
    public static func start(password: String? = nil, tls: TestCertificates? = nil) async throws -> RedisServer {
        try await onFreePort { RedisServer(port: $0, password: password, tls: tls) }
    }

    /// A free port can be taken by another test between the probe and redis-server's bind (that server then
    /// exits, and the other one answers): tried again on another port, a few times.
    private static func onFreePort(_ make: (Int) -> RedisServer) async throws -> RedisServer {
        for attempt in 1...5 {
            let server = make(freeLoopbackPort())
            do {
                try await server.launch()
                return server
            } catch let error as PortTaken {
                server.stop()
                if attempt == 5 { throw TestSupportError(description: error.description) }
            }
        }
        preconditionFailure("unreachable")
    }

    struct PortTaken: Error, CustomStringConvertible {
        let description: String
    }

    /// A node of a Redis Cluster (its cluster bus on another free port, its node file in the temporary directory).
    static func startClusterNode() async throws -> RedisServer {
        try await onFreePort { port in
            let nodes = NSTemporaryDirectory() + "tickplex-test-cluster-\(port).conf"
            try? FileManager.default.removeItem(atPath: nodes)
            return RedisServer(
                port: port, password: nil, tls: nil,
                extraArguments: [
                    "--cluster-enabled", "yes", "--cluster-config-file", nodes, "--cluster-port",
                    "\(freeLoopbackPort())", "--cluster-node-timeout", "2000", "--dir", NSTemporaryDirectory(),
                ])
        }
    }

    /// (Re)starts the process on this server's port.
    public func launch() async throws {
        let executable = try ExecutableLocator.onPath("redis-server")
        let ports =
            if let tls {
                [
                    "--port", "0", "--tls-port", "\(port)", "--tls-cert-file", tls.serverCertificate,
                    "--tls-key-file", tls.serverKey, "--tls-ca-cert-file", tls.caCertificate,
                    "--tls-auth-clients", "no",
                ]
            } else {
                ["--port", "\(port)"]
            }
        var arguments =
            ports + [
                "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                "--daemonize", "no", "--loglevel", "warning", "--logfile", "",
                // Scripts/test kills any server a crashed test run left behind by this pid file.
                "--pidfile", pidFile,
            ]
        if let password { arguments += ["--requirepass", password] }
        arguments += extraArguments
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = arguments
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        process.withLock { $0 = p }
        let deadline = ContinuousClock.now + .seconds(10)
        while !isListening(port: port) {
            guard p.isRunning else {
                throw PortTaken(description: "redis-server exited at start (port \(port): taken, or a bad argument)")
            }
            guard ContinuousClock.now < deadline else {
                throw TestSupportError(description: "redis-server did not listen on \(port) within 10 s")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        // Listening is not enough: the port may be another test's (this server then exits at its bind).
        let ours: Bool
        if tls == nil {
            ours = answersRESP(port: port) && p.isRunning
        } else {
            try await Task.sleep(for: .milliseconds(200))
            ours = p.isRunning
        }
        guard ours else {
            throw PortTaken(description: "port \(port) was taken by another listener before redis-server bound it")
        }
    }

    /// SIGKILL: the server dies at once, the way a crash or an OOM kill looks to clients.
    public func kill() {
        let p = process.withLock { p -> Process? in
            defer { p = nil }
            return p
        }
        guard let p else { return }
        Foundation.kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        try? FileManager.default.removeItem(atPath: pidFile)
    }

    /// Stops the server; safe to call twice.
    public func stop() {
        kill()
    }

    deinit {
        kill()
    }
}
