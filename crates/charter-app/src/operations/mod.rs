//! Governed operations: declaration ([`declare`]) and the runner with its
//! gates, rollback and evidence ([`runner`]), and the report of a run.

pub(crate) mod declare;
mod queue;
mod report;
pub mod runner;
