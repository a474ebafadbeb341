//! The response body that streams a byte range of a delivery file from disk, so a
//! multi-GB delivery never sits in memory.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::{BufMut, Bytes, BytesMut};
use hyper::body::{Body, Frame, SizeHint};
use tokio::fs::File;
use tokio_util::io::poll_read_buf;

/// Read size per frame: large enough for disk and socket throughput, small enough that
/// many concurrent downloads stay cheap.
const CHUNK: usize = 128 * 1024;

/// Streams the next `remaining` bytes of `file` (already positioned at the range start).
pub(crate) struct FileBody {
    file: File,
    remaining: u64,
    buf: BytesMut,
}

impl FileBody {
    pub(crate) fn new(file: File, len: u64) -> Self {
        Self {
            file,
            remaining: len,
            buf: BytesMut::new(),
        }
    }
}

impl Body for FileBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        let this = &mut *self;
        if this.remaining == 0 {
            return Poll::Ready(None);
        }
        this.buf.reserve(CHUNK);
        let want = usize::try_from(this.remaining).unwrap_or(usize::MAX);
        let mut dst = (&mut this.buf).limit(want);
        match ready!(poll_read_buf(Pin::new(&mut this.file), cx, &mut dst)) {
            Err(error) => Poll::Ready(Some(Err(error))),
            // The length was promised in Content-Length; failing the body makes hyper
            // drop the connection, so the client sees a short transfer and resumes.
            Ok(0) => Poll::Ready(Some(Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the delivery file became shorter while it was being sent",
            )))),
            Ok(read) => {
                this.remaining = this.remaining.saturating_sub(read as u64);
                Poll::Ready(Some(Ok(Frame::data(this.buf.split().freeze()))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.remaining == 0
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.remaining)
    }
}
