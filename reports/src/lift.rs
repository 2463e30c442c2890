//! The holdout estimator of incrementality, and the naive comparison beside it.
//!
//! The targeted audience of an offer with `holdout = h` is split at random (a keyed hash per
//! person and offer): a share h is never shown the offer. For each targeted person, x = their
//! spend at the offer's merchant during the offer's window (enrolled or not, credited or not).
//! Exposed group: mean m1, variance v1, n1 people; held out: m0, v0, n0.
//!
//! - Incremental spend per exposed person (intent to treat): d = m1 − m0, 95% interval
//!   d ± 1.96 · √(v1/n1 + v0/n0) (Welch, normal approximation: both groups in the thousands).
//! - Incremental spend: n1 · d (and its interval times n1). The simulator also knows the truth
//!   (the purchases its uplift model added), shown beside the estimate.
//! - Lift: d / m0, interval by the delta method: ± 1.96 · √(v1/(n1·m0²) + m1²·v0/(n0·m0⁴)).
//! - Naive lift: enrolled vs. exposed-but-not-enrolled, (m_e − m_n) / m_n. Enrolling is not
//!   random: the people who enroll are the ones who already shop there, so this inflates the
//!   effect (selection bias); it is shown to make that visible, not to be used.

use offersim_sim::outcome::{Experiment, GroupSpend};
use serde::Serialize;

const Z975: f64 = 1.959_963_985;

/// An estimate with its 95% interval, as text (money in dollars, lifts in percent).
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct Interval {
    pub estimate: String,
    pub ci95: Option<[String; 2]>,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct LiftRow {
    pub holdout_share: f64,
    pub exposed_users: u64,
    pub held_out_users: u64,
    /// Mean spend at the merchant during the offer, per person, in each group.
    pub spend_per_exposed_user: String,
    pub spend_per_held_out_user: String,
    pub incremental_spend_per_exposed_user: Interval,
    pub incremental_spend: Interval,
    pub lift_percent: Interval,
    pub naive_lift_percent: Option<String>,
}

fn mean_var(g: &GroupSpend) -> Option<(f64, f64)> {
    if g.users == 0 {
        return None;
    }
    let n = g.users as f64;
    let mean = g.sum as f64 / n;
    let var = if g.users > 1 { ((g.sum_sq as f64 - g.sum as f64 * mean) / (n - 1.0)).max(0.0) } else { 0.0 };
    Some((mean, var))
}

fn dollars(cents: f64) -> String {
    format!("{:.2}", cents / 100.0)
}

fn percent(x: f64) -> String {
    format!("{:.1}", x * 100.0)
}

fn interval(estimate: f64, half: Option<f64>, show: fn(f64) -> String) -> Interval {
    Interval { estimate: show(estimate), ci95: half.map(|h| [show(estimate - h), show(estimate + h)]) }
}

pub fn row(holdout_share: f64, x: &Experiment) -> LiftRow {
    let exposed = mean_var(&x.exposed);
    let held = mean_var(&x.held_out);
    let (n1, n0) = (x.exposed.users as f64, x.held_out.users as f64);
    let na = || Interval { estimate: "n/a".into(), ci95: None };
    let (per_user, total, lift) = match (exposed, held) {
        (Some((m1, v1)), Some((m0, v0))) => {
            let d = m1 - m0;
            let se = (n1 > 1.0 && n0 > 1.0).then(|| (v1 / n1 + v0 / n0).sqrt() * Z975);
            let lift = (m0 > 0.0).then(|| {
                let se = (n1 > 1.0 && n0 > 1.0)
                    .then(|| (v1 / (n1 * m0 * m0) + m1 * m1 * v0 / (n0 * m0.powi(4))).sqrt() * Z975);
                interval(d / m0, se, percent)
            });
            (interval(d, se, dollars), interval(d * n1, se.map(|h| h * n1), dollars), lift.unwrap_or_else(na))
        }
        _ => (na(), na(), na()),
    };
    let naive = match (mean_var(&x.enrolled), mean_var(&x.not_enrolled)) {
        (Some((me, _)), Some((mn, _))) if mn > 0.0 => Some(percent((me - mn) / mn)),
        _ => None,
    };
    LiftRow {
        holdout_share,
        exposed_users: x.exposed.users,
        held_out_users: x.held_out.users,
        spend_per_exposed_user: exposed.map_or("n/a".into(), |(m, _)| dollars(m)),
        spend_per_held_out_user: held.map_or("n/a".into(), |(m, _)| dollars(m)),
        incremental_spend_per_exposed_user: per_user,
        incremental_spend: total,
        lift_percent: lift,
        naive_lift_percent: naive,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(xs: &[i64]) -> GroupSpend {
        let mut g = GroupSpend::default();
        for &x in xs {
            g.add(offersim_sim::Cents(x));
        }
        g
    }

    #[test]
    fn the_estimator_on_a_hand_computed_case() {
        // Exposed: 10, 20, 30 dollars (mean 20, var 100); held out: 10, 10, 10, 10 (mean 10,
        // var 0). d = 10 dollars; se = √(100/3) = 5.7735; CI = 10 ± 11.316.
        let x = Experiment {
            exposed: group(&[1000, 2000, 3000]),
            held_out: group(&[1000, 1000, 1000, 1000]),
            enrolled: group(&[3000]),
            not_enrolled: group(&[1000, 2000]),
        };
        let r = row(0.5, &x);
        assert_eq!((r.exposed_users, r.held_out_users), (3, 4));
        assert_eq!((r.spend_per_exposed_user.as_str(), r.spend_per_held_out_user.as_str()), ("20.00", "10.00"));
        assert_eq!(r.incremental_spend_per_exposed_user.estimate, "10.00");
        assert_eq!(r.incremental_spend_per_exposed_user.ci95, Some(["-1.32".to_string(), "21.32".to_string()]));
        assert_eq!(r.incremental_spend.estimate, "30.00");
        // Lift 100%; se = √(v1/(n1 m0²)) = √(100/(3·100)) = 0.57735 → ± 113.2 points.
        assert_eq!(r.lift_percent.estimate, "100.0");
        assert_eq!(r.lift_percent.ci95, Some(["-13.2".to_string(), "213.2".to_string()]));
        // Naive: enrolled 30 vs not enrolled 15: +100%.
        assert_eq!(r.naive_lift_percent.as_deref(), Some("100.0"));
    }

    #[test]
    fn empty_groups_give_no_estimate() {
        let r = row(0.1, &Experiment::default());
        assert_eq!(r.incremental_spend.estimate, "n/a");
        assert!(r.naive_lift_percent.is_none());
    }
}
