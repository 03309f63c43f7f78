//! The OpenAPI document, generated from the code: record schemas come from
//! the model's types, paths from the table of record kinds, so a new kind
//! or field appears here without anyone editing a document by hand.

use std::sync::OnceLock;

use charter_model::{RecordKind, Role};
use utoipa::PartialSchema;
use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn, PathItem};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{AdditionalProperties, ArrayBuilder, ObjectBuilder, Ref, Schema, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{
    ComponentsBuilder, Content, InfoBuilder, OpenApi, OpenApiBuilder, PathsBuilder, RefOr, Required,
    Response, ResponseBuilder,
};

fn json(schema: impl Into<RefOr<Schema>>) -> Content {
    Content::new(Some(schema))
}

fn error_response(description: &str) -> Response {
    ResponseBuilder::new()
        .description(description)
        .content("application/json", json(Ref::from_schema_name("Error")))
        .build()
}

fn path_parameter(name: &str, description: &str) -> utoipa::openapi::path::Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Path)
        .required(Required::True)
        .description(Some(description))
        .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
        .build()
}

fn query_parameter(name: &str, description: &str, schema_type: Type) -> utoipa::openapi::path::Parameter {
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
const DATE_PATTERN: &str = "^[0-9]{4}-((0[13578]|1[02])-(0[1-9]|[12][0-9]|3[01])|(0[469]|11)-(0[1-9]|[12][0-9]|30)|02-(0[1-9]|1[0-9]|2[0-8]))$";

/// A span of time such as `30d` or `1h30m`.
const SPAN_PATTERN: &str = "^([1-9][0-9]{0,5}[smhdw]){1,4}$";

fn if_match_parameter() -> utoipa::openapi::path::Parameter {
    ParameterBuilder::new()
        .name("If-Match")
        .parameter_in(ParameterIn::Header)
        .required(Required::True)
        .description(Some("The version (ETag) of the record the change is based on, e.g. \"3\", or * for whatever version it is at"))
        .schema(Some(ObjectBuilder::new().schema_type(Type::String).pattern(Some(r#"^(\*|(W/)?"?[0-9]{1,15}"?)$"#))))
        .build()
}

/// `{kind, id, version, created_at, updated_at, record}` with the kind's schema.
fn view_schema(record: &str) -> Schema {
    ObjectBuilder::new()
        .property("kind", ObjectBuilder::new().schema_type(Type::String))
        .property("id", ObjectBuilder::new().schema_type(Type::String))
        .property("version", ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(1)))
        .property("created_at", charter_model::Timestamp::schema())
        .property("updated_at", charter_model::Timestamp::schema())
        .property("record", Ref::from_schema_name(record))
        .required("kind")
        .required("id")
        .required("version")
        .required("created_at")
        .required("updated_at")
        .required("record")
        .into()
}

fn record_paths(paths: PathsBuilder, kind: RecordKind) -> PathsBuilder {
    let (schema_name, _) = kind.schema();
    let view = format!("{schema_name}View");
    let plural = kind.plural();
    let name = kind.name();
    let workspace = || path_parameter("workspace", "Workspace name");
    let id = || path_parameter("id", &format!("Id of the {name} ({} field)", kind.id_field()));
    let body = || {
        RequestBodyBuilder::new()
            .required(Some(Required::True))
            .content("application/json", json(Ref::from_schema_name(schema_name.clone())))
            .build()
    };
    let one = || {
        ResponseBuilder::new()
            .description(format!("The {name}; its version is also in the ETag header"))
            .content("application/json", json(Ref::from_schema_name(view.clone())))
            .build()
    };
    let list = OperationBuilder::new()
        .tag(plural)
        .operation_id(Some(format!("list_{plural}")))
        .summary(Some(format!("List {plural} in id order")))
        .parameter(workspace())
        .parameter(query_parameter("after", "Return records after this id (from next_after)", Type::String))
        .parameter(
            ParameterBuilder::new()
                .name("limit")
                .parameter_in(ParameterIn::Query)
                .required(Required::False)
                .description(Some("Records per page, 1 to 1000 (default 100)"))
                .schema(Some(
                    ObjectBuilder::new()
                        .schema_type(Type::Integer)
                        .minimum(Some(1))
                        .maximum(Some(charter_app::MAX_PAGE)),
                ))
                .build(),
        )
        .response(
            "200",
            ResponseBuilder::new()
                .description("One page")
                .content(
                    "application/json",
                    json(
                        ObjectBuilder::new()
                            .property("items", ArrayBuilder::new().items(Ref::from_schema_name(view.clone())))
                            .property("next_after", ObjectBuilder::new().schema_type(Type::String))
                            .required("items"),
                    ),
                )
                .build(),
        )
        .response("400", error_response("A query parameter is malformed or out of range"))
        .response("401", error_response("No valid token"))
        .response("404", error_response("No such workspace (or not the token's)"));
    let create = OperationBuilder::new()
        .tag(plural)
        .operation_id(Some(format!("create_{name}")))
        .summary(Some(format!("Create a {name} (needs the {} or admin role)", kind.writer())))
        .parameter(workspace())
        .request_body(Some(body()))
        .response("201", one())
        .response(
            "400",
            error_response(
                "Malformed JSON or a field of the wrong shape; the message gives the position or path",
            ),
        )
        .response("401", error_response("No valid token"))
        .response("403", error_response("The token's role may not write this kind"))
        .response("409", error_response("A record with this id exists"))
        .response("413", error_response("Body too large"))
        .response("422", error_response("The record breaks a rule; every problem is listed"));
    let get = OperationBuilder::new()
        .tag(plural)
        .operation_id(Some(format!("get_{name}")))
        .summary(Some(format!("Get one {name}")))
        .parameter(workspace())
        .parameter(id())
        .response("200", one())
        .response("401", error_response("No valid token"))
        .response("404", error_response("No such record or workspace"));
    let update = OperationBuilder::new()
        .tag(plural)
        .operation_id(Some(format!("update_{name}")))
        .summary(Some(format!("Replace a {name}, if it is still at the version If-Match names")))
        .parameter(workspace())
        .parameter(id())
        .parameter(if_match_parameter())
        .request_body(Some(body()))
        .response("200", one())
        .response("400", error_response("Malformed JSON or If-Match"))
        .response("401", error_response("No valid token"))
        .response("403", error_response("The token's role may not write this kind"))
        .response("404", error_response("No such record or workspace"))
        .response("412", error_response("The record changed since that version"))
        .response("428", error_response("If-Match is missing"))
        .response("422", error_response("The record breaks a rule"));
    // Kinds only their use cases write are read here and written through
    // their own endpoints; a generic write of one answers 405.
    let (list_item, one_item) = if kind.written_by_use_case().is_some() {
        (PathItem::new(HttpMethod::Get, list), PathItem::new(HttpMethod::Get, get))
    } else {
        (
            PathItem::new(HttpMethod::Get, list).tap_add(HttpMethod::Post, create),
            PathItem::new(HttpMethod::Get, get).tap_add(HttpMethod::Put, update),
        )
    };
    paths
        .path(format!("/v1/workspaces/{{workspace}}/{plural}"), list_item)
        .path(format!("/v1/workspaces/{{workspace}}/{plural}/{{id}}"), one_item)
}

trait PathItemExt {
    fn tap_add(self, method: HttpMethod, operation: OperationBuilder) -> Self;
}

impl PathItemExt for PathItem {
    fn tap_add(mut self, method: HttpMethod, operation: OperationBuilder) -> Self {
        self.merge_operations(PathItem::new(method, operation));
        self
    }
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
    ok: Response,
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

/// The largest integer every JSON client reads exactly (2^53 - 1).
const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

fn ledger_paths(paths: PathsBuilder) -> PathsBuilder {
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

/// The schema of `T` under its name, and the schemas it refers to.
fn with_schema<T: utoipa::ToSchema>(schemas: &mut Vec<(String, RefOr<Schema>)>) {
    T::schemas(schemas);
    schemas.push((T::name().into_owned(), <T as PartialSchema>::schema()));
}

fn policy_schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
    use crate::decisions::{DecisionBatch, DecisionBatchAnswer, GrantRequest, RejectRequest, ResumeRequest};
    with_schema::<charter_policy::DecisionRequest>(schemas);
    with_schema::<charter_policy::DecisionAnswer>(schemas);
    with_schema::<DecisionBatch>(schemas);
    with_schema::<DecisionBatchAnswer>(schemas);
    with_schema::<GrantRequest>(schemas);
    with_schema::<ResumeRequest>(schemas);
    with_schema::<RejectRequest>(schemas);
    with_schema::<charter_data::Proposal>(schemas);
    with_schema::<crate::data::PromoteRequest>(schemas);
}

fn data_paths(paths: PathsBuilder) -> PathsBuilder {
    let object = |description: &str| {
        ResponseBuilder::new()
            .description(description)
            .content("application/json", json(ObjectBuilder::new().schema_type(Type::Object)))
            .build()
    };
    let id = |description: &str| path_parameter("id", description);
    let dataset_id = || id("Dataset id");
    paths
        .path(
            "/v1/workspaces/{workspace}/datasets/{id}/schema-changes",
            PathItem::new(
                HttpMethod::Post,
                post(
                    "propose_schema_change",
                    "data",
                    "Propose a new schema (PROC-ANALYZE-SCHEMA-CHANGE): the diff with breaking changes marked, every dataset downstream with its path and referencing fields, the agents, workflows and policies affected; logs a Planned CHG-YYYY-MM-DD-### entry and notifies the owners of affected agents (webhook delivery in the background); needs change_schema from the decision point",
                    Some("Proposal"),
                    ("201", "The change (with impact_analysis), the notifications and the decision id", None),
                )
                .parameter(dataset_id())
                .response("201", object("The change (with impact_analysis), the notifications and the decision id"))
                .response("422", error_response("The proposed schema breaks a rule or changes nothing")),
            ),
        )
        .path(
            "/v1/workspaces/{workspace}/changes/{id}/apply",
            PathItem::new(
                HttpMethod::Post,
                post("apply_change", "data", "Apply a Planned change: Executing, then Complete with the dataset at schema version + 1", None, ("200", "The change", Some("ChangeView")))
                    .parameter(id("Change id (CHG-YYYY-MM-DD-###)"))
                    .response("422", error_response("The change is not Planned, or the dataset moved on since its analysis")),
            ),
        )
        .path(
            "/v1/workspaces/{workspace}/changes/{id}/rollback",
            PathItem::new(
                HttpMethod::Post,
                post("rollback_change", "data", "Roll a change back; a Complete one has its previous schema restored (schema version + 1)", None, ("200", "The change", Some("ChangeView")))
                    .parameter(id("Change id (CHG-YYYY-MM-DD-###)"))
                    .response("422", error_response("Already Rolled Back, or a later change is in the way")),
            ),
        )
        .path(
            "/v1/workspaces/{workspace}/datasets/{id}/promote",
            PathItem::new(
                HttpMethod::Post,
                post("promote_dataset", "data", "Promote a dataset one scope up (DRAFT, STAGE, PUBLISHED) when every gate is met: decision point, scope order, specialist agent, quality score, validation procedures, registration, no open change", Some("PromoteRequest"), ("200", "The dataset and the gates", None))
                    .parameter(dataset_id())
                    .response("200", object("The dataset and the gates, all met"))
                    .response("422", error_response("Every unmet gate, one per line")),
            ),
        )
        .path(
            "/v1/workspaces/{workspace}/datasets/{id}/quality",
            PathItem::new(
                HttpMethod::Post,
                post("validate_quality", "data", "Validate the body (text/csv or application/x-ndjson) against the dataset's schema, record the run and raise one RAIDA issue per failing check; query parameters source (file name) and samples (failing rows kept per check)", None, ("201", "The run, the threshold and the RAIDA outcomes", None))
                    .parameter(dataset_id())
                    .response("201", object("The run, the threshold and the RAIDA outcomes"))
                    .response("422", error_response("The file cannot be validated: a mandatory column missing, a rule that does not compile, a reference to another dataset")),
            ),
        )
        .path(
            "/v1/workspaces/{workspace}/assessment",
            PathItem::new(
                HttpMethod::Get,
                OperationBuilder::new()
                    .tag("risk")
                    .operation_id(Some("assessment"))
                    .summary(Some("The portfolio assessment as of ?as_of=YYYY-MM-DD (default today): every agent's integration, risk and value-leakage scores with their components and evidence, trends, ranked risk signals, blast radii, escalations and recommendations; saves nothing"))
                    .parameter(path_parameter("workspace", "Workspace name"))
                    .response("200", object("The assessment"))
                    .response("401", error_response("No valid token"))
                    .response("404", error_response("No such workspace (or not the token's)")),
            ),
        )
        .path(
            "/v1/workspaces/{workspace}/governance-check",
            PathItem::new(
                HttpMethod::Post,
                post("governance_check", "data", "Run the daily governance check (PROC-DAILY-GOVERNANCE) for today or ?as_of=YYYY-MM-DD; raises RAIDA items for AMBER and RED findings, idempotently", None, ("200", "The dashboard and the RAIDA outcomes", None))
                    .response("200", object("The dashboard (status GREEN, AMBER or RED per section) and the RAIDA outcomes")),
            ),
        )
}

fn post(
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

fn policy_paths(paths: PathsBuilder) -> PathsBuilder {
    let denied = |description: &str, schema: &str| {
        ResponseBuilder::new()
            .description(description)
            .content("application/json", json(Ref::from_schema_name(schema)))
            .build()
    };
    let id = |what: &str| path_parameter("id", what);
    paths
        .path(
            "/v1/workspaces/{workspace}/decide",
            PathItem::new(
                HttpMethod::Post,
                post(
                    "decide",
                    "decisions",
                    "Decide whether a principal may take an action on a resource; the decision is in the ledger before the answer is sent",
                    Some("DecisionRequest"),
                    ("200", "The decision, with its id in the ledger and its reasons", Some("DecisionAnswer")),
                )
                .response("422", error_response("The request breaks a rule"))
                .response("503", denied("The decision could not be logged: it denies (reason guardrail:not-logged)", "DecisionAnswer")),
            ),
        )
        .path(
            "/v1/workspaces/{workspace}/decide/batch",
            PathItem::new(
                HttpMethod::Post,
                post(
                    "decide_batch",
                    "decisions",
                    "Decide up to 1,000 requests at once; all are logged, in order, before the answer",
                    Some("DecisionBatch"),
                    ("200", "One answer per request, in order", Some("DecisionBatchAnswer")),
                )
                .response("422", error_response("Too many requests"))
                .response("503", denied("The decisions could not be logged: every one denies", "DecisionBatchAnswer")),
            ),
        )
        .path(
            "/v1/workspaces/{workspace}/grants",
            PathItem::new(
                HttpMethod::Post,
                post(
                    "create_time_bound_grant",
                    "grants",
                    "Grant an agent one action on one resource for a while (approver or admin; the token's holder approves and may not be the requester)",
                    Some("GrantRequest"),
                    ("201", "The grant", Some("GrantView")),
                )
                .response("422", error_response("The grant breaks a rule; every problem is listed")),
            )
            .tap_add(
                HttpMethod::Get,
                OperationBuilder::new()
                    .tag("grants")
                    .operation_id(Some("list_grants"))
                    .summary(Some("List grants in id order"))
                    .parameter(path_parameter("workspace", "Workspace name"))
                    .response("200", ResponseBuilder::new().description("One page").build())
                    .response("401", error_response("No valid token")),
            ),
        )
        .path(
            "/v1/workspaces/{workspace}/grants/{id}/revoke",
            PathItem::new(
                HttpMethod::Post,
                post("revoke_grant", "grants", "Revoke a grant now: the next decision no longer sees it", None, (
                    "200",
                    "The revoked grant",
                    Some("GrantView"),
                ))
                .parameter(id("Grant id (GRANT-NNNN)")),
            ),
        )
        .path(
            "/v1/workspaces/{workspace}/operations",
            PathItem::new(
                HttpMethod::Post,
                post(
                    "declare_operation",
                    "operations",
                    "Declare an operation: the body is the Ops Governor declaration in YAML or JSON (OPERATION_NAME, OBJECTIVE, RISK_CLASS, BLAST_RADIUS, ROLLBACK_STRATEGY, ALLOWED_PATHS, ALLOWED_SERVICES, NOT_ALLOWED, REQUESTED_BY, STEPS); every problem is listed at once",
                    None,
                    ("201", "The operation, Planned, with its OPS-YYYY-MM-DD-NNN id, tier and declaration hash", Some("OperationView")),
                )
                .response("422", error_response("The declaration is invalid; every missing or wrong field is listed")),
            )
            .tap_add(
                HttpMethod::Get,
                OperationBuilder::new()
                    .tag("operations")
                    .operation_id(Some("list_operations"))
                    .summary(Some("List operations in id order"))
                    .parameter(path_parameter("workspace", "Workspace name"))
                    .response("200", ResponseBuilder::new().description("One page").build())
                    .response("401", error_response("No valid token")),
            ),
        )
        .path(
            "/v1/workspaces/{workspace}/operations/{id}/approve",
            PathItem::new(
                HttpMethod::Post,
                post(
                    "approve_operation",
                    "operations",
                    "Approve the operation's current plan (approver; not its requester; after a passing dry run of this plan); enough approvals make it Approved",
                    None,
                    ("200", "The operation", Some("OperationView")),
                )
                .parameter(id("Operation id (OPS-YYYY-MM-DD-NNN)"))
                .response("422", error_response("The operation is not Planned")),
            ),
        )
        .path(
            "/v1/workspaces/{workspace}/operations/{id}/reject",
            PathItem::new(
                HttpMethod::Post,
                post("reject_operation", "operations", "Reject an operation that has not run", Some("RejectRequest"), (
                    "200",
                    "The rejected operation",
                    Some("OperationView"),
                ))
                .parameter(id("Operation id")),
            ),
        )
        .path(
            "/v1/workspaces/{workspace}/operations/{id}/halt",
            PathItem::new(
                HttpMethod::Post,
                post("halt_operation", "operations", "Ask a running operation to halt: its runner kills the current step and rolls back", None, (
                    "202",
                    "The halt is recorded",
                    None,
                ))
                .parameter(id("Operation id")),
            ),
        )
        .path(
            "/v1/workspaces/{workspace}/agents/{id}/pause",
            PathItem::new(
                HttpMethod::Post,
                post("pause_agent", "agents", "Kill switch: every decision about the agent denies from the next one", None, (
                    "200",
                    "The paused agent",
                    Some("AgentView"),
                ))
                .parameter(id("Agent id")),
            ),
        )
        .path(
            "/v1/workspaces/{workspace}/agents/{id}/resume",
            PathItem::new(
                HttpMethod::Post,
                post(
                    "resume_agent",
                    "agents",
                    "Lift the kill switch: back to the status before the pause, or the one the body names",
                    Some("ResumeRequest"),
                    ("200", "The resumed agent", Some("AgentView")),
                )
                .parameter(id("Agent id"))
                .response("422", error_response("The agent is not paused")),
            ),
        )
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
        )
        .path(
            "/workspaces/{workspace}/report",
            PathItem::new(
                HttpMethod::Get,
                OperationBuilder::new()
                    .tag("risk")
                    .operation_id(Some("report_page"))
                    .summary(Some("The executive portfolio report as an HTML page with its charts; saves nothing"))
                    .parameter(path_parameter("workspace", "Workspace name"))
                    .parameter(query_parameter("as_of", "The day to assess, YYYY-MM-DD (default today)", Type::String))
                    .response(
                        "200",
                        ResponseBuilder::new()
                            .description("The report")
                            .content("text/html", utoipa::openapi::ContentBuilder::new().build())
                            .build(),
                    )
                    .response("400", error_response("as_of is not a date"))
                    .response("401", error_response("No valid token"))
                    .response("404", error_response("No such workspace (or not the token's)")),
            ),
        )
        .path(
            "/v1/workspaces",
            PathItem::new(
                HttpMethod::Get,
                OperationBuilder::new()
                    .tag("workspaces")
                    .operation_id(Some("list_workspaces"))
                    .summary(Some("The workspaces the token reaches (its own)"))
                    .response("200", ResponseBuilder::new().description("Workspaces").build())
                    .response("401", error_response("No valid token")),
            ),
        )
        .path(
            "/v1/workspaces/{workspace}",
            PathItem::new(
                HttpMethod::Get,
                OperationBuilder::new()
                    .tag("workspaces")
                    .operation_id(Some("workspace_status"))
                    .summary(Some(
                        "Workspace overview: record counts, datasets, active agents, recent changes",
                    ))
                    .parameter(path_parameter("workspace", "Workspace name"))
                    .response("200", ResponseBuilder::new().description("Overview").build())
                    .response("401", error_response("No valid token"))
                    .response("404", error_response("No such workspace (or not the token's)")),
            ),
        )
        .path(
            "/v1/workspaces/{workspace}/tokens",
            PathItem::new(
                HttpMethod::Post,
                OperationBuilder::new()
                    .tag("workspaces")
                    .operation_id(Some("create_token"))
                    .summary(Some("Create an API token for the workspace (admin); its secret is shown once"))
                    .parameter(path_parameter("workspace", "Workspace name"))
                    .request_body(Some(
                        RequestBodyBuilder::new()
                            .required(Some(Required::True))
                            .content(
                                "application/json",
                                json(
                                    ObjectBuilder::new()
                                        .property("role", Role::schema())
                                        .property("name", ObjectBuilder::new().schema_type(Type::String))
                                        .property(
                                            "ttl",
                                            ObjectBuilder::new()
                                                .schema_type(Type::String)
                                                .pattern(Some(SPAN_PATTERN))
                                                .description(Some("How long it lives, e.g. 30d (default 90d, at most 366d)")),
                                        )
                                        .required("role")
                                        .required("name")
                                        .additional_properties(Some(AdditionalProperties::FreeForm(false))),
                                ),
                            )
                            .build(),
                    ))
                    .response("201", ResponseBuilder::new().description("The token, with its secret").build())
                    .response("403", error_response("Only admin tokens may create tokens"))
                    .response("422", error_response("The name or the lifetime breaks a rule")),
            ),
        )
        .path(
            "/v1/workspaces/{workspace}/tokens",
            PathItem::new(
                HttpMethod::Get,
                OperationBuilder::new()
                    .tag("workspaces")
                    .operation_id(Some("list_tokens"))
                    .summary(Some("The workspace's tokens with their state, expiry and last use (admin); never secrets"))
                    .parameter(path_parameter("workspace", "Workspace name"))
                    .response("200", ResponseBuilder::new().description("Tokens").build())
                    .response("403", error_response("Only admin tokens may list tokens")),
            ),
        )
        .path(
            "/v1/workspaces/{workspace}/tokens/{id}/revoke",
            PathItem::new(
                HttpMethod::Post,
                OperationBuilder::new()
                    .tag("workspaces")
                    .operation_id(Some("revoke_token"))
                    .summary(Some("Revoke a token (admin): refused at once here, within a second in other processes"))
                    .parameter(path_parameter("workspace", "Workspace name"))
                    .parameter(path_parameter("id", "Token id (tok_…)"))
                    .response("200", ResponseBuilder::new().description("The revoked token").build())
                    .response("403", error_response("Only admin tokens may revoke tokens"))
                    .response("422", error_response("No such token, or already revoked")),
            ),
        )
        .path(
            "/v1/workspaces/{workspace}/tokens/{id}/rotate",
            PathItem::new(
                HttpMethod::Post,
                OperationBuilder::new()
                    .tag("workspaces")
                    .operation_id(Some("rotate_token"))
                    .summary(Some(
                        "Rotate a token (admin): a new secret of the same name and role, the old token revoked",
                    ))
                    .parameter(path_parameter("workspace", "Workspace name"))
                    .parameter(path_parameter("id", "Token id (tok_…)"))
                    .request_body(Some(
                        RequestBodyBuilder::new()
                            .content(
                                "application/json",
                                json(
                                    ObjectBuilder::new()
                                        .property(
                                            "ttl",
                                            ObjectBuilder::new().schema_type(Type::String).pattern(Some(SPAN_PATTERN)),
                                        )
                                        .additional_properties(Some(AdditionalProperties::FreeForm(false))),
                                ),
                            )
                            .build(),
                    ))
                    .response("201", ResponseBuilder::new().description("The new token, with its secret").build())
                    .response("403", error_response("Only admin tokens may rotate tokens"))
                    .response("422", error_response("No such token, or already revoked")),
            ),
        );
    for kind in RecordKind::ALL {
        paths = record_paths(paths, *kind);
    }
    paths = ledger_paths(paths);
    paths = policy_paths(paths);
    paths = data_paths(paths);

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
        components = components.schema(format!("{name}View"), view_schema(&name));
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
