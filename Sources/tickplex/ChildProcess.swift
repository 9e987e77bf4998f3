import Foundation
import Synchronization

/// Unbuffered, so that a bench stopped early still shows what it measured.
func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
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
    var cpuSeconds: Double { Self.cpuSeconds(pid: process.processIdentifier) }

    /// User + system CPU time of a process from /proc, seconds.
    static func cpuSeconds(pid: Int32) -> Double {
        let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
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
