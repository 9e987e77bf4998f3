import CHiredis
public import NIOCore

/// Incremental RESP2 reply parser backed by hiredis's reader (`redisReaderCreate/Feed/GetReply`).
///
/// Feed bytes as they arrive from the socket in any split; `next()` returns each complete reply once.
/// Not thread-safe: one reader belongs to one connection on one event loop.
public final class RESPReader {
    private let reader: UnsafeMutablePointer<redisReader>
    private let allocator = ByteBufferAllocator()

    public init() {
        guard let reader = redisReaderCreate() else { fatalError("hiredis: redisReaderCreate out of memory") }
        self.reader = reader
    }

    deinit {
        redisReaderFree(reader)
    }

    /// Hands bytes to hiredis (which copies them into its own buffer).
    public func feed(_ bytes: UnsafeRawBufferPointer) throws(RESPProtocolError) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        guard redisReaderFeed(reader, base.assumingMemoryBound(to: CChar.self), bytes.count) == REDIS_OK else {
            throw RESPProtocolError(reason: errorString)
        }
    }

    public func feed(_ buffer: ByteBuffer) throws(RESPProtocolError) {
        let result: RESPProtocolError? = buffer.withUnsafeReadableBytes { bytes in
            do throws(RESPProtocolError) {
                try feed(bytes)
                return nil
            } catch {
                return error
            }
        }
        if let result { throw result }
    }

    /// The next complete reply, or `nil` when more bytes are needed.
    public func next() throws(RESPProtocolError) -> RESPValue? {
        var raw: UnsafeMutableRawPointer?
        guard redisReaderGetReply(reader, &raw) == REDIS_OK else {
            throw RESPProtocolError(reason: errorString)
        }
        guard let raw else { return nil }
        defer { freeReplyObject(raw) }
        return convert(UnsafePointer(raw.assumingMemoryBound(to: redisReply.self)))
    }

    private var errorString: String {
        withUnsafeBytes(of: reader.pointee.errstr) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }

    private func convert(_ reply: UnsafePointer<redisReply>) -> RESPValue {
        let r = reply.pointee
        switch r.type {
        case REDIS_REPLY_STRING:
            var buffer = allocator.buffer(capacity: r.len)
            if r.len > 0 { buffer.writeBytes(UnsafeRawBufferPointer(start: r.str, count: r.len)) }
            return .bulkString(buffer)
        case REDIS_REPLY_STATUS:
            return .simpleString(text(r.str, r.len))
        case REDIS_REPLY_ERROR:
            return .error(text(r.str, r.len))
        case REDIS_REPLY_INTEGER:
            return .integer(Int64(r.integer))
        case REDIS_REPLY_ARRAY:
            var items: [RESPValue] = []
            items.reserveCapacity(r.elements)
            for i in 0..<r.elements {
                if let element = r.element[i] { items.append(convert(element)) }
            }
            return .array(items)
        default:  // REDIS_REPLY_NIL
            return .null
        }
    }

    private func text(_ pointer: UnsafeMutablePointer<CChar>?, _ length: Int) -> String {
        guard let pointer, length > 0 else { return "" }
        return String(decoding: UnsafeRawBufferPointer(start: pointer, count: length), as: UTF8.self)
    }
}

/// The byte stream is not RESP2 (hiredis's own words in `reason`).
public struct RESPProtocolError: Error, Sendable, Equatable {
    public let reason: String
}
