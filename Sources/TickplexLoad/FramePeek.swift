public import NIOCore

/// Reads a data message's `stream`, `seq` and `ts` from its bytes without parsing it (the branded envelope writes
/// `"stream":"…","type":…,"seq":N` first and `"ts":N` after the data): what a counting client that does not parse
/// spends per frame — a scan of raw bytes, no allocation.
public enum FramePeek {
    static let streamKey = Array(#""stream":""#.utf8)
    static let seqKey = Array(#""seq":"#.utf8)
    static let tsKey = Array(#","ts":"#.utf8)

    /// What the counting needs: the stream as a hash of its name (FNV-1a of its bytes), `seq`, `ts`.
    public struct Scan: Sendable, Equatable {
        public var streamHash: UInt64
        public var seq: Int
        public var ts: Int64?
    }

    public struct Fields: Sendable, Equatable {
        public var stream: String
        public var seq: Int
        /// The exchange's time of the event (ms), when present.
        public var ts: Int64?

        public init(stream: String, seq: Int, ts: Int64?) {
            self.stream = stream
            self.seq = seq
            self.ts = ts
        }
    }

    /// FNV-1a, 64 bits: the same for a stream name's bytes however they were read.
    public static func hash<Bytes: Sequence<UInt8>>(_ bytes: Bytes) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            h ^= UInt64(byte)
            h = h &* 0x100_0000_01b3
        }
        return h
    }

    /// The counting fields of a data message; nil for anything else (control replies, status, errors).
    public static func scan(_ payload: ByteBuffer) -> Scan? {
        payload.withUnsafeReadableBytes { raw in scan(raw)?.scan }
    }

    /// The fields with the stream's name (for tests and reports; the counting path uses `scan`).
    public static func fields(_ payload: ByteBuffer) -> Fields? {
        payload.withUnsafeReadableBytes { raw -> Fields? in
            guard let (range, found) = scan(raw) else { return nil }
            return Fields(
                stream: String(decoding: UnsafeRawBufferPointer(rebasing: raw[range]), as: UTF8.self), seq: found.seq,
                ts: found.ts)
        }
    }

    /// The stream name's byte range and the counting fields.
    private static func scan(_ raw: UnsafeRawBufferPointer) -> (stream: Range<Int>, scan: Scan)? {
        guard let range = streamRange(raw), let seqAt = find(seqKey, in: raw, from: range.upperBound, limit: 256),
            let seq = number(raw, from: seqAt)
        else { return nil }
        let ts = find(tsKey, in: raw, from: max(range.upperBound, raw.count - 128), limit: raw.count)
            .flatMap { number(raw, from: $0) }.map(Int64.init)
        return (range, Scan(streamHash: hash(UnsafeRawBufferPointer(rebasing: raw[range])), seq: seq, ts: ts))
    }

    private static func streamRange(_ raw: UnsafeRawBufferPointer) -> Range<Int>? {
        guard let start = find(streamKey, in: raw, from: 0, limit: 256) else { return nil }
        var end = start
        while end < raw.count, end < 256, raw[end] != UInt8(ascii: "\"") { end += 1 }
        guard end < raw.count, raw[end] == UInt8(ascii: "\"") else { return nil }
        return start..<end
    }

    /// Where `needle` ends in `raw[from..<limit]`, or nil.
    private static func find(_ needle: [UInt8], in raw: UnsafeRawBufferPointer, from: Int, limit: Int) -> Int? {
        let end = min(limit, raw.count) - needle.count
        guard from <= end else { return nil }
        let first = needle[0]
        var i = from
        outer: while i <= end {
            if raw[i] == first {
                for j in 1..<needle.count where raw[i + j] != needle[j] {
                    i += 1
                    continue outer
                }
                return i + needle.count
            }
            i += 1
        }
        return nil
    }

    private static func number(_ raw: UnsafeRawBufferPointer, from start: Int) -> Int? {
        var value = 0
        var digits = 0
        var i = start
        while i < raw.count, raw[i] >= 48, raw[i] <= 57, digits < 18 {
            value = value * 10 + Int(raw[i] - 48)
            digits += 1
            i += 1
        }
        return digits > 0 ? value : nil
    }
}
