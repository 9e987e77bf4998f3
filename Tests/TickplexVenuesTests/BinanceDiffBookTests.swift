import Testing
import TickplexModel
import TickplexTestSupport
import TickplexVenues

/// Binance deep books from the diff stream and a REST snapshot, by the documented rules (pure).
@Suite("Binance diff-depth book: snapshot + diffs as Binance documents it")
struct BinanceDiffBookTests {
    static func diff(_ first: Int64, _ last: Int64, pu: Int64? = nil, bid: (String, String)? = nil)
        -> BinanceDiffBook.Diff
    {
        BinanceDiffBook.Diff(
            first: first, last: last, previous: pu, bids: bid.map { [PriceLevel(price: $0.0, size: $0.1)] } ?? [],
            asks: [])
    }

    @Test("diffs are buffered until the snapshot; those with u <= lastUpdateId are dropped; the first must straddle it")
    func buffering() throws {
        var b = BinanceDiffBook(usdm: false)
        #expect(
            try b.diff(Self.diff(95, 99, bid: ("1", "9"))) == [
                .needSnapshot(reason: "first diff: a snapshot starts the book")
            ])
        #expect(try b.diff(Self.diff(100, 104, bid: ("2", "1"))).isEmpty, "buffered, one snapshot asked")
        #expect(try b.diff(Self.diff(105, 107, bid: ("3", "1"))).isEmpty)
        let out = try b.snapshot(lastUpdateId: 101, bids: [PriceLevel(price: "1", size: "5")], asks: [])
        #expect(out == [.changed] && b.synced)
        // 95-99 dropped (u <= 101), 100-104 straddles 102, 105-107 follows.
        #expect(b.book.top(10).bids.map(\.price) == ["3", "2", "1"])
        #expect(b.book.top(10).bids.last?.size == "5", "the dropped diff's size for 1 was not applied")
        #expect(b.book.updateId == 107)
    }

    @Test("a gap (spot U > book + 1; USD-M pu != previous u) asks for a new snapshot; spot overlaps apply")
    func gaps() throws {
        var spot = BinanceDiffBook(usdm: false)
        _ = try spot.diff(Self.diff(10, 11))
        _ = try spot.snapshot(lastUpdateId: 10, bids: [], asks: [])
        #expect(try spot.diff(Self.diff(12, 13)) == [.changed])
        #expect(try spot.diff(Self.diff(11, 13)).isEmpty, "wholly before the book: ignored")
        #expect(try spot.diff(Self.diff(13, 14)) == [.changed], "overlapping the book: applied")
        guard case .needSnapshot = try spot.diff(Self.diff(16, 17)).first else {
            Issue.record("spot gap not found")
            return
        }
        #expect(!spot.synced)
        var usdm = BinanceDiffBook(usdm: true)
        _ = try usdm.diff(Self.diff(10, 20, pu: 9))
        _ = try usdm.snapshot(lastUpdateId: 15, bids: [], asks: [])
        #expect(try usdm.diff(Self.diff(21, 25, pu: 20)) == [.changed], "USD-M follows by pu")
        guard case .needSnapshot = try usdm.diff(Self.diff(26, 30, pu: 24)).first else {
            Issue.record("USD-M pu gap not found")
            return
        }
    }

    @Test("a snapshot older than the buffer is refused and asked for again; a first diff that does not straddle it too")
    func staleSnapshot() throws {
        var b = BinanceDiffBook(usdm: false)
        _ = try b.diff(Self.diff(200, 210))
        guard case .needSnapshot = try b.snapshot(lastUpdateId: 150, bids: [], asks: []).first else {
            Issue.record("old snapshot accepted")
            return
        }
        #expect(!b.synced)
    }

    @Test("the recorded diff streams (spot and USD-M) apply without one gap from a snapshot just before them")
    func recorded() throws {
        for (file, usdm) in [("binance/depth_diff.jsonl", false), ("binance/futures_usdm/depth_diff.jsonl", true)] {
            var a = BinanceAdapter(market: usdm ? .usdm : .spot)
            let lines = try ExchangeFixtures.text(file).split(separator: "\n").map(String.init)
            var snapshotsAsked: [String: Int] = [:]
            var books = 0
            for line in lines {
                for m in try a.decode(line, receivedAt: 0) {
                    switch m {
                    case .depthSnapshotNeeded(let stream, let symbol, _):
                        snapshotsAsked[stream, default: 0] += 1
                        // An empty snapshot just before the stream's first diff.
                        // (The diff that asked for it is this line's.)
                        let firstU = try #require(
                            line.split(separator: ",").first { $0.hasPrefix("\"U\":") }.flatMap {
                                Int64($0.dropFirst(4))
                            })
                        let applied = try a.applyDepthSnapshot(
                            stream: stream, symbol: symbol, lastUpdateId: firstU - 1, bids: [], asks: [], receivedAt: 0)
                        #expect(
                            applied.allSatisfy { if case .event = $0 { true } else { false } },
                            "\(stream): \(applied.map { "\($0)".prefix(200) })")
                    case .event: books += 1
                    default: break
                    }
                }
            }
            #expect(
                snapshotsAsked.values.allSatisfy { $0 == 1 },
                "\(file): one snapshot per stream, no gap: \(snapshotsAsked)")
            #expect(books > 100)
        }
    }
}
