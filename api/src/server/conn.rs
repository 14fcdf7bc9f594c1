//! Connections: a cap on how many are open at once, a deadline for a new connection's first
//! request headers, and an idle timeout, so idle, half-sent or dribbling connections cannot
//! hold the server's sockets or memory.
//!
//! [`GuardedListener`] wraps the TCP listener axum serves: at the cap, new connections wait in
//! the kernel's backlog; each accepted stream is a [`GuardedIo`] that fails its reads (closing
//! the connection) when a request's headers have not ended (`\r\n\r\n`) within
//! [`ConnLimits::header_timeout`], or when nothing was read or written for
//! [`ConnLimits::idle_timeout`]. On a kept-alive connection the header deadline starts again
//! with the next request: the first read after an answer was written that begins with a
//! method's capital letter (a request body, JSON or a file, is read before the answer).

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::{Instant, Sleep};

/// Connection limits.
#[derive(Debug, Clone, Copy)]
pub struct ConnLimits {
    /// Connections open at once.
    pub max_connections: usize,
    /// Time a connection has to send a request's headers (each request's, on keep-alive).
    pub header_timeout: Duration,
    /// Time a connection may do nothing (longer than the query timeout: a connection waiting
    /// for a query's answer reads nothing meanwhile).
    pub idle_timeout: Duration,
}

impl Default for ConnLimits {
    fn default() -> Self {
        Self {
            max_connections: 512,
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(120),
        }
    }
}

/// The client's address, for handlers (`ConnectInfo<Peer>`).
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub SocketAddr);

impl Connected<IncomingStream<'_, GuardedListener>> for Peer {
    fn connect_info(stream: IncomingStream<'_, GuardedListener>) -> Self {
        Peer(*stream.remote_addr())
    }
}

/// The listener the server accepts on.
#[derive(Debug)]
pub struct GuardedListener {
    inner: TcpListener,
    slots: Arc<Semaphore>,
    limits: ConnLimits,
}

impl GuardedListener {
    pub fn new(inner: TcpListener, limits: ConnLimits) -> Self {
        Self {
            inner,
            slots: Arc::new(Semaphore::new(limits.max_connections.max(1))),
            limits,
        }
    }
}

impl Listener for GuardedListener {
    type Io = GuardedIo;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok(permit) = Arc::clone(&self.slots).acquire_owned().await else {
                // The semaphore is never closed; wait rather than spin if it were.
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            };
            match self.inner.accept().await {
                Ok((stream, addr)) => {
                    let _ = stream.set_nodelay(true);
                    return (GuardedIo::new(stream, permit, self.limits), addr);
                }
                Err(e) => {
                    // Out of file descriptors and the like: say so and try again shortly.
                    tracing::warn!(error = %e, "accepting a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

/// An accepted connection under its deadlines.
#[derive(Debug)]
pub struct GuardedIo {
    stream: TcpStream,
    _slot: OwnedSemaphorePermit,
    limits: ConnLimits,
    deadline: Pin<Box<Sleep>>,
    /// When the idle deadline was last moved (moved at most once a second: resetting a
    /// timer on every read and write costs more than the whole check).
    moved: Instant,
    /// Whether the idle deadline has replaced the header deadline.
    idle_armed: bool,
    /// How much of `\r\n\r\n` the bytes read so far end with; 4 once the headers ended.
    matched: u8,
    /// Whether an answer was written since the current request's headers ended.
    answered: bool,
}

const HEADERS_END: &[u8; 4] = b"\r\n\r\n";

impl GuardedIo {
    fn new(stream: TcpStream, slot: OwnedSemaphorePermit, limits: ConnLimits) -> Self {
        Self {
            stream,
            _slot: slot,
            limits,
            deadline: Box::pin(tokio::time::sleep(limits.header_timeout)),
            moved: Instant::now(),
            idle_armed: false,
            matched: 0,
            answered: false,
        }
    }

    /// A read after an answer that starts like a request line: the next request on a
    /// kept-alive connection, whose headers get their own deadline.
    fn next_request(&mut self, first: u8) {
        if self.headers_done() && self.answered && first.is_ascii_uppercase() {
            self.matched = 0;
            self.answered = false;
            self.idle_armed = false;
            self.deadline
                .as_mut()
                .reset(Instant::now() + self.limits.header_timeout);
        }
    }

    fn wrote(&mut self) {
        if self.headers_done() {
            self.answered = true;
        }
        self.active();
    }

    fn headers_done(&self) -> bool {
        usize::from(self.matched) == HEADERS_END.len()
    }

    /// Progress: past the first headers, the idle clock starts again (to within a second).
    fn active(&mut self) {
        if !self.headers_done() {
            return;
        }
        let now = Instant::now();
        if !self.idle_armed || now.duration_since(self.moved) >= Duration::from_secs(1) {
            self.idle_armed = true;
            self.moved = now;
            self.deadline.as_mut().reset(now + self.limits.idle_timeout);
        }
    }

    fn scan(&mut self, bytes: &[u8]) {
        for &b in bytes {
            if self.headers_done() {
                return;
            }
            if b == HEADERS_END[usize::from(self.matched)] {
                self.matched += 1;
            } else {
                self.matched = u8::from(b == b'\r');
            }
        }
    }

    fn expired(&mut self, cx: &mut Context<'_>) -> bool {
        self.deadline.as_mut().poll(cx).is_ready()
    }
}

fn timed_out(headers_done: bool) -> io::Error {
    let what = if headers_done {
        "the connection was idle too long"
    } else {
        "the request headers did not arrive in time"
    };
    io::Error::new(io::ErrorKind::TimedOut, what)
}

impl AsyncRead for GuardedIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.stream).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                let read = &buf.filled()[before..];
                if let Some(&first) = read.first() {
                    self.next_request(first);
                    let read = &buf.filled()[before..];
                    self.scan(read);
                    self.active();
                }
                Poll::Ready(Ok(()))
            }
            Poll::Pending => {
                if self.expired(cx) {
                    let done = self.headers_done();
                    Poll::Ready(Err(timed_out(done)))
                } else {
                    Poll::Pending
                }
            }
            other => other,
        }
    }
}

impl AsyncWrite for GuardedIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.stream).poll_write(cx, data);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.wrote();
        }
        r
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.stream).poll_write_vectored(cx, bufs);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.wrote();
        }
        r
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}
