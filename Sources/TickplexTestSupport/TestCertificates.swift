import Foundation

/// A throwaway certificate authority and a server certificate it signed (for 127.0.0.1 and localhost), made with
/// the `openssl` command in a temporary folder: for tests of TLS with verification (Scripts/test installs openssl).
public struct TestCertificates: Sendable {
    public let directory: String
    public var caCertificate: String { directory + "/ca.crt" }
    public var serverCertificate: String { directory + "/server.crt" }
    public var serverKey: String { directory + "/server.key" }

    /// A new CA and server certificate.
    public static func make() throws -> TestCertificates {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tickplex-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let certs = TestCertificates(directory: dir.path)
        try "subjectAltName=IP:127.0.0.1,DNS:localhost\n".write(
            toFile: dir.path + "/ext", atomically: true, encoding: .utf8)
        let steps: [[String]] = [
            [
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", dir.path + "/ca.key", "-out",
                certs.caCertificate, "-days", "2", "-subj", "/CN=tickplex-test-ca",
            ],
            [
                "req", "-newkey", "rsa:2048", "-nodes", "-keyout", certs.serverKey, "-out", dir.path + "/server.csr",
                "-subj", "/CN=localhost",
            ],
            [
                "x509", "-req", "-in", dir.path + "/server.csr", "-CA", certs.caCertificate, "-CAkey",
                dir.path + "/ca.key", "-CAcreateserial", "-out", certs.serverCertificate, "-days", "2", "-extfile",
                dir.path + "/ext",
            ],
        ]
        for arguments in steps { try runTool("openssl", arguments) }
        return certs
    }
}
