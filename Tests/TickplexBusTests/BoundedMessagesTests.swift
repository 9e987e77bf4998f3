import NIOCore
import Testing

@testable import TickplexBus

@Suite("The bus's received-message stream is bounded")
struct BoundedMessagesTests {
    @Test("past messageBound unread messages the oldest are dropped and counted; the newest are kept in order")
    func bounded() async {
        let received = BoundedMessages()
        let extra = 10
        for i in 0..<(messageBound + extra) {
            received.yield(BusMessage(channel: "c", payload: ByteBuffer(string: "\(i)")))
        }
        #expect(received.dropped == extra)
        received.finish()
        var first: String?
        var count = 0
        for await message in received.stream {
            if first == nil { first = String(buffer: message.payload) }
            count += 1
        }
        #expect(count == messageBound)
        #expect(first == "\(extra)", "the oldest went")
    }
}
