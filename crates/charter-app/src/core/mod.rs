//! What every capability stands on: who is asking ([`caller`]), the errors
//! use cases report ([`error`]), the one audited write path ([`audit`]),
//! group commit ([`commit`]), the clock, the port notifications leave by
//! ([`notify`]), Charter's own metrics ([`metrics`]) and a thread of lower
//! priority for background computations ([`background`]).

pub(crate) mod audit;
pub(crate) mod background;
pub(crate) mod caller;
pub(crate) mod clock;
pub(crate) mod commit;
pub(crate) mod error;
pub(crate) mod metrics;
pub(crate) mod notify;
