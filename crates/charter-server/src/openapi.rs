//! The OpenAPI document, generated from the code: record schemas come from
//! the model's types, paths from the table of record kinds, so a new kind
//! or field appears here without anyone editing a document by hand.

use std::sync::OnceLock;

use charter_model::RecordKind;
use utoipa::PartialSchema;
use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn, PathItem};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{ObjectBuilder, Ref, Schema, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{
    ComponentsBuilder, Content, InfoBuilder, OpenApi, OpenApiBuilder, PathsBuilder, RefOr, Required,
    Response, ResponseBuilder,
};

pub(crate) fn json(schema: impl Into<RefOr<Schema>>) -> Content {
    Content::new(Some(schema))
}

pub(crate) fn error_response(description: &str) -> Response {
    ResponseBuilder::new()
        .description(description)
        .content("application/json", json(Ref::from_schema_name("Error")))
        .build()
}

/// A JSON object answer, described but not detailed.
pub(crate) fn object_response(description: &str) -> Response {
    ResponseBuilder::new()
        .description(description)
        .content("application/json", json(ObjectBuilder::new().schema_type(Type::Object)))
        .build()
}

pub(crate) fn path_parameter(name: &str, description: &str) -> utoipa::openapi::path::Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Path)
        .required(Required::True)
        .description(Some(description))
        .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
        .build()
}

pub(crate) fn query_parameter(
    name: &str,
    description: &str,
    schema_type: Type,
) -> utoipa::openapi::path::Parameter {
    let mut schema = ObjectBuilder::new().schema_type(schema_type.clone());
    if schema_type == Type::Integer {
        schema = schema.minimum(Some(0)).maximum(Some(MAX_SAFE_INTEGER));
    }
    if name == "as_of" {
        schema = schema.pattern(Some(DATE_PATTERN));
    }
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Query)
        .required(Required::False)
        .description(Some(description))
        .schema(Some(schema))
        .build()
}

/// A calendar date, YYYY-MM-DD.
/// (February 29 is accepted by the server but left out here: a pattern
/// cannot tell leap years.)
pub(crate) const DATE_PATTERN: &str = "^[0-9]{4}-((0[13578]|1[02])-(0[1-9]|[12][0-9]|3[01])|(0[469]|11)-(0[1-9]|[12][0-9]|30)|02-(0[1-9]|1[0-9]|2[0-8]))$";

/// A span of time such as `30d` or `1h30m`.
pub(crate) const SPAN_PATTERN: &str = "^([1-9][0-9]{0,5}[smhdw]){1,4}$";

pub(crate) fn if_match_parameter() -> utoipa::openapi::path::Parameter {
    ParameterBuilder::new()
        .name("If-Match")
        .parameter_in(ParameterIn::Header)
        .required(Required::True)
        .description(Some("The version (ETag) of the record the change is based on, e.g. \"3\", or * for whatever version it is at"))
        .schema(Some(ObjectBuilder::new().schema_type(Type::String).pattern(Some(r#"^(\*|(W/)?"?[0-9]{1,15}"?)$"#))))
        .build()
}

pub(crate) trait PathItemExt {
    fn tap_add(self, method: HttpMethod, operation: OperationBuilder) -> Self;
}

impl PathItemExt for PathItem {
    fn tap_add(mut self, method: HttpMethod, operation: OperationBuilder) -> Self {
        self.merge_operations(PathItem::new(method, operation));
        self
    }
}

/// The largest integer every JSON client reads exactly (2^53 - 1).
pub(crate) const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// The schema of `T` under its name, and the schemas it refers to.
pub(crate) fn with_schema<T: utoipa::ToSchema>(schemas: &mut Vec<(String, RefOr<Schema>)>) {
    T::schemas(schemas);
    schemas.push((T::name().into_owned(), <T as PartialSchema>::schema()));
}

fn policy_schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
    use crate::api::{DecisionBatch, DecisionBatchAnswer, GrantRequest, RejectRequest, ResumeRequest};
    with_schema::<charter_policy::DecisionRequest>(schemas);
    with_schema::<charter_policy::DecisionAnswer>(schemas);
    with_schema::<DecisionBatch>(schemas);
    with_schema::<DecisionBatchAnswer>(schemas);
    with_schema::<GrantRequest>(schemas);
    with_schema::<ResumeRequest>(schemas);
    with_schema::<RejectRequest>(schemas);
    with_schema::<charter_data::Proposal>(schemas);
    with_schema::<crate::api::PromoteRequest>(schemas);
    with_schema::<charter_observe::Span>(schemas);
    with_schema::<crate::api::IncidentRequest>(schemas);
    with_schema::<crate::api::RunValidationRequest>(schemas);
    with_schema::<crate::api::RunOutputBody>(schemas);
    with_schema::<crate::api::WaiverRequest>(schemas);
    with_schema::<crate::api::IncidentDrillRequest>(schemas);
    with_schema::<crate::api::IncidentNote>(schemas);
    with_schema::<charter_model::Postmortem>(schemas);
    with_schema::<crate::api::guard::FilterBody>(schemas);
    with_schema::<crate::api::guard::FilterAnswer>(schemas);
}

pub(crate) fn post_operation(
    id: &str,
    tag: &str,
    summary: &str,
    body: Option<&str>,
    ok: (&str, &str, Option<&str>),
) -> OperationBuilder {
    let mut operation = OperationBuilder::new()
        .tag(tag)
        .operation_id(Some(id))
        .summary(Some(summary))
        .parameter(path_parameter("workspace", "Workspace name"));
    if let Some(body) = body {
        operation = operation.request_body(Some(
            RequestBodyBuilder::new()
                .required(Some(Required::True))
                .content("application/json", json(Ref::from_schema_name(body)))
                .build(),
        ));
    }
    let (status, description, schema) = ok;
    let mut response = ResponseBuilder::new().description(description);
    if let Some(schema) = schema {
        response = response.content("application/json", json(Ref::from_schema_name(schema)));
    }
    operation
        .response(status, response.build())
        .response("400", error_response("Malformed JSON or a field of the wrong shape"))
        .response("401", error_response("No valid token"))
        .response("403", error_response("The token's role may not do this"))
        .response("404", error_response("No such workspace (or not the token's) or record"))
}

/// The OpenAPI document.
pub fn document() -> OpenApi {
    let mut paths = PathsBuilder::new()
        .path(
            "/healthz",
            PathItem::new(
                HttpMethod::Get,
                OperationBuilder::new()
                    .tag("health")
                    .operation_id(Some("healthz"))
                    .summary(Some("Liveness: the process answers (no token needed)"))
                    .security(SecurityRequirement::default())
                    .response("200", ResponseBuilder::new().description("ok").build()),
            ),
        )
        .path(
            "/readyz",
            PathItem::new(
                HttpMethod::Get,
                OperationBuilder::new()
                    .tag("health")
                    .operation_id(Some("readyz"))
                    .summary(Some("Readiness: the database answers (no token needed)"))
                    .security(SecurityRequirement::default())
                    .response("200", ResponseBuilder::new().description("ready").build())
                    .response(
                        "503",
                        ResponseBuilder::new().description("the database does not answer").build(),
                    ),
            ),
        )
        .path(
            "/metrics",
            PathItem::new(
                HttpMethod::Get,
                OperationBuilder::new()
                    .tag("health")
                    .operation_id(Some("metrics"))
                    .summary(Some("Charter's metrics in the Prometheus text format: decisions by outcome and reason class, decision latency, ledger size and append batches, spans in, the outbox, alerts open by class (gauges of the token's workspace)"))
                    .response(
                        "200",
                        ResponseBuilder::new()
                            .description("Prometheus text exposition 0.0.4")
                            .content("text/plain", utoipa::openapi::ContentBuilder::new().build())
                            .build(),
                    )
                    .response("401", error_response("No valid token")),
            ),
        )
        .path(
            "/openapi.json",
            PathItem::new(
                HttpMethod::Get,
                OperationBuilder::new()
                    .tag("health")
                    .operation_id(Some("openapi"))
                    .summary(Some("This document (no token needed)"))
                    .security(SecurityRequirement::default())
                    .response("200", ResponseBuilder::new().description("The OpenAPI document").build()),
            ),
        );
    paths = crate::api::paths(paths);

    let mut schemas = Vec::new();
    RecordKind::all_schemas(&mut schemas);
    policy_schemas(&mut schemas);
    let mut components = ComponentsBuilder::new()
        .schema(
            "Error",
            ObjectBuilder::new().property(
                "error",
                ObjectBuilder::new()
                    .property("code", ObjectBuilder::new().schema_type(Type::String))
                    .property("message", ObjectBuilder::new().schema_type(Type::String))
                    .required("code")
                    .required("message"),
            ),
        )
        .security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    for (name, schema) in schemas {
        components = components.schema(name, schema);
    }
    for kind in RecordKind::ALL {
        let (name, _) = kind.schema();
        components = components.schema(format!("{name}View"), crate::api::registry::view_schema(&name));
    }

    let mut document = OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("Charter")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "The governance control plane for AI agents. Every request under /v1 needs \
                     `Authorization: Bearer <token>`; a token reaches one workspace with one role.",
                ))
                .build(),
        )
        .paths(paths.build())
        .components(Some(components.build()))
        .security(Some([SecurityRequirement::new("bearer", Vec::<String>::new())]))
        .build();
    add_common_responses(&mut document);
    document
}

/// Adds the answers every operation can give but few state: 401 without a
/// valid token (unless the operation needs none), 404 for a workspace that
/// is missing or not the token's, 400 for a parameter or body that cannot be
/// read, 413 for a body over the limit.
fn add_common_responses(document: &mut OpenApi) {
    for (path, item) in &mut document.paths.paths {
        let operations = [
            (false, &mut item.get),
            (true, &mut item.put),
            (true, &mut item.post),
            (true, &mut item.delete),
            (true, &mut item.patch),
        ];
        for (writes, operation) in operations {
            let Some(operation) = operation else { continue };
            let open = operation.security.as_ref().is_some_and(|security| {
                serde_json::to_value(security).is_ok_and(|value| value == serde_json::json!([{}]))
            });
            let has_input = operation.parameters.as_ref().is_some_and(|p| !p.is_empty())
                || operation.request_body.is_some()
                || path.contains('{');
            let responses = &mut operation.responses.responses;
            let mut add = |status: &str, description: &str| {
                responses.entry(status.to_owned()).or_insert_with(|| error_response(description).into());
            };
            if !open {
                add("401", "No valid token");
            }
            if path.contains("{workspace}") {
                add("404", "No such workspace (or not the token's), or no such record");
            }
            if has_input {
                add("400", "A parameter or the body cannot be read");
            }
            if operation.request_body.is_some() {
                add("413", "Body too large");
            }
            if writes || path.contains("/ledger/proof/") {
                add("422", "The request breaks a rule; every problem is listed");
            }
        }
    }
}

/// The OpenAPI document as JSON, built once.
pub fn document_json() -> &'static str {
    static DOCUMENT: OnceLock<String> = OnceLock::new();
    DOCUMENT.get_or_init(|| serde_json::to_string(&document()).unwrap_or_else(|_| "{}".to_owned()))
}
