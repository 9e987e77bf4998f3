import NIOCore

/// Reads the `seq` of a data message without parsing it: the transformer writes `"seq":N` among the first fields.
enum SeqPeek {
    private static let key = Array(#""seq":"#.utf8)

    static func seq(in bytes: ByteBuffer) -> Int? {
        let view = bytes.readableBytesView.prefix(256)
        guard let range = view.firstRange(of: key) else { return nil }
        var value = 0
        var digits = 0
        var i = range.upperBound
        while i < view.endIndex, view[i] >= 48, view[i] <= 57, digits < 18 {
            value = value * 10 + Int(view[i] - 48)
            digits += 1
            i += 1
        }
        return digits > 0 ? value : nil
    }
}
