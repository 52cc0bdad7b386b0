//! Progress bars of `report` and `audit` (indicatif), drawn on standard error and only when it is
//! a terminal: `ProgressDrawTarget::stderr()` hides them otherwise, so a redirected or captured
//! run writes exactly what it wrote without them. Standard output is never drawn on.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

fn styled(bar: ProgressBar, template: &str) -> ProgressBar {
    // The templates are constants; a bad one falls back to indicatif's default style.
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    bar
}

/// A spinner with a message, for work of unknown length (a report's stream, a server's answer).
pub fn spinner(message: impl Into<String>) -> ProgressBar {
    let bar = styled(
        ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()),
        "{spinner} [{elapsed_precise}] {msg}",
    );
    bar.set_message(message.into());
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

/// A bar over `total` entries.
pub fn entries(total: u64, message: impl Into<String>) -> ProgressBar {
    let bar = styled(
        ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr()),
        "[{elapsed_precise}] {wide_bar} {human_pos}/{human_len} {msg} ({per_sec}, {eta} left)",
    );
    bar.set_message(message.into());
    bar
}
