//! Portfolio risk and value (`integration-risk-orchestrator-data.md`):
//! scores per agent, each with its components, weights and the records
//! behind every component, so that every conclusion can be traced to its
//! inputs.
//!
//! Pure: records and an as-of date in, assessment out: the configuration
//! (`config`), the evidence model, the integration, risk and value-leakage
//! scores, blast radius, snapshot trends, escalations and recommendations
//! (`assess`), and the report (`report`, `charts`).

pub mod assess;
pub mod blast;
pub mod charts;
pub mod config;
pub mod evidence;
pub mod history;
pub mod integration;
pub mod report;
pub mod risk;
pub mod trend;
pub mod value;

pub use assess::{
    AgentAssessment, AgentOutcome, Assessment, Assessor, Escalation, Maturity, Own, Portfolio,
    Recommendation, SummaryLine, Tally, assess, maturity, riskiest_first, summary,
};
pub use blast::{BlastRadius, Dependents, system_blast_radius};
pub use config::Config;
pub use evidence::{Component, Evidence, Score};
pub use history::{Direction, Precedence, RiskPath, Sentence, narrative, precedence, risk_paths};
pub use integration::{Flag, integration_score};
pub use risk::{RankedRisk, RiskInputs, hitl_cost_per_day, rank_risks, risk_score};
pub use trend::{Label, Trend, WindowChange, automation_debt, window_changes};
pub use value::{ValueFinding, value_leakage};
