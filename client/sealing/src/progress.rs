//! How long operations report progress; the CLI draws it, tests observe it.

/// Receives progress of sealing or opening. Every method has a do-nothing default.
pub trait Progress {
    /// Work is about to start on `total_bytes` of plaintext in `segments` segments.
    fn start(&mut self, _total_bytes: u64, _segments: u64) {}
    /// `bytes` more plaintext were sealed or written.
    fn advance(&mut self, _bytes: u64) {}
    /// Segment `index` (0-based) is complete, including the token check after it.
    fn segment_done(&mut self, _index: u64) {}
    /// The operation ended, successfully or not.
    fn finish(&mut self) {}
}

/// Reports nothing.
pub struct NoProgress;

impl Progress for NoProgress {}
