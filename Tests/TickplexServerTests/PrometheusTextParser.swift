import Foundation

/// A strict parser of the Prometheus text exposition format (0.0.4), for checking `/metrics`: every line is a
/// comment (`# HELP`/`# TYPE`), blank, or a sample `name{label="value",…} value`; names and label names follow the
/// format's grammar; label values are quoted with its escapes; each sample belongs to a declared TYPE; histogram
/// buckets are cumulative and end with `le="+Inf"` equal to `_count`.
struct PrometheusTextParser {
    struct Sample: Equatable {
        var name: String
        var labels: [String: String]
        var value: Double
    }
    struct Failure: Error, CustomStringConvertible {
        var line: Int
        var text: String
        var reason: String
        var description: String { "line \(line): \(reason): \(text)" }
    }

    static func parse(_ text: String) throws -> (types: [String: String], samples: [Sample]) {
        var types: [String: String] = [:]
        var samples: [Sample] = []
        for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = String(line)
            func fail(_ reason: String) -> Failure { Failure(line: n + 1, text: line, reason: reason) }
            if line.isEmpty { continue }
            if line.hasPrefix("#") {
                let parts = line.split(separator: " ", maxSplits: 3).map(String.init)
                guard parts.count >= 3, parts[0] == "#" else { continue }
                if parts[1] == "TYPE" {
                    guard parts.count == 4, isName(parts[2]),
                        ["counter", "gauge", "histogram", "summary", "untyped"].contains(parts[3])
                    else { throw fail("bad TYPE line") }
                    guard types[parts[2]] == nil else { throw fail("TYPE declared twice") }
                    types[parts[2]] = parts[3]
                } else if parts[1] == "HELP" {
                    guard isName(parts[2]) else { throw fail("bad HELP name") }
                }
                continue
            }
            var i = line.startIndex
            var name = ""
            while i < line.endIndex, line[i] != "{", line[i] != " " {
                name.append(line[i])
                i = line.index(after: i)
            }
            guard isName(name) else { throw fail("bad metric name \"\(name)\"") }
            var labels: [String: String] = [:]
            if i < line.endIndex, line[i] == "{" {
                i = line.index(after: i)
                while i < line.endIndex, line[i] != "}" {
                    var label = ""
                    while i < line.endIndex, line[i] != "=" {
                        label.append(line[i])
                        i = line.index(after: i)
                    }
                    guard isLabelName(label), i < line.endIndex else { throw fail("bad label name \"\(label)\"") }
                    i = line.index(after: i)
                    guard i < line.endIndex, line[i] == "\"" else { throw fail("label value not quoted") }
                    i = line.index(after: i)
                    var value = ""
                    while i < line.endIndex, line[i] != "\"" {
                        if line[i] == "\\" {
                            i = line.index(after: i)
                            guard i < line.endIndex, ["\\", "\"", "n"].contains(line[i]) else {
                                throw fail("bad escape")
                            }
                            value.append(line[i] == "n" ? "\n" : line[i])
                        } else {
                            value.append(line[i])
                        }
                        i = line.index(after: i)
                    }
                    guard i < line.endIndex else { throw fail("unterminated label value") }
                    i = line.index(after: i)
                    guard labels[label] == nil else { throw fail("label repeated") }
                    labels[label] = value
                    if i < line.endIndex, line[i] == "," { i = line.index(after: i) }
                }
                guard i < line.endIndex else { throw fail("unterminated labels") }
                i = line.index(after: i)
            }
            let rest = line[i...].split(separator: " ")
            guard (1...2).contains(rest.count), let value = parseValue(String(rest[0])) else { throw fail("bad value") }
            if rest.count == 2, Int64(rest[1]) == nil { throw fail("bad timestamp") }
            let family = Self.family(of: name, types: types)
            guard let family, types[family] != nil else { throw fail("sample without a TYPE") }
            samples.append(Sample(name: name, labels: labels, value: value))
        }
        try checkHistograms(types: types, samples: samples)
        return (types, samples)
    }

    static func family(of name: String, types: [String: String]) -> String? {
        if types[name] != nil { return name }
        for suffix in ["_bucket", "_sum", "_count"] where name.hasSuffix(suffix) {
            let base = String(name.dropLast(suffix.count))
            if types[base] == "histogram" || types[base] == "summary" { return base }
        }
        return nil
    }

    static func checkHistograms(types: [String: String], samples: [Sample]) throws {
        for (name, type) in types where type == "histogram" {
            let buckets = samples.filter { $0.name == name + "_bucket" }
            let groups = Dictionary(grouping: buckets) {
                $0.labels.filter { $0.key != "le" }.sorted { $0.key < $1.key }.description
            }
            for (key, group) in groups {
                let ordered = group.sorted {
                    (parseValue($0.labels["le"] ?? "") ?? 0) < (parseValue($1.labels["le"] ?? "") ?? 0)
                }
                guard ordered.last?.labels["le"] == "+Inf" else {
                    throw Failure(line: 0, text: name, reason: "histogram without le=\"+Inf\"")
                }
                guard zip(ordered, ordered.dropFirst()).allSatisfy({ $0.value <= $1.value }) else {
                    throw Failure(line: 0, text: name, reason: "buckets not cumulative")
                }
                let count = samples.first {
                    $0.name == name + "_count" && $0.labels.sorted { $0.key < $1.key }.description == key
                }
                guard count?.value == ordered.last?.value else {
                    throw Failure(line: 0, text: name, reason: "+Inf bucket differs from _count")
                }
            }
        }
    }

    static func parseValue(_ s: String) -> Double? {
        switch s {
        case "+Inf": .infinity
        case "-Inf": -.infinity
        case "NaN": .nan
        default: Double(s)
        }
    }

    static func isName(_ s: String) -> Bool {
        guard let first = s.unicodeScalars.first, first == "_" || first == ":" || CharacterSet.letters.contains(first),
            first.isASCII
        else { return false }
        return s.unicodeScalars.allSatisfy {
            $0.isASCII && ($0 == "_" || $0 == ":" || CharacterSet.alphanumerics.contains($0))
        }
    }

    static func isLabelName(_ s: String) -> Bool { isName(s) && !s.contains(":") }
}
