//! Portfolio risk: the assessment, its snapshots and the executive report.

pub(crate) mod assessment;
pub(crate) mod spilled;
