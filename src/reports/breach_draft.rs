//! A breach case's clock and its article 33(3) draft notification as readable text and as a
//! self-contained printable HTML page (`gdpr-ledger breach case`, `docs/breach-cases.md`). Every
//! value from the log is escaped in the page: the page has no script, no external resource, and
//! no value can close an element or an attribute.

use std::fmt::Write as _;

use crate::proto::v1 as pb;
use crate::proto::v1::BreachCaseState;

/// A time as RFC 3339, or "-" without one.
fn time(time: Option<&prost_types::Timestamp>) -> String {
    time.map_or_else(|| "-".to_owned(), ToString::to_string)
}

/// A duration in seconds as `3d 04h 05m` (at minute precision, rounded down).
pub fn duration(seconds: i64) -> String {
    let seconds = seconds.max(0);
    let (days, rest) = (seconds / 86_400, seconds % 86_400);
    format!("{days}d {:02}h {:02}m", rest / 3600, rest % 3600 / 60)
}

/// The state of a case in words.
pub fn state_words(case: &pb::BreachCase) -> String {
    match case.state() {
        BreachCaseState::Open => format!("open: {} left", duration(case.seconds_left)),
        BreachCaseState::Overdue => {
            format!("OVERDUE by {}: not notified", duration(case.seconds_late))
        }
        BreachCaseState::NotifiedOnTime => "notified on time".to_owned(),
        BreachCaseState::NotifiedLate if case.late_without_reasons => format!(
            "notified LATE by {}, WITHOUT reasons for the delay (article 33(1))",
            duration(case.seconds_late)
        ),
        BreachCaseState::NotifiedLate => {
            format!("notified late by {}", duration(case.seconds_late))
        }
        BreachCaseState::NoAwareAt => "no report says when the controller became aware".to_owned(),
        BreachCaseState::Unspecified => "unknown".to_owned(),
    }
}

/// One line per case: reference, state, deadline.
pub fn list_text(cases: &[pb::BreachCase]) -> String {
    let mut out = String::new();
    for case in cases {
        let _ = writeln!(
            out,
            "{:<24} deadline {:<22} {}",
            case.breach_ref,
            time(case.deadline.as_ref()),
            state_words(case)
        );
    }
    if cases.is_empty() {
        out.push_str("no breach cases\n");
    }
    out
}

/// The lines of the draft, as (label, value) pairs, in the order of article 33(3).
fn draft_lines(
    case: &pb::BreachCase,
    draft: &pb::BreachNotificationDraft,
) -> Vec<(String, String)> {
    let or_missing = |value: &str| {
        if value.is_empty() {
            "(not given yet)".to_owned()
        } else {
            value.to_owned()
        }
    };
    let list = |values: &[String]| {
        if values.is_empty() {
            "(not given yet)".to_owned()
        } else {
            values.join(", ")
        }
    };
    let counts = |n: u64| {
        if draft.counts.is_some() {
            n.to_string()
        } else {
            "(no window declared: not counted)".to_owned()
        }
    };
    let mut lines = vec![
        ("Controller".to_owned(), or_missing(&draft.controller)),
        ("Breach reference".to_owned(), case.breach_ref.clone()),
        (
            "Controller became aware".to_owned(),
            time(case.aware_at.as_ref()),
        ),
        (
            "Deadline (aware + 72 h)".to_owned(),
            time(case.deadline.as_ref()),
        ),
        ("Status".to_owned(), state_words(case)),
        (
            "Notified to the authority".to_owned(),
            time(case.notified_at.as_ref()),
        ),
        (
            "(a) Nature of the breach".to_owned(),
            or_missing(&draft.nature),
        ),
        (
            "(a) Categories of data subjects".to_owned(),
            list(&draft.subject_categories),
        ),
        (
            "(a) Approximate number of data subjects".to_owned(),
            counts(draft.approximate_subjects),
        ),
        (
            "(a) Categories of personal data".to_owned(),
            list(&draft.data_categories),
        ),
        (
            "(a) Approximate number of records".to_owned(),
            counts(draft.approximate_records),
        ),
        (
            "Systems and window counted".to_owned(),
            format!(
                "{} from {} to {}",
                list(&case.systems),
                time(case.window_from.as_ref()),
                time(case.window_to.as_ref())
            ),
        ),
        (
            "(b) Data protection officer".to_owned(),
            or_missing(&draft.dpo_contact),
        ),
        (
            "(c) Likely consequences".to_owned(),
            or_missing(&draft.likely_consequences),
        ),
        (
            "(d) Measures taken or proposed".to_owned(),
            or_missing(&draft.measures),
        ),
    ];
    if case.state() == BreachCaseState::NotifiedLate
        || case.state() == BreachCaseState::Overdue
        || !draft.reasons_for_delay.is_empty()
    {
        lines.push((
            "Reasons for the delay (33(1))".to_owned(),
            list(&draft.reasons_for_delay),
        ));
    }
    for notice in &case.subjects_notifications {
        let Some(n) = &notice.notification else {
            continue;
        };
        let value = match &n.notified_at {
            Some(at) => format!("told at {at}"),
            None => format!("not told: {}", n.not_notified_ground),
        };
        let value = if n.reason.is_empty() {
            value
        } else {
            format!("{value} ({})", n.reason)
        };
        lines.push((
            format!("Data subjects (art. 34), entry {}", notice.index),
            value,
        ));
    }
    if !draft.missing.is_empty() {
        lines.push(("Not given yet".to_owned(), draft.missing.join(", ")));
    }
    lines
}

/// The case and its draft as text.
pub fn draft_text(response: &pb::GetBreachCaseResponse) -> String {
    let case = response.breach_case.clone().unwrap_or_default();
    let draft = response.draft.clone().unwrap_or_default();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Personal data breach notification (GDPR article 33), draft, as of {} (log size {})",
        time(case.as_of.as_ref()),
        response.tree_size
    );
    let lines = draft_lines(&case, &draft);
    let width = lines
        .iter()
        .map(|(label, _)| label.len())
        .max()
        .unwrap_or(0);
    for (label, value) in lines {
        let _ = writeln!(out, "{label:<width$}  {value}");
    }
    let _ = writeln!(
        out,
        "Entries relied on: {}",
        response
            .relied_on
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    );
    if response.access_entry_index != 0 {
        let _ = writeln!(
            out,
            "This read was logged as access entry {}.",
            response.access_entry_index
        );
    }
    out
}

/// `text` with `&`, `<`, `>`, `"` and `'` escaped, for HTML text and attribute values.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The case and its draft as a self-contained printable HTML page.
pub fn draft_html(response: &pb::GetBreachCaseResponse) -> String {
    let case = response.breach_case.clone().unwrap_or_default();
    let draft = response.draft.clone().unwrap_or_default();
    let mut out = String::new();
    let title = escape_html(&format!("Breach notification draft {}", case.breach_ref));
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n\
         <title>{title}</title>\n<style>\n\
         body {{ font-family: sans-serif; margin: 2em; }}\n\
         table {{ border-collapse: collapse; width: 100%; }}\n\
         th, td {{ border: 1px solid #999; padding: 0.4em; text-align: left; vertical-align: top; }}\n\
         th {{ width: 30%; background: #eee; }}\n\
         @media print {{ body {{ margin: 0; }} }}\n\
         </style>\n</head>\n<body>\n<h1>{title}</h1>\n<p>GDPR article 33, as of {} (log size {}).</p>\n<table>\n",
        escape_html(&time(case.as_of.as_ref())),
        response.tree_size
    );
    for (label, value) in draft_lines(&case, &draft) {
        let _ = writeln!(
            out,
            "<tr><th>{}</th><td>{}</td></tr>",
            escape_html(&label),
            escape_html(&value)
        );
    }
    let relied: Vec<String> = response.relied_on.iter().map(u64::to_string).collect();
    let _ = write!(
        out,
        "</table>\n<p>Entries relied on: {}.</p>\n</body>\n</html>\n",
        escape_html(&relied.join(", "))
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_is_escaped_in_the_page() {
        let hostile = "<script>alert('x')</script>\"&";
        let response = pb::GetBreachCaseResponse {
            breach_case: Some(pb::BreachCase {
                breach_ref: hostile.into(),
                systems: vec![hostile.into()],
                ..Default::default()
            }),
            draft: Some(pb::BreachNotificationDraft {
                nature: hostile.into(),
                dpo_contact: hostile.into(),
                likely_consequences: hostile.into(),
                measures: hostile.into(),
                controller: hostile.into(),
                subject_categories: vec![hostile.into()],
                data_categories: vec![hostile.into()],
                reasons_for_delay: vec![hostile.into()],
                ..Default::default()
            }),
            ..Default::default()
        };
        let page = draft_html(&response);
        assert!(!page.contains("<script>"), "{page}");
        assert!(!page.contains("alert('x')"), "{page}");
        assert!(page.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&quot;&amp;"));
        assert_eq!(page.matches("<tr>").count(), page.matches("</tr>").count());
    }

    #[test]
    fn durations_read_as_days_hours_minutes() {
        assert_eq!(duration(3 * 86_400 + 4 * 3600 + 5 * 60 + 59), "3d 04h 05m");
        assert_eq!(duration(-5), "0d 00h 00m");
    }
}
