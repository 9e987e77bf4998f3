import Foundation
import Testing

@testable import TickplexConfig

@Suite(".env.example")
struct EnvExampleTests {
    static var packageRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
    }

    @Test("documents every variable, and its values are exactly the defaults")
    func documentsEveryVariable() throws {
        let text = try String(contentsOf: Self.packageRoot.appendingPathComponent(".env.example"), encoding: .utf8)
        // Commented-out assignments (`# REDIS_URL=…`) document optional variables.
        let uncommented = text.split(separator: "\n").map { line -> Substring in
            guard line.hasPrefix("# ") else { return line }
            let rest = line.dropFirst(2)
            let name = rest.prefix { $0.isUppercase || $0.isNumber || $0 == "_" }
            return !name.isEmpty && rest.dropFirst(name.count).hasPrefix("=") ? rest : line
        }.joined(separator: "\n")
        let env = try DotEnv.parse(uncommented)
        #expect(Set(env.keys) == Set(ConfigLoader.variables))
        var withoutRedis = env
        withoutRedis["REDIS_URL"] = nil
        #expect(try ConfigLoader.parse(withoutRedis) == TickplexConfig())
    }
}
