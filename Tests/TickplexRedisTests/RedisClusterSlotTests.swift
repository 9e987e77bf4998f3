import Testing
import TickplexRedis

/// The key → slot function Redis Cluster uses (CRC16/XMODEM mod 16384, hash tags), checked against the values
/// of the Redis Cluster specification and `CLUSTER KEYSLOT`.
@Suite("Redis Cluster slots")
struct RedisClusterSlotTests {
    @Test("known slots: the spec's examples; a hash tag decides; empty or unclosed braces do not")
    func slots() {
        // `redis-cli cluster keyslot foo` → 12182; `bar` → 5061; "123456789" is CRC16/XMODEM's check value 0x31C3.
        #expect(RedisClusterSlot.slot("foo") == 12182)
        #expect(RedisClusterSlot.slot("bar") == 5061)
        #expect(RedisClusterSlot.slot("123456789") == 0x31C3 % 16384)
        #expect(RedisClusterSlot.slot("{user1000}.following") == RedisClusterSlot.slot("{user1000}.followers"))
        #expect(RedisClusterSlot.slot("{user1000}.following") == RedisClusterSlot.slot("user1000"))
        // `foo{}{bar}`: the first braces are empty, so the whole key is hashed.
        #expect(RedisClusterSlot.slot("foo{}{bar}") != RedisClusterSlot.slot("bar"))
        // `foo{{bar}}zap`: the tag is `{bar`.
        #expect(RedisClusterSlot.slot("foo{{bar}}zap") == RedisClusterSlot.slot("{bar"))
        #expect(RedisClusterSlot.slot("foo{bar}{zap}") == RedisClusterSlot.slot("bar"))
        #expect(RedisClusterSlot.slot("no{close") == RedisClusterSlot.slot("no{close"))
    }

    @Test("routing key: the first key of EVAL, the channel of SPUBLISH, none for PING")
    func routing() {
        #expect(RedisClusterSlot.routingKey(RedisCommand("SET", "k", "v")) == "k")
        #expect(RedisClusterSlot.routingKey(RedisCommand("EVAL", "return 1", 2, "a", "b", "x")) == "a")
        #expect(RedisClusterSlot.routingKey(RedisCommand("EVAL", "return 1", 0, "x")) == nil)
        #expect(RedisClusterSlot.routingKey(RedisCommand("SPUBLISH", "ch", "m")) == "ch")
        #expect(RedisClusterSlot.routingKey(RedisCommand("PING")) == nil)
    }
}
