//! The skeleton of the reports' HTML pages (`gdpr-ledger report ... --format html`): one
//! self-contained, printable page (inline CSS, no script, no external resource; a
//! Content-Security-Policy that allows none), with the query, the checkpoint the report rests on,
//! totals and tables. The three pages (`reports::pages`) are made of these parts.
//!
//! Every value reaches the page as [`Html`], whose constructors escape text through [`escape`]
//! (the one escaping function) and print a CURIE with its label from the vocabulary table
//! ([`crate::validation::term_label`]); nothing else writes a value.

use std::borrow::Cow;
use std::io::{self, Read, Write};

use crate::validation::term_label;

/// `text` with `&`, `<`, `>`, `"` and `'` as character references: safe in element content and
/// in quoted attribute values.
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.contains(['&', '<', '>', '"', '\'']) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
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
    Cow::Owned(out)
}

/// A piece of HTML made from values by escaping them: the only kind of value a [`Page`] writes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Html(String);

impl Html {
    /// Text, escaped.
    pub fn text(text: &str) -> Self {
        Self(escape(text).into_owned())
    }

    /// Text, escaped, or a dash when empty.
    pub fn text_or_dash(text: &str) -> Self {
        if text.is_empty() {
            Self("&#8212;".into())
        } else {
            Self::text(text)
        }
    }

    /// Text in a fixed-width font (hashes, tokens, CURIEs without a label).
    pub fn code(text: &str) -> Self {
        Self(format!("<code>{}</code>", escape(text)))
    }

    /// A number.
    pub fn number(n: u64) -> Self {
        Self(n.to_string())
    }

    /// A yes/no.
    pub fn flag(value: bool) -> Self {
        Self(if value { "yes" } else { "no" }.into())
    }

    /// A vocabulary term: its CURIE, with its label beside it when the term is known.
    pub fn term(curie: &str) -> Self {
        match term_label(curie) {
            Some(label) => Self(format!(
                "<code>{}</code> <span class=\"label\">{}</span>",
                escape(curie),
                escape(label)
            )),
            None => Self::code(curie),
        }
    }

    /// Terms, one per line, each as [`Html::term`]; a dash when there are none.
    pub fn terms<S: AsRef<str>>(curies: impl IntoIterator<Item = S>) -> Self {
        let parts: Vec<String> = curies
            .into_iter()
            .map(|curie| Self::term(curie.as_ref()).0)
            .collect();
        if parts.is_empty() {
            Self("&#8212;".into())
        } else {
            Self(parts.join("<br>"))
        }
    }

    /// The HTML.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The checkpoint a report rests on, as fetched from the server at the report's tree size.
#[derive(Debug, Clone)]
pub struct CheckpointShown {
    /// Its tree size.
    pub size: u64,
    /// Its root hash, hex.
    pub root_hex: String,
    /// The signed note, as the server sent it (SPEC.md section 5).
    pub note: String,
}

const STYLE: &str = "
body { font-family: system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif; font-size: 10.5pt; color: #111; margin: 2em; }
h1 { font-size: 16pt; margin: 0 0 0.2em 0; }
h2 { font-size: 12.5pt; margin: 1.4em 0 0.4em 0; border-bottom: 1px solid #999; }
p.lead { color: #444; margin: 0 0 1em 0; }
table { border-collapse: collapse; margin: 0.3em 0 0.8em 0; }
th, td { border: 1px solid #bbb; padding: 0.2em 0.45em; text-align: left; vertical-align: top; }
th { background: #eee; }
table.fields th { width: 14em; }
code, pre { font-family: ui-monospace, 'DejaVu Sans Mono', Consolas, monospace; font-size: 9pt; }
pre { border: 1px solid #bbb; padding: 0.5em; white-space: pre-wrap; word-break: break-all; }
span.label { color: #333; font-style: italic; }
thead { display: table-header-group; }
tr { page-break-inside: avoid; break-inside: avoid; }
@media print { body { margin: 0; font-size: 9pt; } h2 { break-after: avoid; } }
";

/// Writes one table row of `cells` (a row of a [`Page`] table, or a row spooled to be copied into
/// one with [`Page::copy_rows`]).
pub fn write_row(out: &mut impl Write, cells: &[Html]) -> io::Result<()> {
    out.write_all(b"<tr>")?;
    for cell in cells {
        write!(out, "<td>{}</td>", cell.as_str())?;
    }
    out.write_all(b"</tr>\n")
}

/// An HTML page being written: begun with a title, then sections, ended by [`Page::finish`].
#[derive(Debug)]
pub struct Page<W: Write> {
    out: W,
}

impl<W: Write> Page<W> {
    /// Writes the head and the title; `lead` is the line under it.
    pub fn begin(mut out: W, title: &str, lead: &str) -> io::Result<Self> {
        write!(
            out,
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
             <title>{title}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n\
             <h1>{title}</h1>\n<p class=\"lead\">{lead}</p>\n",
            title = escape(title),
            lead = escape(lead),
        )?;
        Ok(Self { out })
    }

    /// A section heading.
    pub fn heading(&mut self, text: &str) -> io::Result<()> {
        writeln!(self.out, "<h2>{}</h2>", escape(text))
    }

    /// A paragraph.
    pub fn paragraph(&mut self, html: &Html) -> io::Result<()> {
        writeln!(self.out, "<p>{}</p>", html.as_str())
    }

    /// A two-column table of named values (the query, totals).
    pub fn fields<S: AsRef<str>>(&mut self, rows: &[(S, Html)]) -> io::Result<()> {
        self.out.write_all(b"<table class=\"fields\">\n")?;
        for (name, value) in rows {
            writeln!(
                self.out,
                "<tr><th>{}</th><td>{}</td></tr>",
                escape(name.as_ref()),
                value.as_str()
            )?;
        }
        self.out.write_all(b"</table>\n")
    }

    /// The section "The checkpoint it rests on": size, root and the signed note.
    pub fn checkpoint(&mut self, checkpoint: &CheckpointShown) -> io::Result<()> {
        self.heading("The checkpoint it rests on")?;
        self.fields(&[
            ("Tree size", Html::number(checkpoint.size)),
            ("Root hash (hex)", Html::code(&checkpoint.root_hex)),
        ])?;
        self.paragraph(&Html::text(
            "The signed checkpoint note, as the ledger served it (save it to a file and check it \
             with `gdpr-ledger verify --key <the log's verifier key> <file>`):",
        ))?;
        writeln!(self.out, "<pre>{}</pre>", escape(&checkpoint.note))
    }

    /// Opens a table with these column headers; rows follow ([`Page::row`],
    /// [`Page::copy_rows`]), then [`Page::end_table`].
    pub fn table(&mut self, headers: &[&str]) -> io::Result<()> {
        self.out.write_all(b"<table>\n<thead><tr>")?;
        for header in headers {
            write!(self.out, "<th>{}</th>", escape(header))?;
        }
        self.out.write_all(b"</tr></thead>\n<tbody>\n")
    }

    /// A row of the open table.
    pub fn row(&mut self, cells: &[Html]) -> io::Result<()> {
        write_row(&mut self.out, cells)
    }

    /// Rows written earlier with [`write_row`] (spooled), copied into the open table.
    pub fn copy_rows(&mut self, rows: &mut impl Read) -> io::Result<u64> {
        io::copy(rows, &mut self.out)
    }

    /// Closes the open table.
    pub fn end_table(&mut self) -> io::Result<()> {
        self.out.write_all(b"</tbody>\n</table>\n")
    }

    /// Ends the page, flushes and returns the output.
    pub fn finish(mut self) -> io::Result<W> {
        self.out.write_all(b"</body>\n</html>\n")?;
        self.out.flush()?;
        Ok(self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_leaves_no_markup() {
        assert_eq!(
            escape("<script>alert(\"x&y\")</script>"),
            "&lt;script&gt;alert(&quot;x&amp;y&quot;)&lt;/script&gt;"
        );
        assert_eq!(escape("it's"), "it&#39;s");
        assert_eq!(escape("&amp;"), "&amp;amp;");
        assert!(matches!(escape("crm"), Cow::Borrowed("crm")));
    }

    #[test]
    fn values_reach_the_page_escaped_and_terms_with_their_labels() {
        let mut page = Page::begin(Vec::new(), "T <b>", "lead & more").expect("page");
        page.fields(&[
            ("System", Html::text("<script>x</script>")),
            (
                "Categories",
                Html::terms(["pd:EmailAddress", "acme:<x>", "pd:Accent"]),
            ),
        ])
        .expect("fields");
        page.table(&["a\"b"]).expect("table");
        page.row(&[Html::text("\"&'")]).expect("row");
        page.end_table().expect("end");
        let html = String::from_utf8(page.finish().expect("finish")).expect("utf-8");
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("<b>"), "{html}");
        assert!(html.contains("&lt;script&gt;x&lt;/script&gt;"));
        assert!(
            html.contains(
                "<code>pd:EmailAddress</code> <span class=\"label\">Email Address</span>"
            )
        );
        assert!(html.contains("<code>acme:&lt;x&gt;</code>"));
        // A term only DPV's lists hold gets DPV's label.
        assert!(
            html.contains("<code>pd:Accent</code> <span class=\"label\">Accent</span>"),
            "{html}"
        );
        assert!(html.contains("<th>a&quot;b</th>"));
        assert!(html.contains("<td>&quot;&amp;&#39;</td>"));
        assert!(html.contains("lead &amp; more"));
    }
}
