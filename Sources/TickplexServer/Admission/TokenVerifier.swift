import Foundation
import JWTKit
import TickplexModel

/// What a client's JSON Web Token allows (`AUTH_MODE=jwt`): the standard `exp`, and optionally `venues`, `kinds`
/// and `max_subscriptions`, which narrow what the node's own limits allow.
struct ClientGrant: Sendable, Equatable {
    var expiresAt: Date?
    var venues: Set<Venue>?
    var kinds: Set<StreamKind>?
    var maxSubscriptions: Int?

    /// Why this grant does not cover `key`, or nil.
    func refusal(for key: StreamKey) -> String? {
        if let venues, !venues.contains(key.venue) {
            return "your token does not allow venue \(key.venue.rawValue) (allowed: "
                + venues.map(\.rawValue).sorted().joined(separator: ", ") + ")"
        }
        if let kinds, !kinds.contains(key.kind) {
            return "your token does not allow \(key.kind.rawValue) streams (allowed: "
                + kinds.map(\.rawValue).sorted().joined(separator: ", ") + ")"
        }
        return nil
    }
}

/// The claims Tickplex reads. `exp` is required: a token that never expires cannot be withdrawn.
struct TickplexClaims: JWTPayload {
    var exp: ExpirationClaim
    var venues: [String]?
    var kinds: [String]?
    var maxSubscriptions: Int?

    enum CodingKeys: String, CodingKey {
        case exp, venues, kinds
        case maxSubscriptions = "max_subscriptions"
    }

    func verify(using algorithm: some JWTAlgorithm) async throws {
        try exp.verifyNotExpired()
    }
}

/// Verifies client tokens: HS256 with `JWT_SECRET`, and RS256/ES256 with the keys of a JWKS file
/// (`JWT_JWKS_FILE`). The keys are loaded once, when the verifier is made (`ready`).
final class TokenVerifier: Sendable {
    private let keys = JWTKeyCollection()
    /// Loading the keys (the key collection is an actor): awaited by `verify`, and by the node at start so that a
    /// bad JWKS file stops it with a sentence.
    let ready: Task<Void, any Error>

    init(secret: String?, jwksFile: String?) {
        let keys = self.keys
        ready = Task {
            if let secret { await keys.add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256) }
            if let jwksFile { try await keys.add(jwksJSON: String(contentsOfFile: jwksFile, encoding: .utf8)) }
        }
    }

    /// The grant of a valid token, or the 401 for a missing, malformed, badly signed or expired one.
    func verify(_ token: String?) async -> (grant: ClientGrant?, verdict: Admission) {
        guard let token, !token.isEmpty else {
            return (
                nil,
                .refused(status: 401, reason: "a token is required: send Authorization: Bearer <jwt> or ?token=<jwt>")
            )
        }
        let claims: TickplexClaims
        do {
            try await ready.value
            claims = try await keys.verify(token, as: TickplexClaims.self)
        } catch let error as JWTError where error.errorType == .claimVerificationFailure {
            return (nil, .refused(status: 401, reason: "the token has expired"))
        } catch {
            return (nil, .refused(status: 401, reason: "the token is not valid (bad signature, format or key)"))
        }
        var grant = ClientGrant(expiresAt: claims.exp.value)
        if let venues = claims.venues { grant.venues = Set(venues.compactMap(Venue.init(rawValue:))) }
        if let kinds = claims.kinds { grant.kinds = Set(kinds.compactMap(StreamKind.init(rawValue:))) }
        grant.maxSubscriptions = claims.maxSubscriptions
        return (grant, .admitted)
    }
}
