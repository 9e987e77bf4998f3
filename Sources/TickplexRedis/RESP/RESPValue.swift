public import NIOCore

/// One RESP2 reply. Bulk strings stay bytes (`ByteBuffer`); simple strings and errors are text by definition.
public enum RESPValue: Sendable, Equatable, CustomStringConvertible {
    case simpleString(String)
    case error(String)
    case integer(Int64)
    case bulkString(ByteBuffer)
    /// The null bulk string (`$-1`) or the null array (`*-1`).
    case null
    case array([RESPValue])

    /// The bytes of a bulk string as UTF-8 text, or the text of a simple string.
    public var string: String? {
        switch self {
        case .simpleString(let s): s
        case .bulkString(let b): String(buffer: b)
        default: nil
        }
    }

    public var int: Int64? {
        if case .integer(let i) = self { return i }
        if case .bulkString(let b) = self { return Int64(String(buffer: b)) }
        return nil
    }

    public var description: String {
        switch self {
        case .simpleString(let s): "+\(s)"
        case .error(let e): "-\(e)"
        case .integer(let i): ":\(i)"
        case .bulkString(let b): "$\"\(String(buffer: b))\""
        case .null: "(nil)"
        case .array(let items): "[" + items.map(\.description).joined(separator: ", ") + "]"
        }
    }
}
