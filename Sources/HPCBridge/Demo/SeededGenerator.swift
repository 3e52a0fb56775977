/// Deterministic pseudo-random numbers (SplitMix64): the demo data must be the same bytes on every
/// machine and every run, so its stamp can say "already written" and tests can rely on the planted truth.
/// Not for anything that needs unpredictability.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64

    init(state: UInt64) { self.state = state }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A number in `0..<bound` (the small modulo bias does not matter for test data).
    mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }
}
