public import TickplexConfig
public import TickplexModel

/// Where a node's upstream connections go. The node does not start a simulator itself: with `UPSTREAM=sim` the
/// `serve` command starts one on loopback and hands its endpoints in, marked simulated, so that what the node says
/// in its log, `/health` and the page follows from what it was given.
public struct UpstreamEndpoints: Sendable, Equatable {
    public let urls: [Venue: WebSocketURL]
    /// REST base URLs: Bybit (every category), Binance spot, Binance USD-M.
    public let bybitREST: String
    public let binanceSpotREST: String
    public let binanceUSDMREST: String
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
            ], bybitREST: config.bybitRESTURL, binanceSpotREST: config.binanceSpotRESTURL,
            binanceUSDMREST: config.binanceUSDMRESTURL, simulatorBase: nil)
    }

    /// A simulator's endpoints (`ws://host:port`): the paths it serves for each venue; its REST on the same port.
    public static func simulator(base: String) -> UpstreamEndpoints? {
        guard base.hasPrefix("ws://") else { return nil }
        let rest = "http://" + base.dropFirst("ws://".count)
        guard let spot = WebSocketURL(base + "/v5/public/spot"), let linear = WebSocketURL(base + "/v5/public/linear"),
            let inverse = WebSocketURL(base + "/v5/public/inverse"), let binance = WebSocketURL(base),
            let usdm = WebSocketURL(base + "/usdm")
        else { return nil }
        return UpstreamEndpoints(
            urls: [
                .bybitSpot: spot, .bybitLinear: linear, .bybitInverse: inverse, .binanceSpot: binance,
                .binanceUSDM: usdm,
            ],
            bybitREST: rest, binanceSpotREST: rest, binanceUSDMREST: rest, simulatorBase: base)
    }
}
