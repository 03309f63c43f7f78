//! Governed operations: declaration ([`declare`]) and the runner with its
//! gates, rollback and evidence ([`runner`]).

pub(crate) mod declare;
pub mod runner;
