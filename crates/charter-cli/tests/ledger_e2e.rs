//! The ledger under real processes: a server killed with SIGKILL while 64
//! clients append loses nothing it acknowledged, and three servers sharing
//! one PostgreSQL database keep one log without gaps or forks.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

mod common;
use common::charter;

/// One HTTP/1.1 request on a fresh connection; the status, or `None` when
/// the connection failed (the server is gone).
fn request(address: &str, method: &str, path: &str, token: &str, body: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(address).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let status = response.split_whitespace().nth(1)?.parse().ok()?;
    let body = response.split_once("\r\n\r\n").map(|(_, body)| body.to_owned()).unwrap_or_default();
    Some((status, body))
}

fn start(mut command: Command) -> (Child, String) {
    let mut child = command.stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        let Some(Ok(line)) = lines.next() else { break };
        if let Some(rest) = line.strip_prefix("Charter is serving http://") {
            let address = rest.split_whitespace().next().unwrap().to_owned();
            std::thread::spawn(move || for _ in lines.by_ref() {});
            return (child, address);
        }
    }
    child.kill().ok();
    child.wait().ok();
    panic!("the server did not start");
}

/// Appends from `clients` threads until `stop`, each creating teams with ids
/// of its own; returns the ids the server acknowledged (201).
fn append_until(addresses: &[String], token: &str, clients: usize, stop: Arc<AtomicBool>) -> Vec<String> {
    let threads: Vec<_> = (0..clients)
        .map(|client| {
            let (address, token, stop) =
                (addresses[client % addresses.len()].clone(), token.to_owned(), stop.clone());
            std::thread::spawn(move || {
                let mut acknowledged = Vec::new();
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    let id = format!("team_{client}_{n}");
                    let body = format!(r#"{{"team_id":"{id}","name":"Team {client} {n}"}}"#);
                    match request(&address, "POST", "/v1/workspaces/ops/teams", &token, &body) {
                        Some((201, _)) => acknowledged.push(id),
                        Some((status, body)) => panic!("unexpected answer {status}: {body}"),
                        None => break,
                    }
                    n += 1;
                }
                acknowledged
            })
        })
        .collect();
    threads.into_iter().flat_map(|thread| thread.join().unwrap()).collect()
}

fn setup(data: &Path, database: Option<&str>) -> String {
    let mut command = charter();
    command.arg("--data-dir").arg(data);
    if let Some(url) = database {
        command.arg("--database-url").arg(url);
    }
    let created = command.args(["workspace", "create", "ops"]).output().unwrap();
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
    let mut command = charter();
    command.arg("--data-dir").arg(data);
    if let Some(url) = database {
        command.arg("--database-url").arg(url);
    }
    let token =
        command.args(["-w", "ops", "-o", "json", "token", "create", "--role", "admin"]).output().unwrap();
    let token: serde_json::Value = serde_json::from_slice(&token.stdout).unwrap();
    token["token"].as_str().unwrap().to_owned()
}

#[test]
fn a_killed_server_loses_nothing_it_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let token = setup(&data, None);
    let mut command = charter();
    command.arg("--data-dir").arg(&data).args(["serve", "--listen", "127.0.0.1:0"]);
    let (mut server, address) = start(command);

    let stop = Arc::new(AtomicBool::new(false));
    let killer = {
        let stop = stop.clone();
        let pid = server.id();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(1500));
            Command::new("kill").arg("-KILL").arg(pid.to_string()).status().unwrap();
            stop.store(true, Ordering::Relaxed);
        })
    };
    let acknowledged = append_until(&[address], &token, 64, stop);
    killer.join().unwrap();
    server.wait().unwrap();
    eprintln!("{} appends were acknowledged before SIGKILL", acknowledged.len());
    assert!(acknowledged.len() > 100, "the load ran ({})", acknowledged.len());

    // After the crash: the log verifies, and every acknowledged write is there.
    let verified =
        charter().arg("--data-dir").arg(&data).args(["-w", "ops", "audit", "verify"]).output().unwrap();
    assert!(verified.status.success(), "{}", String::from_utf8_lossy(&verified.stdout));
    let listed = charter()
        .arg("--data-dir")
        .arg(&data)
        .args(["-w", "ops", "-o", "json", "audit", "log", "--kind", "team", "--limit", "1000"])
        .output()
        .unwrap();
    assert!(listed.status.success());
    let mut present = std::collections::HashSet::new();
    let mut after = 0;
    loop {
        let page = charter()
            .arg("--data-dir")
            .arg(&data)
            .args(["-w", "ops", "-o", "json", "audit", "log", "--kind", "team", "--limit", "1000", "--after"])
            .arg(after.to_string())
            .output()
            .unwrap();
        let events: Vec<serde_json::Value> = serde_json::from_slice(&page.stdout).unwrap();
        for event in &events {
            present.insert(event["subject"].as_str().unwrap().to_owned());
            after = event["seq"].as_u64().unwrap();
        }
        if events.len() < 1000 {
            break;
        }
    }
    let lost: Vec<&String> = acknowledged.iter().filter(|id| !present.contains(*id)).collect();
    assert!(lost.is_empty(), "acknowledged but lost: {lost:?}");
}

#[test]
fn three_servers_on_one_postgresql_keep_one_log() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let Some((url, base_url, schema)) = runtime.block_on(charter_store::testing::postgres_schema()) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let token = setup(&data, Some(&url));
    let mut servers = Vec::new();
    let mut addresses = Vec::new();
    for _ in 0..3 {
        let mut command = charter();
        command.arg("--data-dir").arg(&data).arg("--database-url").arg(&url).args([
            "serve",
            "--listen",
            "127.0.0.1:0",
        ]);
        let (server, address) = start(command);
        servers.push(server);
        addresses.push(address);
    }
    let stop = Arc::new(AtomicBool::new(false));
    let timer = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(2000));
            stop.store(true, Ordering::Relaxed);
        })
    };
    let acknowledged = append_until(&addresses, &token, 24, stop);
    timer.join().unwrap();
    // Let the servers sign their last checkpoints, then stop them.
    std::thread::sleep(Duration::from_millis(600));
    for server in &servers {
        Command::new("kill").arg("-TERM").arg(server.id().to_string()).status().unwrap();
    }
    for mut server in servers {
        server.wait().unwrap();
    }
    eprintln!("{} appends through three servers", acknowledged.len());

    let verified = charter()
        .arg("--data-dir")
        .arg(&data)
        .arg("--database-url")
        .arg(&url)
        .args(["-w", "ops", "-o", "json", "audit", "verify"])
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&verified.stdout).unwrap();
    assert!(report["failure"].is_null(), "{report}");
    assert_eq!(
        report["entries"].as_u64().unwrap(),
        2 + acknowledged.len() as u64,
        "workspace, token, and every append"
    );
    assert!(report["checkpoints"].as_u64().unwrap() >= 2);

    // Every checkpoint, whichever server signed it, is consistent with the next.
    runtime.block_on(async {
        let store = charter_store::Store::connect(&url).await.unwrap();
        let workspace =
            store.workspace(&charter_model::WorkspaceName::new("ops").unwrap()).await.unwrap().unwrap();
        let checkpoints = store.checkpoints(workspace.id).await.unwrap();
        let app = charter_app::App::new(store.clone());
        let caller = charter_app::Caller::local("test");
        for pair in checkpoints.windows(2) {
            let proof =
                app.consistency_proof(&caller, &workspace.name, pair[0].size, pair[1].size).await.unwrap();
            charter_ledger::verify_consistency(
                pair[0].size,
                pair[1].size,
                &proof.hashes,
                &pair[0].root,
                &pair[1].root,
            )
            .unwrap();
        }
        store.close().await;
        charter_store::testing::drop_schema(&base_url, &schema).await;
    });
}
