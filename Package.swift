// swift-tools-version: 6.2
// hummingbird-websocket 2.8.1 requires tools 6.2; the package builds in the Swift 6 language mode.

import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "tickplex",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "tickplex", targets: ["tickplex"]),
        // The parsers on their own (no NIO): what the libFuzzer package in Fuzz/ instruments.
        .library(name: "TickplexParsing", targets: ["TickplexModel", "TickplexProtocol", "TickplexVenues"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1", traits: []),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket.git", from: "2.8.1"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/vapor/jwt-kit.git", from: "5.8.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
    ],
    targets: [
        // hiredis as a codec only (reply reader + command formatting); NIO does all socket I/O.
        .systemLibrary(name: "CHiredis", providers: [.apt(["libhiredis-dev"])]),

        // The market model: venues, stream keys, events, JSON reading and writing, decimal text, small utilities.
        .target(
            name: "TickplexModel",
            swiftSettings: swiftSettings
        ),

        // Configuration: environment + .env, validated, with errors that name variable, value and what is allowed.
        .target(
            name: "TickplexConfig",
            dependencies: ["TickplexModel"],
            swiftSettings: swiftSettings
        ),

        // The client wire contract: ops and stream arguments (ClientSession), the branded envelope (Transformer).
        .target(
            name: "TickplexProtocol",
            dependencies: ["TickplexModel"],
            swiftSettings: swiftSettings
        ),

        // Venue adapters: exchange frames ↔ normalized events, topic names, request framing.
        .target(
            name: "TickplexVenues",
            dependencies: ["TickplexModel"],
            swiftSettings: swiftSettings
        ),

        // Upstream: one multiplexed WebSocket per venue endpoint (more only past per-connection limits).
        .target(
            name: "TickplexUpstream",
            dependencies: [
                "TickplexConfig", "TickplexModel", "TickplexVenues",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),

        // The built-in exchange simulator (protocol state machines; servers follow).
        .target(
            name: "TickplexSimulator",
            dependencies: [
                "TickplexModel", "TickplexVenues",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),

        // Redis client: SwiftNIO sockets, hiredis RESP parsing and command encoding.
        .target(
            name: "TickplexRedis",
            dependencies: [
                "CHiredis",
                "TickplexConfig", "TickplexModel",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),

        // Message bus and last-value store: Redis and in-process implementations.
        .target(
            name: "TickplexBus",
            dependencies: [
                "TickplexModel", "TickplexRedis",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),

        // The node: admission, the client gateway and fan-out hub, REST, health, stats and metrics.
        .target(
            name: "TickplexServer",
            dependencies: [
                "TickplexConfig", "TickplexModel", "TickplexProtocol",
                "TickplexVenues",
                "TickplexUpstream",
                "TickplexRedis",
                "TickplexBus",
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "JWTKit", package: "jwt-kit"),
            ],
            swiftSettings: swiftSettings
        ),

        // The load client of `tickplex bench`: light NIO WebSocket clients that count deliveries, gaps and
        // duplicates by seq, and latency from the exchange's ts in an HdrHistogram.
        .target(
            name: "TickplexLoad",
            dependencies: [
                "TickplexModel",
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),

        .executableTarget(
            name: "tickplex",
            dependencies: [
                "TickplexConfig",
                "TickplexModel",
                "TickplexVenues",
                "TickplexSimulator",
                "TickplexRedis",
                "TickplexBus",
                "TickplexUpstream",
                "TickplexServer",
                "TickplexLoad",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                // `tickplex bench ws-floor`: bare WebSocket servers, the memory floor per connection.
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
            ],
            swiftSettings: swiftSettings
        ),

        // Shared test helpers: a real redis-server on a free loopback port, the built binary, HTTP.
        .target(
            name: "TickplexTestSupport",
            dependencies: [
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            swiftSettings: swiftSettings
        ),

        .testTarget(
            name: "TickplexModelTests",
            dependencies: ["TickplexModel", "TickplexTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TickplexConfigTests",
            dependencies: ["TickplexConfig", "TickplexTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TickplexProtocolTests",
            dependencies: ["TickplexModel", "TickplexProtocol", "TickplexTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TickplexVenuesTests",
            dependencies: ["TickplexVenues", "TickplexModel", "TickplexTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TickplexSimulatorTests",
            dependencies: [
                "TickplexSimulator", "TickplexLoad", .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TickplexUpstreamTests",
            dependencies: [
                "TickplexUpstream", "TickplexSimulator", "TickplexConfig", "TickplexModel", "TickplexTestSupport",
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TickplexRedisTests",
            dependencies: [
                "TickplexRedis", "TickplexConfig", "TickplexModel", "TickplexTestSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TickplexBusTests",
            dependencies: [
                "TickplexBus", "TickplexRedis", "TickplexConfig", "TickplexModel", "TickplexTestSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TickplexLoadTests",
            dependencies: [
                "TickplexLoad", "TickplexTestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TickplexServerTests",
            dependencies: [
                "TickplexServer", "TickplexConfig", "TickplexModel", "TickplexBus", "TickplexTestSupport",
                "TickplexSimulator", "TickplexUpstream",
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
