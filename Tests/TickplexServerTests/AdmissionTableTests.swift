import Testing

@testable import TickplexServer

@Suite("Admission table (pure): sockets, per-IP open count, per-IP rate")
struct AdmissionTableTests {
    @Test("MAX_CONNECTIONS counts every open socket; a closed one frees its place")
    func sockets() {
        var t = AdmissionTable(limits: .init(maxConnections: 2, maxPerIP: 10, maxNewPerIPPerMinute: 100))
        #expect(t.socketOpened() == .admitted)
        #expect(t.socketOpened() == .admitted)
        guard case .refused(503, let reason) = t.socketOpened() else {
            Issue.record("third socket admitted")
            return
        }
        #expect(reason.contains("at most 2"))
        t.socketClosed()
        t.socketClosed()
        #expect(t.socketOpened() == .admitted)
    }

    @Test("per IP: open connections capped, other addresses unaffected, a release frees a place")
    func perIP() {
        var t = AdmissionTable(limits: .init(maxConnections: 100, maxPerIP: 2, maxNewPerIPPerMinute: 100))
        #expect(t.admit(ip: "10.0.0.1", now: 0) == .admitted)
        #expect(t.admit(ip: "10.0.0.1", now: 0) == .admitted)
        #expect(
            t.admit(ip: "10.0.0.1", now: 0)
                == .refused(status: 429, reason: "too many open connections from 10.0.0.1 (at most 2)"))
        #expect(t.admit(ip: "10.0.0.2", now: 0) == .admitted)
        t.release(ip: "10.0.0.1")
        #expect(t.admit(ip: "10.0.0.1", now: 0) == .admitted)
    }

    @Test("per IP rate: at most N new connections a minute, a new minute starts afresh")
    func rate() {
        var t = AdmissionTable(limits: .init(maxConnections: 100, maxPerIP: 100, maxNewPerIPPerMinute: 3))
        for _ in 0..<3 {
            #expect(t.admit(ip: "a", now: 1_000) == .admitted)
            t.release(ip: "a")
        }
        guard case .refused(429, let reason) = t.admit(ip: "a", now: 30_000) else {
            Issue.record("fourth connection in a minute admitted")
            return
        }
        #expect(reason.contains("3 per minute"))
        #expect(t.admit(ip: "a", now: 61_000) == .admitted)
    }

    @Test("the table stays bounded: addresses with nothing open and an old window are dropped")
    func bounded() {
        var t = AdmissionTable(limits: .init(maxConnections: 10, maxPerIP: 5, maxNewPerIPPerMinute: 5))
        for i in 0..<5_000 {
            _ = t.admit(ip: "ip\(i)", now: Int64(i) * 100)
            t.release(ip: "ip\(i)")
        }
        #expect(t.trackedAddresses <= 2_000, "\(t.trackedAddresses) addresses kept")
    }
}
