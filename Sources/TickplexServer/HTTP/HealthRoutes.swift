import Hummingbird
import NIOCore
import TickplexRedis

/// `/ready` (listening) and `/health` (every dependency working; 503 with the reasons when not).
struct HealthRoutes: Sendable {
    let health: HealthMonitor

    func register(on router: Router<some RequestContext>) {
        router.get("/ready") { _, _ in
            JSONResponse.make(.ok, bytes: ByteBuffer(string: #"{"ok":true}"#))
        }
        router.get("/health") { _, _ in
            let report = await health.report()
            return JSONResponse.make(report.ok ? .ok : .serviceUnavailable, report)
        }
    }
}
