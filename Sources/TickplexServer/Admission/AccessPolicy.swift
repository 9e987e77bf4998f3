import Crypto
import TickplexConfig

/// Who may use the node: API keys for `/ws` and the REST data routes (`AUTH_MODE=apikey`), browser origins for
/// `/ws` (`ALLOWED_ORIGINS`) and the admin token for `/stats` and `/metrics` (`ADMIN_TOKEN`). `/ready` and
/// `/health` stay open for probes.
struct AccessPolicy: Sendable {
    let mode: TickplexConfig.AuthMode
    private let plainKeys: [String]
    /// SHA-256 digests of the `sha256:<hex>` entries, decoded once.
    private let hashedKeys: [[UInt8]]
    let allowedOrigins: Set<String>
    private let adminToken: String?
    /// `AUTH_MODE=jwt`: verifies tokens (asynchronously; the gate waits for it before the upgrade).
    let tokens: TokenVerifier?
    /// `API_KEYS_REDIS_SET`: whether a key (plain, or its `sha256:` form) is a member of the set; nil when Redis
    /// could not be asked.
    typealias KeySetLookup = @Sendable (_ plain: String, _ hashed: String) async -> Bool?
    private let keySet: KeySetLookup?

    /// Whether a client's credential is checked off the event loop (JWT, or keys in Redis).
    var checksAsynchronously: Bool { tokens != nil || keySet != nil }

    init(config: TickplexConfig, keySet: KeySetLookup? = nil) {
        self.keySet = config.authMode == .apikey ? keySet : nil
        mode = config.authMode
        plainKeys = config.apiKeys.filter { !$0.hasPrefix("sha256:") }
        hashedKeys = config.apiKeys.filter { $0.hasPrefix("sha256:") }.map { Self.bytes(hex: $0.dropFirst(7)) }
        allowedOrigins = Set(config.allowedOrigins.map { $0.lowercased() })
        adminToken = config.adminToken
        tokens = config.authMode == .jwt ? TokenVerifier(secret: config.jwtSecret, jwksFile: config.jwtJWKSFile) : nil
    }

    /// A data client (`/ws`, `/v1/…`) presenting `credential`, in every mode (JWT verification is async).
    func client(credential: String?) async -> (grant: ClientGrant?, verdict: Admission) {
        if let tokens { return await tokens.verify(credential) }
        let listed = apiKey(credential: credential)
        guard case .refused = listed, let keySet, let credential, !credential.isEmpty else { return (nil, listed) }
        let digest = SHA256.hash(data: Array(credential.utf8)).map { String($0, radix: 16) }
            .map { $0.count == 1 ? "0" + $0 : $0 }.joined()
        switch await keySet(credential, "sha256:" + digest) {
        case true?: return (nil, .admitted)
        case false?: return (nil, listed)
        case nil: return (nil, .refused(status: 503, reason: "the API key cannot be checked now (Redis unavailable)"))
        }
    }

    /// `AUTH_MODE=apikey` (or none): checked at once.
    func apiKey(credential: String?) -> Admission {
        guard mode == .apikey else { return .admitted }
        guard let credential, !credential.isEmpty else {
            return .refused(
                status: 401, reason: "an API key is required: send Authorization: Bearer <key> or ?token=<key>")
        }
        guard isKey(credential) else { return .refused(status: 401, reason: "the API key is not valid") }
        return .admitted
    }

    /// A browser's `Origin` on a WebSocket upgrade (non-browser clients send none).
    func origin(_ origin: String?) -> Admission {
        guard !allowedOrigins.isEmpty, let origin else { return .admitted }
        guard allowedOrigins.contains(origin.lowercased()) else {
            return .refused(status: 403, reason: "origin \(origin) is not allowed (ALLOWED_ORIGINS)")
        }
        return .admitted
    }

    /// `/stats` and `/metrics`.
    func admin(credential: String?) -> Admission {
        guard let adminToken else { return .admitted }
        guard let credential, Self.constantTimeEqual(credential.utf8, adminToken.utf8) else {
            return .refused(
                status: 401, reason: "this route needs the admin token: Authorization: Bearer <ADMIN_TOKEN>")
        }
        return .admitted
    }

    private func isKey(_ key: String) -> Bool {
        // Every configured key is compared, in constant time per key, so timing says nothing of which one matched.
        var found = false
        for plain in plainKeys where Self.constantTimeEqual(plain.utf8, key.utf8) { found = true }
        if !hashedKeys.isEmpty {
            let digest = Array(SHA256.hash(data: Array(key.utf8)))
            for hashed in hashedKeys where Self.constantTimeEqual(hashed, digest) { found = true }
        }
        return found
    }

    static func constantTimeEqual(_ a: some Collection<UInt8>, _ b: some Collection<UInt8>) -> Bool {
        guard a.count == b.count else { return false }
        var diff: UInt8 = 0
        for (x, y) in zip(a, b) { diff |= x ^ y }
        return diff == 0
    }

    /// `sha256:` entries were checked to be 64 hex digits when the configuration was read.
    private static func bytes(hex: Substring) -> [UInt8] {
        var out: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            out.append(UInt8(hex[index..<next], radix: 16) ?? 0)
            index = next
        }
        return out
    }

    /// The credential a client presents: `Authorization: Bearer <token>`, else `?token=` (browsers cannot set
    /// headers on a WebSocket). One reading for the gate and the REST middleware.
    static func credential(authorization: [String], token: String?) -> String? {
        for value in authorization {
            let parts = value.split(separator: " ", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == "bearer" { return String(parts[1].trimmingSpaces) }
        }
        return token
    }
}
