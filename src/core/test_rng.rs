//! The seeded generator of the tests' brute-force populations (xorshift64*): small, fixed and
//! replayable from a printed seed.

pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number below `n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// True `percent` times in a hundred.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    /// One of `from`.
    pub fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[self.below(from.len() as u64) as usize]
    }

    /// Each of `from`, kept `percent` times in a hundred.
    pub fn subset(&mut self, from: &[&str], percent: u64) -> Vec<String> {
        from.iter()
            .filter(|_| self.chance(percent))
            .map(|s| (*s).to_owned())
            .collect()
    }
}
