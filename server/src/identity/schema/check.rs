//! `POST /admin/x/schemas/check`: would a new version of a schema invalidate stored identities?
//!
//! A kratos-rs extension (Kratos has no such endpoint; the `/admin/x/` prefix keeps extensions
//! apart from Kratos's paths). The candidate schema is compiled like a served one, then the
//! identities stored under its id are streamed in id order (keyset pages of [`BATCH_SIZE`]) and
//! their traits validated against it, so memory stays bounded however many identities there are.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::IdentitySchema;
use crate::app::App;
use crate::error::{ApiError, Result};
use crate::http::{Request, Response, RouterBuilder, response};
use crate::persistence::identities::{self as repo, Expand, ListFilter};

/// Identities read per query.
pub const BATCH_SIZE: usize = 500;
/// Failing identities described in the answer by default.
const DEFAULT_SAMPLES: usize = 10;
/// Upper bound on `max_samples`.
const MAX_SAMPLES: usize = 100;

pub fn register_admin(r: &mut RouterBuilder) {
    r.post("/admin/x/schemas/check", check);
}

/// The request body.
#[derive(Debug, Deserialize)]
pub struct CheckRequest {
    /// The schema id whose identities are checked.
    pub schema_id: String,
    /// The candidate JSON Schema.
    pub schema: Value,
    /// How many failing identities to describe (default 10, at most 100).
    #[serde(default)]
    pub max_samples: Option<usize>,
}

/// The answer.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct CheckReport {
    pub schema_id: String,
    /// Content hash of the checked schema (see `kratos_crds::content_hash`).
    pub content_hash: String,
    /// Identities stored under `schema_id`.
    pub checked: u64,
    /// How many of them fail the candidate schema.
    pub failed: u64,
    /// Some failing identities with their errors.
    pub samples: Vec<FailingIdentity>,
}

/// One identity that fails the candidate schema.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct FailingIdentity {
    pub identity_id: Uuid,
    pub errors: Vec<TraitError>,
}

/// One problem of an identity's traits.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct TraitError {
    /// JSON pointer of the value in the identity document, e.g. `#/traits/email`.
    pub pointer: String,
    /// JSON pointer of the failing keyword in the schema.
    pub schema_pointer: String,
    pub message: String,
}

async fn check(app: App, req: Request) -> Result<Response> {
    let body: CheckRequest = req.json()?;
    let report = run(&app, body).await?;
    Ok(response::ok(&report))
}

/// Compiles the candidate and checks every identity stored under its id.
pub async fn run(app: &App, request: CheckRequest) -> Result<CheckReport> {
    if request.schema_id.is_empty() {
        return Err(ApiError::bad_request()
            .with_reason("schema_id must not be empty")
            .into());
    }
    let raw = serde_json::to_vec(&request.schema)?;
    let candidate = IdentitySchema::compile(
        &request.schema_id,
        "check:candidate",
        false,
        raw,
        HashMap::new(),
    )
    .map_err(|reason| ApiError::bad_request().with_reason(reason))?;
    let max_samples = request
        .max_samples
        .unwrap_or(DEFAULT_SAMPLES)
        .min(MAX_SAMPLES);

    let mut report = CheckReport {
        schema_id: request.schema_id.clone(),
        content_hash: candidate.content_hash().to_owned(),
        checked: 0,
        failed: 0,
        samples: Vec::new(),
    };
    let mut filter = ListFilter {
        schema_id: Some(request.schema_id),
        limit: BATCH_SIZE,
        ..ListFilter::default()
    };
    loop {
        // One pooled connection per batch, so a long check does not pin one.
        let batch = {
            let mut c = app.db.conn().await?;
            repo::list(c.conn(), &filter, Expand::NOTHING).await?
        };
        let Some(last) = batch.last() else { break };
        filter.after = Some(last.id);
        let full = batch.len() == BATCH_SIZE;
        for identity in &batch {
            report.checked += 1;
            if let Err(errors) = candidate.validate_traits(&identity.traits) {
                report.failed += 1;
                if report.samples.len() < max_samples {
                    report.samples.push(FailingIdentity {
                        identity_id: identity.id,
                        errors: errors
                            .iter()
                            .map(|e| TraitError {
                                pointer: e.pointer.clone(),
                                schema_pointer: e.schema_pointer.clone(),
                                message: e.violation.describe(),
                            })
                            .collect(),
                    });
                }
            }
        }
        if !full {
            break;
        }
    }
    Ok(report)
}
