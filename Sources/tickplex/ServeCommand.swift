import ArgumentParser
import Foundation
import Logging
import TickplexCore
import TickplexServer

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Start the proxy (configuration from the environment and an optional .env file)."
    )

    @Option(name: .customLong("env-file"), help: "A .env file to read; the real environment wins.")
    var envFile: String = ".env"

    func run() async throws {
        let config: TickplexConfig
        do {
            config = try ConfigLoader.load(dotEnvPath: envFile)
        } catch {
            // One line, exit code 2: a configuration mistake is not a crash.
            FileHandle.standardError.write(Data("tickplex: \(error)\n".utf8))
            throw ExitCode(2)
        }
        let level = Logger.Level(rawValue: config.logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardOutput(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "tickplex")
        let node = try await TickplexNode.start(config: config, logger: logger)
        for line in node.modeDescription { logger.info("\(line)") }
        try await node.makeServiceGroup().run()
    }
}
