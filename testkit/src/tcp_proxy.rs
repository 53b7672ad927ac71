//! A TCP proxy whose connections can be cut on demand: what a client sees when its server, or
//! the network in between, drops the connection (a NATS server restart, a load balancer's idle
//! cut). New connections are accepted as before, so a client that reconnects gets through.

use std::{
    io,
    net::SocketAddr,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc, Mutex,
    },
};

use tokio::{
    net::{TcpListener, TcpStream},
    task::{AbortHandle, JoinHandle},
};

/// A running proxy on 127.0.0.1; it stops (and drops every connection) when dropped.
pub struct TcpProxy {
    addr: SocketAddr,
    connections: Arc<Mutex<Vec<AbortHandle>>>,
    accepted: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl TcpProxy {
    /// Starts forwarding to `upstream`.
    ///
    /// # Errors
    /// When no port can be bound.
    pub async fn start(upstream: SocketAddr) -> io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let connections: Arc<Mutex<Vec<AbortHandle>>> = Arc::default();
        let accepted = Arc::new(AtomicUsize::new(0));
        let (open, count) = (Arc::clone(&connections), Arc::clone(&accepted));
        let task = tokio::spawn(async move {
            while let Ok((mut downstream, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                let pipe = tokio::spawn(async move {
                    if let Ok(mut upstream) = TcpStream::connect(upstream).await {
                        // Ends when either side closes; an error is a closed connection.
                        let _closed =
                            tokio::io::copy_bidirectional(&mut downstream, &mut upstream).await;
                    }
                });
                let mut open = open
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                open.retain(|handle| !handle.is_finished());
                open.push(pipe.abort_handle());
            }
        });
        Ok(Self {
            addr,
            connections,
            accepted,
            task,
        })
    }

    /// The address clients connect to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Closes every open connection (both sides); returns how many were open.
    pub fn cut_all(&self) -> usize {
        let mut open = self
            .connections
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let live: Vec<AbortHandle> = open.drain(..).filter(|h| !h.is_finished()).collect();
        for handle in &live {
            handle.abort();
        }
        live.len()
    }

    /// Connections accepted so far (a reconnect is a new one).
    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.task.abort();
        self.cut_all();
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    #[tokio::test]
    async fn bytes_pass_through_until_cut_and_a_reconnect_gets_through_again() {
        let echo = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let upstream = echo.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = echo.accept().await {
                tokio::spawn(async move {
                    let mut buf = [0u8; 64];
                    while let Ok(n) = stream.read(&mut buf).await {
                        if n == 0 || stream.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        let proxy = TcpProxy::start(upstream).await.unwrap();
        let mut client = TcpStream::connect(proxy.addr()).await.unwrap();
        client.write_all(b"ping").await.unwrap();
        let mut buf = [0u8; 4];
        client.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"ping");

        assert_eq!(proxy.cut_all(), 1);
        let mut rest = Vec::new();
        let read = client.read_to_end(&mut rest).await;
        assert!(
            read.is_err() || read.unwrap() == 0,
            "the cut closes the client's side"
        );

        let mut again = TcpStream::connect(proxy.addr()).await.unwrap();
        again.write_all(b"pong").await.unwrap();
        again.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"pong");
        assert_eq!(proxy.accepted(), 2);
    }
}
