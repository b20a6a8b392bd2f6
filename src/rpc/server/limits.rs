//! Limits both doors share: body size, header size, idle timeout, per-connection request
//! rate and the number of connections, so one client cannot exhaust memory or the handler.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::{Buf, Bytes, BytesMut};
use http::header::CONTENT_LENGTH;
use http::HeaderMap;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Largest request body accepted: Core's `MAX_SIZE` for HTTP bodies (32 MiB).
pub const MAX_BODY_BYTES: usize = 0x0200_0000;

/// Largest request header section. Core allows 8 KiB; hyper's read buffer cannot be smaller
/// than that, so we allow twice as much for long `Authorization` values.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;

/// Idle time after which a connection is dropped: Core's `-rpcservertimeout` default.
pub const SERVER_TIMEOUT: Duration = Duration::from_secs(30);

/// Sustained requests per second one connection may make. Above what one keep-alive client
/// gets from this server on two cores (see the README's RPC bench), so it only stops a
/// client that pipelines or multiplexes far beyond a normal caller.
pub const RATE_PER_SEC: u32 = 5_000;

/// Requests one connection may make in a burst before [`RATE_PER_SEC`] applies.
pub const RATE_BURST: u32 = 5_000;

/// Connections served at once, over both doors; more are closed on arrival.
pub const MAX_CONNECTIONS: usize = 256;

/// The limits in force; [`Limits::default`] gives the constants above.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// See [`MAX_BODY_BYTES`].
    pub max_body: usize,
    /// See [`MAX_HEADER_BYTES`].
    pub max_header: usize,
    /// See [`SERVER_TIMEOUT`].
    pub timeout: Duration,
    /// See [`RATE_PER_SEC`].
    pub rate_per_sec: u32,
    /// See [`RATE_BURST`].
    pub rate_burst: u32,
    /// See [`MAX_CONNECTIONS`].
    pub max_connections: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body: MAX_BODY_BYTES,
            max_header: MAX_HEADER_BYTES,
            timeout: SERVER_TIMEOUT,
            rate_per_sec: RATE_PER_SEC,
            rate_burst: RATE_BURST,
            max_connections: MAX_CONNECTIONS,
        }
    }
}

/// A token bucket: `burst` tokens, refilled at `rate` per second, one per request.
#[derive(Debug)]
struct Bucket {
    tokens: f64,
    last: Instant,
    rate: f64,
    burst: f64,
}

impl Bucket {
    fn new(rate: u32, burst: u32, now: Instant) -> Self {
        Bucket {
            tokens: f64::from(burst),
            last: now,
            rate: f64::from(rate),
            burst: f64::from(burst),
        }
    }

    fn take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// One connection's request-rate limit; requests on a connection may run concurrently.
#[derive(Debug)]
pub(crate) struct RateLimiter(Mutex<Bucket>);

impl RateLimiter {
    pub(crate) fn new(limits: &Limits) -> Self {
        RateLimiter(Mutex::new(Bucket::new(
            limits.rate_per_sec,
            limits.rate_burst,
            Instant::now(),
        )))
    }

    /// Whether one more request may go through now.
    pub(crate) fn allow(&self) -> bool {
        // The bucket stays consistent even if a holder panicked, so a poisoned lock is fine.
        let mut bucket = self.0.lock().unwrap_or_else(|e| e.into_inner());
        bucket.take(Instant::now())
    }
}

/// The connection slots shared by both doors.
#[derive(Clone, Debug)]
pub(crate) struct ConnSlots(Arc<Semaphore>);

impl ConnSlots {
    pub(crate) fn new(max: usize) -> Self {
        ConnSlots(Arc::new(Semaphore::new(max)))
    }

    /// A slot held for the connection's lifetime, or `None` when all are taken.
    pub(crate) fn try_take(&self) -> Option<OwnedSemaphorePermit> {
        self.0.clone().try_acquire_owned().ok()
    }
}

/// Why a request body could not be read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum BodyError {
    /// Over the body limit, as declared or as sent.
    #[error("request body too large")]
    TooLarge,
    /// No data for longer than the server timeout.
    #[error("timed out reading the request body")]
    Timeout,
    /// The client or the stream failed.
    #[error("reading the request body: {0}")]
    Read(String),
}

/// Whether the declared `Content-Length` is already over `limit`. An unparsable length is
/// left to the HTTP layer, and the streamed size is still checked by [`BodyBuf`].
pub(crate) fn declared_too_large(headers: &HeaderMap, limit: usize) -> bool {
    headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|s| s.trim().parse::<u64>().ok())
        .is_some_and(|n| n > limit as u64)
}

/// Collects body chunks up to a limit; memory grows with what arrives, never with what a
/// header claims.
#[derive(Debug)]
pub(crate) struct BodyBuf {
    buf: BytesMut,
    limit: usize,
}

impl BodyBuf {
    pub(crate) fn new(limit: usize) -> Self {
        BodyBuf {
            buf: BytesMut::new(),
            limit,
        }
    }

    /// Appends a chunk, refusing it if the total would pass the limit.
    pub(crate) fn push(&mut self, mut chunk: impl Buf) -> Result<(), BodyError> {
        if chunk.remaining() > self.limit - self.buf.len() {
            return Err(BodyError::TooLarge);
        }
        while chunk.has_remaining() {
            let part = chunk.chunk();
            let n = part.len();
            self.buf.extend_from_slice(part);
            chunk.advance(n);
        }
        Ok(())
    }

    /// The body collected so far.
    pub(crate) fn finish(self) -> Bytes {
        self.buf.freeze()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_allows_burst_then_refills_at_rate() {
        let t0 = Instant::now();
        let mut b = Bucket::new(10, 20, t0);
        assert_eq!((0..25).filter(|_| b.take(t0)).count(), 20);
        // 0.5 s at 10/s gives 5 more.
        let t1 = t0 + Duration::from_millis(500);
        assert_eq!((0..10).filter(|_| b.take(t1)).count(), 5);
        // A long pause refills only up to the burst.
        let t2 = t1 + Duration::from_secs(3600);
        assert_eq!((0..100).filter(|_| b.take(t2)).count(), 20);
    }

    #[test]
    fn body_limit_counts_streamed_bytes() {
        let mut b = BodyBuf::new(10);
        b.push(&b"hello"[..]).unwrap();
        b.push(&b"world"[..]).unwrap();
        assert!(matches!(b.push(&b"!"[..]), Err(BodyError::TooLarge)));
        assert_eq!(b.finish(), Bytes::from_static(b"helloworld"));
    }

    #[test]
    fn declared_length_checked_without_trusting_it() {
        let mut h = HeaderMap::new();
        assert!(!declared_too_large(&h, 10));
        h.insert(CONTENT_LENGTH, "10".parse().unwrap());
        assert!(!declared_too_large(&h, 10));
        h.insert(CONTENT_LENGTH, "11".parse().unwrap());
        assert!(declared_too_large(&h, 10));
        h.insert(CONTENT_LENGTH, "99999999999999999999999".parse().unwrap());
        assert!(!declared_too_large(&h, 10), "unparsable: left to the HTTP layer");
    }

    #[test]
    fn slots_run_out_and_come_back() {
        let s = ConnSlots::new(2);
        let a = s.try_take();
        let b = s.try_take();
        assert!(a.is_some() && b.is_some());
        assert!(s.try_take().is_none());
        drop(a);
        assert!(s.try_take().is_some());
    }
}
