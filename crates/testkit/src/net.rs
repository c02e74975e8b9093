//! Serving an axum router (hyper underneath) with the ability to reset one
//! connection: the start-up of both emulators and the proxy.
//!
//! axum's `serve` takes any [`Listener`]; this one wraps each accepted `TcpStream` in
//! a [`ResettableStream`] that shares a kill switch with the request handlers (through
//! `ConnectInfo<ConnectionControl>`). A handler that wants the client to see a
//! connection reset flips the switch: the stream sets `SO_LINGER` to zero and fails
//! every further read and write, hyper drops the connection without writing the
//! response, and the kernel sends a TCP RST. The client sees a connection error,
//! never a response.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use axum::Router;
use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

use crate::StartError;

/// Binds `addr` for a server of this crate; returns the listener and the address
/// it got (the port, when `addr` asked for port 0).
pub(crate) async fn bind(addr: SocketAddr) -> Result<(ResettableListener, SocketAddr), StartError> {
    let bound = async {
        let inner = TcpListener::bind(addr).await?;
        let local = inner.local_addr()?;
        Ok((ResettableListener { inner }, local))
    };
    bound
        .await
        .map_err(|source| StartError::Bind { addr, source })
}

/// A TCP listener whose connections can be reset from a handler.
pub(crate) struct ResettableListener {
    inner: TcpListener,
}

impl Listener for ResettableListener {
    type Io = ResettableStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let (stream, addr) = Listener::accept(&mut self.inner).await;
        let _ = stream.set_nodelay(true);
        (
            ResettableStream {
                inner: stream,
                kill: Arc::new(AtomicBool::new(false)),
                linger_set: false,
            },
            addr,
        )
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// A TCP stream that fails all I/O (and closes with RST) once its switch is flipped.
pub(crate) struct ResettableStream {
    inner: TcpStream,
    kill: Arc<AtomicBool>,
    linger_set: bool,
}

impl ResettableStream {
    fn check(&mut self) -> io::Result<()> {
        if !self.kill.load(Ordering::Acquire) {
            return Ok(());
        }
        if !self.linger_set {
            self.linger_set = true;
            // Close with RST rather than FIN when the stream is dropped.
            let _ = self.inner.set_zero_linger();
        }
        Err(io::Error::new(
            io::ErrorKind::ConnectionReset,
            "connection reset by fault injection",
        ))
    }
}

impl AsyncRead for ResettableStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.check()?;
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for ResettableStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.check()?;
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.check()?;
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.check()?;
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// The kill switch of the connection a request arrived on (a `ConnectInfo`).
#[derive(Clone, Debug)]
pub(crate) struct ConnectionControl {
    kill: Arc<AtomicBool>,
}

impl ConnectionControl {
    /// Resets the connection: no response (this one or any later) is sent on it.
    pub(crate) fn reset(&self) {
        self.kill.store(true, Ordering::Release);
    }
}

impl Connected<IncomingStream<'_, ResettableListener>> for ConnectionControl {
    fn connect_info(stream: IncomingStream<'_, ResettableListener>) -> Self {
        Self {
            kill: Arc::clone(&stream.io().kill),
        }
    }
}

/// A spawned server; stops accepting and closes idle connections when dropped.
#[derive(Debug)]
pub(crate) struct Server {
    shutdown: Option<oneshot::Sender<()>>,
}

impl Server {
    /// Serves `router` on `listener` in a background task of the current runtime.
    pub(crate) fn spawn(listener: ResettableListener, router: Router) -> Self {
        let (tx, rx) = oneshot::channel::<()>();
        let service = router.into_make_service_with_connect_info::<ConnectionControl>();
        tokio::spawn(async move {
            let result = axum::serve(listener, service)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
            if let Err(error) = result {
                tracing::error!(%error, "emulator server stopped");
            }
        });
        Self { shutdown: Some(tx) }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}
