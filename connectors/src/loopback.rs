//! Serving a simulator's router on 127.0.0.1 in the background until dropped: the piece every
//! platform simulator (`jushuitan::sim`, `top::sim`, `minishop_sim`) shares.

use std::net::SocketAddr;

/// A router served on loopback; it stops gracefully when dropped.
#[derive(Debug)]
pub(crate) struct Loopback {
    pub(crate) addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Loopback {
    /// Binds `127.0.0.1:port` (0 for any free port) and serves `app` in the background.
    pub(crate) async fn serve(app: axum::Router, port: u16) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        let addr = listener.local_addr()?;
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = rx.await;
                })
                .await;
        });
        Ok(Self {
            addr,
            stop: Some(tx),
        })
    }

    /// `http://127.0.0.1:<port>`.
    pub(crate) fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Loopback {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}
