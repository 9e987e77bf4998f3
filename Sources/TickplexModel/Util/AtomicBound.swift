public import Synchronization

extension Atomic where Value == Int {
    /// Adds one unless the value has reached `limit`: a place under a cap taken by many threads at once, never
    /// overshooting it. False when the cap is reached.
    public func incrementIfBelow(_ limit: Int) -> Bool {
        var current = load(ordering: .relaxed)
        while current < limit {
            let (exchanged, seen) = compareExchange(expected: current, desired: current + 1, ordering: .relaxed)
            if exchanged { return true }
            current = seen
        }
        return false
    }
}
