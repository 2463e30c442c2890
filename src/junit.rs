//! JUnit XML (`--junit FILE` on `run`, `regress` and `drive`), as GitLab, Jenkins and the
//! GitHub test-report actions read it: one `<testsuite>` of `<testcase>`s, a failed case with a
//! `<failure message="…">` whose text says how to replay it. No timestamps or durations: the file
//! is as deterministic as the reports.

/// One test case: a threshold, a scenario's regression check, the oracle's verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    pub name: String,
    /// The group it belongs to (the scenario).
    pub classname: String,
    /// `(message, text)` when it failed.
    pub failure: Option<(String, String)>,
}

impl Case {
    pub fn passed(name: impl Into<String>, classname: &str) -> Case {
        Case { name: name.into(), classname: classname.into(), failure: None }
    }
    pub fn failed(
        name: impl Into<String>,
        classname: &str,
        message: impl Into<String>,
        text: impl Into<String>,
    ) -> Case {
        Case { name: name.into(), classname: classname.into(), failure: Some((message.into(), text.into())) }
    }
}

/// The document: `<testsuites>` holding one `<testsuite name=suite>`.
pub fn render(suite: &str, cases: &[Case]) -> String {
    let failures = cases.iter().filter(|c| c.failure.is_some()).count();
    let mut s = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    s.push_str(&format!(
        "<testsuites name=\"offersim\" tests=\"{}\" failures=\"{failures}\" errors=\"0\">\n",
        cases.len()
    ));
    s.push_str(&format!(
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" skipped=\"0\">\n",
        escape(suite),
        cases.len()
    ));
    for c in cases {
        let head = format!("    <testcase name=\"{}\" classname=\"{}\"", escape(&c.name), escape(&c.classname));
        match &c.failure {
            None => s.push_str(&format!("{head}/>\n")),
            Some((message, text)) => s.push_str(&format!(
                "{head}>\n      <failure message=\"{}\" type=\"failure\">{}</failure>\n    </testcase>\n",
                escape(message),
                escape(text)
            )),
        }
    }
    s.push_str("  </testsuite>\n</testsuites>\n");
    s
}

/// XML text and attribute escaping; characters XML 1.0 cannot hold become U+FFFD.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_case_carries_its_message_and_text_escaped() {
        let cases = [
            Case::passed("p99_time_to_credit < 5d", "cafe"),
            Case::failed("drift", "cafe", "3 fields differ", "a < b & \"c\"\u{1}\nreplay: offersim run x"),
        ];
        let xml = render("regress", &cases);
        assert!(xml.contains("tests=\"2\" failures=\"1\""));
        assert!(xml.contains("<testcase name=\"p99_time_to_credit &lt; 5d\" classname=\"cafe\"/>"));
        assert!(xml.contains(">a &lt; b &amp; &quot;c&quot;\u{FFFD}\nreplay: offersim run x</failure>"));
    }
}
