//! The metric names a PromQL expression reads, and the names a running server's `/metrics` page
//! exports: the one rule by which the alerting rules (`deploy/prometheus/alerts.yml`) and the
//! Grafana dashboard (`deploy/grafana/gdpr-ledger.json`) are checked against the server.

use std::collections::BTreeSet;

/// Words that are PromQL operators, aggregations (`sum by (job) (...)` puts a modifier between
/// the word and its parenthesis) or modifiers, never metric names.
const KEYWORDS: &[&str] = &[
    "sum",
    "min",
    "max",
    "avg",
    "group",
    "stddev",
    "stdvar",
    "count",
    "count_values",
    "bottomk",
    "topk",
    "quantile",
    "limitk",
    "limit_ratio",
    "and",
    "or",
    "unless",
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "bool",
    "offset",
    "atan2",
    "inf",
    "nan",
];

/// Words whose parenthesised list holds label names, not expressions.
const LABEL_LISTS: &[&str] = &[
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
];

/// The index just past the quoted string that starts at `start` (its quote), escapes honoured
/// (raw strings, in backquotes, have none).
fn skip_string(chars: &[char], start: usize) -> usize {
    let quote = chars[start];
    let mut i = start + 1;
    while i < chars.len() {
        match chars[i] {
            '\\' if quote != '`' => i += 2,
            c if c == quote => return i + 1,
            _ => i += 1,
        }
    }
    panic!(
        "an unterminated string in {:?}",
        chars.iter().collect::<String>()
    )
}

/// The index just past the bracket that closes the one at `start`, strings skipped.
fn skip_brackets(chars: &[char], start: usize) -> usize {
    let (open, close) = match chars[start] {
        '{' => ('{', '}'),
        '[' => ('[', ']'),
        '(' => ('(', ')'),
        other => panic!("not a bracket: {other:?}"),
    };
    let mut depth = 0;
    let mut i = start;
    while i < chars.len() {
        match chars[i] {
            '"' | '\'' | '`' => {
                i = skip_string(chars, i);
                continue;
            }
            c if c == open => depth += 1,
            c if c == close => {
                depth -= 1;
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    panic!(
        "an unclosed {open:?} in {:?}",
        chars.iter().collect::<String>()
    )
}

/// The metric name a label-matcher block sets with `__name__="..."`, if any.
fn name_matcher(block: &str) -> Option<String> {
    let rest = block.split_once("__name__")?.1.trim_start();
    let rest = rest.strip_prefix('=')?.trim_start();
    let quote = rest.chars().next()?;
    let value = rest.get(1..)?;
    Some(value.split(quote).next()?.to_owned())
}

/// Every metric name `expr` reads: identifiers that are not functions or aggregations (followed
/// by `(`), operators or modifiers, label names (inside `{...}` or a `by (...)` list), durations
/// and ranges (`[5m]`, `offset 1h`), numbers or strings; plus any `{__name__="..."}`.
pub fn metric_names(expr: &str) -> BTreeSet<String> {
    let chars: Vec<char> = expr.chars().collect();
    let mut names = BTreeSet::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '"' || c == '\'' || c == '`' {
            i = skip_string(&chars, i);
        } else if c == '#' {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '{' {
            let end = skip_brackets(&chars, i);
            let block: String = chars[i..end].iter().collect();
            names.extend(name_matcher(&block));
            i = end;
        } else if c == '[' {
            i = skip_brackets(&chars, i);
        } else if c.is_ascii_digit()
            || (c == '.' && chars.get(i + 1).is_some_and(char::is_ascii_digit))
        {
            // A number or a duration: 5m, 1.5e3, 0x1f, 30 (and the exponent's sign).
            while i < chars.len() {
                let d = chars[i];
                let exponent_sign = (d == '+' || d == '-') && matches!(chars[i - 1], 'e' | 'E');
                if d.is_ascii_alphanumeric() || d == '.' || d == '_' || exponent_sign {
                    i += 1;
                } else {
                    break;
                }
            }
        } else if c.is_ascii_alphabetic() || c == '_' || c == ':' {
            let start = i;
            while i < chars.len()
                && (chars[i].is_ascii_alphanumeric() || chars[i] == '_' || chars[i] == ':')
            {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let lower = word.to_ascii_lowercase();
            let mut next = i;
            while next < chars.len() && chars[next].is_whitespace() {
                next += 1;
            }
            let called = chars.get(next) == Some(&'(');
            if called && LABEL_LISTS.contains(&lower.as_str()) {
                i = skip_brackets(&chars, next);
            } else if !called && !KEYWORDS.contains(&lower.as_str()) {
                names.insert(word);
            }
        } else {
            i += 1;
        }
    }
    names
}

/// The series names a metrics page (OpenMetrics or Prometheus text) exports: every sample's
/// name, and from each `# TYPE` line the names its type gives (a histogram's `_bucket`, `_sum` and
/// `_count`, a counter's `_total`), so that a family with no sample yet still counts.
pub fn exported_names(page: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for line in page.lines() {
        if let Some(declaration) = line.strip_prefix("# TYPE ") {
            let (name, kind) = declaration
                .split_once(' ')
                .unwrap_or_else(|| panic!("a TYPE line without a type: {line}"));
            let suffixes: &[&str] = match kind.trim() {
                "histogram" => &["_bucket", "_sum", "_count"],
                "gaugehistogram" => &["_bucket", "_gsum", "_gcount"],
                "summary" => &["", "_sum", "_count"],
                "counter" => &["_total"],
                "info" => &["_info"],
                _ => &[""],
            };
            names.extend(suffixes.iter().map(|suffix| format!("{name}{suffix}")));
        } else if !line.starts_with('#') && !line.trim().is_empty() {
            let end = line.find(['{', ' ']).unwrap_or(line.len());
            names.insert(line[..end].to_owned());
        }
    }
    names
}

/// The names a running server's metrics listener at `addr` exports now.
pub async fn scrape_exported_names(addr: std::net::SocketAddr) -> BTreeSet<String> {
    let (status, page) = super::http_get(addr, "/metrics").await;
    assert_eq!(status, 200, "{page}");
    exported_names(&page)
}

/// The metric names `expr` reads that `exported` lacks.
pub fn unexported_names(expr: &str, exported: &BTreeSet<String>) -> Vec<String> {
    metric_names(expr)
        .into_iter()
        .filter(|name| !exported.contains(name))
        .collect()
}
