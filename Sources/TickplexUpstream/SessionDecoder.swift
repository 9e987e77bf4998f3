import Synchronization
import TickplexModel
import TickplexVenues

/// One session's decoding state (the venue codec with its books), shared by the session's reader and its depth
/// snapshot fetches. A snapshot enters its book the moment it arrives, not at the next frame: on a quiet stream (an
/// illiquid symbol, an exchange that pauses) the book would otherwise wait for a diff that may be seconds away.
/// Events are handed on inside the lock, so the reader's and a snapshot's events leave in the order the books
/// changed. After the session ends a late snapshot is dropped: the books it was for are gone.
final class SessionDecoder: Sendable {
    private let state: Mutex<(codec: VenueCodec, live: Bool)>

    init(venue: Venue) { state = Mutex((VenueCodec(venue: venue), true)) }

    /// Decodes one text message: events go to `deliver` (under the lock, in order); the other messages
    /// (acks, pongs, snapshot requests, shutdown) are returned for the connection to act on.
    func decode(_ text: String, receivedAt: Int64, deliver: (MarketEvent) -> Void) -> Outcome {
        step(deliver) { codec throws(VenueDecodeError) in try codec.decode(text, receivedAt: receivedAt) }
    }

    /// A REST depth snapshot for `stream`: applied now, its events delivered; nothing once the session has ended.
    func apply(
        _ snapshot: DepthSnapshot, stream: String, receivedAt: Int64, deliver: (MarketEvent) -> Void
    ) -> Outcome {
        step(deliver, onlyLive: true) { codec throws(VenueDecodeError) in
            try codec.applyDepthSnapshot(snapshot, stream: stream, receivedAt: receivedAt)
        }
    }

    /// One change to the books under the lock; its events handed on there, the rest returned.
    private func step(
        _ deliver: (MarketEvent) -> Void, onlyLive: Bool = false,
        _ body: (inout VenueCodec) throws(VenueDecodeError) -> [VenueMessage]
    ) -> Outcome {
        state.withLock { s in
            if onlyLive && !s.live { return Outcome(messages: []) }
            do throws(VenueDecodeError) {
                return Outcome(messages: Self.hand(try body(&s.codec), deliver))
            } catch {
                return Outcome(messages: [], error: error)
            }
        }
    }

    /// The session is over: snapshots still in flight are dropped when they arrive.
    func end() { state.withLock { $0.live = false } }

    struct Outcome {
        var messages: [VenueMessage]
        var error: VenueDecodeError?
    }

    private static func hand(_ decoded: [VenueMessage], _ deliver: (MarketEvent) -> Void) -> [VenueMessage] {
        var rest: [VenueMessage] = []
        for m in decoded {
            switch m {
            case .event(let event): deliver(event)
            case .ignored: continue
            default: rest.append(m)
            }
        }
        return rest
    }
}
