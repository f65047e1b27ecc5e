//! Where fault rules take their randomness from.

/// A source of uniform draws in `[0, 1)`, one stream per purpose.
///
/// `stream` names what a draw is for (`fault/<rule id>/fire`, `fault/<rule id>/latency`),
/// so that a seeded implementation can give each rule and purpose a stream of its own,
/// stable under unrelated changes (`Entropy` does).
pub trait Draw: Send + Sync {
    /// A number in `[0, 1)`: the next of the stream.
    fn unit(&self, stream: &str) -> f64;

    /// A number in `[0, 1)` that depends on the key alone (and the seed, when seeded): for
    /// the engine's draws, which must come out the same whichever replica, batch or
    /// restart makes them.
    fn unit_keyed(&self, key: &str) -> f64;
}

/// The top 53 bits of `bits` as a number in `[0, 1)`: every value equally likely.
pub(crate) fn unit_from_bits(bits: u64) -> f64 {
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

/// The same draw every time: for tests.
#[derive(Debug, Clone, Copy)]
pub struct FixedDraw(pub f64);

impl Draw for FixedDraw {
    fn unit(&self, _stream: &str) -> f64 {
        self.0
    }

    fn unit_keyed(&self, _key: &str) -> f64 {
        self.0
    }
}
