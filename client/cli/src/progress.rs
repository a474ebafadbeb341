//! Progress bars for sealing and opening, drawn only when stderr is a terminal.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};
use medledger_sealing::Progress;

pub struct TerminalProgress {
    verb: &'static str,
    bar: Option<ProgressBar>,
    segments: u64,
}

impl TerminalProgress {
    pub fn new(verb: &'static str) -> Self {
        TerminalProgress {
            verb,
            bar: None,
            segments: 0,
        }
    }
}

impl Progress for TerminalProgress {
    fn start(&mut self, total_bytes: u64, segments: u64) {
        if !std::io::stderr().is_terminal() {
            return;
        }
        let bar = ProgressBar::new(total_bytes);
        if let Ok(style) = ProgressStyle::with_template(
            "{msg} [{bar:40}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
        ) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message(format!("{} segment 1/{segments}", self.verb));
        self.segments = segments;
        self.bar = Some(bar);
    }

    fn advance(&mut self, bytes: u64) {
        if let Some(bar) = &self.bar {
            bar.inc(bytes);
        }
    }

    fn segment_done(&mut self, index: u64) {
        if let Some(bar) = &self.bar {
            let next = (index + 2).min(self.segments);
            bar.set_message(format!("{} segment {next}/{}", self.verb, self.segments));
        }
    }

    fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}
