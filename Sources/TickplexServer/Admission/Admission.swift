/// The answer of every check the node makes before it serves a connection or a request: admitted, or refused
/// with an HTTP status and a sentence the client can act on. Checks chain with `then`: the first refusal wins.
enum Admission: Equatable, Sendable {
    case admitted
    case refused(status: Int, reason: String)

    func then(_ next: () -> Admission) -> Admission { self == .admitted ? next() : self }
}
