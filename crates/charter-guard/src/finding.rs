//! What a detector found: a type, the exact byte span and a confidence.

use charter_model::FindingType;
use serde::{Deserialize, Serialize};

/// One sensitive value: its type, where it is (bytes `start..end` of the
/// text) and how sure the detector is (0 to 1).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Finding {
    /// What it is.
    #[serde(rename = "type")]
    pub kind: FindingType,
    /// Its first byte.
    pub start: usize,
    /// One past its last byte.
    pub end: usize,
    /// From 0 to 1.
    pub confidence: f32,
}

impl Finding {
    /// Its bytes in `text`.
    pub fn value<'t>(&self, text: &'t [u8]) -> &'t [u8] {
        &text[self.start..self.end]
    }
}
