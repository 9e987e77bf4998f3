import Foundation
public import HTTPTypes
import HummingbirdTesting
import NIOCore

/// One HTTP GET over a real loopback connection; returns status code and body text.
public func httpGet(port: Int, _ path: String, timeout: Duration = .seconds(10)) async throws -> (
    status: Int, body: String
) {
    try await TestClient.withClient(host: "127.0.0.1", port: port, configuration: .init(timeout: timeout)) { client in
        let response = try await client.get(path)
        let body = response.body.map { String(buffer: $0) } ?? ""
        return (Int(response.status.code), body)
    }
}

/// One HTTP request of any method over a real loopback connection; status, headers and body text.
public func httpRequest(
    port: Int, _ method: HTTPRequest.Method, _ path: String, headers: HTTPFields = [:],
    timeout: Duration = .seconds(10)
) async throws -> (status: Int, headers: HTTPFields, body: String) {
    try await TestClient.withClient(host: "127.0.0.1", port: port, configuration: .init(timeout: timeout)) { client in
        let response = try await client.execute(.init(path, method: method, headers: headers))
        let body = response.body.map { String(buffer: $0) } ?? ""
        return (Int(response.status.code), response.headers, body)
    }
}

/// Parses a JSON object body.
public func jsonObject(_ text: String) -> [String: Any]? {
    (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any]
}

/// Polls `condition` every 20 ms until it holds or `timeout` passes.
public func eventually(
    timeout: Duration = .seconds(10), _ condition: @Sendable () async throws -> Bool
) async rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return try await condition()
}
