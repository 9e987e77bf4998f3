import NIOCore
import NIOEmbedded
import NIOWebSocket
import Testing

@testable import TickplexServer

@Suite("Pre-framed text frames")
struct ServerTextFrameTests {
    @Test(
        "the bytes equal NIO's WebSocketFrameEncoder output for each length form",
        arguments: [0, 5, 125, 126, 200, 65535, 65536, 70000])
    func matchesNIOEncoder(length: Int) throws {
        let payload = ByteBuffer(repeating: UInt8(ascii: "x"), count: length)
        let channel = EmbeddedChannel(handler: WebSocketFrameEncoder())
        try channel.writeOutbound(WebSocketFrame(fin: true, opcode: .text, data: payload))
        var expected = ByteBuffer()
        while var part = try channel.readOutbound(as: ByteBuffer.self) { expected.writeBuffer(&part) }
        #expect(ServerTextFrame.encode(payload) == expected)
        _ = try channel.finish()
    }
}
