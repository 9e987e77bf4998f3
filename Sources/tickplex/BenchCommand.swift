import ArgumentParser

struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks (see BENCHMARKS.md). Loopback only.",
        subcommands: [RedisPublishBench.self, DecodeBench.self, FanoutBench.self, PublishBench.self]
    )
}
