/// A configuration value that cannot be used.
///
/// The message names the variable, the value that was given and what is allowed, so that one line
/// is enough to fix it.
public struct ConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    public let variable: String
    public let value: String
    public let allowed: String

    public init(variable: String, value: String, allowed: String) {
        self.variable = variable
        self.value = value
        self.allowed = allowed
    }

    public var description: String {
        "invalid configuration: \(variable)=\"\(value)\" is not allowed; expected \(allowed)"
    }
}
