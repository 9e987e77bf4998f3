public import TickplexConfig
public import TickplexModel

/// Where a node's upstream connections go. The node does not start a simulator itself: with `UPSTREAM=sim` the
/// `serve` command starts one on loopback and hands its endpoints in, marked simulated, so that what the node says
/// in its log, `/health` and the page follows from what it was given.
public struct UpstreamEndpoints: Sendable, Equatable {
    public let urls: [Venue: WebSocketURL]
    /// The simulator's base address, when the endpoints are a simulator's.
    public let simulatorBase: String?

    public var simulated: Bool { simulatorBase != nil }

    /// The exchanges' endpoints from the configuration.
    public static func exchanges(_ config: TickplexConfig) -> UpstreamEndpoints {
        UpstreamEndpoints(
            urls: [
                .bybitSpot: config.bybitSpotURL, .bybitLinear: config.bybitLinearURL,
                .bybitInverse: config.bybitInverseURL, .binanceSpot: config.binanceSpotURL,
                .binanceUSDM: config.binanceUSDMURL,
            ], simulatorBase: nil)
    }

    /// A simulator's endpoints (`ws://host:port`): the paths it serves for each venue.
    public static func simulator(base: String) -> UpstreamEndpoints? {
        guard let spot = WebSocketURL(base + "/v5/public/spot"), let linear = WebSocketURL(base + "/v5/public/linear"),
            let inverse = WebSocketURL(base + "/v5/public/inverse"), let binance = WebSocketURL(base),
            let usdm = WebSocketURL(base + "/usdm")
        else { return nil }
        return UpstreamEndpoints(
            urls: [
                .bybitSpot: spot, .bybitLinear: linear, .bybitInverse: inverse, .binanceSpot: binance,
                .binanceUSDM: usdm,
            ],
            simulatorBase: base)
    }
}
