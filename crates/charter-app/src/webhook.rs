//! Webhook delivery: one JSON POST over plain HTTP/1.1 with a deadline.
//! Only `http://` URLs are accepted (a TLS-terminating relay covers
//! `https`); Charter never blocks a change on delivery.

use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;

/// Posts `body` to `url` within `deadline`; Ok with the status when it is
/// 2xx, otherwise why not.
pub(crate) async fn post_json(url: &str, body: String, deadline: Duration) -> Result<u16, String> {
    tokio::time::timeout(deadline, post(url, body))
        .await
        .unwrap_or_else(|_| Err(format!("no answer within {} ms", deadline.as_millis())))
}

async fn post(url: &str, body: String) -> Result<u16, String> {
    let uri: hyper::Uri = url.parse().map_err(|error| format!("\"{url}\" is not a URL: {error}"))?;
    if uri.scheme_str() != Some("http") {
        return Err(format!("\"{url}\" is not an http:// URL"));
    }
    let host = uri.host().ok_or_else(|| format!("\"{url}\" has no host"))?;
    let port = uri.port_u16().unwrap_or(80);
    let stream =
        tokio::net::TcpStream::connect((host, port)).await.map_err(|error| format!("connect: {error}"))?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|error| format!("handshake: {error}"))?;
    tokio::spawn(connection);
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let authority = uri.authority().map_or(host, |a| a.as_str()).to_owned();
    let request = hyper::Request::post(path)
        .header(hyper::header::HOST, authority)
        .header(hyper::header::CONTENT_TYPE, "application/json")
        .header(hyper::header::USER_AGENT, concat!("charter/", env!("CARGO_PKG_VERSION")))
        .body(Full::new(Bytes::from(body)))
        .map_err(|error| error.to_string())?;
    let response = sender.send_request(request).await.map_err(|error| format!("request: {error}"))?;
    let status = response.status();
    // Drain the answer so the connection closes cleanly.
    let _ = response.into_body().collect().await;
    if status.is_success() { Ok(status.as_u16()) } else { Err(format!("answered {status}")) }
}
