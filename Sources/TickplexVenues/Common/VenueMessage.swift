public import TickplexModel

/// A frame an exchange sent that is not what the adapter expects; counted and logged, never a crash.
public struct VenueDecodeError: Error, Sendable, Equatable, CustomStringConvertible {
    public let reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}

/// What one upstream frame means to the proxy.
public enum VenueMessage: Sendable, Equatable {
    /// Normalized market data.
    case event(MarketEvent)
    /// Answer to a subscribe/unsubscribe request. `requestId` when the venue echoes one (Binance `id`, Bybit
    /// `req_id` when sent); Bybit acks name no topic, so the pool matches them FIFO per connection.
    case ack(requestId: String?, success: Bool, message: String)
    /// Answer to our application-level ping (Bybit).
    case pong
    /// The local book of this stream can no longer be trusted (update-id gap): subscribe again for a snapshot.
    case resync(StreamKey, reason: String)
    /// A Binance diff-depth book needs a REST snapshot (the first diff, or a gap): fetch it and hand it to the
    /// adapter (`applyDepthSnapshot`).
    case depthSnapshotNeeded(stream: String, symbol: String, reason: String)
    /// The exchange announced it will close this connection soon (Binance `serverShutdown`).
    case serverShutdown
    /// Valid, but nothing the proxy forwards (a stream type nobody can subscribe to, a diff without a book).
    case ignored
}

extension JSONValue {
    /// `[[price, size], …]` → levels, strings kept verbatim.
    func priceLevels(_ field: String) throws(VenueDecodeError) -> [PriceLevel] {
        guard let rows = self[field]?.array else { throw VenueDecodeError("missing \(field) levels") }
        var levels: [PriceLevel] = []
        levels.reserveCapacity(rows.count)
        for row in rows {
            guard let pair = row.array, pair.count >= 2, let price = pair[0].string, let size = pair[1].string else {
                throw VenueDecodeError("malformed level in \(field)")
            }
            levels.append(PriceLevel(price: price, size: size))
        }
        return levels
    }

    func requiredString(_ field: String) throws(VenueDecodeError) -> String {
        guard let s = self[field]?.text else { throw VenueDecodeError("missing \(field)") }
        return s
    }

    func requiredInt(_ field: String) throws(VenueDecodeError) -> Int64 {
        guard let i = self[field]?.int64 else { throw VenueDecodeError("missing integer \(field)") }
        return i
    }
}
