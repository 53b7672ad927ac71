//! A server that answers every request with `307 Temporary Redirect` to one location: how a
//! misconfigured or hostile endpoint would send a client (and its key, its body) elsewhere.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A running redirecting server; it stops when dropped.
pub struct RedirectServer {
    addr: SocketAddr,
    hits: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl RedirectServer {
    /// Starts on 127.0.0.1, redirecting every request to `location`.
    ///
    /// # Errors
    /// When no port can be bound.
    pub async fn start(location: String) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let hits = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&hits);
        let task = tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let location = location.clone();
                let counted = Arc::clone(&counted);
                tokio::spawn(async move {
                    // Read the head (and whatever of the body came with it); the answer does not
                    // depend on it.
                    let mut buffer = vec![0_u8; 64 * 1024];
                    let _ = stream.read(&mut buffer).await;
                    counted.fetch_add(1, Ordering::SeqCst);
                    let answer = format!(
                        "HTTP/1.1 307 Temporary Redirect\r\nlocation: {location}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                    );
                    let _ = stream.write_all(answer.as_bytes()).await;
                    let _ = stream.shutdown().await;
                });
            }
        });
        Ok(Self { addr, hits, task })
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Requests answered so far.
    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

impl Drop for RedirectServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}
