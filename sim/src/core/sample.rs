//! Distributions, written out so that every machine draws the same numbers: only IEEE-exact
//! operations (+ − × ÷ sqrt) and the pure-Rust `libm` for ln/exp/cos, never the platform's
//! math library, whose last bits may differ.

use crate::core::rng::Draw;

/// Exponential with the given rate (events per unit).
pub fn exponential(s: &mut impl Draw, rate: f64) -> f64 {
    -libm::log(s.unit_open_low()) / rate
}

/// A uniform below which `exponential`'s draw at `rate` is surely at least `length`: the
/// caller may skip the logarithm there. Conservative (a margin of a millionth of the exponent
/// and 10⁻¹² absolute, far above the last-bit errors of `exp`, `log` and the division), so the
/// skip never decides otherwise than the draw; 0 (never skip) when the inputs give no number.
pub fn exponential_exceeds_below(rate: f64, length: f64) -> f64 {
    let below = libm::exp(-(rate * length) * (1.0 + 1e-6)) - 1e-12;
    if below > 0.0 {
        below
    } else {
        0.0
    }
}

/// Standard normal by Box–Muller (one of the pair; simple and exact to reproduce).
pub fn standard_normal(s: &mut impl Draw) -> f64 {
    let u1 = s.unit_open_low();
    let u2 = s.unit();
    libm::sqrt(-2.0 * libm::log(u1)) * libm::cos(std::f64::consts::TAU * u2)
}

/// Lognormal with the given median and shape `sigma` (the sd of the log).
pub fn lognormal(s: &mut impl Draw, median: f64, sigma: f64) -> f64 {
    median * libm::exp(sigma * standard_normal(s))
}

/// Triangular on [min, max] with the given mode.
pub fn triangular(s: &mut impl Draw, min: f64, mode: f64, max: f64) -> f64 {
    if max <= min {
        return min;
    }
    let u = s.unit();
    let cut = (mode - min) / (max - min);
    if u < cut {
        min + libm::sqrt(u * (max - min) * (mode - min))
    } else {
        max - libm::sqrt((1.0 - u) * (max - min) * (max - mode))
    }
}

/// A categorical distribution as cumulative weights; draws by binary search.
#[derive(Debug, Clone, Default)]
pub struct Categorical {
    cumulative: Vec<f64>,
}

impl Categorical {
    /// `None` when no weight is positive.
    pub fn new(weights: impl IntoIterator<Item = f64>) -> Option<Categorical> {
        let mut total = 0.0;
        let cumulative: Vec<f64> = weights
            .into_iter()
            .map(|w| {
                total += w.max(0.0);
                total
            })
            .collect();
        (total > 0.0).then_some(Categorical { cumulative })
    }
    /// The running totals of the weights, one per category.
    pub fn cumulative(&self) -> &[f64] {
        &self.cumulative
    }
    pub fn total(&self) -> f64 {
        self.cumulative.last().copied().unwrap_or(0.0)
    }
    pub fn len(&self) -> usize {
        self.cumulative.len()
    }
    pub fn is_empty(&self) -> bool {
        self.cumulative.is_empty()
    }
    pub fn draw(&self, s: &mut impl Draw) -> usize {
        let x = s.unit() * self.total();
        let i = self.cumulative.partition_point(|&c| c <= x);
        i.min(self.cumulative.len() - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::rng::{Purpose, Stream};

    fn stream() -> Stream {
        Stream::new(11, Purpose::Spending, 0, 0)
    }

    #[test]
    fn exponential_mean_is_one_over_rate() {
        let mut s = stream();
        let n = 100_000;
        let mean = (0..n).map(|_| exponential(&mut s, 4.0)).sum::<f64>() / n as f64;
        assert!((mean - 0.25).abs() < 0.005, "mean {mean}");
    }

    proptest::proptest! {
        #[test]
        fn below_the_skip_threshold_an_exponential_draw_exceeds_the_length(
            rate in proptest::prop_oneof![1e-12f64..1e-6, 1e-6f64..1.0],
            length in 0.0f64..1e8,
            v in 0.0f64..1.0,
        ) {
            let below = exponential_exceeds_below(rate, length);
            // Uniforms at and just under the threshold, and anywhere under it.
            for u in [below, f64::from_bits(below.to_bits().saturating_sub(1)), v * below] {
                if u > 0.0 && u < below {
                    proptest::prop_assert!(-libm::log(u) / rate >= length, "u {u} below {below}");
                }
            }
        }
    }

    #[test]
    fn the_skip_threshold_is_close_to_the_chance_of_no_arrival() {
        for (rate, length) in [(1e-5, 3e4), (0.04 / 43_200.0, 8.0 * 43_200.0), (2.0, 0.1)] {
            let chance = libm::exp(-rate * length);
            let below = exponential_exceeds_below(rate, length);
            assert!(below <= chance && chance - below < 1e-6, "{rate} {length}: {below} vs {chance}");
        }
        assert_eq!(exponential_exceeds_below(f64::INFINITY, 0.0), 0.0, "no number: never skip");
    }

    #[test]
    fn lognormal_median_is_the_median() {
        let mut s = stream();
        let mut xs: Vec<f64> = (0..20_001).map(|_| lognormal(&mut s, 8.0, 0.5)).collect();
        xs.sort_by(f64::total_cmp);
        let median = xs[10_000];
        assert!((median - 8.0).abs() < 0.2, "median {median}");
    }

    #[test]
    fn triangular_stays_within_bounds_and_centres_on_mode() {
        let mut s = stream();
        let xs: Vec<f64> = (0..50_000).map(|_| triangular(&mut s, 24.0, 48.0, 72.0)).collect();
        assert!(xs.iter().all(|&x| (24.0..=72.0).contains(&x)));
        let mean = xs.iter().sum::<f64>() / xs.len() as f64;
        assert!((mean - 48.0).abs() < 0.3, "mean {mean}");
    }

    #[test]
    fn categorical_never_draws_zero_weight() {
        let c = Categorical::new([0.0, 1.0, 0.0, 3.0]).unwrap();
        let mut s = stream();
        let mut counts = [0usize; 4];
        for _ in 0..40_000 {
            counts[c.draw(&mut s)] += 1;
        }
        assert_eq!(counts[0] + counts[2], 0);
        assert!((counts[3] as f64 / counts[1] as f64 - 3.0).abs() < 0.2);
        assert!(Categorical::new([0.0, 0.0]).is_none());
    }
}
