import NIOCore

/// One client connection's WebSocket control state (RFC 6455): the server's keep-alive pings and the close
/// handshake. Pure: `ClientChannelHandler` feeds it what arrives and what the clock says, and does what it answers.
///
/// Keep-alive: a ping goes out every period; a ping still unanswered when the next one is due ends the connection
/// (CLIENT_IDLE_TIMEOUT: "a client that answers pongs is not idle"). Close: whoever closes first sends a close
/// frame; the server closes the socket once the client's close frame came back (or after a timeout).
struct ClientLink: Sendable, Equatable {
    enum Phase: Sendable, Equatable {
        case open
        /// Our close frame went out; waiting for the client's.
        case closing
        case closed
    }

    private(set) var phase = Phase.open
    /// The payload of the ping not answered yet.
    private(set) var unansweredPing: UInt64?
    private var pings: UInt64

    /// `seed` makes each connection's ping payloads its own (a pong must echo the last ping's payload).
    init(seed: UInt64) { pings = seed }

    enum PingStep: Sendable, Equatable {
        /// Send a ping with this payload (8 bytes, big-endian).
        case send(UInt64)
        /// The last ping was never answered: the client is gone or idle; close it.
        case timedOut
        /// Closing or closed: no more pings.
        case stop
    }

    /// The ping period came round.
    mutating func pingDue() -> PingStep {
        guard phase == .open else { return .stop }
        if unansweredPing != nil { return .timedOut }
        pings &+= 0x9E37_79B9_7F4A_7C15
        unansweredPing = pings
        return .send(pings)
    }

    /// A pong arrived; only one echoing the last ping counts (RFC 6455 allows unsolicited pongs, which prove
    /// nothing about the ping).
    mutating func receivedPong(_ payload: ByteBuffer) {
        guard let expected = unansweredPing, payload.readableBytes == 8,
            payload.getInteger(at: payload.readerIndex, as: UInt64.self) == expected
        else { return }
        unansweredPing = nil
    }

    /// The server wants to close: true when its close frame is to be sent now (false: already closing or closed).
    mutating func close() -> Bool {
        guard phase == .open else { return false }
        phase = .closing
        return true
    }

    enum CloseStep: Sendable, Equatable {
        /// The client closed first: answer with a close frame carrying this code, then close the socket.
        case reply(code: UInt16)
        /// The client answered our close: close the socket.
        case finish
        /// Already closed.
        case ignore
    }

    /// A close frame from the client, with its payload (an optional 2-byte code, then an optional UTF-8 reason).
    mutating func receivedClose(_ payload: ByteBuffer) -> CloseStep {
        switch phase {
        case .closed: return .ignore
        case .closing:
            phase = .closed
            return .finish
        case .open:
            phase = .closed
            return .reply(code: Self.replyCode(to: payload))
        }
    }

    /// RFC 6455 §7.4: an empty payload or a valid code is answered 1000; a 1-byte payload, a code no endpoint may
    /// send, or a reason that is not UTF-8 is a protocol error (1002).
    static func replyCode(to payload: ByteBuffer) -> UInt16 {
        if payload.readableBytes == 0 { return 1000 }
        guard payload.readableBytes >= 2, let code = payload.getInteger(at: payload.readerIndex, as: UInt16.self)
        else { return 1002 }
        let reason = payload.getSlice(at: payload.readerIndex + 2, length: payload.readableBytes - 2) ?? ByteBuffer()
        guard String(validating: reason.readableBytesView, as: UTF8.self) != nil else { return 1002 }
        return isValidCloseCode(code) ? 1000 : 1002
    }

    /// Codes a peer may put in a close frame: the defined ones (not 1004–1006, 1015, which are never sent) and the
    /// ranges for libraries (3000–3999) and private use (4000–4999).
    static func isValidCloseCode(_ code: UInt16) -> Bool {
        switch code {
        case 1000...1003, 1007...1014, 3000...4999: true
        default: false
        }
    }
}
