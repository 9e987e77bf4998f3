import Foundation
import NIOCore
import NIOHTTP1
import TickplexModel

/// Plain HTTP on the simulator's port: the control API, and clear refusals for requests that are not upgrades.
///
/// `GET /sim/connections` reports every connection (path, subscriptions, requests, pings); `POST` (or `GET`)
/// `/sim/drop`, `/sim/stall`, `/sim/malformed`, `/sim/snapshot`, `/sim/skip-update-id`, `/sim/refuse?seconds=N`
/// inject faults. A refused WebSocket upgrade gets 403 while refusing, 404 for an unknown path.
final class SimControlHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    static let name = "sim-control"
    let simulator: ExchangeSimulator
    private var head: HTTPRequestHead?

    init(simulator: ExchangeSimulator) { self.simulator = simulator }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h): head = h
        case .body: break
        case .end:
            guard let head else { return }
            self.head = nil
            handle(head, context: context)
        }
    }

    private func handle(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        let (path, query) = Self.split(head.uri)
        let sim = simulator
        let respond = Self.responder(context: context)
        if head.headers["upgrade"].first?.lowercased() == "websocket" {
            let refusing = sim.isRefusing
            respond(
                refusing ? .forbidden : .notFound,
                refusing ? #"{"error":"connections refused (simulated fault)"}"# : #"{"error":"no such endpoint"}"#)
            return
        }
        let params = Self.parameters(query)
        if let venueName = path == "/sim/list" ? params["venue"] : nil {
            guard let venue = Venue(rawValue: venueName), let symbol = params["symbol"] else {
                respond(.badRequest, #"{"error":"/sim/list needs venue and symbol"}"#)
                return
            }
            Task {
                await sim.list(symbol, on: venue, status: params["status"])
                respond(.ok, #"{"ok":true}"#)
            }
            return
        }
        if path == "/sim/rest" {
            Task {
                let counters = await sim.restCounters()
                let body = (try? JSONEncoder().encode(counters)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
                respond(.ok, body)
            }
            return
        }
        if !path.hasPrefix("/sim/") {
            let respondFull = Self.fullResponder(context: context)
            Task {
                guard let answer = await sim.rest(path: path, query: params) else {
                    respond(.notFound, #"{"error":"no such endpoint"}"#)
                    return
                }
                respondFull(answer)
            }
            return
        }
        let fault: (@Sendable () async -> Void)?
        switch path {
        case "/sim/connections":
            Task {
                let infos = await sim.connections()
                let body = (try? JSONEncoder().encode(infos)).map { String(decoding: $0, as: UTF8.self) } ?? "[]"
                respond(.ok, body)
            }
            return
        case "/sim/drop": fault = { await sim.dropAll() }
        case "/sim/stall": fault = { await sim.stall() }
        case "/sim/malformed": fault = { await sim.sendMalformedFrame() }
        case "/sim/fragment-flood": fault = { await sim.sendFragmentFlood() }
        case "/sim/snapshot": fault = { await sim.sendFreshSnapshot() }
        case "/sim/skip-update-id": fault = { await sim.skipUpdateId() }
        case "/sim/refuse":
            let seconds =
                query.flatMap { q in
                    q.split(separator: "&").first { $0.hasPrefix("seconds=") }.flatMap { Double($0.dropFirst(8)) }
                } ?? 5
            fault = { await sim.refuseConnections(for: .milliseconds(Int(seconds * 1000))) }
        default:
            fault = nil
        }
        guard let fault else {
            respond(
                .notFound,
                #"{"error":"unknown control path; see /sim/connections, /sim/drop, /sim/stall, /sim/malformed, /sim/fragment-flood, /sim/snapshot, /sim/skip-update-id, /sim/refuse?seconds=N"}"#
            )
            return
        }
        Task {
            await fault()
            respond(.ok, #"{"ok":true}"#)
        }
    }

    private static func split(_ uri: String) -> (String, String?) {
        let parts = uri.split(separator: "?", maxSplits: 1).map(String.init)
        return (parts.first ?? "/", parts.count > 1 ? parts[1] : nil)
    }

    static func parameters(_ query: String?) -> [String: String] {
        var out: [String: String] = [:]
        for pair in (query ?? "").split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1).map(String.init)
            guard let key = kv.first, !key.isEmpty else { continue }
            out[key] = kv.count > 1 ? (kv[1].removingPercentEncoding ?? kv[1]) : ""
        }
        return out
    }

    /// Writes a REST answer (status, headers, body) from any thread, then closes the connection.
    private static func fullResponder(context: ChannelHandlerContext) -> @Sendable (SimREST.Response) -> Void {
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        let loop = context.eventLoop
        return { answer in
            loop.execute {
                let context = bound.value
                var headers = HTTPHeaders()
                for (name, value) in answer.headers { headers.add(name: name, value: value) }
                headers.add(name: "content-length", value: "\(answer.body.utf8.count)")
                headers.add(name: "connection", value: "close")
                context.write(
                    NIOAny(
                        HTTPServerResponsePart.head(
                            HTTPResponseHead(
                                version: .http1_1, status: HTTPResponseStatus(statusCode: answer.status),
                                headers: headers))),
                    promise: nil)
                context.write(
                    NIOAny(HTTPServerResponsePart.body(.byteBuffer(ByteBuffer(string: answer.body)))), promise: nil)
                let channel = context.channel
                context.writeAndFlush(NIOAny(HTTPServerResponsePart.end(nil))).whenComplete { _ in
                    channel.close(promise: nil)
                }
            }
        }
    }

    /// Writes one JSON response from any thread, then closes the connection.
    private static func responder(context: ChannelHandlerContext) -> @Sendable (HTTPResponseStatus, String) -> Void {
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        let loop = context.eventLoop
        return { status, body in
            loop.execute {
                let context = bound.value
                var headers = HTTPHeaders()
                headers.add(name: "content-type", value: "application/json")
                headers.add(name: "content-length", value: "\(body.utf8.count)")
                headers.add(name: "connection", value: "close")
                context.write(
                    NIOAny(
                        HTTPServerResponsePart.head(
                            HTTPResponseHead(version: .http1_1, status: status, headers: headers))),
                    promise: nil)
                context.write(NIOAny(HTTPServerResponsePart.body(.byteBuffer(ByteBuffer(string: body)))), promise: nil)
                let channel = context.channel
                context.writeAndFlush(NIOAny(HTTPServerResponsePart.end(nil))).whenComplete { _ in
                    channel.close(promise: nil)
                }
            }
        }
    }
}
