//! Safety filters as pure functions: detectors for personal data and
//! secrets (validated beyond their patterns), classification of a text by
//! what it holds, DLP rules deciding per agent, direction and destination
//! whether content passes, is redacted or is blocked, and the redaction
//! itself.
//!
//! Nothing here reads a clock, a database or the network; the application
//! decides who may filter what, logs the decision and keeps the counts.

mod context;
mod detect;
mod finding;
mod phone;
mod validate;

pub use context::{ContextRule, ContextRules};
pub use detect::Scanner;
pub use finding::{Family, Finding, FindingType};
