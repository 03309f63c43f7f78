//! The registry: workspaces and their records (agents, systems, workflows,
//! datasets, policies, people, teams), references to records nobody
//! described, `charter import`, API tokens and the workspace overview.

pub mod import;
pub(crate) mod records;
pub(crate) mod references;
pub(crate) mod sessions;
pub(crate) mod status;
pub(crate) mod tokens;
