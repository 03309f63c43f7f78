//! `charter-bench ops`: the runner's own cost.
//!
//! 1. Snapshot and compare: a tree of N files totalling M bytes under one
//!    allowed path is snapshotted (every file hashed and stored as a blob),
//!    then compared after one file changed (what the runner does after each
//!    step: unchanged files are recognised by size and modification time).
//! 2. Overhead per step: an operation of S steps whose command and
//!    verification are `true` runs on SQLite; the overhead is the wall time
//!    minus the time the commands themselves took, per step. It covers the
//!    scope check, the comparison with the snapshot and the durable write of
//!    the step's evidence.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};
use charter_app::runner::Scanner;
use charter_app::{App, Caller, RunOptions};
use charter_model::WorkspaceName;

pub(crate) async fn ops(files: usize, bytes: u64, steps: usize) -> Result<ExitCode> {
    let scratch = tempfile::tempdir().context("cannot create a scratch directory")?;
    let tree = scratch.path().canonicalize()?.join("tree");
    let size = (bytes / files.max(1) as u64) as usize;
    let started = Instant::now();
    for n in 0..files {
        let dir = tree.join(format!("d{:03}", n % 100));
        std::fs::create_dir_all(&dir)?;
        let mut content = vec![(n % 251) as u8; size];
        content[..8.min(size)].copy_from_slice(&(n as u64).to_le_bytes()[..8.min(size)]);
        std::fs::write(dir.join(format!("f{n:05}")), content)?;
    }
    println!(
        "ops: wrote {files} files, {:.0} MB, in {:.2} s",
        (files * size) as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    let roots = vec![tree.clone()];
    let snapshots = scratch.path().join("snapshots");
    let (snapshot, compare, changed) = tokio::task::spawn_blocking(move || -> Result<_> {
        let mut scanner = Scanner::new(&snapshots)?;
        let started = Instant::now();
        let before = scanner.snapshot(&roots)?;
        let snapshot = started.elapsed();
        std::fs::write(roots[0].join("d000/f00000"), b"changed")?;
        let started = Instant::now();
        let after = scanner.scan(&roots)?;
        let changed = charter_ops::run::changed(&before, &after);
        Ok((snapshot, started.elapsed(), changed.len()))
    })
    .await??;
    println!(
        "ops: snapshot of {files} files in {:.3} s (every file hashed and stored); compare after a step in {:.3} s ({changed} changed); together {:.3} s",
        snapshot.as_secs_f64(),
        compare.as_secs_f64(),
        (snapshot + compare).as_secs_f64()
    );

    // Overhead per step.
    let data = scratch.path().join("data");
    std::fs::create_dir_all(&data)?;
    let app = App::new(charter_store::Store::open_data_dir(&data).await?);
    let workspace = WorkspaceName::new("bench")?;
    let local = Caller::local("bench");
    app.create_workspace(&local, &workspace).await?;
    for person in [
        r#"{"person_id":"operator","name":"Operator","roles":["operator"]}"#,
        r#"{"person_id":"bench","name":"Bench","roles":["owner"]}"#,
    ] {
        app.create_record(&local, &workspace, charter_model::RecordKind::Person.parse_json(person)?).await?;
    }
    let policy = charter_model::RecordKind::Policy.parse_json(&serde_json::json!({
        "policy_id": "POL-OPS-BENCH", "title": "Bench", "purpose": "Lets operators run.", "rules": "1. Operators run",
        "owner": "bench", "status": "Active",
        "cedar": "permit(principal is User, action == Action::\"execute_operation\", resource is Operation) when { principal.roles.contains(\"operator\") };\npermit(principal, action == Action::\"request_operation\", resource is Operation);"
    }).to_string())?;
    app.create_record(&local, &workspace, policy).await?;
    let conf = scratch.path().canonicalize()?.join("conf");
    std::fs::create_dir_all(&conf)?;
    std::fs::write(conf.join("site.conf"), "v1\n")?;
    let mut text = format!(
        "OPERATION_NAME: bench\nOBJECTIVE: measure\nRISK_CLASS: LOW_RISK_CONFIG\nBLAST_RADIUS: none\n\
         ROLLBACK_STRATEGY: snapshot\nALLOWED_PATHS: [{}]\nALLOWED_SERVICES: []\nREQUESTED_BY: bench\nSTEPS:\n",
        conf.display()
    );
    for n in 0..steps {
        text.push_str(&format!(
            "  - name: step {n}\n    command: 'true'\n    touches: [{}/site.conf]\n    verify: ['true']\n    rollback: 'true'\n",
            conf.display()
        ));
    }
    let id = app.declare_operation(&local, &workspace, &text).await?.id;
    let options = RunOptions {
        dry_run: false,
        snapshot_dir: scratch.path().join("run-snapshots"),
        rules: None,
        sandbox: None,
    };
    let started = Instant::now();
    let result = app.run_operation(&Caller::local("operator"), &workspace, &id, options).await?;
    let wall = started.elapsed();
    let commands: u64 =
        result.run.steps.iter().flat_map(|s| s.command.iter().chain(&s.verify)).map(|c| c.duration_ms).sum();
    let overhead = (wall.as_secs_f64() * 1e3 - commands as f64) / steps as f64;
    println!(
        "ops: {steps} steps in {:.3} s, of which commands {:.3} s: runner overhead {overhead:.2} ms per step (SQLite, evidence written durably after every step)",
        wall.as_secs_f64(),
        commands as f64 / 1e3
    );
    let _: PathBuf = tree;
    Ok(ExitCode::SUCCESS)
}
