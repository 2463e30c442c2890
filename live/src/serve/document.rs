//! The HTTP contract as an OpenAPI 3.1 document, generated from the wire types (`contract`,
//! `program::OfferTerms`) and the routes `serve` answers (`super::routes`, one list for the
//! router and the document). Committed as `live/openapi.json`; `offersim serve` answers it at
//! `GET /openapi.json`; `tests/openapi.rs` checks the committed file is this one
//! (`OFFERSIM_BLESS=1 cargo test --test openapi` rewrites it).

use crate::contract::{CardHandle, ChannelName, CreditState, Id, Kind, Money, Rfc3339};
use std::sync::OnceLock;
use utoipa::openapi::path::Operation;
use utoipa::openapi::{OpenApi, RefOr, Response, ResponseBuilder};

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "offersim offers-service contract",
        description = "The HTTP contract an offers service implements for `offersim drive`, and that \
            `offersim serve` (the project's reference service) answers. JSON bodies, UTF-8; money as \
            decimal strings with two places (`\"12.50\"`), never floats; times RFC 3339 with an offset. \
            There are no card numbers: a card is the driver's opaque handle, and a card field with 12 \
            or more digits is refused (422).\n\n\
            **Virtual time.** Every traffic request carries `X-Offersim-Time`, the simulated instant it \
            belongs to; a service judges offer windows, weekdays, hours, budget periods and return \
            periods by it and the message's own timestamps, never by its wall clock.\n\n\
            **Errors.** A refused request is a `4xx` with `{\"error\": \"...\"}` and changes nothing; \
            the driver counts them and never retries them. `5xx`, timeouts and refused connections are \
            retried, on the idempotent calls only (`PUT`s, network messages, credits).\n\n\
            The prose, with the limits of the reference service: `live/README.md`.",
        license(name = "MIT OR Apache-2.0"),
    ),
    tags(
        (name = "program", description = "What the service is told before any traffic: merchants and offers."),
        (name = "traffic", description = "Cards, enrollments and the network's messages, in simulated time; \
            and the credits the service granted."),
        (name = "service", description = "The service itself."),
    ),
    components(schemas(Money, Rfc3339, Id, CardHandle, Kind, ChannelName, CreditState))
)]
struct Contract;

/// The document before the routes are added (`super::routes` adds them).
pub(super) fn base() -> OpenApi {
    <Contract as utoipa::OpenApi>::openapi()
}

fn error(description: &str) -> RefOr<Response> {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            utoipa::openapi::ContentBuilder::new()
                .schema(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name("ErrorBody"))))
                .build(),
        )
        .into()
}

/// The answers every route can give besides its own: a request that took too long (the
/// connection's limits, `listen`), a body over `MAX_BODY_BYTES`, and a service that failed on an
/// earlier request.
fn add_common(path: &str, op: &mut Operation) {
    let responses = &mut op.responses.responses;
    responses.insert(
        "408".into(),
        ResponseBuilder::new()
            .description("The request took longer than `--request-timeout-seconds` (no body).")
            .into(),
    );
    if op.request_body.is_some() {
        responses.insert("413".into(), error("The body is over 64 KiB."));
    }
    if path.starts_with("/v1/") && path != "/v1/health" {
        responses.insert(
            "500".into(),
            error("The service failed on an earlier request and its state cannot be trusted; restart it."),
        );
    }
}

/// The contract as an OpenAPI 3.1 document.
pub fn openapi() -> OpenApi {
    let mut doc = super::routes().into_openapi();
    for (path, item) in doc.paths.paths.iter_mut() {
        for op in
            [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch].into_iter().flatten()
        {
            add_common(path, op);
        }
    }
    doc
}

/// The document as committed (`live/openapi.json`) and served: pretty JSON, keys in a stable
/// order, a trailing newline.
pub fn openapi_json() -> &'static str {
    static JSON: OnceLock<String> = OnceLock::new();
    JSON.get_or_init(|| {
        let mut s = serde_json::to_string_pretty(&openapi()).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
        s.push('\n');
        s
    })
}
