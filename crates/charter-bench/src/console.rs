//! `charter-bench console`: how long the web console's pages take on the
//! generated portfolio, measured from a client over loopback against the
//! real server (`charter_server::serve`) in this process: a child process
//! generates and imports the portfolio, decisions are logged so the
//! decision log and the ledger have a year's volume, a token's holder signs
//! in, and each page is fetched (one warm-up, then the timed rounds, one
//! after another). Prints p50, p95 and the slowest per page.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use charter_app::Caller;
use charter_model::Role;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;

/// One HTTP/1.1 connection to the server.
struct Client {
    sender: hyper::client::conn::http1::SendRequest<Full<Bytes>>,
    host: String,
}

impl Client {
    async fn connect(address: std::net::SocketAddr) -> Result<Self> {
        let stream = tokio::net::TcpStream::connect(address).await?;
        stream.set_nodelay(true)?;
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(connection);
        Ok(Self { sender, host: address.to_string() })
    }

    /// Sends a request; the status, the `Set-Cookie` header and the body's length.
    async fn send(
        &mut self,
        method: hyper::Method,
        path: &str,
        cookie: Option<&str>,
        form: Option<String>,
    ) -> Result<(hyper::StatusCode, Option<String>, usize)> {
        let mut request =
            hyper::Request::builder().method(method).uri(path).header(hyper::header::HOST, &self.host);
        if let Some(cookie) = cookie {
            request = request.header(hyper::header::COOKIE, cookie);
        }
        let body = match form {
            Some(form) => {
                request = request
                    .header(hyper::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .header(hyper::header::ORIGIN, format!("http://{}", self.host));
                Full::new(Bytes::from(form))
            }
            None => Full::new(Bytes::new()),
        };
        self.sender.ready().await?;
        let response = self.sender.send_request(request.body(body)?).await?;
        let status = response.status();
        let cookie = response
            .headers()
            .get(hyper::header::SET_COOKIE)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.split(';').next())
            .map(str::to_owned);
        let length = response.into_body().collect().await?.to_bytes().len();
        Ok((status, cookie, length))
    }
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1_000.0
}

pub(crate) async fn console(agents: usize, decisions: u64, rounds: usize, seed: u64) -> Result<ExitCode> {
    let prepared = crate::cert::prepare("console", agents, seed, charter_server::CHECKPOINT_INTERVAL).await?;
    prepared.log_decisions("console", decisions).await?;
    let crate::cert::Prepared { app, workspace, agent_ids, .. } = &prepared;
    let local = Caller::local("bench");
    app.checkpoint_pending().await?;
    let token = app.create_token(&local, workspace, Role::Operator, "bench_operator").await?.secret;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(charter_server::serve(
        listener,
        app.clone(),
        charter_server::Limits::default(),
        async {
            stopped.await.ok();
        },
    ));
    let mut client = Client::connect(address).await?;
    let (status, cookie, _) =
        client.send(hyper::Method::POST, "/console/sign-in", None, Some(format!("token={token}"))).await?;
    let Some(cookie) = cookie.filter(|_| status == hyper::StatusCode::SEE_OTHER) else {
        bail!("signing in answered {status}");
    };
    let latest = app.ledger_size(&local, workspace).await?;
    // The assessment behind the agents pages and the overview, made once
    // per revision of the records it reads: what the first page after a
    // change of those records waits for.
    let began = Instant::now();
    app.scored_portfolio(&local, workspace, app.now().date()).await?;
    let assessed = began.elapsed();
    // The same for the governance reading, kept while the day, the
    // records it reads and the month's unexplained spend stay the same.
    let began = Instant::now();
    app.governance_reading(&local, workspace, app.now().date()).await?;
    let read = began.elapsed();
    let pages = [
        ("overview", "/console".to_owned(), rounds),
        ("agents (riskiest first)", "/console/agents".to_owned(), rounds),
        ("agents (page 100)", "/console/agents?page=100".to_owned(), rounds),
        ("agents (status=paused)", "/console/agents?status=paused".to_owned(), rounds),
        ("agents (band=red, by id)", "/console/agents?band=red&sort=id".to_owned(), rounds),
        ("agent", format!("/console/agents/{}", agent_ids[0]), rounds),
        ("agent chart (SVG)", format!("/console/agents/{}/charts/risk-over-time.svg", agent_ids[0]), rounds),
        ("decisions (newest)", "/console/decisions".to_owned(), rounds),
        (
            "decisions (one agent, deny)",
            format!("/console/decisions?principal={}&outcome=deny", agent_ids[0]),
            rounds,
        ),
        ("decision with proof", format!("/console/decisions/DEC-{}", latest.saturating_sub(5)), rounds),
        ("operations", "/console/operations".to_owned(), rounds),
        ("data", "/console/data".to_owned(), rounds),
        ("ledger", "/console/ledger".to_owned(), rounds),
        ("incidents", "/console/incidents".to_owned(), rounds),
        ("runs", "/console/runs".to_owned(), rounds),
        ("report (computed)", "/console/report".to_owned(), 3),
        ("certification (computed)", "/console/certification".to_owned(), 3),
    ];
    println!(
        "console: {agents} agents, ledger of {latest} entries; {rounds} rounds per page after one warm-up"
    );
    println!(
        "console: the portfolio assessment, made once per revision of its records: {:.0} ms",
        ms(assessed)
    );
    println!(
        "console: the governance reading, made once per revision of its records and spend: {:.0} ms",
        ms(read)
    );
    println!("console: {:<30} {:>9} {:>9} {:>9} {:>9}", "page", "p50 ms", "p95 ms", "max ms", "KiB");
    for (name, path, rounds) in pages {
        let (status, _, _) = client.send(hyper::Method::GET, &path, Some(&cookie), None).await?;
        if status != hyper::StatusCode::OK {
            bail!("{path} answered {status}");
        }
        let mut times = Vec::with_capacity(rounds);
        let mut size = 0;
        for _ in 0..rounds.max(1) {
            let began = Instant::now();
            let (status, _, length) = client.send(hyper::Method::GET, &path, Some(&cookie), None).await?;
            times.push(began.elapsed());
            size = length;
            if status != hyper::StatusCode::OK {
                bail!("{path} answered {status}");
            }
        }
        times.sort();
        println!(
            "console: {name:<30} {:>9.1} {:>9.1} {:>9.1} {:>9.1}",
            ms(crate::quantile(&times, 0.5)),
            ms(crate::quantile(&times, 0.95)),
            ms(times[times.len() - 1]),
            size as f64 / 1024.0
        );
    }
    // What the overview reads, each part timed on its own (the median of 5).
    let today = app.now().date();
    let mut parts: Vec<(&str, Duration)> = Vec::new();
    macro_rules! part {
        ($name:expr, $call:expr) => {{
            let mut times = Vec::new();
            for _ in 0..5 {
                let began = Instant::now();
                $call.await?;
                times.push(began.elapsed());
            }
            times.sort();
            parts.push(($name, times[2]));
        }};
    }
    part!("activity", app.activity(&local, workspace, 10));
    part!("scored portfolio (cached)", app.scored_portfolio(&local, workspace, today));
    part!("governance reading (kept)", app.governance_reading(&local, workspace, today));
    part!("approvals queue", app.approvals_queue(&local, workspace));
    part!("open incidents", app.incidents(&local, workspace, true));
    part!("open alerts", app.alerts(&local, workspace, true));
    part!("latest checkpoint", app.latest_checkpoint(&local, workspace));
    part!("latest certification", app.latest_certification(&local, workspace));
    for (name, time) in parts {
        println!("console:   overview part {name:<22} {:>9.1} ms", ms(time));
    }
    stop.send(()).ok();
    server.await??;
    Ok(ExitCode::SUCCESS)
}
