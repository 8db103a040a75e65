//! Calls to the instances' admin APIs: the schema compatibility check
//! (`POST /admin/x/schemas/check`) and the list of schemas in force (`GET /admin/x/schemas`).

use std::time::Duration;

use kratos_crds::KratosInstance;
use kube::ResourceExt;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::render::services;

/// A check streams through every identity of a schema id; allow it time on large databases.
const CHECK_TIMEOUT: Duration = Duration::from_secs(120);
/// The schema listing is small.
const STATUS_TIMEOUT: Duration = Duration::from_secs(5);

/// Failing identities described per check.
const SAMPLES: usize = 5;

/// HTTP client for the instances' admin APIs.
#[derive(Clone)]
pub struct ServerClient {
    http: reqwest::Client,
    url_template: Option<String>,
}

/// What `POST /admin/x/schemas/check` answers.
#[derive(Debug, Clone, Deserialize)]
pub struct CheckReport {
    pub content_hash: String,
    pub checked: i64,
    pub failed: i64,
    #[serde(default)]
    pub samples: Vec<FailingIdentity>,
}

/// One identity the checked schema would invalidate.
#[derive(Debug, Clone, Deserialize)]
pub struct FailingIdentity {
    pub identity_id: String,
    pub errors: Vec<TraitError>,
}

/// One problem of an identity's traits.
#[derive(Debug, Clone, Deserialize)]
pub struct TraitError {
    pub pointer: String,
    pub message: String,
}

#[derive(Deserialize)]
struct Listing {
    schemas: Vec<Served>,
}

#[derive(Deserialize)]
struct Served {
    id: String,
    content_hash: String,
}

/// Why a server could not answer.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("cannot reach {url}: {error}")]
    Unreachable { url: String, error: String },
    #[error("{url} answered {status}: {body}")]
    Refused {
        url: String,
        status: u16,
        body: String,
    },
}

impl ServerClient {
    pub fn new(url_template: Option<String>) -> Self {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(3))
            .build()
            .unwrap_or_else(|_| reqwest::Client::new());
        ServerClient { http, url_template }
    }

    /// Base URL of the instance's admin API.
    pub fn admin_url(&self, instance: &KratosInstance) -> Option<String> {
        let namespace = instance.namespace().unwrap_or_default();
        match &self.url_template {
            Some(template) => Some(
                template
                    .replace("{instance}", &instance.name_any())
                    .replace("{namespace}", &namespace)
                    .trim_end_matches('/')
                    .to_owned(),
            ),
            None => services::endpoints(instance).ok().map(|e| e.admin),
        }
    }

    /// Checks `schema` against the identities the instance stores under `schema_id`.
    pub async fn check(
        &self,
        instance: &KratosInstance,
        schema_id: &str,
        schema: &Value,
    ) -> Result<CheckReport, ServerError> {
        let base = self.admin_url(instance).unwrap_or_default();
        let url = format!("{base}/admin/x/schemas/check");
        let body = json!({"schema_id": schema_id, "schema": schema, "max_samples": SAMPLES});
        let response = self
            .http
            .post(&url)
            .timeout(CHECK_TIMEOUT)
            .json(&body)
            .send()
            .await
            .map_err(|error| ServerError::Unreachable {
                url: url.clone(),
                error: error.to_string(),
            })?;
        let status = response.status().as_u16();
        if status != 200 {
            let body = response.text().await.unwrap_or_default();
            return Err(ServerError::Refused { url, status, body });
        }
        response
            .json()
            .await
            .map_err(|error| ServerError::Unreachable {
                url,
                error: error.to_string(),
            })
    }

    /// The content hash the instance's servers serve for `schema_id` (one replica answers).
    pub async fn served_hash(
        &self,
        instance: &KratosInstance,
        schema_id: &str,
    ) -> Result<Option<String>, ServerError> {
        let base = self.admin_url(instance).unwrap_or_default();
        let url = format!("{base}/admin/x/schemas");
        let response = self
            .http
            .get(&url)
            .timeout(STATUS_TIMEOUT)
            .send()
            .await
            .map_err(|error| ServerError::Unreachable {
                url: url.clone(),
                error: error.to_string(),
            })?;
        let status = response.status().as_u16();
        if status != 200 {
            let body = response.text().await.unwrap_or_default();
            return Err(ServerError::Refused { url, status, body });
        }
        let listing: Listing = response
            .json()
            .await
            .map_err(|error| ServerError::Unreachable {
                url,
                error: error.to_string(),
            })?;
        Ok(listing
            .schemas
            .into_iter()
            .find(|schema| schema.id == schema_id)
            .map(|schema| schema.content_hash))
    }
}
