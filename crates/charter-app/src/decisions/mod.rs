//! The decision point: decisions made on a cached engine and logged durably,
//! time-bound grants and the kill switch, policy replay, and the quarterly
//! policy review.

pub(crate) mod decide;
pub(crate) mod grants;
pub(crate) mod log;
pub(crate) mod replay;
pub(crate) mod review;
