//! Where notifications go out. The app decides what to send, to which URL,
//! within which deadline and how often to retry; a [`Notifier`] (an adapter
//! outside the app, such as `charter_notify::Webhook`) sends it.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

/// Sends one notification.
pub trait Notifier: Send + Sync + fmt::Debug {
    /// Posts `body` (JSON) to `url`; Ok with the receiver's status when it
    /// accepted it (2xx), otherwise why not. The app bounds the time.
    fn post_json<'a>(
        &'a self,
        url: &'a str,
        body: String,
    ) -> Pin<Box<dyn Future<Output = Result<u16, String>> + Send + 'a>>;
}

/// The notifier of an app given none: every delivery fails, saying so (and
/// the failure is recorded on the notification like any other).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoNotifier;

impl Notifier for NoNotifier {
    fn post_json<'a>(
        &'a self,
        _url: &'a str,
        _body: String,
    ) -> Pin<Box<dyn Future<Output = Result<u16, String>> + Send + 'a>> {
        Box::pin(async {
            Err("this installation sends no notifications (no notifier configured)".to_owned())
        })
    }
}
