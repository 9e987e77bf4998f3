import NIOCore
import Testing

@testable import TickplexRedis

@Suite("Command encoding through hiredis")
struct RedisCommandEncoderTests {
    func encode(_ commands: RedisCommand...) -> String {
        var encoder = RedisCommandEncoder()
        var buffer = ByteBuffer()
        for c in commands { encoder.encode(c, into: &buffer) }
        return String(buffer: buffer)
    }

    @Test("commands encode as RESP arrays of bulk strings")
    func encodes() {
        #expect(encode(RedisCommand("PING")) == "*1\r\n$4\r\nPING\r\n")
        #expect(
            encode(RedisCommand("SET", "k", "v", "PX", 1500))
                == "*5\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n$2\r\nPX\r\n$4\r\n1500\r\n")
    }

    @Test("binary-safe: CRLF, NUL and empty arguments keep their exact length")
    func binarySafe() {
        let payload = ByteBuffer(bytes: [0x00, 0x0D, 0x0A, 0xFF])
        var encoder = RedisCommandEncoder()
        var buffer = ByteBuffer()
        encoder.encode(.publish("c", payload), into: &buffer)
        let expected: [UInt8] =
            Array("*3\r\n$7\r\nPUBLISH\r\n$1\r\nc\r\n$4\r\n".utf8) + [0x00, 0x0D, 0x0A, 0xFF] + Array("\r\n".utf8)
        #expect(Array(buffer.readableBytesView) == expected)
        #expect(encode(RedisCommand("ECHO", "")) == "*2\r\n$4\r\nECHO\r\n$0\r\n\r\n")
    }

    @Test("one encoder reused across a batch produces the concatenation")
    func batch() {
        #expect(
            encode(RedisCommand("PING"), RedisCommand("ECHO", "a"))
                == "*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nECHO\r\n$1\r\na\r\n")
    }
}
