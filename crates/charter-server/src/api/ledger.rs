//! The ledger over HTTP: checkpoints, entries and proofs, read by anyone
//! holding a token of the workspace, verified by the client.

use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use charter_app::App;
use serde::Deserialize;
use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn, PathItem};
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
use utoipa::openapi::{Content, PathsBuilder, Required, ResponseBuilder};

use crate::ApiError;
use crate::auth::Authenticated;
use crate::extract::{Count, query, workspace};
use crate::openapi::{MAX_SAFE_INTEGER, error_response, json, path_parameter, query_parameter};

/// This capability's routes under `/v1`.
pub(crate) fn routes() -> Router<App> {
    Router::new()
        .route("/workspaces/{workspace}/ledger/checkpoint", get(ledger_checkpoint))
        .route("/workspaces/{workspace}/ledger/entries", get(ledger_entries))
        .route("/workspaces/{workspace}/ledger/proof/inclusion", get(inclusion_proof))
        .route("/workspaces/{workspace}/ledger/proof/consistency", get(consistency_proof))
}

pub(crate) async fn ledger_checkpoint(
    State(app): State<App>,
    Authenticated(caller): Authenticated,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let note = app
        .latest_checkpoint(&caller, &workspace(&name)?)
        .await?
        .ok_or_else(|| ApiError::not_found("the log has no checkpoint yet"))?;
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], note).into_response())
}

#[derive(Debug, Deserialize)]
pub(crate) struct EntriesQuery {
    start: Count,
    end: Count,
}

pub(crate) async fn ledger_entries(
    State(app): State<App>,
    Authenticated(caller): Authenticated,
    Path(name): Path<String>,
    params: Result<Query<EntriesQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let params = query(params)?;
    let entries = app.ledger_entries(&caller, &workspace(&name)?, params.start.0, params.end.0).await?;
    Ok(Json(serde_json::json!({ "entries": entries })))
}

#[derive(Debug, Deserialize)]
pub(crate) struct InclusionQuery {
    index: Count,
    size: Option<Count>,
}

pub(crate) async fn inclusion_proof(
    State(app): State<App>,
    Authenticated(caller): Authenticated,
    Path(name): Path<String>,
    params: Result<Query<InclusionQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<charter_app::ledger::InclusionProof>, ApiError> {
    let params = query(params)?;
    Ok(Json(
        app.inclusion_proof(&caller, &workspace(&name)?, params.index.0, params.size.map(|size| size.0))
            .await?,
    ))
}

#[derive(Debug, Deserialize)]
pub(crate) struct ConsistencyQuery {
    from: Count,
    to: Count,
}

pub(crate) async fn consistency_proof(
    State(app): State<App>,
    Authenticated(caller): Authenticated,
    Path(name): Path<String>,
    params: Result<Query<ConsistencyQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<charter_app::ledger::ConsistencyProof>, ApiError> {
    let params = query(params)?;
    Ok(Json(app.consistency_proof(&caller, &workspace(&name)?, params.from.0, params.to.0).await?))
}

fn hash_schema() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some("^[0-9a-f]{64}$"))
        .description(Some("SHA-256 hash, lower-case hexadecimal"))
}

fn hashes_schema() -> ArrayBuilder {
    ArrayBuilder::new().items(hash_schema())
}

fn ledger_get(
    id: &str,
    summary: &str,
    parameters: Vec<utoipa::openapi::path::Parameter>,
    ok: utoipa::openapi::Response,
) -> PathItem {
    let mut operation = OperationBuilder::new()
        .tag("ledger")
        .operation_id(Some(id))
        .summary(Some(summary))
        .parameter(path_parameter("workspace", "Workspace name"));
    for parameter in parameters {
        operation = operation.parameter(parameter);
    }
    PathItem::new(
        HttpMethod::Get,
        operation
            .response("200", ok)
            .response("400", error_response("A parameter is missing or out of range"))
            .response("401", error_response("No valid token"))
            .response("404", error_response("No such workspace (or not the token's), or no checkpoint yet")),
    )
}

fn required_query(name: &str, description: &str) -> utoipa::openapi::path::Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Query)
        .required(Required::True)
        .description(Some(description))
        .schema(Some(
            ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(0)).maximum(Some(MAX_SAFE_INTEGER)),
        ))
        .build()
}

/// This capability's paths in the OpenAPI document.
pub(crate) fn paths(paths: PathsBuilder) -> PathsBuilder {
    let json_ok = |description: &str, schema: ObjectBuilder| {
        ResponseBuilder::new().description(description).content("application/json", json(schema)).build()
    };
    paths
        .path(
            "/v1/workspaces/{workspace}/ledger/checkpoint",
            ledger_get(
                "ledger_checkpoint",
                "The latest signed checkpoint: a C2SP tlog-checkpoint body (origin, tree size, base64 root) in a C2SP signed note (Ed25519)",
                vec![],
                ResponseBuilder::new()
                    .description("The signed note")
                    .content("text/plain", Content::new(Some(ObjectBuilder::new().schema_type(Type::String))))
                    .build(),
            ),
        )
        .path(
            "/v1/workspaces/{workspace}/ledger/entries",
            ledger_get(
                "ledger_entries",
                "Log entries start..end (leaf indexes from 0, end excluded, at most 1000): each event's canonical bytes, whose SHA-256(0x00 || bytes) is the leaf hash",
                vec![required_query("start", "First leaf index"), required_query("end", "Leaf index after the last")],
                json_ok(
                    "The entries",
                    ObjectBuilder::new().property(
                        "entries",
                        ArrayBuilder::new().items(
                            ObjectBuilder::new()
                                .property("index", ObjectBuilder::new().schema_type(Type::Integer))
                                .property("event", ObjectBuilder::new().schema_type(Type::String).description(Some("The event's canonical JSON, as a string: the leaf data byte for byte")))
                                .property("leaf_hash", hash_schema()),
                        ),
                    ),
                ),
            ),
        )
        .path(
            "/v1/workspaces/{workspace}/ledger/proof/inclusion",
            ledger_get(
                "inclusion_proof",
                "RFC 6962 inclusion proof of leaf `index` in the tree of `size` leaves (default: the latest checkpoint's size)",
                vec![
                    required_query("index", "Leaf index"),
                    query_parameter("size", "Tree size (default: the latest checkpoint's)", Type::Integer),
                ],
                json_ok(
                    "The proof; hashes are ordered from the leaf up",
                    ObjectBuilder::new()
                        .property("index", ObjectBuilder::new().schema_type(Type::Integer))
                        .property("size", ObjectBuilder::new().schema_type(Type::Integer))
                        .property("leaf_hash", hash_schema())
                        .property("hashes", hashes_schema())
                        .property("root", hash_schema()),
                ),
            ),
        )
        .path(
            "/v1/workspaces/{workspace}/ledger/proof/consistency",
            ledger_get(
                "consistency_proof",
                "RFC 6962 consistency proof between tree sizes `from` and `to`",
                vec![required_query("from", "Older tree size"), required_query("to", "Newer tree size")],
                json_ok(
                    "The proof",
                    ObjectBuilder::new()
                        .property("from", ObjectBuilder::new().schema_type(Type::Integer))
                        .property("to", ObjectBuilder::new().schema_type(Type::Integer))
                        .property("hashes", hashes_schema())
                        .property("from_root", hash_schema())
                        .property("to_root", hash_schema()),
                ),
            ),
        )
}
