import NIOCore

/// Turns the socket's bytes into `RESPValue`s with hiredis; replies split across reads at any byte are reassembled.
final class RESPDecoder: ByteToMessageDecoder {
    typealias InboundOut = RESPValue

    private let reader = RESPReader()

    func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard buffer.readableBytes > 0 else { return .needMoreData }
        try reader.feed(buffer)
        buffer.moveReaderIndex(forwardBy: buffer.readableBytes)
        while let value = try reader.next() {
            context.fireChannelRead(wrapInboundOut(value))
        }
        return .needMoreData
    }

    func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        try decode(context: context, buffer: &buffer)
    }
}
