//! JSON bodies for the answers hyper writes itself, before a request reaches the
//! router: 400 (a request line or header it cannot parse), 414 (a request target
//! longer than 65,534 bytes) and 431 (more than [`MAX_HEADERS`](crate::MAX_HEADERS)
//! header fields, or a request head above [`MAX_HEAD_BYTES`](crate::MAX_HEAD_BYTES)).
//!
//! hyper has no hook for these: it writes a bare head with `content-length: 0` and
//! closes the connection. [`JsonErrors`] wraps the connection's I/O and swaps such a
//! head, and only such a head, for the same status with the API's JSON error body.
//! The router never sends one of these statuses without a body, so nothing else
//! matches; every other write passes through untouched (a prefix test per write).

use hyper::rt::{Read, ReadBufCursor, Write};
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll, ready};

/// The I/O of one connection, with hyper's bodiless error answers made JSON.
#[derive(Debug)]
pub(crate) struct JsonErrors<T> {
    inner: T,
    /// A replacement answer being written, and how much of it is out.
    pending: Option<(Vec<u8>, usize)>,
}

impl<T> JsonErrors<T> {
    pub(crate) fn new(inner: T) -> Self {
        Self {
            inner,
            pending: None,
        }
    }
}

/// The JSON answer for one of hyper's own error heads, or `None` for any other write.
fn replacement(head: &[u8]) -> Option<Vec<u8>> {
    let rest = head.strip_prefix(b"HTTP/1.1 ")?;
    let (code, detail) = match rest.get(..4)? {
        b"400 " => (
            "bad_request",
            "the request line or a header is not valid HTTP/1.1",
        ),
        b"414 " => (
            "uri_too_long",
            "the request target (path and query) is longer than 65534 bytes",
        ),
        b"431 " => (
            "headers_too_large",
            "the request has more than 100 header fields or a head larger than 400 KiB",
        ),
        _ => return None,
    };
    let text = std::str::from_utf8(head).ok()?;
    let lines = text.strip_suffix("\r\n\r\n")?;
    if !lines
        .split("\r\n")
        .any(|l| l.eq_ignore_ascii_case("content-length: 0"))
    {
        return None;
    }
    let body = serde_json::json!({"error": code, "detail": detail}).to_string();
    let mut out = String::with_capacity(lines.len() + body.len() + 64);
    for line in lines.split("\r\n") {
        if !line.eq_ignore_ascii_case("content-length: 0") {
            out.push_str(line);
            out.push_str("\r\n");
        }
    }
    out.push_str("content-type: application/json\r\n");
    out.push_str(&format!("content-length: {}\r\n\r\n", body.len()));
    out.push_str(&body);
    Some(out.into_bytes())
}

impl<T: Write + Unpin> JsonErrors<T> {
    /// Write out the pending replacement, if any.
    fn drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while let Some((bytes, done)) = &mut self.pending {
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &bytes[*done..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            *done += n;
            if *done == bytes.len() {
                self.pending = None;
            }
        }
        Poll::Ready(Ok(()))
    }

    /// Take `len` bytes of hyper's error head as written, sending `answer` instead.
    fn substitute(&mut self, cx: &mut Context<'_>, answer: Vec<u8>, len: usize) -> usize {
        self.pending = Some((answer, 0));
        // Pending is fine: the flush that follows finishes the job.
        if let Poll::Ready(Err(e)) = self.drain(cx) {
            log::debug!("early_error_write_failed error={e}");
            self.pending = None;
        }
        len
    }
}

impl<T: Read + Unpin> Read for JsonErrors<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl<T: Write + Unpin> Write for JsonErrors<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        ready!(this.drain(cx))?;
        if let Some(answer) = replacement(buf) {
            return Poll::Ready(Ok(this.substitute(cx, answer, buf.len())));
        }
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        ready!(this.drain(cx))?;
        let mut filled = bufs.iter().filter(|b| !b.is_empty());
        if let (Some(head), None) = (filled.next(), filled.next())
            && let Some(answer) = replacement(head)
        {
            return Poll::Ready(Ok(this.substitute(cx, answer, head.len())));
        }
        Pin::new(&mut this.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.drain(cx))?;
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.drain(cx))?;
        Pin::new(&mut this.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_bodiless_parse_error_heads_are_replaced() {
        let head = b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\ndate: Sat, 05 Dec 2026 12:00:00 GMT\r\n\r\n";
        let out = String::from_utf8(replacement(head).unwrap()).unwrap();
        let (h, body) = out.split_once("\r\n\r\n").unwrap();
        assert!(h.starts_with("HTTP/1.1 431 "), "{h}");
        assert!(h.contains("date: Sat"), "{h}");
        assert!(
            h.contains(&format!("content-length: {}", body.len())),
            "{h}"
        );
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(v["error"], "headers_too_large");
        for other in [
            &b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"[..],
            b"HTTP/1.1 400 Bad Request\r\ncontent-length: 12\r\n\r\n{\"error\":1}",
            b"HTTP/1.1 414 URI Too Long\r\ncontent-length: 0\r\n\r\nx",
            b"{\"id\":1}",
        ] {
            assert!(replacement(other).is_none());
        }
    }
}
