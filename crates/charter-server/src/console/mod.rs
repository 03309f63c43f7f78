//! The web console: server-rendered pages for the people who govern agents,
//! over the same use cases as the API. A token's holder signs in once and
//! gets a session cookie (`HttpOnly`, `SameSite=Strict`, `Secure` behind
//! TLS); every form that changes something carries the session's CSRF
//! token; every page is sent with a strict Content-Security-Policy (no
//! script, no third-party origin, no framing). The console offers only the
//! actions the session's role may take, and the use cases decide every one
//! of them regardless.

mod agents;
mod data;
mod pages;
mod session;

use std::sync::LazyLock;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use charter_app::App;
use minijinja::Environment;

use crate::ApiError;
pub(crate) use session::Session;

/// The templates, compiled once.
static TEMPLATES: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut environment = Environment::new();
    let templates = [
        ("base.html", include_str!("../../templates/base.html")),
        ("sign_in.html", include_str!("../../templates/sign_in.html")),
        ("message.html", include_str!("../../templates/message.html")),
        ("overview.html", include_str!("../../templates/overview.html")),
        ("agents.html", include_str!("../../templates/agents.html")),
        ("agent.html", include_str!("../../templates/agent.html")),
        ("confirm.html", include_str!("../../templates/confirm.html")),
        ("operations.html", include_str!("../../templates/operations.html")),
        ("operation.html", include_str!("../../templates/operation.html")),
        ("report_text.html", include_str!("../../templates/report_text.html")),
        ("decisions.html", include_str!("../../templates/decisions.html")),
        ("decision.html", include_str!("../../templates/decision.html")),
        ("ledger.html", include_str!("../../templates/ledger.html")),
        ("certification.html", include_str!("../../templates/certification.html")),
        ("records.html", include_str!("../../templates/records.html")),
        ("record.html", include_str!("../../templates/record.html")),
        ("data.html", include_str!("../../templates/data.html")),
        ("dataset.html", include_str!("../../templates/dataset.html")),
        ("changes.html", include_str!("../../templates/changes.html")),
        ("change.html", include_str!("../../templates/change.html")),
        ("dq_runs.html", include_str!("../../templates/dq_runs.html")),
    ];
    for (name, text) in templates {
        if let Err(error) = environment.add_template(name, text) {
            tracing::error!(%error, template = name, "a console template does not compile");
        }
    }
    environment
});

const STYLESHEET: &str = include_str!("../../templates/console.css");

/// The policy of every console page: its own stylesheet, no script, no
/// other origin, forms posting only to itself, never framed.
const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; \
                   frame-ancestors 'none'; base-uri 'none'";

/// The console's routes.
pub(crate) fn routes() -> Router<App> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/console") }))
        .route("/console/static/console.css", get(stylesheet))
        .route("/console/sign-in", get(session::sign_in_page).post(session::sign_in))
        .route("/console/sign-out", axum::routing::post(session::sign_out))
        .route("/console", get(pages::overview))
        .route("/console/agents", get(agents::agents))
        .route("/console/agents/{id}", get(agents::agent))
        .route("/console/agents/{id}/charts/{name}", get(agents::chart))
        .route("/console/agents/{id}/{switch}", get(agents::confirm_switch).post(agents::switch))
        .route("/console/decisions", get(pages::decisions))
        .route("/console/decisions/{id}", get(pages::decision))
        .route("/console/operations", get(pages::operations))
        .route("/console/operations/{id}", get(pages::operation))
        .route("/console/operations/{id}/report", get(pages::operation_report))
        .route("/console/operations/{id}/{verdict}", axum::routing::post(pages::judge_operation))
        .route("/console/data", get(data::data))
        .route("/console/data/{id}", get(data::dataset))
        .route("/console/data/{id}/changes", axum::routing::post(data::propose))
        .route("/console/data/{id}/promote", axum::routing::post(data::promote))
        .route("/console/changes/{id}", get(data::change))
        .route("/console/incidents", listing(&pages::INCIDENTS))
        .route("/console/incidents/{id}", listed(&pages::INCIDENTS))
        .route("/console/incidents/{id}/{step}", step(&pages::INCIDENTS))
        .route("/console/alerts", listing(&pages::ALERTS))
        .route("/console/alerts/{id}", listed(&pages::ALERTS))
        .route("/console/alerts/{id}/{step}", step(&pages::ALERTS))
        .route("/console/runs", listing(&pages::RUNS))
        .route("/console/runs/{id}", listed(&pages::RUNS))
        .route("/console/ledger", get(pages::ledger))
        .route("/console/certification", get(pages::certification))
        .route("/console/report", get(pages::report))
        .layer(axum::middleware::map_response(secure_headers))
}

/// The list page of a listing.
fn listing(listing: &'static pages::Listing) -> axum::routing::MethodRouter<App> {
    get(move |State(app): State<App>, session: Session, query| pages::listing(app, session, query, listing))
}

/// A step of a record of a listing.
fn step(listing: &'static pages::Listing) -> axum::routing::MethodRouter<App> {
    axum::routing::post(
        move |State(app): State<App>, session: Session, Path(path): Path<(String, String)>, form| {
            pages::step(app, session, path, form, listing)
        },
    )
}

/// One record of a listing.
fn listed(listing: &'static pages::Listing) -> axum::routing::MethodRouter<App> {
    get(move |State(app): State<App>, session: Session, Path(id): Path<String>| {
        pages::listed(app, session, id, listing)
    })
}

async fn stylesheet() -> Response {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "max-age=300")], STYLESHEET)
        .into_response()
}

/// Headers every console answer carries (a page may set a narrower CSP).
async fn secure_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    let set = |headers: &mut axum::http::HeaderMap, name: HeaderName, value: &'static str| {
        if !headers.contains_key(&name) {
            headers.insert(name, HeaderValue::from_static(value));
        }
    };
    set(headers, header::CONTENT_SECURITY_POLICY, CSP);
    set(headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(headers, header::REFERRER_POLICY, "same-origin");
    set(headers, header::X_FRAME_OPTIONS, "DENY");
    set(headers, header::CACHE_CONTROL, "no-store");
    response
}

/// A value for a template, from anything serde serialises.
fn value(of: impl serde::Serialize) -> minijinja::Value {
    minijinja::Value::from(minijinja::value::Serde(of))
}

/// A page rendered from a template, or the error page when it cannot be.
fn render(status: StatusCode, template: &str, context: minijinja::Value) -> Response {
    let rendered = TEMPLATES.get_template(template).and_then(|template| template.render(context));
    match rendered {
        Ok(html) => (status, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response(),
        Err(error) => {
            tracing::error!(%error, template, "a console page could not be rendered");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error; the server log has details").into_response()
        }
    }
}

/// A page that says one thing, with a link.
fn message(
    status: StatusCode,
    session: Option<&Session>,
    heading: &str,
    text: &str,
    link: Option<(&str, &str)>,
) -> Response {
    let link = link.map(|(href, text)| minijinja::context! { href, text });
    let session = session.map(Session::view);
    render(status, "message.html", minijinja::context! { session, heading, message => text, link })
}

/// A use case's refusal or failure as a page (its reason shown, as the
/// API would give it).
fn failure(session: &Session, error: impl Into<ApiError>) -> Response {
    let error = error.into();
    let status = error.status();
    let heading = match status {
        StatusCode::FORBIDDEN => "Refused",
        StatusCode::NOT_FOUND => "Not found",
        StatusCode::UNPROCESSABLE_ENTITY | StatusCode::BAD_REQUEST => "Not accepted",
        StatusCode::CONFLICT | StatusCode::PRECONDITION_FAILED => "Conflict",
        _ => "Something went wrong",
    };
    message(status, Some(session), heading, error.message(), Some(("/console", "Back to the overview")))
}
