import NIOCore
import Testing
import TickplexLoad

/// The load client's counting, on made-up frames: deliveries, gaps and duplicates by `seq` per stream, latency from
/// `ts`, the same whether a frame is peeked at or parsed.
@Suite("Delivery tally (pure)")
struct DeliveryTallyTests {
    static func frame(_ stream: String, _ seq: Int, ts: Int64) -> ByteBuffer {
        ByteBuffer(
            string:
                #"{"stream":"\#(stream)","type":"update","seq":\#(seq),"data":{"symbol":"X","price":"1.5"},"ts":\#(ts),"recvTs":\#(ts + 1),"source":"t"}"#
        )
    }

    @Test(
        "gaps and duplicates per stream; latency from ts; peeked and parsed frames count alike",
        arguments: [false, true])
    func counting(parse: Bool) {
        var tally = DeliveryTally()
        let sequence = [("a", 1), ("a", 2), ("b", 1), ("a", 4), ("a", 4), ("b", 2), ("a", 3), ("b", 5)]
        for (stream, seq) in sequence {
            tally.record(frame: Self.frame(stream, seq, ts: 1_000), receivedAtMs: 1_007.5, parse: parse)
        }
        tally.record(frame: ByteBuffer(string: #"{"op":"subscribe","success":true}"#), receivedAtMs: 0, parse: parse)
        #expect(tally.deliveries == 8)
        #expect(tally.gaps == 1 + 2, "a skipped 3; b skipped 3 and 4")
        #expect(tally.duplicates == 2, "a's second 4, and 3 after 4")
        #expect(tally.other == 1)
        #expect(tally.parsed == (parse ? 8 : 0))
        // Six deliveries were new, each 7.5 ms after its ts (three significant digits).
        #expect(tally.latencyCount == 6)
        #expect(abs(tally.latencyMs(50) - 7.5) < 0.01 && abs(tally.maxLatencyMs - 7.5) < 0.01)
    }

    @Test("windows and merging: counts restart, the seq memory does not; merged tallies add up")
    func windows() {
        var one = DeliveryTally()
        one.record(stream: "a", seq: 1, ts: nil, receivedAtMs: 0)
        one.startWindow()
        one.record(stream: "a", seq: 3, ts: 10, receivedAtMs: 12)
        #expect(one.deliveries == 1 && one.gaps == 1, "the gap across the window edge is seen")
        var two = DeliveryTally()
        two.record(stream: "a", seq: 1, ts: 10, receivedAtMs: 30)
        two.record(stream: "a", seq: 1, ts: 10, receivedAtMs: 30)
        one.merge(two)
        #expect(one.deliveries == 3 && one.gaps == 1 && one.duplicates == 1)
        #expect(one.latencyCount == 2 && abs(one.maxLatencyMs - 20) < 0.05)
    }

    @Test("peeking reads stream, seq and ts; anything else is not a delivery")
    func peek() {
        #expect(
            FramePeek.fields(Self.frame("tickplex.bybit.linear.ticker.BTCUSDT", 42, ts: 1_700_000_000_123))
                == .init(stream: "tickplex.bybit.linear.ticker.BTCUSDT", seq: 42, ts: 1_700_000_000_123))
        #expect(FramePeek.fields(ByteBuffer(string: #"{"op":"status","venue":"bybit.linear","state":"live"}"#)) == nil)
        #expect(FramePeek.fields(ByteBuffer(string: #"{"stream":"x","type":"update"}"#)) == nil)
        #expect(FramePeek.fields(ByteBuffer(string: "")) == nil)
    }
}
