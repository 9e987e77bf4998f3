import NIOCore
import Testing

@testable import TickplexRedis

@Suite("hiredis reply parsing")
struct RESPReaderTests {
    /// Every RESP2 reply type, including edge cases: empty and binary bulk strings, null bulk, null and empty
    /// arrays, negative and 64-bit integers, nested arrays and a pub/sub message.
    static let cases: [(bytes: String, value: RESPValue)] = [
        ("+OK\r\n", .simpleString("OK")),
        ("+\r\n", .simpleString("")),
        ("-ERR unknown command 'FOO'\r\n", .error("ERR unknown command 'FOO'")),
        ("-WRONGPASS invalid username-password pair\r\n", .error("WRONGPASS invalid username-password pair")),
        (":0\r\n", .integer(0)),
        (":-42\r\n", .integer(-42)),
        (":9223372036854775807\r\n", .integer(Int64.max)),
        (":-9223372036854775808\r\n", .integer(Int64.min)),
        ("$5\r\nhello\r\n", .bulkString(ByteBuffer(string: "hello"))),
        ("$0\r\n\r\n", .bulkString(ByteBuffer())),
        ("$8\r\na\r\nb\0c\r\n\r\n", .bulkString(ByteBuffer(bytes: Array("a\r\nb\0c\r\n".utf8)))),
        ("$-1\r\n", .null),
        ("*-1\r\n", .null),
        ("*0\r\n", .array([])),
        (
            "*3\r\n$7\r\nmessage\r\n$4\r\nchan\r\n$13\r\n{\"p\":\"1.50\"}\n\r\n",
            .array([
                .bulkString(ByteBuffer(string: "message")), .bulkString(ByteBuffer(string: "chan")),
                .bulkString(ByteBuffer(string: "{\"p\":\"1.50\"}\n")),
            ])
        ),
        (
            "*4\r\n:1\r\n*2\r\n+a\r\n$-1\r\n*0\r\n-E\r\n",
            .array([.integer(1), .array([.simpleString("a"), .null]), .array([]), .error("E")])
        ),
        (
            "*2\r\n*1\r\n*1\r\n:7\r\n$3\r\n\u{e2}\u{82}\u{ac}\r\n",
            .array([
                .array([.array([.integer(7)])]),
                .bulkString(ByteBuffer(bytes: Array("\u{e2}\u{82}\u{ac}".unicodeScalars.map { UInt8($0.value) }))),
            ])
        ),
    ]

    static var stream: [UInt8] {
        cases.flatMap { bytes(of: $0.bytes) }
    }

    /// The test strings spell raw bytes: each scalar below 256 is one byte.
    static func bytes(of text: String) -> [UInt8] {
        text.unicodeScalars.map { UInt8($0.value) }
    }

    static func drain(_ reader: RESPReader) throws -> [RESPValue] {
        var out: [RESPValue] = []
        while let v = try reader.next() { out.append(v) }
        return out
    }

    @Test("each reply type parses to its value")
    func eachType() throws {
        for (text, value) in Self.cases {
            let reader = RESPReader()
            try reader.feed(ByteBuffer(bytes: Self.bytes(of: text)))
            #expect(try Self.drain(reader) == [value], "bytes: \(text.debugDescription)")
        }
    }

    @Test("the whole stream, split in two at every possible byte, gives the same replies")
    func everyTwoWaySplit() throws {
        let all = Self.stream
        let expected = Self.cases.map(\.value)
        for split in 0...all.count {
            let reader = RESPReader()
            try reader.feed(ByteBuffer(bytes: all[0..<split]))
            var got = try Self.drain(reader)
            try reader.feed(ByteBuffer(bytes: all[split...]))
            got += try Self.drain(reader)
            #expect(got == expected, "split at byte \(split)")
        }
    }

    @Test("fed one byte at a time, nothing is returned early")
    func byteByByte() throws {
        let reader = RESPReader()
        var got: [RESPValue] = []
        for byte in Self.stream {
            try reader.feed(ByteBuffer(bytes: [byte]))
            got += try Self.drain(reader)
        }
        #expect(got == Self.cases.map(\.value))
    }

    @Test("a byte stream that is not RESP is a protocol error, not a crash")
    func protocolError() throws {
        let reader = RESPReader()
        try reader.feed(ByteBuffer(string: "?what\r\n"))
        #expect(throws: RESPProtocolError.self) { try reader.next() }
        let reader2 = RESPReader()
        try reader2.feed(ByteBuffer(string: ":12x\r\n"))
        #expect(throws: RESPProtocolError.self) { try reader2.next() }
    }
}
