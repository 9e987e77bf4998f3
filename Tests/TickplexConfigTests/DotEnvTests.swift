import Foundation
import Testing

@testable import TickplexConfig

@Suite(".env files")
struct DotEnvTests {
    @Test("comments, export, quotes and trailing comments")
    func parses() throws {
        let text = """
            # a comment
            PORT=9000
            export BRAND=acme
            REDIS_URL="redis://127.0.0.1:6379/1"
            LOG_LEVEL='debug'
            HOST=127.0.0.1 # loopback only

            EMPTY=
            """
        let env = try DotEnv.parse(text)
        #expect(
            env == [
                "PORT": "9000", "BRAND": "acme", "REDIS_URL": "redis://127.0.0.1:6379/1", "LOG_LEVEL": "debug",
                "HOST": "127.0.0.1", "EMPTY": "",
            ])
    }

    @Test("a malformed line is reported with its number")
    func malformed() {
        #expect(throws: DotEnv.ParseError(line: 2, text: "not a pair")) {
            try DotEnv.parse("PORT=1\nnot a pair\n")
        }
        #expect(throws: DotEnv.ParseError(line: 1, text: "A=\"unterminated")) {
            try DotEnv.parse("A=\"unterminated")
        }
    }

    @Test("the real environment wins over .env, and .env fills the rest")
    func environmentWins() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dotenv-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let path = dir.appendingPathComponent(".env").path
        try "PORT=9000\nBRAND=fromfile\n".write(toFile: path, atomically: true, encoding: .utf8)
        let c = try ConfigLoader.load(environment: ["PORT": "9100"], dotEnvPath: path)
        #expect(c.port == 9100)
        #expect(c.brand == "fromfile")
        // A bad value in the file is a configuration error like any other.
        try "PORT=nope\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: ConfigError.self) { try ConfigLoader.load(environment: [:], dotEnvPath: path) }
        // No file: defaults.
        #expect(
            try ConfigLoader.load(environment: [:], dotEnvPath: dir.appendingPathComponent("none").path).port == 8080)
    }
}
