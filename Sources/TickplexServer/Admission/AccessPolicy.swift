import Crypto
import TickplexCore

/// Who may use the node: API keys for `/ws` and the REST data routes (`AUTH_MODE=apikey`), browser origins for
/// `/ws` (`ALLOWED_ORIGINS`) and the admin token for `/stats` and `/metrics` (`ADMIN_TOKEN`). `/ready` and
/// `/health` stay open for probes.
struct AccessPolicy: Sendable {
    let mode: TickplexConfig.AuthMode
    private let plainKeys: Set<String>
    private let hashedKeys: Set<String>
    let allowedOrigins: Set<String>
    private let adminToken: String?

    init(config: TickplexConfig) {
        mode = config.authMode
        plainKeys = Set(config.apiKeys.filter { !$0.hasPrefix("sha256:") })
        hashedKeys = Set(config.apiKeys.filter { $0.hasPrefix("sha256:") }.map { String($0.dropFirst(7)).lowercased() })
        allowedOrigins = Set(config.allowedOrigins.map { $0.lowercased() })
        adminToken = config.adminToken
    }

    enum Verdict: Equatable {
        case allowed
        case refused(status: Int, reason: String)
    }

    /// A data client (`/ws`, `/v1/…`) presenting `credential`.
    func client(credential: String?) -> Verdict {
        guard mode == .apikey else { return .allowed }
        guard let credential, !credential.isEmpty else {
            return .refused(
                status: 401, reason: "an API key is required: send Authorization: Bearer <key> or ?token=<key>")
        }
        guard isKey(credential) else { return .refused(status: 401, reason: "the API key is not valid") }
        return .allowed
    }

    /// A browser's `Origin` on a WebSocket upgrade (non-browser clients send none).
    func origin(_ origin: String?) -> Verdict {
        guard !allowedOrigins.isEmpty, let origin else { return .allowed }
        guard allowedOrigins.contains(origin.lowercased()) else {
            return .refused(status: 403, reason: "origin \(origin) is not allowed (ALLOWED_ORIGINS)")
        }
        return .allowed
    }

    /// `/stats` and `/metrics`.
    func admin(credential: String?) -> Verdict {
        guard let adminToken else { return .allowed }
        guard let credential, Self.constantTimeEqual(credential, adminToken) else {
            return .refused(
                status: 401, reason: "this route needs the admin token: Authorization: Bearer <ADMIN_TOKEN>")
        }
        return .allowed
    }

    private func isKey(_ key: String) -> Bool {
        // Every configured key is compared, in constant time per key, so timing says nothing of which one matched.
        var found = false
        for plain in plainKeys where Self.constantTimeEqual(plain, key) { found = true }
        if !hashedKeys.isEmpty {
            let digest = SHA256.hash(data: Array(key.utf8)).map { Self.hex[Int($0)] }.joined()
            for hashed in hashedKeys where Self.constantTimeEqual(hashed, digest) { found = true }
        }
        return found
    }

    private static let hex: [String] = (0..<256).map {
        String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16)
    }

    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let (x, y) = (Array(a.utf8), Array(b.utf8))
        guard x.count == y.count else { return false }
        var diff: UInt8 = 0
        for i in 0..<x.count { diff |= x[i] ^ y[i] }
        return diff == 0
    }
}
