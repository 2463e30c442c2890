//! Numbers for people: thousands separators and dollar signs (reports for machines keep plain
//! decimal strings).

use offersim_sim::Cents;

/// `1234567` → `1,234,567`.
pub fn count(n: u64) -> String {
    group(&n.to_string())
}

/// `Cents(123456789)` → `$1,234,567.89` (negative: `-$5.00`).
pub fn usd(c: Cents) -> String {
    let text = c.to_string();
    let (sign, digits) = text.strip_prefix('-').map_or(("", text.as_str()), |d| ("-", d));
    let (whole, frac) = digits.split_once('.').unwrap_or((digits, "00"));
    format!("{sign}${}.{frac}", group(whole))
}

fn group(digits: &str) -> String {
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_dollars_are_grouped_by_thousands() {
        assert_eq!(count(1_200_950), "1,200,950");
        assert_eq!(count(999), "999");
        assert_eq!(usd(Cents(7_897_638_011)), "$78,976,380.11");
        assert_eq!(usd(Cents(-500)), "-$5.00");
        assert_eq!(usd(Cents(5)), "$0.05");
    }
}
