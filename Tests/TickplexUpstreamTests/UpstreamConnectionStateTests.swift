import Testing
import TickplexModel

@testable import TickplexUpstream

/// The upstream connection's lifecycle as a pure value, driven with made-up times: no socket, no clock.
@Suite("Upstream connection state machine (pure)")
struct UpstreamConnectionStateTests {
    static func state(_ venue: Venue, timing: UpstreamTiming = .init()) -> UpstreamConnectionState {
        UpstreamConnectionState(
            codec: VenueCodec(venue: venue), liveness: .forVenue(venue, timing: timing), backoff: timing.backoff)
    }

    static func texts(_ actions: [UpstreamAction]) -> [String] {
        actions.compactMap { if case .sendText(let t) = $0 { t } else { nil } }
    }

    /// Drives the heartbeat for `seconds`, waking exactly when it says, answering every ping after `pongAfterMs`.
    static func drive(
        _ s: inout UpstreamConnectionState, from start: Int64, seconds: Int64, pongAfterMs: Int64 = 50,
        lateWakeMs: Int64 = 0
    ) -> (pings: [Int64], ends: [String]) {
        var pings: [Int64] = []
        var ends: [String] = []
        var lastFrame = start
        var now = start
        var pongDue: Int64?
        while now < start + seconds * 1000 {
            guard let due = s.nextHeartbeatDue(lastFrameAt: lastFrame) else { break }
            let wake = due + lateWakeMs
            guard wake < start + seconds * 1000 else { break }
            if let p = pongDue, p <= wake {
                now = p
                s.pongReceived()
                lastFrame = p
                pongDue = nil
                continue
            }
            now = max(now, wake)
            for action in s.heartbeat(now: now, lastFrameAt: lastFrame) {
                switch action {
                case .sendJSONPing, .sendPing:
                    pings.append(now)
                    if pongAfterMs >= 0 { pongDue = now + pongAfterMs }
                case .endSession(let reason): ends.append(reason)
                default: break
                }
            }
        }
        return (pings, ends)
    }

    @Test("Bybit: a JSON ping every 20 s from the previous ping, over a minute, also when wake-ups are late")
    func bybitCadence() {
        for late: Int64 in [0, 700] {
            var s = Self.state(.bybitLinear)
            _ = s.add(["tickers.BTCUSDT"])
            _ = s.attemptStarting()
            _ = s.sessionOpened(inURL: [], now: 1_000_000)
            let (pings, ends) = Self.drive(&s, from: 1_000_000, seconds: 65, lateWakeMs: late)
            #expect(ends.isEmpty)
            #expect(pings.count == 3, "\(pings)")
            let gaps = zip(pings.dropFirst(), pings).map { $0 - $1 }
            #expect(gaps.allSatisfy { (19_000...21_000).contains($0) }, "gaps \(gaps) with wake-ups \(late) ms late")
            #expect(pings.first.map { $0 - 1_000_000 } ?? 0 <= 20_000 + late)
        }
    }

    @Test("Bybit's ping is its JSON op; Binance's is a ping frame every 10 s")
    func pingKinds() {
        var bybit = Self.state(.bybitSpot)
        _ = bybit.attemptStarting()
        _ = bybit.sessionOpened(inURL: [], now: 0)
        #expect(bybit.heartbeat(now: 20_000, lastFrameAt: 19_000) == [.sendJSONPing(#"{"op":"ping"}"#)])
        var binance = Self.state(.binanceSpot)
        _ = binance.attemptStarting()
        _ = binance.sessionOpened(inURL: [], now: 0)
        #expect(binance.heartbeat(now: 9_999, lastFrameAt: 9_000).isEmpty)
        let actions = binance.heartbeat(now: 10_000, lastFrameAt: 9_000)
        #expect(actions.count == 1)
        guard case .sendPing = actions.first else {
            Issue.record("expected a ping frame, got \(actions)")
            return
        }
    }

    @Test("a ping with no pong within 10 s ends the session, once; nothing is due until the next session")
    func pongTimeout() {
        var s = Self.state(.bybitLinear)
        _ = s.attemptStarting()
        _ = s.sessionOpened(inURL: [], now: 0)
        // Data keeps flowing (so silence is not the cause), but the pong never comes.
        #expect(s.heartbeat(now: 20_000, lastFrameAt: 20_000) == [.sendJSONPing(#"{"op":"ping"}"#)])
        #expect(s.nextHeartbeatDue(lastFrameAt: 29_000) == 30_000)
        #expect(s.heartbeat(now: 29_999, lastFrameAt: 29_000).isEmpty)
        #expect(s.heartbeat(now: 30_000, lastFrameAt: 29_500) == [.endSession(reason: "no pong within 10000 ms")])
        #expect(s.heartbeat(now: 31_000, lastFrameAt: 29_500).isEmpty)
        #expect(s.nextHeartbeatDue(lastFrameAt: 29_500) == nil)
        let (actions, retry) = s.sessionEnded(now: 31_000)
        #expect(actions == [.status("reconnecting")])
        #expect(retry != nil)
        _ = s.attemptStarting()
        _ = s.sessionOpened(inURL: [], now: 32_000)
        #expect(s.nextHeartbeatDue(lastFrameAt: 32_000) == 52_000)
    }

    @Test("no frame of any kind for 25 s ends a session before its pong is late; quiet streams with pongs never do")
    func silence() {
        // Bybit: the session opened at 0 and nothing came since; the 20 s ping is unanswered (due 30 s), but the
        // silence rule (25 s) fires first.
        var s = Self.state(.bybitLinear)
        _ = s.add(["publicTrade.BTCUSDT"])
        _ = s.attemptStarting()
        _ = s.sessionOpened(inURL: [], now: 0)
        #expect(s.heartbeat(now: 20_000, lastFrameAt: 0).count == 1)
        #expect(s.nextHeartbeatDue(lastFrameAt: 0) == 25_000)
        #expect(s.heartbeat(now: 24_999, lastFrameAt: 0).isEmpty)
        #expect(s.heartbeat(now: 25_000, lastFrameAt: 0) == [.endSession(reason: "no frame of any kind for 25000 ms")])
        // With pongs answered, a quiet stream never trips the watchdog.
        var quiet = Self.state(.binanceSpot)
        _ = quiet.attemptStarting()
        _ = quiet.sessionOpened(inURL: [], now: 0)
        let (pings, ends) = Self.drive(&quiet, from: 0, seconds: 300)
        #expect(ends.isEmpty)
        #expect(pings.count == 29, "10 s, 20 s … 290 s")
        // Without pongs: found dead within 20 s of the last frame.
        var dead = Self.state(.binanceSpot)
        _ = dead.attemptStarting()
        _ = dead.sessionOpened(inURL: [], now: 0)
        let (_, deadEnds) = Self.drive(&dead, from: 0, seconds: 60, pongAfterMs: -1)
        #expect(deadEnds.count == 1)
    }

    @Test("adds and removes coalesce: a topic added and removed before the flush costs no request")
    func coalescing() {
        var s = Self.state(.bybitLinear)
        _ = s.attemptStarting()
        _ = s.sessionOpened(inURL: [], now: 0)
        #expect(s.add(["tickers.A", "tickers.B"]) == true)
        #expect(s.add(["tickers.C"]) == false, "one flush already scheduled")
        _ = s.remove(["tickers.B"])
        let sent = Self.texts(s.flush())
        #expect(sent.count == 1)
        #expect(
            sent[0].contains(#""op":"subscribe""#) && sent[0].contains("tickers.A") && sent[0].contains("tickers.C"))
        #expect(!sent[0].contains("tickers.B"))
        #expect(s.wanted == ["tickers.A", "tickers.C"])
        _ = s.remove(["tickers.A"])
        let removal = Self.texts(s.flush())
        #expect(removal.count == 1 && removal[0].contains(#""op":"unsubscribe""#) && removal[0].contains("tickers.A"))
    }

    @Test("not connected: nothing is sent; the next session subscribes everything wanted (Binance: 100 in the URL)")
    func resubscribeOnOpen() {
        var s = Self.state(.binanceSpot)
        let topics = (0..<130).map { "s\($0)usdt@trade" }
        _ = s.add(topics)
        #expect(s.flush().isEmpty)
        let inURL = s.attemptStarting()
        #expect(inURL == Array(topics.prefix(100)))
        let actions = s.sessionOpened(inURL: inURL, now: 0)
        #expect(actions.last == .status("live"))
        let requested = Self.texts(actions).joined()
        #expect(topics.dropFirst(100).allSatisfy { requested.contains("\"\($0)\"") })
        #expect(topics.prefix(100).allSatisfy { !requested.contains("\"\($0)\"") })
    }

    @Test("a refusal removes exactly the refused topic and re-requests the others of its request")
    func refusal() {
        var s = Self.state(.bybitLinear)
        _ = s.add(["tickers.BTCUSDT", "tickers.BTCUSDTT"])
        _ = s.attemptStarting()
        let opened = s.sessionOpened(inURL: [], now: 0)
        let request = Self.texts(opened)[0]
        let id = request.split(separator: "\"")[3]
        let actions = s.ack(
            requestId: String(id), success: false, message: "error:handler not found,topic:tickers.BTCUSDTT")
        #expect(
            actions.last == .rejected(["tickers.BTCUSDTT"], reason: "error:handler not found,topic:tickers.BTCUSDTT"))
        #expect(s.wanted == ["tickers.BTCUSDT"])
        let again = Self.texts(actions)
        #expect(again.count == 1 && again[0].contains("tickers.BTCUSDT") && !again[0].contains("BTCUSDTT"))
    }

    @Test("backoff grows while attempts fail, resets after a session that lived 30 s; a stopped state never retries")
    func backoffAndStop() {
        var timing = UpstreamTiming()
        timing.backoff = Backoff(initial: .seconds(1), maximum: .seconds(60))
        var s = Self.state(.bybitSpot, timing: timing)
        for attempt in 1...4 {
            _ = s.attemptStarting()
            let (_, retry) = s.sessionEnded(now: Int64(attempt) * 1000)
            let ceiling = timing.backoff.ceiling(attempt: attempt)
            #expect(retry.map { $0 <= ceiling && $0 >= ceiling / 2 } == true)
        }
        _ = s.attemptStarting()
        _ = s.sessionOpened(inURL: [], now: 10_000)
        let (_, afterLong) = s.sessionEnded(now: 50_000)
        #expect(afterLong.map { $0 <= .seconds(1) } == true, "a new outage starts from the first step")
        _ = s.stop()
        #expect(s.sessionEnded(now: 60_000).retryAfter == nil)
        #expect(s.phase == .stopped)
    }

    @Test("a book gap resubscribes its topic: unsubscribe then subscribe, only while live and wanted")
    func resync() {
        var s = Self.state(.bybitLinear)
        #expect(s.resync(topic: "orderbook.50.BTCUSDT").isEmpty)
        _ = s.add(["orderbook.50.BTCUSDT"])
        _ = s.attemptStarting()
        _ = s.sessionOpened(inURL: [], now: 0)
        let sent = Self.texts(s.resync(topic: "orderbook.50.BTCUSDT"))
        #expect(sent.count == 2 && sent[0].contains("unsubscribe") && sent[1].contains(#""op":"subscribe""#))
        #expect(s.resync(topic: "orderbook.50.ETHUSDT").isEmpty)
    }
}

@Suite("Finding the refused stream in a Binance request (pure)")
struct RefusalBisectionTests {
    @Test(
        "a refused 200-stream request is split in halves until the one bad stream is alone; far fewer than 200 requests"
    )
    func bisect() {
        var s = UpstreamConnectionStateTests.state(.binanceSpot)
        let topics = (0..<300).map { "s\($0)usdt@trade" }
        _ = s.add(topics)
        _ = s.attemptStarting()
        var pending = s.sessionOpened(inURL: Array(topics.prefix(100)), now: 0)
        let bad = "s173usdt@trade"
        var sent = 0
        var refused: [String] = []
        // The exchange: a request naming the bad stream fails as a whole, naming nothing.
        while !pending.isEmpty {
            var next: [UpstreamAction] = []
            for action in pending {
                switch action {
                case .sendText(let frame):
                    sent += 1
                    let id = frame.split(separator: ",").last.map { $0.filter(\.isNumber) } ?? ""
                    let fails = frame.contains("\"\(bad)\"")
                    next += s.ack(
                        requestId: id, success: !fails, message: fails ? "code 2: Invalid request: invalid stream" : "")
                case .rejected(let topics, _): refused += topics
                default: break
                }
            }
            pending = next
        }
        #expect(refused == [bad])
        #expect(sent < 20, "\(sent) requests")
        #expect(s.wanted.count == 299 && !s.wanted.contains(bad))
    }
}
