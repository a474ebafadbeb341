//! Progress bars for long runs, shown only when stderr is a terminal.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;

fn bar(message: &'static str, total: u64, counter: &str) -> ProgressBar {
    let bar = ProgressBar::new(total);
    bar.set_draw_target(if std::io::stderr().is_terminal() {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    });
    if let Ok(style) =
        ProgressStyle::with_template(&format!("{{msg:20}} [{{bar:40}}] {counter} ({{eta}})"))
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(message);
    bar
}

/// A bar over `total` bytes.
pub fn bytes_bar(message: &'static str, total: u64) -> ProgressBar {
    bar(message, total, "{bytes}/{total_bytes}, {bytes_per_sec}")
}

/// A bar over `total` items.
pub fn count_bar(message: &'static str, total: u64) -> ProgressBar {
    bar(message, total, "{pos}/{len}, {per_sec}")
}
