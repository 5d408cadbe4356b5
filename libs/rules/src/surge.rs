//! Complaint-surge early warning (SPEC §6, seed 002): one [`Detector`] per (category,
//! region) key turns its daily complaint counts into at most one [`Warning`] per surge.
//!
//! Pure and incremental: no I/O, no clock. Days are `i64` day numbers chosen by the caller
//! (e.g. days since the epoch in UTC+8), so "same weekday" is simply `day - 7k`.
//!
//! **Baseline** for day `d`, from the stored counts of the [`WINDOW`] = 28 days before it
//! (never `d` itself), limited to the `h = min(history, 28)` days actually tracked:
//!
//! ```text
//! m        = mean of the h stored counts
//! S, n     = sum and number of the stored counts on d-7, d-14, d-21, d-28 (within h)
//! expected = max(floor, (S + k·m) / (n + k))        k = weekday_prior, floor = 0.5
//! ```
//!
//! i.e. the same-weekday mean shrunk toward the overall mean as if `k` extra days at the
//! overall mean had been seen: weekly peaks are expected, yet one noisy week weighs only
//! `1 / (n + k)`. The floor keeps a silent key from alerting on its first complaint.
//!
//! **Test**: day `d` surges when at least `warmup_days` closed days precede it and `count >=
//! threshold = max(min_count, smallest c with P(X >= c) < alpha)`, `X ~ Poisson(expected)`:
//! `count >= min_count` and its p-value is below `alpha`. The baseline being estimated from
//! few days, pure Poisson noise alerts on about 2-4 × alpha of its days (tests pin it).
//!
//! **Once per surge**: the first surging day raises; later surging days stay silent until
//! `quiet_days` consecutive closed days are under the threshold, then a new surge raises.
//!
//! **No pollution**: a day enters the window capped at `threshold - 1` (the largest count
//! that would not have surged), so a surge barely lifts the next baselines, while a lasting
//! new level still pulls them up bit by bit (excluding surge days would freeze them).

/// Days of history a baseline looks back on; the persisted window holds exactly this many.
pub const WINDOW: usize = 28;

/// Above this mean, [`poisson_tail`] uses the Wilson–Hilferty approximation: the exact sum
/// needs O(√λ) terms, and at this size the approximation is already within 0.1 %.
pub const EXACT_MAX_MEAN: f64 = 10_000.0;

/// The knobs of the detector; [`Default`] is the SPEC's setting.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Params {
    /// Fewest complaints in a day that may warn (5): a tiny baseline makes 2 look extreme.
    pub min_count: u32,
    /// Upper-tail probability under which a count is a surge (0.001).
    pub alpha: f64,
    /// Lowest expected count per day (0.5), so a zero baseline is not infinitely surprised.
    pub floor: f64,
    /// Closed days of history needed before any test (14): two weeks of weekdays.
    pub warmup_days: u32,
    /// Consecutive closed days under the threshold that end a surge (2; below 1 acts as 1).
    pub quiet_days: u32,
    /// Weight, in days, of the overall mean in the weekday estimate (1.0).
    pub weekday_prior: f64,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            min_count: 5,
            alpha: 0.001,
            floor: 0.5,
            warmup_days: 14,
            quiet_days: 2,
            weekday_prior: 1.0,
        }
    }
}

/// Raised on the first surging day of a surge: what the complaints service reports.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Warning {
    /// The day that surged.
    pub day: i64,
    /// Its count when it first surged (the threshold, when counts grow through the day).
    pub count: u32,
    /// Expected count for the day (the formula in the module docs).
    pub baseline: f64,
    /// `count / baseline`.
    pub ratio: f64,
    /// `P(X >= count)` for `X ~ Poisson(baseline)`.
    pub p_value: f64,
    /// Smallest count that would have surged that day.
    pub threshold: u32,
}

/// Everything a detector remembers, plain so the service can keep it in a row per key
/// (`day bigint, today int, window int[28], history int, in_surge bool, quiet int`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct State {
    /// The open day (the last one observed); `None` before the first observation.
    pub day: Option<i64>,
    /// The open day's latest count.
    pub today: u32,
    /// Stored (capped) counts of the 28 days before `day`, oldest first.
    pub window: [u32; WINDOW],
    /// Closed days since tracking began (saturating); only the last 28 are in `window`.
    pub history: u32,
    /// A surge has warned and has not yet ended.
    pub in_surge: bool,
    /// Consecutive closed days under the threshold during the current surge.
    pub quiet: u32,
}

/// The per-key detector: [`Params`] from configuration plus the persisted [`State`].
#[derive(Clone, Debug, PartialEq)]
pub struct Detector {
    params: Params,
    state: State,
}

impl Detector {
    /// A detector for a key seen for the first time.
    pub fn new(params: Params) -> Self {
        Detector::from_state(params, State::default())
    }

    /// A detector resumed from a state the service stored.
    pub fn from_state(params: Params, state: State) -> Self {
        Detector { params, state }
    }

    /// The state to store after each observation.
    pub fn state(&self) -> State {
        self.state
    }

    /// Records that `day` has `count` complaints so far. Call it whenever the day's count
    /// changes (the latest call wins, so counts may grow through the day); a later day
    /// closes the open one, and days skipped in between count as 0. A day before the
    /// open one is ignored: its baseline window has moved on. Returns a warning at most
    /// once per surge, however many times the surging day is observed.
    pub fn observe(&mut self, day: i64, count: u32) -> Option<Warning> {
        match self.state.day {
            Some(open) if day < open => return None,
            Some(open) if day > open => {
                self.close(self.state.today);
                // After a window and a quiet spell of zeros nothing but history changes.
                let skipped = day.abs_diff(open) - 1;
                let bound = WINDOW as u64 + u64::from(self.params.quiet_days.max(1));
                for _ in 0..skipped.min(bound) {
                    self.close(0);
                }
                let rest = u32::try_from(skipped.saturating_sub(bound)).unwrap_or(u32::MAX);
                self.state.history = self.state.history.saturating_add(rest);
            }
            _ => {}
        }
        self.state.day = Some(day);
        self.state.today = count;

        if self.state.in_surge || self.state.history < self.params.warmup_days {
            return None;
        }
        let baseline = self.expected();
        let threshold = self.threshold(baseline);
        if count < threshold {
            return None;
        }
        self.state.in_surge = true;
        self.state.quiet = 0;
        Some(Warning {
            day,
            count,
            baseline,
            ratio: f64::from(count) / baseline,
            p_value: poisson_tail(count, baseline),
            threshold,
        })
    }

    /// Expected count for the open day (module docs), from the window before it.
    fn expected(&self) -> f64 {
        let p = &self.params;
        let h = (self.state.history as usize).min(WINDOW);
        if h == 0 {
            return p.floor;
        }
        let tracked = &self.state.window[WINDOW - h..];
        let mean = tracked.iter().map(|&c| f64::from(c)).sum::<f64>() / h as f64;
        let same_weekday = (1..=WINDOW / 7).filter(|w| w * 7 <= h);
        let (sum, n) = same_weekday.fold((0.0, 0.0), |(s, n), w| {
            (s + f64::from(self.state.window[WINDOW - w * 7]), n + 1.0)
        });
        let expected = if n + p.weekday_prior > 0.0 {
            (sum + p.weekday_prior * mean) / (n + p.weekday_prior)
        } else {
            mean
        };
        expected.max(p.floor)
    }

    fn threshold(&self, expected: f64) -> u32 {
        surge_count(expected, self.params.alpha).max(self.params.min_count)
    }

    /// Moves the open day (with its final `count`) into the window.
    fn close(&mut self, count: u32) {
        let tested = self.state.history >= self.params.warmup_days;
        // Warm-up days are stored raw: there is no baseline yet to cap them against.
        let threshold = tested.then(|| self.threshold(self.expected()));
        let threshold = threshold.unwrap_or(u32::MAX);
        let s = &mut self.state;
        if s.in_surge {
            s.quiet = if count >= threshold { 0 } else { s.quiet + 1 };
            if s.quiet >= self.params.quiet_days.max(1) {
                (s.in_surge, s.quiet) = (false, 0);
            }
        }
        s.window.rotate_left(1);
        s.window[WINDOW - 1] = count.min(threshold.saturating_sub(1));
        s.history = s.history.saturating_add(1);
    }
}

/// Smallest `c >= 1` with `P(X >= c | mean) < alpha` (`u32::MAX` if none fits).
fn surge_count(mean: f64, alpha: f64) -> u32 {
    let mut hi = (mean.ceil() as u32).max(1);
    while poisson_tail(hi, mean) >= alpha {
        if hi == u32::MAX {
            return u32::MAX;
        }
        hi = hi.saturating_mul(2);
    }
    // The tail falls as c grows: binary search for the first c under alpha in (lo, hi].
    let mut lo = 0;
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if poisson_tail(mid, mean) < alpha {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    hi
}

/// `P(X >= count)` for `X ~ Poisson(mean)`: the p-value of a day's count.
///
/// Up to [`EXACT_MAX_MEAN`], an exact sum of terms `e^-λ λ^k / k!` built in log space (so
/// neither `λ^k` nor `k!` overflows), over the smaller side of the mode: the upper tail
/// directly when `count > λ`, else one minus the lower tail. Above it, Wilson–Hilferty:
/// `P(X >= c) = P(χ²(2c) <= 2λ) ≈ Φ(3√c · ((λ/c)^⅓ − 1 + 1/(9c)))`.
pub fn poisson_tail(count: u32, mean: f64) -> f64 {
    if count == 0 {
        return 1.0;
    }
    if mean <= 0.0 {
        return 0.0;
    }
    let c = f64::from(count);
    if mean > EXACT_MAX_MEAN {
        let z = 3.0 * c.sqrt() * ((mean / c).cbrt() - 1.0 + 1.0 / (9.0 * c));
        return normal_cdf(z);
    }
    let term = |k: u32| (-mean + f64::from(k) * mean.ln() - ln_factorial(k)).exp();
    if c > mean {
        // Terms shrink by λ/(k+1) < 1: stop once they no longer change the sum.
        let (mut k, mut t, mut sum) = (count, term(count), 0.0);
        while t > sum * 1e-17 {
            sum += t;
            k += 1;
            t *= mean / f64::from(k);
        }
        sum
    } else {
        // Below the mode the terms shrink by k/λ <= 1 going down.
        let (mut k, mut t) = (count - 1, term(count - 1));
        let mut sum = t;
        while k > 0 && t > sum * 1e-17 {
            t *= f64::from(k) / mean;
            k -= 1;
            sum += t;
        }
        (1.0 - sum).max(0.0)
    }
}

/// `ln(k!)`: summed exactly up to 20, Stirling's series (error < 1e-13) above.
fn ln_factorial(k: u32) -> f64 {
    if k <= 20 {
        return (2..=k).map(|i| f64::from(i).ln()).sum();
    }
    let n = f64::from(k);
    let (inv, inv2) = (1.0 / n, 1.0 / (n * n));
    n * n.ln() - n
        + 0.5 * (2.0 * std::f64::consts::PI * n).ln()
        + inv * (1.0 / 12.0 - inv2 * (1.0 / 360.0 - inv2 / 1260.0))
}

/// Standard normal CDF via `erfc`, accurate in relative terms far into the tails.
fn normal_cdf(z: f64) -> f64 {
    0.5 * erfc(-z / std::f64::consts::SQRT_2)
}

/// Complementary error function, Chebyshev fit (Numerical Recipes `erfcc`): relative error
/// under 1.2e-7 everywhere, which is what a p-value compared with 0.001 needs.
fn erfc(x: f64) -> f64 {
    #[rustfmt::skip]
    const C: [f64; 10] = [
        -1.265_512_23, 1.000_023_68, 0.374_091_96, 0.096_784_18, -0.186_288_06,
        0.278_868_07, -1.135_203_98, 1.488_515_87, -0.822_152_23, 0.170_872_77,
    ];
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = C.iter().rev().fold(0.0, |acc, &c| acc * t + c);
    let r = t * (poly - z * z).exp();
    if x >= 0.0 { r } else { 2.0 - r }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An arbitrary day number, so nothing relies on day 0.
    const START: i64 = 20_000;

    /// Deterministic pseudo-noise: a 64-bit LCG, uniform in [0, 1).
    struct Lcg(u64);

    impl Lcg {
        fn next(&mut self) -> f64 {
            self.0 = (self.0.wrapping_mul(6_364_136_223_846_793_005))
                .wrapping_add(1_442_695_040_888_963_407);
            (self.0 >> 11) as f64 / (1u64 << 53) as f64
        }

        fn poisson(&mut self, mean: f64) -> u32 {
            let (mut k, mut p) = (0, self.next());
            while p > (-mean).exp() {
                (k, p) = (k + 1, p * self.next());
            }
            k
        }
    }

    /// 120 days, weekdays at `weekday`, days 5 and 6 of each week at `weekend`, each day
    /// off by up to ±20 % (bounded, so these tests check behaviour, not luck).
    fn jittered(weekday: f64, weekend: f64) -> Vec<u32> {
        let mut lcg = Lcg(7);
        let level = |i: usize| if i % 7 >= 5 { weekend } else { weekday };
        (0..120)
            .map(|i| (level(i) * (0.8 + 0.4 * lcg.next())).round() as u32)
            .collect()
    }

    /// Days (offset from START) that warned, one observation per day.
    fn warnings(counts: &[u32], params: Params) -> Vec<i64> {
        let mut d = Detector::new(params);
        let days = counts.iter().enumerate();
        days.filter_map(|(i, &c)| d.observe(START + i as i64, c))
            .map(|w| w.day - START)
            .collect()
    }

    /// A detector that has seen `counts[..days]`.
    fn fed(counts: &[u32], days: usize) -> Detector {
        let mut d = Detector::new(Params::default());
        for (i, &c) in counts[..days].iter().enumerate() {
            d.observe(START + i as i64, c);
        }
        d
    }

    const NONE: Vec<i64> = Vec::new();

    #[test]
    fn a_flat_noisy_series_raises_nothing() {
        assert_eq!(warnings(&jittered(10.0, 10.0), Params::default()), NONE);
    }

    #[test]
    fn a_fourfold_day_raises_once_on_that_day() {
        let mut counts = jittered(10.0, 10.0);
        counts[80] = 40;
        assert_eq!(warnings(&counts, Params::default()), vec![80]);
        let w = fed(&counts, 80).observe(START + 80, 40).unwrap();
        assert!((8.0..12.0).contains(&w.baseline) && w.ratio > 3.0, "{w:?}");
        assert!(w.p_value < 1e-9 && w.threshold < 40, "{w:?}");
    }

    #[test]
    fn regular_weekend_peaks_are_expected_not_surges() {
        let counts = jittered(10.0, 30.0);
        assert_eq!(warnings(&counts, Params::default()), NONE);
        // The weekday factor is what keeps them quiet: with the overall mean alone (a
        // prior so heavy the weekday mean is ignored) the weekends alert.
        let overall_only = Params {
            weekday_prior: 1e9,
            ..Params::default()
        };
        assert!(warnings(&counts, overall_only).iter().any(|d| d % 7 >= 5));
    }

    #[test]
    fn a_three_day_surge_raises_once_and_a_later_one_again() {
        let mut counts = jittered(10.0, 10.0);
        counts[60..63].copy_from_slice(&[40, 45, 38]);
        (counts[95], counts[97]) = (42, 41); // one quiet day (96) does not end a surge
        assert_eq!(warnings(&counts, Params::default()), vec![60, 95]);
        // Surge days entered the window capped under their threshold, not as ~40.
        let stored = fed(&counts, 64).state().window;
        assert!(stored[WINDOW - 3..].iter().all(|&c| c < 25), "{stored:?}");
    }

    #[test]
    fn a_near_zero_baseline_needs_the_minimum_count() {
        let mut counts = vec![0; 60];
        counts[40] = 4; // P(X >= 4 | 0.5) = 0.0018: neither rule fires
        counts[50] = 5;
        assert_eq!(warnings(&counts, Params::default()), vec![50]);
        // With a lower floor 3 complaints pass alpha; the minimum count still holds them.
        let low_floor = Params {
            floor: 0.1,
            ..Params::default()
        };
        assert!(poisson_tail(3, 0.1) < low_floor.alpha);
        assert_eq!(warnings(&[vec![0; 40], vec![3]].concat(), low_floor), NONE);
    }

    #[test]
    fn a_count_growing_through_the_day_raises_once() {
        let counts = jittered(10.0, 10.0);
        let (mut growing, mut once) = (fed(&counts, 80), fed(&counts, 80));
        let raised: Vec<Warning> = (1..=40)
            .filter_map(|c| growing.observe(START + 80, c))
            .collect();
        assert_eq!(raised.len(), 1);
        assert_eq!(raised[0].count, raised[0].threshold); // raised as soon as it surged
        assert!(once.observe(START + 80, 40).is_some());
        for (i, &c) in counts.iter().enumerate().skip(81) {
            assert_eq!(growing.observe(START + i as i64, c), None);
            once.observe(START + i as i64, c);
        }
        assert_eq!(growing.state(), once.state());
    }

    #[test]
    fn skipped_days_count_as_zero_and_past_days_are_ignored() {
        let counts = [jittered(10.0, 10.0)[..30].to_vec(), vec![0; 10], vec![3]].concat();
        let (mut skipping, explicit) = (fed(&counts, 30), fed(&counts, 41));
        skipping.observe(START + 40, 3);
        assert_eq!(skipping.state(), explicit.state());
        assert_eq!(skipping.observe(START + 10, 500), None);
        assert_eq!(skipping.state(), explicit.state());
        // A long silence: the window is all zeros and history still counts every day.
        skipping.observe(START + 1_040, 0);
        let s = skipping.state();
        assert_eq!((s.window, s.history), ([0; WINDOW], 1_040));
    }

    /// Pure Poisson noise alerts a little above alpha (the baseline is itself estimated
    /// from few days); this pins the rate so a broken baseline shows.
    #[test]
    fn the_false_alarm_rate_on_poisson_noise_stays_near_alpha() {
        for (weekday, weekend) in [(10.0, 10.0), (10.0, 30.0), (2.0, 6.0)] {
            let mut alarms = 0;
            for seed in 0..200 {
                let mut lcg = Lcg(seed);
                let level = |i: usize| if i % 7 >= 5 { weekend } else { weekday };
                let counts: Vec<u32> = (0..120).map(|i| lcg.poisson(level(i))).collect();
                alarms += warnings(&counts, Params::default()).len();
            }
            let rate = alarms as f64 / (200.0 * 106.0); // 106 tested days a series
            assert!(rate < 0.006, "{weekday}/{weekend}: {rate}");
        }
    }

    fn assert_close(count: u32, mean: f64, want: f64, rel: f64) {
        let got = poisson_tail(count, mean);
        let msg = format!("P(X >= {count} | {mean}) = {got:e}, want {want:e}");
        assert!((got - want).abs() <= rel * want, "{msg}");
    }

    #[test]
    fn poisson_tail_and_threshold_match_known_values() {
        // References from mpmath's regularized incomplete gamma, 40 digits.
        assert_close(5, 1.0, 0.003_659_846_827_343_71, 1e-9);
        assert_close(20, 10.0, 0.003_454_341_975_856_81, 1e-9);
        assert_close(10, 10.0, 0.542_070_285_528_148, 1e-9);
        assert_close(5, 0.5, 0.000_172_115_629_955_841, 1e-9);
        assert_close(1, 1e-9, 9.999_999_995e-10, 1e-9);
        assert_close(1_100, 1_000.0, 0.000_962_630_405_866_557, 1e-8);
        assert_close(10_500, 10_000.0, 3.599_589_794_812_04e-7, 1e-7);
        assert_close(11_000, 10_000.0, 3.911_225_805_093_01e-23, 1e-6);
        // Wilson–Hilferty above EXACT_MAX_MEAN.
        assert_close(20_500, 20_000.0, 0.000_216_897_967_585_79, 1e-3);
        assert_close(100_400, 100_000.0, 0.103_291_561_801_242, 1e-3);
        assert_close(101_000, 100_000.0, 0.000_799_801_041_554_541, 1e-3);
        assert_close(101_500, 100_000.0, 1.119_374_961_999_8e-6, 1e-2);
        assert_eq!((poisson_tail(0, 3.0), poisson_tail(3, 0.0)), (1.0, 0.0));
        // The threshold is the first count under alpha.
        assert_eq!(surge_count(0.5, 0.001), 5); // the floor alone already needs 5
        for mean in [10.0, 1_000.0, 50_000.0] {
            let t = surge_count(mean, 0.001);
            assert!(poisson_tail(t, mean) < 0.001 && poisson_tail(t - 1, mean) >= 0.001);
        }
        assert_eq!(surge_count(10.0, 0.0), u32::MAX);
    }
}
