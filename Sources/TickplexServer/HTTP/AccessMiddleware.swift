import Hummingbird

/// The REST side of `AccessPolicy`: the data routes (`/v1/…`) need an API key when `AUTH_MODE=apikey`, `/stats`
/// and `/metrics` the admin token when `ADMIN_TOKEN` is set; `/ready`, `/health` and the page stay open.
struct AccessMiddleware<Context: RequestContext>: RouterMiddleware {
    let policy: AccessPolicy

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response)
        async throws -> Response
    {
        let path = request.uri.path
        let credential = AccessPolicy.credential(
            authorization: request.headers[values: .authorization], token: request.uri.queryParameters.get("token"))
        let verdict: Admission
        if path.hasPrefix("/v1/") {
            verdict = await policy.client(credential: credential).verdict
        } else if path == "/stats" || path == "/metrics" {
            verdict = policy.admin(credential: credential)
        } else {
            verdict = .admitted
        }
        if case .refused(let status, let reason) = verdict {
            var response = JSONResponse.error(.init(code: status), reason)
            if status == 401 { response.headers[.wwwAuthenticate] = "Bearer" }
            return response
        }
        return try await next(request, context)
    }

}
