//! Every 64 KiB chunk of plaintext is written only after a token check that began once
//! the chunk before it was written, so a pulled token lets at most one more chunk reach
//! the output. A check that notices a pull on a file-backed token (SoftHSM) costs about
//! a quarter of a chunk's decryption; made in line it would slow opening by as much, so
//! a helper thread makes it while the opening thread decrypts the next chunk, and the
//! opening thread waits for it only before writing.

use std::sync::{Condvar, Mutex, MutexGuard};

use crate::error::SealingError;
use crate::token::TokenBackend;

/// What the opening thread and the checking thread share.
#[derive(Default)]
struct State {
    /// Chunks written so far.
    written: u64,
    /// How many chunks had been written when the latest passing check began.
    cleared: u64,
    /// The failure of the latest check; no check runs after one.
    failure: Option<SealingError>,
    /// Opening is over: the checking thread ends.
    closed: bool,
}

/// The hand-off between the opening thread ([`ChunkGate::before_write`],
/// [`ChunkGate::written`]) and the checking thread ([`ChunkGate::check_until_closed`]).
#[derive(Default)]
pub(crate) struct ChunkGate {
    state: Mutex<State>,
    changed: Condvar,
}

impl ChunkGate {
    fn state(&self) -> MutexGuard<'_, State> {
        // The state holds plain counters: a panic elsewhere leaves them consistent.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn wait<'a>(&self, state: MutexGuard<'a, State>) -> MutexGuard<'a, State> {
        self.changed
            .wait(state)
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Waits for a check of the token that began after the last chunk was written;
    /// fails if one found the token gone, and from then on (no check runs any more).
    pub(crate) fn before_write(&self) -> Result<(), SealingError> {
        let mut state = self.state();
        loop {
            if let Some(failure) = state.failure.take() {
                state.closed = true;
                return Err(failure);
            }
            if state.cleared == state.written {
                return Ok(());
            }
            if state.closed {
                return Err(SealingError::Interrupted);
            }
            state = self.wait(state);
        }
    }

    /// Records a chunk written, which asks the checking thread for a new check.
    pub(crate) fn written(&self) {
        self.state().written += 1;
        self.changed.notify_all();
    }

    /// Ends [`ChunkGate::check_until_closed`].
    pub(crate) fn close(&self) {
        self.state().closed = true;
        self.changed.notify_all();
    }

    /// The checking thread: checks the token each time a chunk has been written, until
    /// the gate is closed or a check fails.
    pub(crate) fn check_until_closed(&self, token: &dyn TokenBackend) {
        let mut state = self.state();
        loop {
            if state.closed || state.failure.is_some() {
                return;
            }
            if state.cleared == state.written {
                state = self.wait(state);
                continue;
            }
            let began_after = state.written;
            drop(state);
            let checked = token.ensure_present_for_chunk();
            state = self.state();
            match checked {
                Ok(()) => state.cleared = began_after,
                Err(failure) => state.failure = Some(failure),
            }
            self.changed.notify_all();
        }
    }
}

/// Closes the gate when dropped, so the checking thread ends however opening does.
pub(crate) struct ClosesGate<'a>(pub(crate) &'a ChunkGate);

impl Drop for ClosesGate<'_> {
    fn drop(&mut self) {
        self.0.close();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

    use super::*;
    use crate::delivery_key::DeliveryKey;
    use crate::token::EcdhSecret;

    /// Counts checks, and fails them once `pulled`.
    #[derive(Default)]
    struct Counting {
        checks: AtomicU64,
        pulled: AtomicBool,
    }

    impl TokenBackend for Counting {
        fn delivery_key(&self) -> DeliveryKey {
            unreachable!("not used by the gate")
        }

        fn ecdh(&self, _peer: &[u8]) -> Result<EcdhSecret, SealingError> {
            unreachable!("not used by the gate")
        }

        fn ensure_present(&self) -> Result<(), SealingError> {
            self.checks.fetch_add(1, Ordering::SeqCst);
            if self.pulled.load(Ordering::SeqCst) {
                return Err(SealingError::TokenRemoved {
                    during: "a test".into(),
                });
            }
            Ok(())
        }
    }

    #[test]
    fn every_write_after_the_first_waits_for_a_check_begun_after_the_previous_one() {
        let token = Counting::default();
        let gate = ChunkGate::default();
        std::thread::scope(|scope| {
            let _closes = ClosesGate(&gate);
            scope.spawn(|| gate.check_until_closed(&token));
            for chunk in 0..100u64 {
                gate.before_write().unwrap();
                assert!(token.checks.load(Ordering::SeqCst) >= chunk);
                gate.written();
            }
        });
    }

    #[test]
    fn a_pull_lets_at_most_the_next_chunk_through() {
        let token = Counting::default();
        let gate = ChunkGate::default();
        let refused = std::thread::scope(|scope| {
            let _closes = ClosesGate(&gate);
            scope.spawn(|| gate.check_until_closed(&token));
            for _ in 0..3 {
                gate.before_write().unwrap();
                gate.written();
            }
            token.pulled.store(true, Ordering::SeqCst);
            // The check asked for by the third write may have passed before the pull.
            gate.before_write()
                .and_then(|()| {
                    gate.written();
                    gate.before_write()
                })
                .unwrap_err()
        });
        assert!(matches!(refused, SealingError::TokenRemoved { .. }));
    }
}
