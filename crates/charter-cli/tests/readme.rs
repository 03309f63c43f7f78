//! The README's tour of the CLI, run as a new user would: each `charter`
//! line of the tour as written, in a fresh directory holding only the
//! examples, with nothing registered for the account running it.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn repository() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The tour's command lines: the indented `charter …` lines between the
/// tour's heading and the first paragraph after them, without comments.
fn tour() -> Vec<String> {
    let readme = std::fs::read_to_string(repository().join("README.md")).unwrap();
    let start = readme.find("## A tour of the CLI").expect("the README has a tour");
    let mut lines = Vec::new();
    for line in readme[start..].lines().skip(1) {
        if let Some(command) = line.strip_prefix("    charter ") {
            let command = command.split(" #").next().unwrap_or_default().trim();
            lines.push(command.to_owned());
        } else if !lines.is_empty() && !line.trim().is_empty() {
            break;
        }
    }
    lines
}

/// `charter` in `dir`, with the data directory the README's default
/// (`./charter-data`) and no Charter variable from the test's environment.
fn charter(dir: &Path, args: &[String]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_charter"));
    for var in ["CHARTER_DATA_DIR", "CHARTER_DATABASE_URL", "CHARTER_WORKSPACE", "CHARTER_ACTOR"] {
        command.env_remove(var);
    }
    command.current_dir(dir).args(args);
    command
}

fn text(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

#[test]
fn the_readme_tour_works_as_written() {
    let commands = tour();
    assert!(commands.len() >= 10, "{commands:?}");
    assert_eq!(commands[0], "init");

    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(repository().join("examples"), dir.path().join("examples")).unwrap();
    for line in &commands {
        // Where the tour writes outside its directory, it writes here.
        let line = line.replace("/tmp/", &format!("{}/", dir.path().display()));
        let args: Vec<String> = line.split_whitespace().map(str::to_owned).collect();
        if args[0] == "serve" {
            // Serving runs until stopped: it must come up and answer.
            let args: Vec<String> = args
                .iter()
                .map(|a| if a.contains(":8080") { "127.0.0.1:0".to_owned() } else { a.clone() })
                .collect();
            let mut server = charter(dir.path(), &args).stdout(Stdio::piped()).spawn().unwrap();
            let mut first = String::new();
            BufReader::new(server.stdout.take().unwrap()).read_line(&mut first).unwrap();
            server.kill().unwrap();
            server.wait().unwrap();
            assert!(first.contains("Charter is serving http://"), "charter {line}: {first}");
            continue;
        }
        let output = charter(dir.path(), &args).output().unwrap();
        assert!(output.status.success(), "charter {line}:\n{}", text(&output));
        match args[0].as_str() {
            "import" => assert!(text(&output).contains("Created workspace ops"), "{}", text(&output)),
            "agents" if args[1] == "show" => assert!(text(&output).contains("agent_finance_01")),
            "token" => assert!(text(&output).contains("charter_"), "the secret is shown once"),
            // Nobody registered the account running the tour.
            "whoami" => assert!(text(&output).contains("not registered in ops"), "{}", text(&output)),
            "workspace" if args[1] == "list" => {
                assert!(text(&output).contains("finance") && text(&output).contains("ops"))
            }
            _ => {}
        }
    }
    // The tour wrote into its own directory, where the README says.
    assert!(dir.path().join("charter-data").is_dir());
}
