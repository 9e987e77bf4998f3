public import NIOCore
import Synchronization

/// Who waits for the next event of a stream (an on-demand REST quote), woken by the publisher as the event is
/// published — no polling of the store. The publisher's cost when nobody waits is one atomic load per event.
public final class StreamEventSignal: Sendable {
    private struct Waiter {
        let id: Int
        let continuation: CheckedContinuation<ByteBuffer?, Never>
    }

    private let waiters = Mutex<[String: [Waiter]]>([:])
    private let waiting = Atomic<Int>(0)
    private let nextId = Atomic<Int>(0)

    public init() {}

    /// The next event of `stream` (its encoded message), or nil when `wake(_:with: nil)` was called for it (a
    /// refusal), the timeout passed or the task was cancelled.
    func next(_ stream: String, timeout: Duration) async -> ByteBuffer? {
        let id = nextId.wrappingAdd(1, ordering: .relaxed).newValue
        return await withTaskGroup(of: ByteBuffer?.self) { group in
            group.addTask {
                await withTaskCancellationHandler {
                    await withCheckedContinuation { continuation in
                        self.waiters.withLock {
                            $0[stream, default: []].append(Waiter(id: id, continuation: continuation))
                        }
                        self.waiting.add(1, ordering: .relaxed)
                        // Cancelled before it was registered: the handler found nothing to resume.
                        if Task.isCancelled { self.resume(stream, id: id, with: nil) }
                    }
                } onCancel: {
                    self.resume(stream, id: id, with: nil)
                }
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
    }

    /// Publisher side: wakes every waiter of `stream`. Cheap when nobody waits at all.
    public func wake(_ stream: String, with payload: ByteBuffer?) {
        guard waiting.load(ordering: .relaxed) > 0 else { return }
        let woken = waiters.withLock { $0.removeValue(forKey: stream) } ?? []
        guard !woken.isEmpty else { return }
        waiting.subtract(woken.count, ordering: .relaxed)
        for waiter in woken { waiter.continuation.resume(returning: payload) }
    }

    private func resume(_ stream: String, id: Int, with payload: ByteBuffer?) {
        let waiter = waiters.withLock { all -> Waiter? in
            guard var list = all[stream], let index = list.firstIndex(where: { $0.id == id }) else { return nil }
            let waiter = list.remove(at: index)
            all[stream] = list.isEmpty ? nil : list
            return waiter
        }
        guard let waiter else { return }
        waiting.subtract(1, ordering: .relaxed)
        waiter.continuation.resume(returning: payload)
    }
}
