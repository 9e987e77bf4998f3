public import HummingbirdWSClient
public import NIOCore
public import NIOWebSocket

/// WebSocket data frames → whole messages, within limits, for both sides that read untrusted peers: client
/// connections and exchange connections. The library's own assembly keeps every fragment in an array with no count
/// limit, so a peer sending empty non-final continuation frames (6 bytes each) grew the node without bound; here a
/// message may have at most `maxFragments` frames and `maxBytes` bytes in all. A pure state machine: the reader
/// feeds it each data frame and acts on what comes out.
public struct BoundedMessageAssembler: Sendable {
    /// The data-frame opcodes (control frames never reach the assembler).
    public enum Opcode: Sendable, Equatable {
        case text
        case binary
        case continuation
    }

    public enum Output: Equatable, Sendable {
        /// More fragments are expected.
        case pending
        case text(String)
        case binary
        /// Close the connection with this code and reason.
        case close(code: UInt16, reason: String)
    }

    public let maxBytes: Int
    public let maxFragments: Int
    private var started: Opcode?
    private var fragments = 0
    private var buffer = ByteBuffer()

    public init(maxBytes: Int, maxFragments: Int) {
        self.maxBytes = maxBytes
        self.maxFragments = maxFragments
    }

    /// A data frame as Hummingbird's WebSocket handler passes it (client connections).
    public mutating func receive(_ frame: WebSocketDataFrame) -> Output {
        let (data, fin) = (frame.data, frame.fin)
        return switch frame.opcode {
        case .text: receive(Opcode.text, data: data, fin: fin)
        case .binary: receive(Opcode.binary, data: data, fin: fin)
        case .continuation: receive(Opcode.continuation, data: data, fin: fin)
        }
    }

    /// A frame as SwiftNIO decodes it (exchange connections); a control frame here is a caller's mistake.
    public mutating func receive(_ frame: WebSocketFrame) -> Output {
        let (data, fin) = (frame.unmaskedData, frame.fin)
        return switch frame.opcode {
        case .text: receive(Opcode.text, data: data, fin: fin)
        case .binary: receive(Opcode.binary, data: data, fin: fin)
        case .continuation: receive(Opcode.continuation, data: data, fin: fin)
        default: Output.close(code: 1002, reason: "control frame \(frame.opcode) passed as data")
        }
    }

    public mutating func receive(_ opcode: Opcode, data: ByteBuffer, fin: Bool) -> Output {
        switch (opcode, started) {
        case (.continuation, nil):
            return .close(code: 1002, reason: "continuation frame without a message to continue")
        case (.text, .some), (.binary, .some):
            return .close(code: 1002, reason: "new message before the previous one was finished")
        case (.continuation, .some):
            break
        case (.text, nil), (.binary, nil):
            started = opcode
            fragments = 0
            buffer.clear()
        }
        fragments += 1
        guard fragments <= maxFragments else {
            return .close(code: 1008, reason: "message in more than \(maxFragments) fragments")
        }
        guard buffer.readableBytes + data.readableBytes <= maxBytes else {
            return .close(code: 1009, reason: "message larger than \(maxBytes) bytes")
        }
        guard fin else {
            var data = data
            buffer.writeBuffer(&data)
            return .pending
        }
        let kind = started
        started = nil
        if kind == .binary {
            buffer = ByteBuffer()
            return .binary
        }
        // A single-frame message (the usual case) is read straight from its frame, without a copy.
        let text: String?
        if fragments == 1 {
            text = String(validating: data.readableBytesView, as: UTF8.self)
        } else {
            var data = data
            buffer.writeBuffer(&data)
            text = String(validating: buffer.readableBytesView, as: UTF8.self)
        }
        // Not kept at the size of the largest message a client ever sent.
        buffer = ByteBuffer()
        guard let text else { return .close(code: 1007, reason: "text message is not valid UTF-8") }
        return .text(text)
    }

}
