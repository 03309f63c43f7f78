//! Signing in and out, the session a request carries, and its CSRF token.

use axum::extract::{Form, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use charter_app::{App, Caller};
use charter_app::{SessionState, csrf_token};
use serde::Deserialize;

use super::{message, render};
use crate::ApiError;

/// The session cookie.
const COOKIE: &str = "charter_session";

/// The session a console request carries.
#[derive(Debug, Clone)]
pub(crate) struct Session {
    /// Who it stands for.
    pub(crate) caller: Caller,
    /// The workspace of its token.
    pub(crate) workspace: charter_model::WorkspaceName,
    secret: String,
    csrf: String,
}

impl Session {
    /// What the templates show of it.
    pub(crate) fn view(&self) -> minijinja::Value {
        let role = self.caller.token_role().map(|role| role.as_str().to_owned()).unwrap_or_default();
        minijinja::context! {
            name => self.caller.actor(),
            role,
            workspace => self.workspace.as_str(),
            csrf => &self.csrf,
        }
    }

    /// The refusal of a form that does not carry this session's CSRF
    /// token (`None` when it does).
    pub(crate) fn refuse_without_csrf(&self, sent: &str) -> Option<Response> {
        let (a, b) = (self.csrf.as_bytes(), sent.as_bytes());
        let same = a.len() == b.len() && a.iter().zip(b).fold(0_u8, |acc, (x, y)| acc | (x ^ y)) == 0;
        (!same).then(|| {
            message(
                StatusCode::FORBIDDEN,
                Some(self),
                "Refused",
                "This form did not come from a page of this session (its CSRF token is missing or wrong). Reload the page and try again.",
                Some(("/console", "Back to the overview")),
            )
        })
    }
}

/// The value of cookie `name`, if the request has it.
fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.trim())
}

/// Whether the request came to us over TLS (directly, or through a proxy
/// that says so).
fn over_tls(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|value| value.to_str().ok())
        .is_some_and(|proto| proto.eq_ignore_ascii_case("https"))
}

/// `Set-Cookie` for the session secret, or to clear it (`None`).
fn set_cookie(secret: Option<&str>, max_age: i64, tls: bool) -> Option<HeaderValue> {
    let secure = if tls { "; Secure" } else { "" };
    let value = match secret {
        Some(secret) => {
            format!("{COOKIE}={secret}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}")
        }
        None => format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{secure}"),
    };
    HeaderValue::from_str(&value).ok()
}

fn to_sign_in() -> Response {
    Redirect::to("/console/sign-in").into_response()
}

impl FromRequestParts<App> for Session {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Response> {
        let Some(secret) = cookie(&parts.headers, COOKIE).filter(|secret| !secret.is_empty()) else {
            return Err(to_sign_in());
        };
        match app.console_session(secret).await {
            Ok(SessionState::Live { caller, .. }) => {
                let Caller::Token { workspace, .. } = &caller else { return Err(to_sign_in()) };
                Ok(Session {
                    workspace: workspace.clone(),
                    caller,
                    csrf: csrf_token(secret),
                    secret: secret.to_owned(),
                })
            }
            Ok(SessionState::Expired) => {
                let mut page = message(
                    StatusCode::UNAUTHORIZED,
                    None,
                    "Your session has expired",
                    "Sessions last at most 8 hours, and no longer than the token they were opened with. Sign in again to go on.",
                    Some(("/console/sign-in", "Sign in")),
                );
                if let Some(clear) = set_cookie(None, 0, over_tls(&parts.headers)) {
                    page.headers_mut().insert(header::SET_COOKIE, clear);
                }
                Err(page)
            }
            Ok(SessionState::Unknown) => Err(to_sign_in()),
            Err(error) => Err(ApiError::from(error).into_response()),
        }
    }
}

/// `GET /console/sign-in`.
pub(crate) async fn sign_in_page(State(app): State<App>, headers: HeaderMap) -> Response {
    if let Some(secret) = cookie(&headers, COOKIE)
        && matches!(app.console_session(secret).await, Ok(SessionState::Live { .. }))
    {
        return Redirect::to("/console").into_response();
    }
    render(StatusCode::OK, "sign_in.html", minijinja::context! {})
}

/// The sign-in form.
#[derive(Debug, Deserialize)]
pub(crate) struct SignIn {
    token: String,
}

/// Whether a form post came from a page of this origin. Browsers send
/// `Sec-Fetch-Site` with every request, and it is what decides; a client
/// without it must send an `Origin` naming this host, or none (a client
/// that is not a browser, which cross-site forgery cannot use).
fn same_origin(headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site") {
        return matches!(site.to_str(), Ok("same-origin" | "none"));
    }
    match headers.get(header::ORIGIN).map(|origin| origin.to_str()) {
        None => true,
        Some(Ok(origin)) => {
            let host = headers.get(header::HOST).and_then(|host| host.to_str().ok());
            host.is_some_and(|host| origin.split_once("://").is_some_and(|(_, rest)| rest == host))
        }
        Some(Err(_)) => false,
    }
}

/// `POST /console/sign-in`: exchanges a token for a session.
pub(crate) async fn sign_in(
    State(app): State<App>,
    headers: HeaderMap,
    form: Result<Form<SignIn>, axum::extract::rejection::FormRejection>,
) -> Response {
    let refuse = |status: StatusCode, text: &str| {
        render(status, "sign_in.html", minijinja::context! { message => text })
    };
    if !same_origin(&headers) {
        return refuse(StatusCode::FORBIDDEN, "A sign-in from another site is refused.");
    }
    let Ok(Form(form)) = form else {
        return refuse(StatusCode::BAD_REQUEST, "Paste an API token into the form.");
    };
    match app.open_console_session(form.token.trim()).await {
        Ok(Some(session)) => {
            let max_age = charter_app::SESSION_TTL.as_secs() as i64;
            match set_cookie(Some(&session.secret), max_age, over_tls(&headers)) {
                Some(cookie) => {
                    let mut response = Redirect::to("/console").into_response();
                    response.headers_mut().insert(header::SET_COOKIE, cookie);
                    response
                }
                None => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
            }
        }
        Ok(None) => refuse(
            StatusCode::UNAUTHORIZED,
            "That is not a live Charter token: it is unknown, revoked or expired.",
        ),
        Err(error) => ApiError::from(error).into_response(),
    }
}

/// A form that carries only the CSRF token.
#[derive(Debug, Deserialize)]
pub(crate) struct CsrfForm {
    #[serde(default)]
    pub(crate) csrf: String,
}

/// `POST /console/sign-out`.
pub(crate) async fn sign_out(
    State(app): State<App>,
    session: Session,
    headers: HeaderMap,
    form: Result<Form<CsrfForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let sent = form.map(|Form(form)| form.csrf).unwrap_or_default();
    if let Some(refused) = session.refuse_without_csrf(&sent) {
        return refused;
    }
    if let Err(error) = app.end_console_session(&session.secret).await {
        return super::failure(&session, error);
    }
    let mut response = message(
        StatusCode::OK,
        None,
        "Signed out",
        "Your session has ended.",
        Some(("/console/sign-in", "Sign in again")),
    );
    if let Some(clear) = set_cookie(None, 0, over_tls(&headers)) {
        response.headers_mut().insert(header::SET_COOKIE, clear);
    }
    response
}
