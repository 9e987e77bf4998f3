import Hummingbird

/// The REST side of `AccessPolicy`: the data routes (`/v1/…`) need an API key when `AUTH_MODE=apikey`, `/stats`
/// and `/metrics` the admin token when `ADMIN_TOKEN` is set; `/ready`, `/health` and the page stay open.
struct AccessMiddleware<Context: RequestContext>: RouterMiddleware {
    let policy: AccessPolicy

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response)
        async throws -> Response
    {
        let path = request.uri.path
        let verdict: AccessPolicy.Verdict
        if path.hasPrefix("/v1/") {
            verdict = policy.client(credential: Self.credential(request))
        } else if path == "/stats" || path == "/metrics" {
            verdict = policy.admin(credential: Self.credential(request))
        } else {
            verdict = .allowed
        }
        if case .refused(let status, let reason) = verdict {
            var response = JSONResponse.error(.init(code: status), reason)
            if status == 401 { response.headers[.wwwAuthenticate] = "Bearer" }
            return response
        }
        return try await next(request, context)
    }

    static func credential(_ request: Request) -> String? {
        if let value = request.headers[.authorization] {
            let parts = value.split(separator: " ", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == "bearer" { return String(parts[1].trimmingSpaces) }
        }
        return request.uri.queryParameters.get("token")
    }
}
