//! Summaries and the closing `RESULT` line every scenario prints.

/// The median of `values` (0 for none).
pub fn median(values: &[f64]) -> f64 {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    if v.len().is_multiple_of(2) {
        (v[mid - 1] + v[mid]) / 2.0
    } else {
        v[mid]
    }
}

/// Relative spread (max-min)/median, for judging stability.
pub fn spread(values: &[f64]) -> f64 {
    let m = median(values);
    let (lo, hi) = values
        .iter()
        .fold((f64::MAX, f64::MIN), |(lo, hi), &x| (lo.min(x), hi.max(x)));
    if m == 0.0 || values.is_empty() {
        0.0
    } else {
        (hi - lo) / m
    }
}

/// Median, min and max of `values` as `median (min .. max)` with `digits`
/// decimals; `n/a` for none.
pub fn med_min_max(values: &[f64], digits: usize) -> String {
    let v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return "n/a".to_owned();
    }
    let lo = v.iter().copied().fold(f64::MAX, f64::min);
    let hi = v.iter().copied().fold(f64::MIN, f64::max);
    format!("{:.digits$} ({lo:.digits$} .. {hi:.digits$})", median(&v))
}

/// `RESULT scenario=<name> ours=<v> <peer>=<v> ratio=<v> unit=<u>`.
pub fn result_line(scenario: &str, ours: f64, peer: &str, theirs: f64, unit: &str) -> String {
    let ratio = if theirs > 0.0 { ours / theirs } else { 0.0 };
    format!(
        "RESULT scenario={scenario} ours={ours:.3} {peer}={theirs:.3} ratio={ratio:.3} unit={unit}"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert_eq!(median(&[]), 0.0);
    }

    #[test]
    fn med_min_max_names_all_three() {
        assert_eq!(med_min_max(&[3.0, 1.0, 2.5], 1), "2.5 (1.0 .. 3.0)");
        assert_eq!(med_min_max(&[], 1), "n/a");
    }

    #[test]
    fn result_line_has_the_agreed_shape() {
        assert_eq!(
            result_line("raw-loop", 50.0, "testpmd", 40.0, "Mpps"),
            "RESULT scenario=raw-loop ours=50.000 testpmd=40.000 ratio=1.250 unit=Mpps"
        );
    }
}
