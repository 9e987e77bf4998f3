import Foundation
import Hummingbird
import NIOCore

/// Small helpers for JSON answers with an explicit status.
enum JSONResponse {
    static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return e
    }()

    static func make(_ status: HTTPResponse.Status, _ value: some Encodable) -> Response {
        let data = (try? encoder.encode(value)) ?? Data(#"{"error":"encoding failed"}"#.utf8)
        return make(status, bytes: ByteBuffer(bytes: data))
    }

    static func make(_ status: HTTPResponse.Status, bytes: ByteBuffer) -> Response {
        Response(
            status: status,
            headers: [.contentType: "application/json; charset=utf-8", .cacheControl: "no-store"],
            body: ResponseBody(byteBuffer: bytes))
    }

    static func error(_ status: HTTPResponse.Status, _ message: String) -> Response {
        make(status, ["error": message])
    }
}

/// Answers every unknown route with `404 {"error":"not found"}` and every other HTTP error as JSON too,
/// so that clients never have to parse an HTML or empty error page.
struct JSONErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response)
        async throws -> Response
    {
        do {
            return try await next(request, context)
        } catch let error as HTTPError {
            if error.status == .notFound { return JSONResponse.error(.notFound, "not found") }
            if error.status == .methodNotAllowed { return JSONResponse.error(.methodNotAllowed, "method not allowed") }
            return JSONResponse.error(error.status, error.body ?? error.status.reasonPhrase)
        }
    }
}
