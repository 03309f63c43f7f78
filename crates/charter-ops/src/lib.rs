//! Governed operations (Ops Governor), pure: reading and checking operation
//! declarations, the scope contract, permission tiers, approvals with
//! separation of duties and change windows. Running commands and touching
//! files happen in `charter-app`; this crate decides what may happen.

pub mod declaration;
pub mod run;
pub mod scope;
pub mod tiers;

pub use declaration::{DeclarationError, declaration_hash, parse};
pub use tiers::{ChangeWindow, TierRules};
