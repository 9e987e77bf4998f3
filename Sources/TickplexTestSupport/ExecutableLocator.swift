import Foundation

/// Finds programs the tests run: `redis-server` on the PATH (or a program by its absolute path), and the `tickplex`
/// binary built beside the tests.
public enum ExecutableLocator {
    public static func onPath(_ name: String) throws -> String {
        if name.hasPrefix("/"), FileManager.default.isExecutableFile(atPath: name) { return name }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for dir in path.split(separator: ":") + ["/usr/sbin", "/usr/bin"] {
            let candidate = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw TestSupportError(
            description: "\(name) not found on PATH; Scripts/test installs it (apt-get install redis-server)")
    }

    /// The `tickplex` executable of the same build as the running tests (or `TICKPLEX_BIN`).
    public static func tickplex() throws -> String {
        if let explicit = ProcessInfo.processInfo.environment["TICKPLEX_BIN"] { return explicit }
        var candidates: [URL] = []
        let argv0 = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL
        // .build/<triple>/debug/tickplexPackageTests.xctest (a file on Linux, a bundle on macOS)
        var dir = argv0.deletingLastPathComponent()
        for _ in 0..<4 {
            candidates.append(dir.appendingPathComponent("tickplex"))
            dir = dir.deletingLastPathComponent()
        }
        if let bundle = Bundle.main.executableURL {
            candidates.append(bundle.deletingLastPathComponent().appendingPathComponent("tickplex"))
        }
        candidates.append(URL(fileURLWithPath: FileManager.default.currentDirectoryPath + "/.build/debug/tickplex"))
        for url in candidates where FileManager.default.isExecutableFile(atPath: url.path) {
            return url.path
        }
        throw TestSupportError(
            description: "tickplex binary not found near \(argv0.path); build it with `swift build --build-tests`")
    }
}

/// Runs a program from the PATH (redis-cli, openssl) to its end; its standard output, or an error that says why not.
@discardableResult
public func runTool(_ name: String, _ arguments: [String]) throws -> String {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: try ExecutableLocator.onPath(name))
    p.arguments = arguments
    let out = Pipe()
    p.standardOutput = out
    p.standardError = FileHandle.nullDevice
    try p.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    guard p.terminationStatus == 0 else {
        throw TestSupportError(description: "\(name) \(arguments.first ?? "") exited with \(p.terminationStatus)")
    }
    return String(decoding: data, as: UTF8.self)
}

/// A test environment problem (missing program, server that did not start), with what to do about it.
public struct TestSupportError: Error, CustomStringConvertible {
    public let description: String
    public init(description: String) { self.description = description }
}

/// The Python that Scripts/test installed the tests' PyPI packages into (`TICKPLEX_PYTHON`); else `python3` on the
/// PATH. The two can differ: a pyenv shim in the shell, the system Python first for the test process.
public var testPython: String { ProcessInfo.processInfo.environment["TICKPLEX_PYTHON"] ?? "python3" }
