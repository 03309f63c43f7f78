//! Webhook delivery: one JSON POST over plain HTTP/1.1. Only `http://` URLs
//! are accepted (a TLS-terminating relay covers `https`).

use std::future::Future;
use std::pin::Pin;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;

/// Sends notifications as webhooks: one JSON POST each.
#[derive(Debug, Clone, Copy, Default)]
pub struct Webhook;

impl charter_app::Notifier for Webhook {
    fn post_json<'a>(
        &'a self,
        url: &'a str,
        body: String,
    ) -> Pin<Box<dyn Future<Output = Result<u16, String>> + Send + 'a>> {
        Box::pin(post(url, body))
    }
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
