/// Who may open a socket: open sockets in all (`MAX_CONNECTIONS`), open sockets per client IP
/// (`MAX_CONNECTIONS_PER_IP`) and new connections per client IP per minute (`MAX_NEW_CONNECTIONS_PER_IP_PER_MIN`).
/// A pure value; `ConnectionAdmission` holds the node's one table.
struct AdmissionTable {
    struct Limits: Sendable {
        var maxConnections: Int
        var maxPerIP: Int
        var maxNewPerIPPerMinute: Int
    }

    private struct Entry {
        var open = 0
        var windowStart: Int64 = 0
        var inWindow = 0
    }

    let limits: Limits
    private(set) var sockets = 0
    private var byIP: [String: Entry] = [:]
    private var operations = 0

    init(limits: Limits) { self.limits = limits }

    /// A socket was accepted: counted until `socketClosed`. Over the cap it is refused at once.
    mutating func socketOpened() -> Admission {
        sockets += 1
        guard sockets <= limits.maxConnections else {
            return .refused(
                status: 503, reason: "too many open connections on this node (at most \(limits.maxConnections))")
        }
        return .admitted
    }

    mutating func socketClosed() { sockets = max(0, sockets - 1) }

    /// The client's address is known (its request head was read): its open count and its rate.
    mutating func admit(ip: String, now: Int64) -> Admission {
        prune(now: now)
        var entry = byIP[ip] ?? Entry()
        if now - entry.windowStart >= 60_000 {
            entry.windowStart = now
            entry.inWindow = 0
        }
        defer { byIP[ip] = entry }
        guard entry.open < limits.maxPerIP else {
            return .refused(
                status: 429, reason: "too many open connections from \(ip) (at most \(limits.maxPerIP))")
        }
        guard entry.inWindow < limits.maxNewPerIPPerMinute else {
            return .refused(
                status: 429,
                reason: "too many new connections from \(ip) (at most \(limits.maxNewPerIPPerMinute) per minute)")
        }
        entry.inWindow += 1
        entry.open += 1
        return .admitted
    }

    /// An admitted connection of `ip` closed.
    mutating func release(ip: String) {
        guard var entry = byIP[ip] else { return }
        entry.open = max(0, entry.open - 1)
        byIP[ip] = entry
    }

    /// Addresses known, for tests: bounded by open connections plus the last minute's.
    var trackedAddresses: Int { byIP.count }

    /// Entries with nothing open and an old window go, now and then (amortized O(1) per admission), so the table
    /// stays bounded by what is open plus what arrived in about the last minute.
    private mutating func prune(now: Int64) {
        operations += 1
        guard operations >= max(1_024, byIP.count / 2) else { return }
        operations = 0
        byIP = byIP.filter { $0.value.open > 0 || now - $0.value.windowStart < 60_000 }
    }
}
