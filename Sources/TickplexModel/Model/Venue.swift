/// An exchange endpoint family that Tickplex can stream from.
///
/// The raw value is the name used on the wire (`ticker:BTCUSDT@binance.spot`), in stream names and in configuration.
public enum Venue: String, CaseIterable, Sendable, Hashable, Codable {
    case bybitLinear = "bybit.linear"
    case bybitSpot = "bybit.spot"
    case bybitInverse = "bybit.inverse"
    case binanceSpot = "binance.spot"
    case binanceUSDM = "binance.usdm"

    /// All venue names, comma separated, for error messages.
    public static var allowedList: String {
        allCases.map(\.rawValue).joined(separator: ", ")
    }
}
