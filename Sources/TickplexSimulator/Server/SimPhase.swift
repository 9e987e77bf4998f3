/// Each topic's phase within the frame period when the simulator runs with `randomPhase`: the period is cut in
/// `slots` and a topic sends in the slot its name's FNV-1a hash picks, so a topic keeps its phase on every
/// connection and every run (and the benchmark's nchan publisher can use the same phases).
public enum SimPhase {
    public static let slots = 10

    public static func of(_ topic: String) -> Int {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in topic.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return Int(hash % UInt64(slots))
    }
}
