//! Notification adapters. The app decides what to send, to whom and how
//! often to retry ([`charter_app::Notifier`]); an adapter here sends it.
//! Today: [`Webhook`], one JSON POST over plain HTTP/1.1. Pager receivers
//! come next, as further adapters.

mod webhook;

pub use webhook::Webhook;
