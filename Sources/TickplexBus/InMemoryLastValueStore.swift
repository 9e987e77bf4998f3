public import NIOCore
import Synchronization
import TickplexModel

/// The last-value store of a single node without Redis.
public final class InMemoryLastValueStore: LastValueStore {
    private struct Entry {
        var value: ByteBuffer
        var storedAt: ContinuousClock.Instant
    }

    public let ttl: Duration
    private let clock = ContinuousClock()
    // Set runs per event from the upstream side and get per REST request; one short critical section each.
    private let entries = Mutex<(map: [String: Entry], setsSinceSweep: Int)>(([:], 0))

    public init(ttl: Duration) {
        self.ttl = ttl
    }

    public func set(_ key: String, _ value: ByteBuffer) async throws {
        let now = clock.now
        let ttl = self.ttl
        entries.withLock { state in
            state.map[key] = Entry(value: value, storedAt: now)
            state.setsSinceSweep += 1
            // Expired keys of streams that stopped are dropped now and then, not on every set.
            if state.setsSinceSweep >= 4096 {
                state.setsSinceSweep = 0
                state.map = state.map.filter { now - $0.value.storedAt < ttl }
            }
        }
    }

    public func get(_ key: String) async throws -> StoredValue? {
        let now = clock.now
        let ttl = self.ttl
        return entries.withLock { state -> StoredValue? in
            guard let entry = state.map[key] else { return nil }
            let age = now - entry.storedAt
            guard age < ttl else {
                state.map[key] = nil
                return nil
            }
            return StoredValue(value: entry.value, ageMs: age.milliseconds)
        }
    }
}
