import NIOCore

/// A complete server→client WebSocket text frame (FIN, unmasked, RFC 6455 §5.2) around a JSON payload, built once
/// per message so that every client's socket is handed the same bytes.
enum ServerTextFrame {
    static func encode(_ payload: ByteBuffer) -> ByteBuffer {
        let length = payload.readableBytes
        var frame = ByteBufferAllocator().buffer(capacity: length + 10)
        frame.writeInteger(UInt8(0x81))
        if length < 126 {
            frame.writeInteger(UInt8(length))
        } else if length <= 0xFFFF {
            frame.writeInteger(UInt8(126))
            frame.writeInteger(UInt16(length))
        } else {
            frame.writeInteger(UInt8(127))
            frame.writeInteger(UInt64(length))
        }
        var body = payload
        frame.writeBuffer(&body)
        return frame
    }
}
