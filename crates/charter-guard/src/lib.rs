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
#[cfg(test)]
#[path = "../tests/fixtures/fake_secrets.rs"]
mod fake_secrets;
mod finding;
mod lint;
mod phone;
mod policy;
mod redact;
mod stream;
mod validate;

pub use charter_model::{Family, FindingType};
pub use context::ContextRules;
pub use detect::Scanner;
pub use finding::Finding;
pub use lint::{Known, Level, Lint, lint};
pub use policy::{Target, Verdict, classify, judge};
pub use redact::{ContentHasher, Redactor, hex, keyed_hash, redact};
pub use stream::{MAX_SEGMENT, Segmenter, scan_at};
