import NIOCore
import Testing

@testable import TickplexUpstream

@Suite("WebSocket message assembly (pure): fragments and size bounded")
struct BoundedMessageAssemblerTests {
    @Test("a single text frame is a message; fragments are joined in order")
    func joins() {
        var a = BoundedMessageAssembler(maxBytes: 100, maxFragments: 4)
        #expect(a.receive(.text, data: ByteBuffer(string: #"{"op":"ping"}"#), fin: true) == .text(#"{"op":"ping"}"#))
        #expect(a.receive(.text, data: ByteBuffer(string: #"{"op":"#), fin: false) == .pending)
        #expect(a.receive(.continuation, data: ByteBuffer(string: #""pi"#), fin: false) == .pending)
        #expect(a.receive(.continuation, data: ByteBuffer(string: #"ng"}"#), fin: true) == .text(#"{"op":"ping"}"#))
        #expect(a.receive(.binary, data: ByteBuffer(bytes: [1, 2]), fin: true) == .binary)
    }

    @Test("empty non-final continuations past the fragment limit: close 1008, whatever their size")
    func fragmentFlood() {
        var a = BoundedMessageAssembler(maxBytes: 65_536, maxFragments: 64)
        #expect(a.receive(.text, data: ByteBuffer(), fin: false) == .pending)
        var last = BoundedMessageAssembler.Output.pending
        var frames = 1
        while last == .pending && frames < 1_000 {
            last = a.receive(.continuation, data: ByteBuffer(), fin: false)
            frames += 1
        }
        #expect(frames == 65)
        #expect(last == .close(code: 1008, reason: "message in more than 64 fragments"))
    }

    @Test("the joined size counts: past maxBytes → 1009")
    func size() {
        var a = BoundedMessageAssembler(maxBytes: 10, maxFragments: 64)
        #expect(a.receive(.text, data: ByteBuffer(string: "123456"), fin: false) == .pending)
        #expect(
            a.receive(.continuation, data: ByteBuffer(string: "78901"), fin: true)
                == .close(code: 1009, reason: "message larger than 10 bytes"))
    }

    @Test("protocol errors: a continuation with nothing to continue, a new message inside one, bad UTF-8")
    func protocolErrors() {
        var a = BoundedMessageAssembler(maxBytes: 100, maxFragments: 4)
        #expect(
            a.receive(.continuation, data: ByteBuffer(string: "x"), fin: true)
                == .close(code: 1002, reason: "continuation frame without a message to continue"))
        var b = BoundedMessageAssembler(maxBytes: 100, maxFragments: 4)
        _ = b.receive(.text, data: ByteBuffer(string: "x"), fin: false)
        #expect(
            b.receive(.text, data: ByteBuffer(string: "y"), fin: true)
                == .close(code: 1002, reason: "new message before the previous one was finished"))
        var c = BoundedMessageAssembler(maxBytes: 100, maxFragments: 4)
        #expect(
            c.receive(.text, data: ByteBuffer(bytes: [0x7B, 0xC3, 0x28, 0x7D]), fin: true)
                == .close(code: 1007, reason: "text message is not valid UTF-8"))
        // A real U+FFFD is valid text.
        #expect(c.receive(.text, data: ByteBuffer(string: "\u{FFFD}"), fin: true) == .text("\u{FFFD}"))
    }
}
