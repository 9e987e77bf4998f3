// swift-tools-version: 6.2
// libFuzzer targets for Tickplex's parsers: `Scripts/fuzz` builds this with `swift build -c release
// --sanitize=fuzzer`. A package of its own because a libFuzzer binary has no `main` of its own (libFuzzer brings
// it), which the main package's normal builds could not link.

import PackageDescription

let package = Package(
    name: "tickplex-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [.package(name: "tickplex", path: "..")],
    targets: [
        .executableTarget(
            name: "tickplex-fuzz",
            dependencies: [
                .product(name: "TickplexParsing", package: "tickplex")
            ],
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]
        )
    ]
)
