import CHiredis
public import NIOCore

/// One argument of a Redis command: binary-safe bytes, text, or a number sent as its decimal text.
public enum RedisArgument: Sendable, Equatable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral {
    case string(String)
    case bytes(ByteBuffer)
    case integer(Int)

    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .integer(value) }
}

/// A Redis command: its name and arguments, encoded to RESP by hiredis's `redisFormatCommandArgv`.
public struct RedisCommand: Sendable, Equatable, CustomStringConvertible {
    public var arguments: [RedisArgument]

    public init(_ arguments: RedisArgument...) { self.arguments = arguments }
    public init(arguments: [RedisArgument]) { self.arguments = arguments }

    public var name: String {
        if case .string(let s) = arguments.first { return s.uppercased() }
        return "?"
    }

    public var description: String { name }

    public static func publish(_ channel: String, _ payload: ByteBuffer, sharded: Bool = false) -> RedisCommand {
        RedisCommand(.string(sharded ? "SPUBLISH" : "PUBLISH"), .string(channel), .bytes(payload))
    }
}

/// Encodes commands through hiredis, reusing its scratch storage across the commands of one batch.
public struct RedisCommandEncoder {
    private var scratch: [UInt8] = []
    private var offsets: [Int] = []
    private var lengths: [Int] = []

    public init() {}

    /// Appends the RESP encoding of `command` to `buffer`.
    public mutating func encode(_ command: RedisCommand, into buffer: inout ByteBuffer) {
        scratch.removeAll(keepingCapacity: true)
        offsets.removeAll(keepingCapacity: true)
        lengths.removeAll(keepingCapacity: true)
        for argument in command.arguments {
            offsets.append(scratch.count)
            let before = scratch.count
            switch argument {
            case .string(let s): scratch.append(contentsOf: s.utf8)
            case .bytes(let b): b.withUnsafeReadableBytes { scratch.append(contentsOf: $0) }
            case .integer(let i): scratch.append(contentsOf: String(i).utf8)
            }
            lengths.append(scratch.count - before)
        }
        // A trailing byte keeps the base address valid when every argument is empty.
        scratch.append(0)
        let argc = Int32(command.arguments.count)
        scratch.withUnsafeBufferPointer { bytes in
            let base = UnsafeRawPointer(bytes.baseAddress!).assumingMemoryBound(to: CChar.self)
            var argv: [UnsafePointer<CChar>?] = offsets.map { base + $0 }
            var target: UnsafeMutablePointer<CChar>?
            let n = lengths.withUnsafeBufferPointer { lens in
                argv.withUnsafeMutableBufferPointer { argvPtr in
                    redisFormatCommandArgv(&target, argc, argvPtr.baseAddress, lens.baseAddress)
                }
            }
            guard n > 0, let target else { fatalError("hiredis: redisFormatCommandArgv out of memory") }
            buffer.writeBytes(UnsafeRawBufferPointer(start: target, count: Int(n)))
            redisFreeCommand(target)
        }
    }
}
