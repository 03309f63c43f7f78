//! Data-model governance: datasets and their promotion gates, schema changes
//! with impact analysis, data-quality runs, the RAIDA log and the daily
//! governance check.

pub(crate) mod changes;
pub(crate) mod datasets;
pub(crate) mod governance;
pub(crate) mod quality;
pub(crate) mod raida;
