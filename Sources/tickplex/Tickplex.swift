import ArgumentParser

@main
struct Tickplex: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tickplex",
        abstract: "Market-data WebSocket fan-out proxy for Bybit V5 and Binance.",
        subcommands: [ServeCommand.self, SimCommand.self, BenchCommand.self, WebSocketFloor.self],
        defaultSubcommand: ServeCommand.self
    )
}
