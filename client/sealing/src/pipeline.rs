//! A bounded hand-off of byte buffers between two threads, so that hashing sealed
//! segments runs on a second core beside the cipher: opening reads and hashes on a
//! helper thread while the caller decrypts; sealing hashes and writes on a helper
//! thread while the caller encrypts.
//!
//! Emptied buffers go back to the producer, so at most [`DEPTH`] + 2 are ever
//! allocated, and they are small enough to still be in cache when the other side
//! takes them.

use std::sync::mpsc::{self, Receiver, Sender, SyncSender, TryRecvError};

/// Bytes per buffer.
pub(crate) const PIECE_SIZE: usize = 256 << 10;
/// Buffers in flight between the two threads.
const DEPTH: usize = 8;

/// What travels through the pipeline: bytes of the current segment, or the end of
/// that segment with what the producer has to say about it (opening: its digest).
pub(crate) enum Piece<E> {
    Bytes(Vec<u8>),
    SegmentEnd(E),
}

/// The other side has stopped (it finished with an error, or was dropped).
#[derive(Debug)]
pub(crate) struct Disconnected;

pub(crate) struct Producer<E> {
    pieces: SyncSender<Piece<E>>,
    emptied: Receiver<Vec<u8>>,
}

pub(crate) struct Consumer<E> {
    pieces: Receiver<Piece<E>>,
    emptied: Sender<Vec<u8>>,
}

pub(crate) fn pipeline<E>() -> (Producer<E>, Consumer<E>) {
    let (piece_sender, piece_receiver) = mpsc::sync_channel(DEPTH);
    let (emptied_sender, emptied_receiver) = mpsc::channel();
    (
        Producer {
            pieces: piece_sender,
            emptied: emptied_receiver,
        },
        Consumer {
            pieces: piece_receiver,
            emptied: emptied_sender,
        },
    )
}

impl<E> Producer<E> {
    /// A buffer to fill: one the consumer gave back, else a new one. Its length is
    /// whatever it last held; its capacity is at least [`PIECE_SIZE`].
    pub(crate) fn buffer(&self) -> Vec<u8> {
        match self.emptied.try_recv() {
            Ok(buffer) => buffer,
            Err(TryRecvError::Empty | TryRecvError::Disconnected) => Vec::with_capacity(PIECE_SIZE),
        }
    }

    /// Blocks while [`DEPTH`] pieces wait to be taken.
    pub(crate) fn send(&self, piece: Piece<E>) -> Result<(), Disconnected> {
        self.pieces.send(piece).map_err(|_| Disconnected)
    }
}

impl<E> Consumer<E> {
    /// The next piece; `Disconnected` once the producer is gone and all is taken.
    pub(crate) fn receive(&self) -> Result<Piece<E>, Disconnected> {
        self.pieces.recv().map_err(|_| Disconnected)
    }

    /// Hands a taken buffer back for reuse.
    pub(crate) fn give_back(&self, buffer: Vec<u8>) {
        if buffer.capacity() > 0 {
            // A producer that has stopped needs no more buffers.
            let _ = self.emptied.send(buffer);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_arrive_in_order_and_buffers_are_reused() {
        let (producer, consumer) = pipeline::<u32>();
        let received = std::thread::scope(|scope| {
            scope.spawn(move || {
                for segment in 0..3u32 {
                    for byte in 0..20u8 {
                        let mut buffer = producer.buffer();
                        buffer.clear();
                        buffer.push(byte);
                        producer.send(Piece::Bytes(buffer)).unwrap();
                    }
                    producer.send(Piece::SegmentEnd(segment)).unwrap();
                }
            });
            let mut received = Vec::new();
            let mut addresses = std::collections::HashSet::new();
            while let Ok(piece) = consumer.receive() {
                match piece {
                    Piece::Bytes(buffer) => {
                        received.push(u32::from(buffer[0]));
                        addresses.insert(buffer.as_ptr() as usize);
                        consumer.give_back(buffer);
                    }
                    Piece::SegmentEnd(segment) => received.push(1000 + segment),
                }
            }
            assert!(addresses.len() <= DEPTH + 2, "{} buffers", addresses.len());
            received
        });
        let expected: Vec<u32> = (0..3)
            .flat_map(|segment| (0..20).chain(std::iter::once(1000 + segment)))
            .collect();
        assert_eq!(received, expected);
    }

    #[test]
    fn a_stopped_consumer_disconnects_the_producer() {
        let (producer, consumer) = pipeline::<()>();
        drop(consumer);
        assert!(producer.send(Piece::SegmentEnd(())).is_err());
    }
}
