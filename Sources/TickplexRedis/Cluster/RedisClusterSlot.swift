import NIOCore

/// Redis Cluster's key → slot function: CRC16 (XMODEM) of the key, or of its hash tag (the part between the first
/// `{` and the next `}` when not empty), modulo 16384. Names that share a hash tag share a slot.
public enum RedisClusterSlot {
    public static let count = 16_384

    public static func slot(_ key: String) -> Int {
        let bytes = Array(key.utf8)
        var hashed = bytes[...]
        if let open = bytes.firstIndex(of: UInt8(ascii: "{")),
            let close = bytes[(open + 1)...].firstIndex(of: UInt8(ascii: "}")), close > open + 1
        {
            hashed = bytes[(open + 1)..<close]
        }
        return Int(crc16(hashed) % UInt16(count))
    }

    static func crc16(_ bytes: ArraySlice<UInt8>) -> UInt16 {
        var crc: UInt16 = 0
        for byte in bytes {
            crc ^= UInt16(byte) << 8
            for _ in 0..<8 { crc = crc & 0x8000 != 0 ? (crc << 1) ^ 0x1021 : crc << 1 }
        }
        return crc
    }

    /// The key a command is routed by: the first key of an `EVAL`/`EVALSHA` (after the key count), the channel of
    /// `SPUBLISH`/`SSUBSCRIBE`, otherwise the first argument; nil for commands without one (`PING`, `CLUSTER`…).
    public static func routingKey(_ command: RedisCommand) -> String? {
        let name = command.name
        let arguments = command.arguments
        switch name {
        case "PING", "CLUSTER", "INFO", "TIME", "AUTH", "SELECT", "ASKING", "PUBLISH", "PUBSUB", "SCRIPT":
            return nil
        case "EVAL", "EVALSHA":
            guard arguments.count > 3, let keys = arguments[2].text.flatMap(Int.init), keys > 0 else { return nil }
            return arguments[3].text
        default:
            return arguments.count > 1 ? arguments[1].text : nil
        }
    }
}

extension RedisArgument {
    /// The argument as text (a key or a channel).
    var text: String? {
        switch self {
        case .string(let s): s
        case .bytes(let b): String(buffer: b)
        case .integer(let i): String(i)
        }
    }
}
