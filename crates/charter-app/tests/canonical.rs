//! Record types whose fields are declared in sorted order are encoded by
//! serde directly; that encoding must equal the canonical one.

use std::path::PathBuf;

use charter_app::import::kind_of_file;
use charter_bench::portfolio::{PortfolioSpec, portfolio};
use charter_model::canonical;

#[test]
fn every_record_encodes_canonically() {
    let generated = tempfile::tempdir().unwrap();
    portfolio(
        PortfolioSpec { agents: 40, seed: 3, end_date: "2024-12-20".parse().unwrap() },
        generated.path(),
    )
    .unwrap();
    let example = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/ops-workspace");
    let mut checked = 0;
    for dir in [example.as_path(), generated.path()] {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_str().unwrap().to_owned();
            let Some(kind) = kind_of_file(&name) else { continue };
            for record in kind.parse_json_array(&std::fs::read(&path).unwrap()).unwrap() {
                let slow = canonical::to_string(&record.to_json_value());
                assert_eq!(record.to_canonical_json(), slow, "{name}");
                assert!(canonical::is_canonical(&slow));
                checked += 1;
            }
        }
    }
    assert!(checked > 2_000, "{checked}");
}
