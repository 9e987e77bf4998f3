import Foundation
import HTTPTypes
import JWTKit
import Testing
import TickplexTestSupport

@testable import TickplexServer

/// AUTH_MODE=jwt against the real binary: HS256 with JWT_SECRET, ES256 from a JWKS file; claims narrow venues,
/// kinds and subscriptions; an expired token is 401 before the upgrade and 4001 on an open connection.
@Suite("JWT access control against the real binary", .serialized)
struct JWTAuthTests {
    static let secret = "jwt-secret-for-the-tests-0123456789abcdef"

    /// The claims the node reads, signed here as an issuer would.
    typealias Claims = TickplexClaims

    static func hs256(_ claims: Claims, secret: String = secret) async throws -> String {
        let keys = JWTKeyCollection()
        await keys.add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256)
        return try await keys.sign(claims)
    }

    static func claims(in seconds: Double, venues: [String]? = nil, kinds: [String]? = nil, max: Int? = nil) -> Claims {
        Claims(
            exp: ExpirationClaim(value: Date().addingTimeInterval(seconds)), venues: venues, kinds: kinds,
            maxSubscriptions: max)
    }

    @Test("HS256: a valid token by header or ?token= is admitted; missing, expired, badly signed → 401 (ws and REST)")
    func hs256Paths() async throws {
        let valid = try await Self.hs256(Self.claims(in: 3600))
        let expired = try await Self.hs256(Self.claims(in: -60))
        let forged = try await Self.hs256(Self.claims(in: 3600), secret: "another-secret-of-the-same-length-012345")
        try await TickplexProcess.serving(["AUTH_MODE": "jwt", "JWT_SECRET": Self.secret]) { port, process in
            let cases: [(target: String, headers: [(String, String)], status: Int, says: String)] = [
                ("/ws", [], 401, "token is required"),
                ("/ws?token=\(expired)", [], 401, "expired"),
                ("/ws", [("Authorization", "Bearer \(forged)")], 401, "not valid"),
                ("/ws?token=not.a.jwt", [], 401, "not valid"),
                ("/ws", [("Authorization", "Bearer \(valid)")], 101, ""),
                ("/ws?token=\(valid)", [], 101, ""),
            ]
            for c in cases {
                let client = try await RawWebSocketClient.connect(
                    port: port, target: c.target, headers: [("Upgrade", "websocket")] + c.headers)
                #expect(await client.handshake() == c.status, "\(c.target.prefix(20)) \(c.headers.map(\.0))")
                if c.status == 401 {
                    #expect(client.received.handshakeText.contains(c.says), "\(client.received.handshakeText)")
                } else {
                    try await client.send(#"{"op":"ping"}"#)
                    #expect(await eventually { client.received.texts.contains { $0.contains("pong") } })
                }
                client.close()
            }
            let path = "/v1/klines?symbol=BTCUSDT&interval=1m"
            #expect(try await httpGet(port: port, path).status == 401)
            #expect(try await httpGet(port: port, path + "&token=\(expired)").status == 401)
            let ok = try await httpRequest(port: port, .get, path, headers: [.authorization: "Bearer \(valid)"])
            #expect(ok.status == 200)
            #expect(!(process.stdout + process.stderr).contains(Self.secret))
        }
    }

    @Test("claims narrow what a client may take: venues, kinds and max_subscriptions, each refused with a reason")
    func claimsNarrow() async throws {
        let token = try await Self.hs256(Self.claims(in: 3600, venues: ["bybit.linear"], kinds: ["ticker"], max: 2))
        try await TickplexProcess.serving(["AUTH_MODE": "jwt", "JWT_SECRET": Self.secret]) { port, _ in
            let client = try await RawWebSocketClient.connect(port: port, target: "/ws?token=\(token)")
            #expect(await client.handshake() == 101)
            func reply(_ id: String, _ args: [String]) async throws -> (args: [String], reasons: [String]) {
                let list = args.map { "\"\($0)\"" }.joined(separator: ",")
                try await client.send(#"{"op":"subscribe","req_id":"\#(id)","args":[\#(list)]}"#)
                #expect(await eventually { client.received.texts.contains { $0.contains(#""req_id":"\#(id)""#) } })
                let reply = try #require(
                    client.received.texts.first { $0.contains(#""req_id":"\#(id)""#) }.flatMap { jsonObject($0) })
                let reasons = (reply["rejected"] as? [[String: String]] ?? []).map { $0["reason"] ?? "" }
                return (reply["args"] as? [String] ?? [], reasons)
            }
            let kinds = try await reply("k", ["ticker:BTCUSDT", "trade:BTCUSDT"])
            #expect(kinds.args == ["ticker:BTCUSDT"])
            #expect(kinds.reasons.count == 1 && kinds.reasons[0].contains("does not allow trade streams"))
            let venues = try await reply("v", ["ticker:BTCUSDT@binance.spot", "ticker:ETHUSDT"])
            #expect(venues.args == ["ticker:ETHUSDT"])
            #expect(venues.reasons.count == 1 && venues.reasons[0].contains("does not allow venue binance.spot"))
            let third = try await reply("m", ["ticker:SOLUSDT"])
            #expect(third.args.isEmpty)
            #expect(
                third.reasons.count == 1 && third.reasons[0].contains("subscription limit reached (2 per connection)"))
            client.close()
        }
    }

    @Test("an open connection whose token expires is closed with 4001 and a reason")
    func expiryCloses4001() async throws {
        let token = try await Self.hs256(Self.claims(in: 3))
        try await TickplexProcess.serving(["AUTH_MODE": "jwt", "JWT_SECRET": Self.secret]) { port, _ in
            let client = try await RawWebSocketClient.connect(port: port, target: "/ws?token=\(token)")
            #expect(await client.handshake() == 101)
            try await client.send(#"{"op":"subscribe","args":["ticker:BTCUSDT"]}"#)
            #expect(await eventually(timeout: .seconds(10)) { client.received.closeCode == 4001 })
            #expect(client.received.closeReason == "token expired")
            client.close()
        }
    }

    @Test(
        "ES256 from a JWKS file: a token of its key is admitted, one of another key refused; a bad JWKS stops start-up")
    func es256JWKS() async throws {
        let key = ES256PrivateKey()
        let other = ES256PrivateKey()
        let (x, y) = try #require(key.publicKey.parameters)
        let jwks =
            #"{"keys":[{"kty":"EC","crv":"P-256","kid":"k1","alg":"ES256","use":"sig","x":"\#(x)","y":"\#(y)"}]}"#
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("tickplex-jwks-\(UUID()).json").path
        try jwks.write(toFile: file, atomically: true, encoding: .utf8)
        func sign(_ key: ES256PrivateKey) async throws -> String {
            let keys = JWTKeyCollection()
            await keys.add(ecdsa: key, kid: "k1")
            return try await keys.sign(Self.claims(in: 3600), kid: "k1")
        }
        let good = try await sign(key)
        let bad = try await sign(other)
        try await TickplexProcess.serving(["AUTH_MODE": "jwt", "JWT_JWKS_FILE": file]) { port, _ in
            for (token, status) in [(good, 101), (bad, 401)] {
                let client = try await RawWebSocketClient.connect(port: port, target: "/ws?token=\(token)")
                #expect(await client.handshake() == status)
                client.close()
            }
        }
        try "{not json".write(toFile: file, atomically: true, encoding: .utf8)
        let broken = try await TickplexProcess.run(
            arguments: ["serve"], environment: ["AUTH_MODE": "jwt", "JWT_JWKS_FILE": file, "PORT": "0"])
        #expect(broken.exitCode != 0)
    }
}
