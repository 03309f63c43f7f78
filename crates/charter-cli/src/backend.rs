//! Where a command acts: on the database directly, or, with `--server URL`
//! and a token (`--token` or `CHARTER_TOKEN`), through a Charter server in
//! the token holder's own name, with no access to the database (the way
//! kubectl talks to a cluster). Both give the same values, so commands render
//! them alike.
//!
//! Remote mode speaks plain HTTP/1.1: put Charter behind a TLS-terminating
//! proxy and reach it over a network you trust, or over loopback.

use anyhow::{Context, Result, bail};
use charter_app::{App, Caller, NewGrant, Page, RecordView};
use charter_model::{AgentStatus, RecordKind, WorkspaceName};
use charter_policy::{DecisionAnswer, DecisionRequest};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;

use crate::settings::Global;

/// A command's way to Charter.
pub(crate) enum Backend {
    /// The database itself, as the local caller.
    Local { app: Box<App>, caller: Caller },
    /// A Charter server, as a token's holder.
    Remote(Remote),
}

/// A Charter server and the token to present.
pub(crate) struct Remote {
    /// `host:port`.
    authority: String,
    token: String,
}

impl Backend {
    /// The backend the options choose, and the workspace to act in.
    pub(crate) async fn connect(global: &Global) -> Result<(Backend, WorkspaceName)> {
        let Some(server) = &global.server else {
            let app = crate::settings::open(global, false).await?;
            let workspace = crate::settings::resolve_workspace(&app, global).await?;
            return Ok((
                Backend::Local { app: Box::new(app), caller: crate::settings::caller(global) },
                workspace,
            ));
        };
        if global.actor.is_some() {
            bail!("--actor acts locally as someone else; with --server you act as the token's holder");
        }
        let token = global.token.clone().context("--server needs a token: --token or CHARTER_TOKEN")?;
        let remote = Remote::new(server, token)?;
        let workspace = match &global.workspace {
            Some(workspace) => workspace.clone(),
            None => remote.only_workspace().await?,
        };
        Ok((Backend::Remote(remote), workspace))
    }

    /// The time now: the application's clock, or, through a server, this
    /// machine's (what "holds now" means in listings).
    pub(crate) fn now(&self) -> charter_model::Timestamp {
        match self {
            Backend::Local { app, .. } => app.now(),
            Backend::Remote(_) => charter_app::Clock::now(&charter_app::SystemClock),
        }
    }

    /// The application, for what only runs beside the database.
    pub(crate) fn local(&self, what: &str) -> Result<(&App, &Caller)> {
        match self {
            Backend::Local { app, caller } => Ok((app, caller)),
            Backend::Remote(_) => {
                bail!("{what} runs where the database is, not through a server: leave out --server")
            }
        }
    }

    pub(crate) async fn get_record(
        &self,
        ws: &WorkspaceName,
        kind: RecordKind,
        id: &str,
    ) -> Result<RecordView> {
        match self {
            Backend::Local { app, caller } => Ok(app.get_record(caller, ws, kind, id).await?),
            Backend::Remote(remote) => remote.json("GET", &remote.path(ws, &[kind.plural(), id]), None).await,
        }
    }

    /// The report of run `run` (the latest when `None`) of operation `id`.
    pub(crate) async fn operation_report(
        &self,
        ws: &WorkspaceName,
        id: &str,
        run: Option<u64>,
    ) -> Result<charter_app::RunReport> {
        match self {
            Backend::Local { app, caller } => Ok(app.operation_report(caller, ws, id, run).await?),
            Backend::Remote(remote) => {
                let mut path = remote.path(ws, &["operations", id, "report"]);
                if let Some(run) = run {
                    path.push_str(&format!("?run={run}"));
                }
                remote.json("GET", &path, None).await
            }
        }
    }

    /// Up to a page of records of `kind`.
    pub(crate) async fn list_records(&self, ws: &WorkspaceName, kind: RecordKind) -> Result<Page> {
        match self {
            Backend::Local { app, caller } => {
                Ok(app.list_records(caller, ws, kind, None, charter_app::MAX_PAGE).await?)
            }
            Backend::Remote(remote) => {
                let path = format!("{}?limit={}", remote.path(ws, &[kind.plural()]), charter_app::MAX_PAGE);
                remote.json("GET", &path, None).await
            }
        }
    }

    pub(crate) async fn decide(
        &self,
        ws: &WorkspaceName,
        requests: &[DecisionRequest],
    ) -> Result<Vec<DecisionAnswer>> {
        match self {
            Backend::Local { app, caller } => Ok(app.decide(caller, ws, requests).await?),
            Backend::Remote(remote) => {
                #[derive(serde::Deserialize)]
                struct Batch {
                    decisions: Vec<DecisionAnswer>,
                }
                let body = serde_json::json!({ "requests": requests });
                let batch: Batch = remote
                    .json("POST", &remote.path(ws, &["decide", "batch"]), Some(json_body(&body)))
                    .await?;
                Ok(batch.decisions)
            }
        }
    }

    pub(crate) async fn declare_operation(&self, ws: &WorkspaceName, text: &str) -> Result<RecordView> {
        match self {
            Backend::Local { app, caller } => Ok(app.declare_operation(caller, ws, text).await?),
            Backend::Remote(remote) => {
                let body = ("application/yaml", text.as_bytes().to_vec());
                remote.json("POST", &remote.path(ws, &["operations"]), Some(body)).await
            }
        }
    }

    pub(crate) async fn approve_operation(&self, ws: &WorkspaceName, id: &str) -> Result<RecordView> {
        match self {
            Backend::Local { app, caller } => Ok(app.approve_operation(caller, ws, id).await?),
            Backend::Remote(remote) => {
                remote.json("POST", &remote.path(ws, &["operations", id, "approve"]), None).await
            }
        }
    }

    pub(crate) async fn reject_operation(
        &self,
        ws: &WorkspaceName,
        id: &str,
        reason: &str,
    ) -> Result<RecordView> {
        match self {
            Backend::Local { app, caller } => Ok(app.reject_operation(caller, ws, id, reason).await?),
            Backend::Remote(remote) => {
                let body = json_body(&serde_json::json!({ "reason": reason }));
                remote.json("POST", &remote.path(ws, &["operations", id, "reject"]), Some(body)).await
            }
        }
    }

    pub(crate) async fn halt_operation(&self, ws: &WorkspaceName, id: &str) -> Result<()> {
        match self {
            Backend::Local { app, caller } => Ok(app.halt_operation(caller, ws, id).await.map(|_| ())?),
            Backend::Remote(remote) => {
                let _: serde_json::Value =
                    remote.json("POST", &remote.path(ws, &["operations", id, "halt"]), None).await?;
                Ok(())
            }
        }
    }

    pub(crate) async fn create_grant(&self, ws: &WorkspaceName, new: NewGrant) -> Result<RecordView> {
        match self {
            Backend::Local { app, caller } => Ok(app.create_grant(caller, ws, new).await?),
            Backend::Remote(remote) => {
                let body = serde_json::json!({
                    "kind": new.kind, "agent_id": new.agent_id, "action": new.action,
                    "resource": { "type": new.resource_type, "id": new.resource_id },
                    "ttl": new.ttl.to_string(), "reason": new.reason, "requested_by": new.requested_by,
                });
                remote.json("POST", &remote.path(ws, &["grants"]), Some(json_body(&body))).await
            }
        }
    }

    pub(crate) async fn revoke_grant(&self, ws: &WorkspaceName, id: &str) -> Result<RecordView> {
        match self {
            Backend::Local { app, caller } => Ok(app.revoke_grant(caller, ws, id).await?),
            Backend::Remote(remote) => {
                remote.json("POST", &remote.path(ws, &["grants", id, "revoke"]), None).await
            }
        }
    }

    pub(crate) async fn pause_agent(&self, ws: &WorkspaceName, id: &str) -> Result<RecordView> {
        match self {
            Backend::Local { app, caller } => {
                Ok(app.set_agent_status(caller, ws, id, AgentStatus::Paused).await?)
            }
            Backend::Remote(remote) => {
                remote.json("POST", &remote.path(ws, &["agents", id, "pause"]), None).await
            }
        }
    }

    pub(crate) async fn resume_agent(
        &self,
        ws: &WorkspaceName,
        id: &str,
        status: Option<AgentStatus>,
    ) -> Result<RecordView> {
        match self {
            Backend::Local { app, caller } => Ok(app.resume_agent(caller, ws, id, status).await?),
            Backend::Remote(remote) => {
                let body = json_body(&serde_json::json!({ "status": status }));
                remote.json("POST", &remote.path(ws, &["agents", id, "resume"]), Some(body)).await
            }
        }
    }
}

fn json_body(value: &serde_json::Value) -> (&'static str, Vec<u8>) {
    ("application/json", value.to_string().into_bytes())
}

/// Percent-encodes one path segment (ids are mostly plain; never trust it).
fn segment(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

impl Remote {
    fn new(server: &str, token: String) -> Result<Remote> {
        let rest = match server.split_once("://") {
            Some(("http", rest)) => rest,
            Some(("https", _)) => bail!(
                "--server {server}: remote mode speaks plain HTTP for now; reach the server over loopback or a \
                 network you trust (an http:// URL)"
            ),
            _ => bail!("--server {server}: expected a URL such as http://127.0.0.1:8080"),
        };
        let authority = rest.trim_end_matches('/');
        if authority.is_empty() || authority.contains('/') {
            bail!("--server {server}: expected the server's root URL, such as http://127.0.0.1:8080");
        }
        Ok(Remote { authority: authority.to_owned(), token })
    }

    /// `/v1/workspaces/{ws}/{segments…}`.
    fn path(&self, workspace: &WorkspaceName, segments: &[&str]) -> String {
        let mut path = format!("/v1/workspaces/{}", segment(workspace.as_str()));
        for part in segments {
            path.push('/');
            path.push_str(&segment(part));
        }
        path
    }

    /// The token's workspace: the only one it sees.
    async fn only_workspace(&self) -> Result<WorkspaceName> {
        #[derive(serde::Deserialize)]
        struct Workspaces {
            items: Vec<serde_json::Value>,
        }
        let workspaces = self.json::<Workspaces>("GET", "/v1/workspaces", None).await?.items;
        match workspaces.as_slice() {
            [only] => {
                let name = only["name"].as_str().context("the server named no workspace")?;
                Ok(WorkspaceName::new(name)?)
            }
            _ => bail!("the token sees {} workspaces: choose one with --workspace NAME", workspaces.len()),
        }
    }

    /// Sends one request and reads the JSON answer; an error answer becomes
    /// an error with the server's message.
    async fn json<T: serde::de::DeserializeOwned>(
        &self,
        method: &str,
        path: &str,
        body: Option<(&'static str, Vec<u8>)>,
    ) -> Result<T> {
        let unreachable = || format!("cannot reach the Charter server at http://{}", self.authority);
        let stream = tokio::net::TcpStream::connect(&self.authority).await.with_context(unreachable)?;
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.with_context(unreachable)?;
        tokio::spawn(connection);
        let mut request = hyper::Request::builder()
            .method(method)
            .uri(path)
            .header(hyper::header::HOST, &self.authority)
            .header(hyper::header::AUTHORIZATION, format!("Bearer {}", self.token))
            .header(hyper::header::ACCEPT, "application/json");
        let bytes = match body {
            Some((content_type, bytes)) => {
                request = request.header(hyper::header::CONTENT_TYPE, content_type);
                bytes
            }
            None => Vec::new(),
        };
        let response = sender
            .send_request(request.body(Full::new(Bytes::from(bytes)))?)
            .await
            .with_context(unreachable)?;
        let status = response.status();
        let body = response.into_body().collect().await?.to_bytes();
        if !status.is_success() {
            let answer: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
            let message = answer["error"]["message"]
                .as_str()
                .map_or_else(|| String::from_utf8_lossy(&body).into_owned(), str::to_owned);
            bail!("the server answered {status}: {message}");
        }
        serde_json::from_slice(&body).with_context(|| {
            format!("the server's answer to {method} {path} is not what this charter expects")
        })
    }
}
