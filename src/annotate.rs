//! Diagnostics for other programs (`offersim check --format json|github`): one JSON object per
//! line, or GitHub Actions workflow commands (`::error file=…,line=…,col=…::…`) that annotate
//! a pull request on the offending line.

use crate::scenario::{shorten, Diagnostic};

/// A diagnostic's message split as offersim writes them: `path: what is wrong; hint`, where the
/// path is the setting (`offers.cafe.min_spend`) and the hint says what to write instead.
#[derive(Debug, PartialEq, Eq)]
pub struct Parts<'a> {
    pub path: Option<&'a str>,
    pub message: &'a str,
    pub hint: Option<&'a str>,
}

/// Hints start with one of these (after the message's last `; `).
const HINT_STARTS: &[&str] = &["did you mean", "use ", "expected ", "write ", "give ", "set ", "at most", "at least"];

pub fn parts(message: &str) -> Parts<'_> {
    let (path, rest) = match message.split_once(": ") {
        Some((p, rest))
            if !p.is_empty()
                && p.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '[' | ']' | '"')) =>
        {
            (Some(p), rest)
        }
        _ => (None, message),
    };
    match rest.rsplit_once("; ") {
        Some((m, h)) if HINT_STARTS.iter().any(|s| h.starts_with(s)) => Parts { path, message: m, hint: Some(h) },
        _ => Parts { path, message: rest, hint: None },
    }
}

/// `{"file", "line", "column", "path", "message", "hint", "severity"}` (absent parts null).
pub fn json(d: &Diagnostic) -> String {
    let message = shorten(&d.message);
    let p = parts(&message);
    serde_json::json!({
        "severity": "error",
        "file": d.file,
        "line": d.position.map(|(l, _)| l),
        "column": d.position.map(|(_, c)| c),
        "path": p.path,
        "message": p.message,
        "hint": p.hint,
    })
    .to_string()
}

/// A GitHub Actions `::error` workflow command for the diagnostic.
pub fn github(d: &Diagnostic) -> String {
    let mut props = format!("file={}", property(&d.file));
    if let Some((line, col)) = d.position {
        props.push_str(&format!(",line={line},col={col}"));
    }
    let message = shorten(&d.message);
    if let Some(path) = parts(&message).path {
        props.push_str(&format!(",title={}", property(path)));
    }
    format!("::error {props}::{}", data(&message))
}

/// Escaping of a workflow command's message (GitHub's toolkit `escapeData`).
fn data(s: &str) -> String {
    s.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

/// Escaping of a workflow command's property (`escapeProperty`): also `:` and `,`.
fn property(s: &str) -> String {
    data(s).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn diag(message: &str) -> Diagnostic {
        Diagnostic { file: "s,1.toml".into(), position: Some((20, 24)), message: message.into() }
    }

    #[test]
    fn a_message_splits_into_path_message_and_hint() {
        let m = "merchants.shop.channels.in_shop: unknown channel `in_shop`; use in_store, online or app";
        assert_eq!(
            parts(m),
            Parts {
                path: Some("merchants.shop.channels.in_shop"),
                message: "unknown channel `in_shop`",
                hint: Some("use in_store, online or app")
            }
        );
        assert_eq!(
            parts("key with no value, expected `=`"),
            Parts { path: None, message: "key with no value, expected `=`", hint: None }
        );
        assert_eq!(
            parts("offer_groups[0].merchant_group: unknown merchant group `nope`").path,
            Some("offer_groups[0].merchant_group")
        );
    }

    #[test]
    fn json_and_github_forms_carry_the_location_and_escape_what_they_must() {
        let d = diag("offers.x.min_spend: 100% of it\nis wrong; use 5.00");
        let v: serde_json::Value = serde_json::from_str(&json(&d)).unwrap();
        assert_eq!((v["line"].as_u64(), v["column"].as_u64()), (Some(20), Some(24)));
        assert_eq!(v["path"], "offers.x.min_spend");
        assert_eq!(v["hint"], "use 5.00");
        assert_eq!(
            github(&d),
            "::error file=s%2C1.toml,line=20,col=24,title=offers.x.min_spend::offers.x.min_spend: 100%25 of it%0Ais wrong; use 5.00"
        );
        let whole =
            Diagnostic { file: "a.toml".into(), position: None, message: "cannot read the scenario file".into() };
        assert_eq!(github(&whole), "::error file=a.toml::cannot read the scenario file");
        assert!(json(&whole).contains("\"line\":null"));
    }
}
