import NIOCore
import Testing

@testable import TickplexServer

@Suite("Reading seq without parsing")
struct SeqPeekTests {
    @Test("seq from a payload and from the same payload framed; nil when absent or not a number")
    func seq() {
        let payload = ByteBuffer(
            string:
                #"{"stream":"tickplex.bybit.linear.ticker.BTCUSDT","type":"update","seq":42,"data":{"seq":7},"ts":1}"#)
        #expect(SeqPeek.seq(in: payload) == 42)
        #expect(SeqPeek.seq(in: ServerTextFrame.encode(payload)) == 42)
        #expect(SeqPeek.seq(in: ByteBuffer(string: #"{"op":"pong","timestamp":1}"#)) == nil)
        #expect(SeqPeek.seq(in: ByteBuffer(string: #"{"seq":"x"}"#)) == nil)
    }
}
