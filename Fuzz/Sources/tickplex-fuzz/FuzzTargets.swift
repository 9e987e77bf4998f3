import Foundation
import TickplexModel
import TickplexProtocol
import TickplexVenues

/// One libFuzzer binary, several targets: `TICKPLEX_FUZZ_TARGET` picks one (read once, at the first input).
/// Each input is tried as the target's untrusted text: a client frame, a stream argument, a JSON document, or
/// exchange frames (one per line, so that a sequence — a book snapshot then deltas — reaches stateful code).
enum FuzzTarget: String, CaseIterable {
    case clientOps = "client-ops"
    case streamArgs = "stream-args"
    case json
    case bybit
    case binance

    static let selected: FuzzTarget = {
        let name = getenv("TICKPLEX_FUZZ_TARGET").map { String(cString: $0) } ?? ""
        guard let target = FuzzTarget(rawValue: name) else {
            fatalError("set TICKPLEX_FUZZ_TARGET to one of \(allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return target
    }()

    func run(_ bytes: UnsafeBufferPointer<UInt8>) {
        let text = String(decoding: bytes, as: UTF8.self)
        switch self {
        case .clientOps:
            var session = ClientSession(limits: .init(), defaultVenue: .bybitLinear)
            for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
                let out = session.handle(text: String(line), now: 0)
                for case .subscribe(let key) in out.actions { precondition(session.isSubscribed(key)) }
            }
            _ = session.closeAll()
        case .streamArgs:
            for venue in Venue.allCases {
                if case .success(let key) = StreamArgument.parse(text, defaultVenue: venue) {
                    // What the grammar accepts round-trips through its canonical argument.
                    guard case .success(let again) = StreamArgument.parse(key.argument, defaultVenue: venue),
                        again == key
                    else { fatalError("\(text) → \(key.argument) does not parse back to the same stream") }
                }
            }
        case .json:
            _ = try? JSONParser.parse(bytes)
        case .bybit:
            for venue in [Venue.bybitLinear, .bybitSpot, .bybitInverse] {
                guard let category = BybitAdapter.Category(venue: venue) else { continue }
                var adapter = BybitAdapter(category: category)
                for line in text.split(separator: "\n") { _ = try? adapter.decode(String(line), receivedAt: 1) }
            }
        case .binance:
            for market in [BinanceAdapter.Market.spot, .usdm] {
                var adapter = BinanceAdapter(market: market)
                for line in text.split(separator: "\n") { _ = try? adapter.decode(String(line), receivedAt: 1) }
            }
        }
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    FuzzTarget.selected.run(UnsafeBufferPointer(start: data, count: size))
    return 0
}
