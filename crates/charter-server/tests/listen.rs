//! The accept loop under clients that open connections and never finish a
//! request (a regression: about 20,000 such connections exhausted the
//! server's file descriptors and `/healthz` stopped answering).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use charter_app::App;
use charter_server::{Limits, serve};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// `GET /healthz` from a socket bound to `from`; the status line.
async fn healthz(server: SocketAddr, from: &str) -> String {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(format!("{from}:0").parse().unwrap()).unwrap();
    let mut stream = socket.connect(server).await.unwrap();
    stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: charter\r\nConnection: close\r\n\r\n").await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer)).await.unwrap().unwrap();
    String::from_utf8_lossy(&answer).lines().next().unwrap_or_default().to_owned()
}

/// Whether the server closed `stream` (a read ends) within `wait`.
async fn closed_within(stream: &mut TcpStream, wait: Duration) -> bool {
    let mut byte = [0_u8; 1];
    matches!(tokio::time::timeout(wait, stream.read(&mut byte)).await, Ok(Ok(0) | Err(_)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_cannot_starve_the_server() {
    let test = charter_store::testing::TestStore::sqlite().await;
    let app = App::new(test.store.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let limits = Limits {
        header_read_timeout: Duration::from_secs(2),
        max_connections: 1024,
        max_connections_per_client: 256,
        ..Limits::default()
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(listener, app, limits, async move {
        stopped.await.ok();
    }));

    // Two thousand connections from one address, each with half a request.
    let mut idle = Vec::new();
    for _ in 0..2000 {
        let mut stream = TcpStream::connect(address).await.unwrap();
        stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: charter\r\n").await.ok();
        idle.push(stream);
    }
    // Another client is served at once.
    let started = Instant::now();
    assert_eq!(healthz(address, "127.0.0.2").await, "HTTP/1.1 200 OK");
    assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());

    // The server kept its share for that address and closed the rest.
    let mut closed = 0;
    for stream in idle.iter_mut().skip(300) {
        closed += usize::from(closed_within(stream, Duration::from_millis(200)).await);
    }
    assert_eq!(closed, 1700, "every connection over the client's share is closed");
    // The ones it kept are closed once their headers are late.
    let kept = &mut idle[..256];
    let mut late = 0;
    for stream in kept.iter_mut() {
        late += usize::from(closed_within(stream, Duration::from_secs(4)).await);
    }
    assert_eq!(late, 256, "half-sent requests are closed after the header-read timeout");
    // And the address is served again.
    drop(idle);
    assert_eq!(healthz(address, "127.0.0.1").await, "HTTP/1.1 200 OK");

    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
    test.finish().await;
}
