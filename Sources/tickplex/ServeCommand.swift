import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import TickplexConfig
import TickplexServer
import TickplexSimulator

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
        var logger = Logger(label: "tickplex")
        // Every line names the node, the simulator's and the start-up lines too.
        logger[metadataKey: "node"] = .string(config.nodeId ?? TickplexNode.defaultNodeId())
        // UPSTREAM=sim: the built-in exchange simulator on loopback, wired in here (the node only gets endpoints).
        var simulator: ExchangeSimulator?
        var endpoints = UpstreamEndpoints.exchanges(config)
        if config.upstream == .sim {
            let sim = try await ExchangeSimulator.start(logger: logger)
            simulator = sim
            guard let simulated = UpstreamEndpoints.simulator(base: sim.baseURL) else {
                throw ValidationError("the simulator's address \(sim.baseURL) is not a WebSocket URL")
            }
            endpoints = simulated
        }
        let node = try await TickplexNode.start(config: config, logger: logger, endpoints: endpoints)
        for line in node.modeDescription { logger.info("\(line)") }
        try await node.makeServiceGroup().run()
        await simulator?.stop()
    }
}
