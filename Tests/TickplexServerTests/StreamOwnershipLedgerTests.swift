import Testing
import TickplexBus
import TickplexModel

@testable import TickplexServer

/// The cluster ownership bookkeeping, driven directly with made-up times: when a node registers and withdraws
/// demand, which leases it tries to take, and what each held stream needs as the cluster's demand changes.
@Suite("Stream ownership ledger (pure)")
struct StreamOwnershipLedgerTests {
    static let trade = StreamKey.trade("BTCUSDT")
    static let ticker = StreamKey.ticker("BTCUSDT")
    static let names = StreamLeaseNames(lease: "l", seq: "s", channel: "c")

    @Test("demand: the first local want registers it and takes the lease; the last unwant withdraws it")
    func localDemand() {
        var ledger = StreamOwnershipLedger(canOwn: true)
        let r1 = ledger.want(Self.trade)
        #expect(r1)
        #expect(ledger.afterFirstWant(Self.trade) == .acquire)
        #expect(ledger.isCarried(Self.trade) && !ledger.isCarried(Self.ticker), "wanted here: carried")
        let r2 = ledger.want(Self.trade)
        #expect(!r2, "a second subscriber registers nothing")
        let r3 = ledger.unwant(Self.trade)
        #expect(!r3)
        let r4 = ledger.unwant(Self.trade)
        #expect(r4, "the last one withdraws the demand")
        let r5 = ledger.unwant(Self.trade)
        #expect(!r5, "nothing left to withdraw")
        #expect(ledger.local.isEmpty)
    }

    @Test("an edge never takes a lease; an owner takes only what it does not hold or is taking")
    func candidates() {
        var edge = StreamOwnershipLedger(canOwn: false)
        _ = edge.want(Self.trade)
        #expect(edge.afterFirstWant(Self.trade) == .none)
        #expect(edge.candidates([Self.trade], nowMs: 0).isEmpty)

        var node = StreamOwnershipLedger(canOwn: true)
        node.clusterDemand([Self.trade, Self.ticker])
        #expect(node.unownedWanted == [Self.ticker, Self.trade])
        node.beginAcquiring([Self.ticker])
        #expect(node.candidates(node.unownedWanted, nowMs: 0) == [Self.trade], "one attempt at a time")
        node.endAcquiring([Self.ticker])
        node.took(Self.ticker, token: "t1", names: Self.names)
        #expect(node.candidates(node.unownedWanted, nowMs: 0) == [Self.trade])
        // The pool could not carry it: left to the other nodes for 30 s.
        node.refused(Self.trade, nowMs: 1_000)
        #expect(node.candidates([Self.trade], nowMs: 30_999).isEmpty)
        #expect(node.candidates([Self.trade], nowMs: 31_000) == [Self.trade])
    }

    @Test("held streams follow the cluster: hold the pool while wanted, linger out, then give the lease back")
    func plan() {
        var ledger = StreamOwnershipLedger(canOwn: true)
        ledger.clusterDemand([Self.trade])
        ledger.took(Self.trade, token: "t1", names: Self.names)
        #expect(ledger.plan(carried: { _ in false }) == [.holdPool(Self.trade, token: "t1")])
        let r6 = ledger.pooled(Self.trade, token: "t1")
        #expect(r6)
        #expect(ledger.plan(carried: { _ in true }).isEmpty, "wanted and held: nothing to do")
        // Nobody in the cluster wants it: the pool lingers it out, then the lease goes back.
        ledger.clusterDemand([])
        #expect(ledger.plan(carried: { _ in true }) == [.releasePool(Self.trade)])
        ledger.releasedPool(Self.trade)
        #expect(ledger.plan(carried: { _ in true }).isEmpty, "still lingering in the pool")
        #expect(ledger.plan(carried: { _ in false }) == [.giveBack(Self.trade)])
        // Wanted again by a local subscriber during the linger: the pool holds it again at once.
        let r7 = ledger.want(Self.trade)
        #expect(r7)
        #expect(ledger.afterFirstWant(Self.trade) == .holdPool(token: "t1"))
    }

    @Test("a lease lost while the pool subscribed: the reference must go; renewals list what is held")
    func lost() {
        var ledger = StreamOwnershipLedger(canOwn: true)
        ledger.took(Self.trade, token: "t1", names: Self.names)
        ledger.took(Self.ticker, token: "t2", names: StreamLeaseNames(lease: "l2", seq: "s2", channel: "c2"))
        #expect(ledger.renewals.map(\.token) == ["t2", "t1"])
        #expect(ledger.drop(Self.trade)?.token == "t1")
        let r8 = ledger.pooled(Self.trade, token: "t1")
        #expect(!r8, "lost meanwhile")
        #expect(!ledger.holds(Self.trade, token: "t1"))
        // Taken again under a new token: the old token's late answer does not count.
        ledger.took(Self.trade, token: "t3", names: Self.names)
        let r9 = ledger.pooled(Self.trade, token: "t1")
        #expect(!r9)
        let r10 = ledger.pooled(Self.trade, token: "t3")
        #expect(r10)
    }

    @Test("a pool reference being taken is taken once: a tick meanwhile neither asks again nor gives the lease back")
    func holdInProgress() {
        var ledger = StreamOwnershipLedger(canOwn: true)
        _ = ledger.want(Self.trade)
        ledger.took(Self.trade, token: "t1", names: Self.names)
        let first = ledger.beginHold(Self.trade, token: "t1")
        #expect(first)
        // The subscribe waits for the exchange; a tick comes.
        let second = ledger.beginHold(Self.trade, token: "t1")
        #expect(!second, "a second reference would never be released")
        #expect(ledger.plan(carried: { _ in false }).isEmpty)
        #expect(ledger.afterFirstWant(Self.trade) == .none)
        // Withdrawn meanwhile: still nothing until the subscribe ends.
        _ = ledger.unwant(Self.trade)
        ledger.clusterDemand([])
        #expect(ledger.plan(carried: { _ in false }).isEmpty)
        let pooled = ledger.pooled(Self.trade, token: "t1")
        #expect(pooled)
        #expect(ledger.plan(carried: { _ in false }) == [.releasePool(Self.trade)])
        // A refused reference can be asked for again.
        var other = StreamOwnershipLedger(canOwn: true)
        _ = other.want(Self.ticker)
        other.took(Self.ticker, token: "t2", names: Self.names)
        _ = other.beginHold(Self.ticker, token: "t2")
        other.holdFailed(Self.ticker, token: "t2")
        #expect(other.plan(carried: { _ in false }) == [.holdPool(Self.ticker, token: "t2")])
    }
}
