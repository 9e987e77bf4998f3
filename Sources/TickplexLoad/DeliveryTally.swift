public import Histogram
public import NIOCore
import TickplexModel

/// What one client (or, merged, all of them) received: deliveries, the `seq` numbers skipped (gaps) and those not
/// newer than the last of their stream (duplicates), and the latency of each delivery from the exchange's `ts` to
/// its receipt, in an HdrHistogram (µs, three significant digits). Pure: the receipt time is passed in.
public struct DeliveryTally: Sendable {
    public private(set) var deliveries = 0
    public private(set) var gaps = 0
    public private(set) var duplicates = 0
    /// Deliveries this client parsed as JSON (the share of clients that parse every frame).
    public private(set) var parsed = 0
    /// Text frames that were not data messages (replies, status) or could not be read.
    public private(set) var other = 0
    public private(set) var latency: Histogram<UInt64>
    /// Off: latencies are only returned by `record`, for a histogram shared by many tallies (the load client keeps
    /// one per recorder, not one per connection: a three-digit histogram up to 60 s is ~250 KB).
    private let keepsLatency: Bool
    /// Per stream (by the hash of its name), the last `seq` seen: kept across windows, so that a gap at a
    /// window's edge still counts.
    private var lastSeq: [UInt64: Int] = [:]

    public init(keepsLatency: Bool = true) {
        self.keepsLatency = keepsLatency
        latency = keepsLatency ? Self.latencyHistogram() : Histogram(highestTrackableValue: 2)
    }

    /// µs up to 60 s, three significant digits.
    public static func latencyHistogram() -> Histogram<UInt64> {
        Histogram(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three)
    }

    /// One data message; returns its latency (µs), if it has one and is not a duplicate.
    @discardableResult
    public mutating func record(stream: String, seq: Int, ts: Int64?, receivedAtMs: Double) -> UInt64? {
        record(streamHash: FramePeek.hash(stream.utf8), seq: seq, ts: ts, receivedAtMs: receivedAtMs)
    }

    @discardableResult
    public mutating func record(streamHash stream: UInt64, seq: Int, ts: Int64?, receivedAtMs: Double) -> UInt64? {
        deliveries += 1
        if let last = lastSeq[stream] {
            if seq <= last {
                duplicates += 1
                return nil
            }
            gaps += seq - last - 1
        }
        lastSeq[stream] = seq
        guard let ts else { return nil }
        let micros = UInt64(min(max(0, (receivedAtMs - Double(ts)) * 1000), 59_999_999))
        if keepsLatency { _ = latency.record(micros) }
        return micros
    }

    /// One text frame as received: peeked at, or (`parse`) parsed as JSON the way a full client would. Returns the
    /// delivery's latency (µs), if any.
    @discardableResult
    public mutating func record(frame: ByteBuffer, receivedAtMs: Double, parse: Bool) -> UInt64? {
        if parse {
            guard let json = try? JSONParser.parse(String(buffer: frame)), let stream = json["stream"]?.string,
                let seq = json["seq"]?.int64
            else {
                other += 1
                return nil
            }
            parsed += 1
            return record(stream: stream, seq: Int(seq), ts: json["ts"]?.int64, receivedAtMs: receivedAtMs)
        } else {
            guard let found = FramePeek.scan(frame) else {
                other += 1
                return nil
            }
            return record(streamHash: found.streamHash, seq: found.seq, ts: found.ts, receivedAtMs: receivedAtMs)
        }
    }

    /// Adds another client's counts (its `seq` memory stays its own).
    public mutating func merge(_ other: DeliveryTally) {
        deliveries += other.deliveries
        gaps += other.gaps
        duplicates += other.duplicates
        parsed += other.parsed
        self.other += other.other
        latency.add(other.latency)
    }

    /// Adds latencies recorded elsewhere (the load recorder's shared histogram).
    public mutating func add(latencies: Histogram<UInt64>) { latency.add(latencies) }

    /// A new measurement window: counts and latencies start again, the `seq` memory does not.
    public mutating func startWindow() {
        deliveries = 0
        gaps = 0
        duplicates = 0
        parsed = 0
        other = 0
        latency.reset()
    }

    /// The latency at `percentile` (0–100), ms.
    public func latencyMs(_ percentile: Double) -> Double {
        latency.totalCount == 0 ? .nan : Double(latency.valueAtPercentile(percentile)) / 1000
    }

    /// Deliveries with a latency (those with a `ts`, duplicates left out).
    public var latencyCount: Int { Int(latency.totalCount) }

    public var maxLatencyMs: Double { latency.totalCount == 0 ? .nan : Double(latency.max) / 1000 }
}
