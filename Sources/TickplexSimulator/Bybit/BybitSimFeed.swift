import TickplexModel
import TickplexVenues

/// Generates the data frames of one simulated Bybit connection, in the field layout of the recorded frames:
/// linear tickers as one snapshot then partial deltas, spot tickers as snapshots; publicTrade batches; klines that
/// carry the closed and the new candle in one message at a close; orderbook snapshot then deltas with contiguous
/// `u`; allLiquidation arrays.
public struct BybitSimFeed: Sendable {
    struct TopicState: Sendable {
        var sentSnapshot = false
        var updateId: Int64 = 0
        var bids: [Int64: Int64] = [:]  // price ticks → size (thousandths)
        var asks: [Int64: Int64] = [:]
        var candleIndex: Int64 = 0
        var framesInCandle = 0
    }

    public let category: BybitSimSession.Category
    /// Frames per candle before it closes (accelerated time, so tests see closes in seconds).
    public var framesPerCandle: Int
    private var topics: [String: TopicState] = [:]
    private var crossSequence: Int64 = 753_843_900_397

    public init(category: BybitSimSession.Category, framesPerCandle: Int = 5) {
        self.category = category
        self.framesPerCandle = framesPerCandle
    }

    public mutating func remove(_ topic: String) { topics[topic] = nil }

    /// The next snapshot of `topic` restarts it (fault: "send a fresh snapshot").
    public mutating func resetSnapshot(_ topic: String) { topics[topic]?.sentSnapshot = false }

    /// Makes the next book delta of `topic` skip one update id (fault).
    public mutating func skipUpdateId(_ topic: String) { topics[topic]?.updateId += 1 }

    /// The next frame for `topic`, or nil when the topic is not one the simulator serves.
    public mutating func frame(for topic: String, market: inout SimMarket, now: Int64) -> String? {
        guard let parsed = BybitTopics.parse(topic: topic), let i = market.step(parsed.symbol) else { return nil }
        var state = topics[topic] ?? TopicState()
        defer { topics[topic] = state }
        crossSequence += 1 + Int64(market.random(50))
        switch parsed.kind {
        case .ticker:
            return ticker(topic: topic, i, state: &state, now: now)
        case .trade:
            return trades(topic: topic, i, market: &market, now: now)
        case .kline:
            return kline(topic: topic, interval: parsed.interval!, i, state: &state, now: now)
        case .book:
            return book(topic: topic, depth: parsed.bookDepth ?? 1, i, market: &market, state: &state, now: now)
        case .liquidation:
            let side = market.random(2) == 0 ? "Buy" : "Sell"
            return
                #"{"topic":"\#(topic)","type":"snapshot","ts":\#(now),"data":[{"T":\#(now - 5),"s":"\#(i.symbol)","S":"\#(side)","v":"\#(market.random(5000) + 1)","p":"\#(i.price())"}]}"#
        }
    }

    private mutating func ticker(topic: String, _ i: SimMarket.Instrument, state: inout TopicState, now: Int64)
        -> String
    {
        let pcnt = SimMarket.format((i.ticks - i.openTicks) * 1_000_000 / max(i.openTicks, 1), decimals: 6)
        if category == .spot {
            return
                #"{"topic":"\#(topic)","ts":\#(now),"type":"snapshot","cs":\#(crossSequence),"data":{"symbol":"\#(i.symbol)","lastPrice":"\#(i.price())","highPrice24h":"\#(i.high)","lowPrice24h":"\#(i.low)","prevPrice24h":"\#(i.open)","volume24h":"\#(i.volume)","turnover24h":"\#(i.turnover)","price24hPcnt":"\#(pcnt)","usdIndexPrice":"\#(i.price())"}}"#
        }
        if !state.sentSnapshot {
            state.sentSnapshot = true
            return
                #"{"topic":"\#(topic)","type":"snapshot","data":{"symbol":"\#(i.symbol)","tickDirection":"ZeroPlusTick","price24hPcnt":"\#(pcnt)","lastPrice":"\#(i.price())","prevPrice24h":"\#(i.open)","highPrice24h":"\#(i.high)","lowPrice24h":"\#(i.low)","prevPrice1h":"\#(i.open)","markPrice":"\#(i.price(1))","indexPrice":"\#(i.price(2))","openInterest":"59891.732","openInterestValue":"3899996265.01","turnover24h":"\#(i.turnover)","volume24h":"\#(i.volume)","fundingIntervalHour":"8","fundingCap":"0.005","singleOpenInterest":"29945.866","singleOpenInterestValue":"1949998132.50","nextFundingTime":"1786320000000","fundingRate":"0.0001","bid1Price":"\#(i.price(-1))","bid1Size":"5.954","ask1Price":"\#(i.price())","ask1Size":"10.470","preOpenPrice":"","preQty":"","curPreListingPhase":""},"cs":\#(crossSequence),"ts":\#(now)}"#
        }
        // Partial delta: symbol always, then a varying subset, like the recording.
        var fields = [
            #""symbol":"\#(i.symbol)""#, #""bid1Price":"\#(i.price(-1))""#,
            #""bid1Size":"\#(Double(i.tradeSeq % 97) / 10 + 0.1)""#,
        ]
        if i.tradeSeq % 2 == 0 {
            fields += [#""ask1Price":"\#(i.price())""#, #""ask1Size":"\#(i.tradeSeq % 13 + 1).5""#]
        }
        if i.tradeSeq % 3 == 0 {
            fields += [
                #""lastPrice":"\#(i.price())""#, #""price24hPcnt":"\#(pcnt)""#, #""highPrice24h":"\#(i.high)""#,
                #""lowPrice24h":"\#(i.low)""#,
            ]
        }
        if i.tradeSeq % 4 == 0 {
            fields += [
                #""markPrice":"\#(i.price(1))""#, #""indexPrice":"\#(i.price(2))""#, #""turnover24h":"\#(i.turnover)""#,
                #""volume24h":"\#(i.volume)""#,
            ]
        }
        return
            #"{"topic":"\#(topic)","type":"delta","data":{\#(fields.joined(separator: ","))},"cs":\#(crossSequence),"ts":\#(now)}"#
    }

    private func trades(topic: String, _ i: SimMarket.Instrument, market: inout SimMarket, now: Int64) -> String {
        let count = Int(market.random(3)) + 1
        var items: [String] = []
        for n in 0..<count {
            let side = market.random(2) == 0 ? "Buy" : "Sell"
            let id = "\(i.symbol.lowercased())-\(i.tradeSeq)-\(n)"
            let size = SimMarket.format(Int64(market.random(5000) + 1), decimals: 3)
            if category == .spot {
                items.append(
                    #"{"i":"\#(id)","T":\#(now),"p":"\#(i.price())","v":"\#(size)","S":"\#(side)","seq":\#(crossSequence),"s":"\#(i.symbol)","BT":false,"RPI":false}"#
                )
            } else {
                items.append(
                    #"{"T":\#(now),"s":"\#(i.symbol)","S":"\#(side)","v":"\#(size)","p":"\#(i.price())","L":"PlusTick","i":"\#(id)","BT":\#(n == 2),"RPI":false,"seq":\#(crossSequence)}"#
                )
            }
        }
        return #"{"topic":"\#(topic)","type":"snapshot","ts":\#(now),"data":[\#(items.joined(separator: ","))]}"#
    }

    private func candle(_ interval: KlineInterval, index: Int64, _ i: SimMarket.Instrument, closed: Bool, now: Int64)
        -> String
    {
        let base: Int64 = 1_786_310_760_000
        let start = base + index * interval.milliseconds
        return
            #"{"start":\#(start),"end":\#(start + interval.milliseconds - 1),"interval":"\#(interval.bybitName)","open":"\#(i.price(-3))","close":"\#(i.price())","high":"\#(i.price(2))","low":"\#(i.price(-4))","volume":"\#(i.volume)","turnover":"\#(i.turnover)","confirm":\#(closed),"timestamp":\#(now)}"#
    }

    private func kline(
        topic: String, interval: KlineInterval, _ i: SimMarket.Instrument, state: inout TopicState, now: Int64
    )
        -> String
    {
        state.framesInCandle += 1
        var candles: [String]
        if state.framesInCandle >= framesPerCandle {
            // The close: the closed candle and the new one in one message.
            candles = [candle(interval, index: state.candleIndex, i, closed: true, now: now)]
            state.candleIndex += 1
            state.framesInCandle = 0
            candles.append(candle(interval, index: state.candleIndex, i, closed: false, now: now))
        } else {
            candles = [candle(interval, index: state.candleIndex, i, closed: false, now: now)]
        }
        let data = candles.joined(separator: ",")
        if category == .spot {
            return #"{"type":"snapshot","topic":"\#(topic)","data":[\#(data)],"ts":\#(now)}"#
        }
        return #"{"topic":"\#(topic)","data":[\#(data)],"ts":\#(now),"type":"snapshot"}"#
    }

    private func book(
        topic: String, depth: Int, _ i: SimMarket.Instrument, market: inout SimMarket, state: inout TopicState,
        now: Int64
    ) -> String {
        func level(_ price: Int64, _ size: Int64) -> String {
            #"["\#(SimMarket.format(price, decimals: i.decimals))","\#(SimMarket.format(size, decimals: 3))"]"#
        }
        let cs = crossSequence
        func envelope(_ type: String, _ bids: [String], _ asks: [String], _ u: Int64) -> String {
            let data =
                #"{"s":"\#(i.symbol)","b":[\#(bids.joined(separator: ","))],"a":[\#(asks.joined(separator: ","))],"u":\#(u),"seq":\#(cs)}"#
            return #"{"topic":"\#(topic)","type":"\#(type)","ts":\#(now),"data":\#(data),"cts":\#(now - 3)}"#
        }
        if !state.sentSnapshot || depth == 1 {
            // Level 1 is snapshot only; deeper books start with a snapshot.
            state.sentSnapshot = true
            state.updateId += 1
            state.bids = [:]
            state.asks = [:]
            for n in 0..<Int64(depth) {
                state.bids[i.ticks - 1 - n] = Int64(market.random(9000) + 1)
                state.asks[i.ticks + n] = Int64(market.random(9000) + 1)
            }
            let bids = state.bids.keys.sorted(by: >).map { level($0, state.bids[$0]!) }
            let asks = state.asks.keys.sorted().map { level($0, state.asks[$0]!) }
            return envelope("snapshot", bids, asks, state.updateId)
        }
        state.updateId += 1
        var bids: [String] = []
        var asks: [String] = []
        // Re-size one level per side; now and then delete the outermost level and add one just beyond it.
        if let p = state.bids.keys.randomElement(using: &market) {
            let size = Int64(market.random(9000) + 1)
            state.bids[p] = size
            bids.append(level(p, size))
        }
        if let p = state.asks.keys.randomElement(using: &market) {
            let size = Int64(market.random(9000) + 1)
            state.asks[p] = size
            asks.append(level(p, size))
        }
        if market.random(4) == 0, let worst = state.asks.keys.max() {
            state.asks[worst] = nil
            asks.append(level(worst, 0))
            state.asks[worst + 1] = 1000
            asks.append(level(worst + 1, 1000))
        }
        return envelope("delta", bids, asks, state.updateId)
    }
}

extension SimMarket: RandomNumberGenerator {
    public mutating func next() -> UInt64 { random(UInt64.max) }
}
