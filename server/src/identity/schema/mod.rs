//! Identity schemas: loading (`file://`, `base64://`, `http(s)://`), compiling with the
//! `jsonschema` crate, checking the `ory.sh/kratos` extension, validating traits, and the
//! [`SchemaRegistry`] that holds the schemas in force and can be swapped atomically at run time
//! (from a reloaded config today, from the cluster's IdentitySchema objects later).

pub mod check;
pub mod cluster;
pub mod extension;
pub mod file_reload;
pub mod formats;
pub mod handler;
pub mod load;
mod traits;

use std::collections::HashMap;
use std::sync::Arc;

use arc_swap::ArcSwap;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::config::{Config, IdentitySchemaRef as SchemaSource};
use crate::error::{ApiError, Error, Result};

pub use extension::{ExtensionConfig, Via};
pub use load::Loader;
pub use traits::{CodeAddress, Extracted};

/// The id Kratos uses when none is configured.
pub const DEFAULT_SCHEMA_ID: &str = "default";

/// One compiled identity schema.
pub struct IdentitySchema {
    id: String,
    url: String,
    selfservice_selectable: bool,
    /// The document exactly as loaded; served by `GET /schemas/{id}`.
    raw: Arc<[u8]>,
    sha256: String,
    /// [`kratos_crds::content_hash`] of the document: independent of formatting, and what the
    /// operator reports for the same schema.
    content_hash: String,
    docs: extension::Documents,
    validator: jsonschema::Validator,
    field_order: Vec<String>,
}

impl std::fmt::Debug for IdentitySchema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdentitySchema")
            .field("id", &self.id)
            .field("url", &self.url)
            .field("sha256", &self.sha256)
            .finish_non_exhaustive()
    }
}

/// Serves prefetched external documents to the validator; it never does I/O itself.
struct Prefetched(HashMap<String, Value>);

impl jsonschema::Retrieve for Prefetched {
    fn retrieve(
        &self,
        uri: &jsonschema::Uri<String>,
    ) -> std::result::Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        let key = uri.as_str();
        let key = key.strip_suffix('#').unwrap_or(key);
        self.0
            .get(key)
            .cloned()
            .ok_or_else(|| format!("the referenced document {key} was not loaded").into())
    }
}

impl IdentitySchema {
    /// Loads the document at `url` (and the documents it references) and compiles it.
    pub async fn load(
        loader: &Loader,
        id: &str,
        url: &str,
        selfservice_selectable: bool,
    ) -> std::result::Result<IdentitySchema, String> {
        let raw = loader.read(url).await?;
        let document: Value = serde_json::from_slice(&raw)
            .map_err(|e| format!("the schema is not valid JSON: {e}"))?;
        let external = loader.external_documents(url.trim(), &document).await?;
        Self::compile(id, url, selfservice_selectable, raw, external)
    }

    /// Compiles an already loaded schema. `external` holds referenced documents by absolute URI.
    pub fn compile(
        id: &str,
        url: &str,
        selfservice_selectable: bool,
        raw: Vec<u8>,
        external: HashMap<String, Value>,
    ) -> std::result::Result<IdentitySchema, String> {
        let document: Value = serde_json::from_slice(&raw)
            .map_err(|e| format!("the schema is not valid JSON: {e}"))?;
        let root_uri = url.trim().to_string();

        let mut patterns = HashMap::new();
        collect_patterns(&document, &mut patterns)?;
        for doc in external.values() {
            collect_patterns(doc, &mut patterns)?;
        }

        // The validator resolves relative references against the root's `$id` when it has one;
        // register referenced documents under those names too.
        let mut by_uri = external.clone();
        if let Some(id_base) = document.get("$id").and_then(Value::as_str)
            && id_base.contains("://")
        {
            for reference in relative_refs(&document) {
                let fetched = extension::resolve_uri(&root_uri, &reference);
                if let Some(doc) = external.get(&fetched) {
                    by_uri.insert(extension::resolve_uri(id_base, &reference), doc.clone());
                }
            }
        }

        let mut options = jsonschema::options()
            .should_validate_formats(true)
            .with_format("email", formats::is_email)
            .with_format("tel", formats::is_phone)
            .with_format("no-validate", |_: &str| true)
            .with_retriever(Prefetched(by_uri));
        if document.get("$schema").is_none() {
            // Kratos's validator defaults to draft 7.
            options = options.with_draft(jsonschema::Draft::Draft7);
        }
        if root_uri.starts_with("http://")
            || root_uri.starts_with("https://")
            || root_uri.starts_with("file://")
        {
            options = options.with_base_uri(root_uri.clone());
        }
        let validator = options
            .build(&document)
            .map_err(|e| format!("the schema does not compile: {e}"))?;

        let docs = extension::Documents {
            root_uri,
            root: document,
            external,
            patterns,
        };
        docs.check()
            .map_err(|e| format!("invalid identity schema: {e}"))?;

        let field_order = traits::field_order(&raw);
        Ok(IdentitySchema {
            content_hash: kratos_crds::content_hash(&docs.root),
            id: id.to_string(),
            url: url.to_string(),
            selfservice_selectable,
            sha256: hex::encode(Sha256::digest(&raw)),
            raw: raw.into(),
            docs,
            validator,
            field_order,
        })
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// The location the schema was loaded from.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Whether self-service flows may choose this schema (`identity_schema` parameter).
    pub fn selfservice_selectable(&self) -> bool {
        self.selfservice_selectable
    }

    /// The schema document exactly as loaded.
    pub fn raw(&self) -> &[u8] {
        &self.raw
    }

    /// The parsed schema document.
    pub fn document(&self) -> &Value {
        &self.docs.root
    }

    /// Hex SHA-256 of [`IdentitySchema::raw`].
    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    /// `sha256:` and the hex SHA-256 of the canonical JSON of the document (see
    /// [`kratos_crds::content_hash`]).
    pub fn content_hash(&self) -> &str {
        &self.content_hash
    }

    /// Dotted paths of the leaf properties in schema order (`traits.email`, `traits.name.first`),
    /// the order in which Kratos lays out form fields.
    pub fn field_order(&self) -> &[String] {
        &self.field_order
    }

    /// Validates `traits` (JSON Schema plus the `ory.sh/kratos` extension) and extracts the
    /// credential identifiers and addresses the extension declares. Pointers in errors are
    /// relative to `{"traits": ...}` (e.g. `#/traits/email`), as in Kratos.
    pub fn validate_traits(
        &self,
        traits: &Value,
    ) -> std::result::Result<Extracted, crate::identity::validation::ValidationErrors> {
        traits::validate(&self.validator, &self.docs, traits)
    }
}

fn collect_patterns(
    value: &Value,
    out: &mut HashMap<String, regex::Regex>,
) -> std::result::Result<(), String> {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                if key == "patternProperties"
                    && let Value::Object(patterns) = v
                {
                    for pattern in patterns.keys() {
                        if !out.contains_key(pattern) {
                            let re = regex::Regex::new(pattern).map_err(|e| {
                                format!("patternProperties {pattern:?} is not a valid pattern: {e}")
                            })?;
                            out.insert(pattern.clone(), re);
                        }
                    }
                }
                if key != "enum" && key != "const" {
                    collect_patterns(v, out)?;
                }
            }
        }
        Value::Array(items) => {
            for v in items {
                collect_patterns(v, out)?;
            }
        }
        _ => {}
    }
    Ok(())
}

fn relative_refs(doc: &Value) -> Vec<String> {
    let mut out = Vec::new();
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(map) => {
                for (k, v) in map {
                    if k == "$ref"
                        && let Value::String(r) = v
                    {
                        let target = r.split('#').next().unwrap_or("");
                        if !target.is_empty() && !target.contains("://") {
                            out.push(target.to_string());
                        }
                    } else if k != "enum" && k != "const" {
                        walk(v, out);
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    walk(doc, &mut out);
    out
}

/// A loaded schema's id and content hash, as listed on the admin API.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SchemaDigest {
    pub id: String,
    pub url: String,
    /// Hex SHA-256 of the document's bytes as loaded.
    pub sha256: String,
    /// Formatting-independent hash, as the operator computes it (`sha256:<hex>`).
    pub content_hash: String,
}

/// An immutable set of schemas with its default.
#[derive(Debug, Clone, Default)]
pub struct SchemaSet {
    schemas: Vec<Arc<IdentitySchema>>,
    default_id: String,
}

impl SchemaSet {
    /// A set from compiled schemas; ids must be unique.
    pub fn new(
        schemas: Vec<IdentitySchema>,
        default_id: impl Into<String>,
    ) -> std::result::Result<SchemaSet, String> {
        let mut seen = std::collections::HashSet::new();
        for s in &schemas {
            if !seen.insert(s.id.clone()) {
                return Err(format!("the schema id {:?} is used twice", s.id));
            }
        }
        let default_id = default_id.into();
        Ok(SchemaSet {
            schemas: schemas.into_iter().map(Arc::new).collect(),
            default_id: if default_id.is_empty() {
                DEFAULT_SCHEMA_ID.into()
            } else {
                default_id
            },
        })
    }

    /// A set from already compiled (shared) schemas; ids must be unique.
    pub fn from_shared(
        schemas: Vec<Arc<IdentitySchema>>,
        default_id: impl Into<String>,
    ) -> std::result::Result<SchemaSet, String> {
        let mut seen = std::collections::HashSet::new();
        for s in &schemas {
            if !seen.insert(s.id.clone()) {
                return Err(format!("the schema id {:?} is used twice", s.id));
            }
        }
        let default_id = default_id.into();
        Ok(SchemaSet {
            schemas,
            default_id: if default_id.is_empty() {
                DEFAULT_SCHEMA_ID.into()
            } else {
                default_id
            },
        })
    }

    /// Loads every schema of `sources`. A schema that cannot be loaded or compiled is an error
    /// naming its id, its URL and the reason.
    pub async fn load(
        loader: &Loader,
        sources: &[SchemaSource],
        default_id: &str,
    ) -> Result<SchemaSet> {
        let mut schemas = Vec::with_capacity(sources.len());
        for source in sources {
            let schema = IdentitySchema::load(
                loader,
                &source.id,
                &source.url,
                source.selfservice_selectable,
            )
            .await
            .map_err(|reason| {
                Error::Config(format!(
                    "identity.schemas: schema {:?} ({}): {reason}",
                    source.id,
                    redact_url(&source.url)
                ))
            })?;
            schemas.push(schema);
        }
        SchemaSet::new(schemas, default_id)
            .map_err(|e| Error::Config(format!("identity.schemas: {e}")))
    }

    pub fn default_id(&self) -> &str {
        &self.default_id
    }

    pub fn schemas(&self) -> &[Arc<IdentitySchema>] {
        &self.schemas
    }

    pub fn len(&self) -> usize {
        self.schemas.len()
    }

    pub fn is_empty(&self) -> bool {
        self.schemas.is_empty()
    }

    /// Finds a schema by id or by the base64url form of its id (as in `schema_url`); the empty
    /// id means the default schema. Unknown ids are Kratos's 400 `Unable to find JSON Schema ID`.
    pub fn get(&self, id: &str) -> Result<Arc<IdentitySchema>> {
        let wanted = if id.is_empty() {
            self.default_id.as_str()
        } else {
            id
        };
        if let Some(s) = self.schemas.iter().find(|s| s.id == wanted) {
            return Ok(s.clone());
        }
        if let Some(decoded) = URL_SAFE_NO_PAD
            .decode(wanted)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            && let Some(s) = self.schemas.iter().find(|s| s.id == decoded)
        {
            return Ok(s.clone());
        }
        Err(ApiError::bad_request()
            .with_reason(format!("Unable to find JSON Schema ID: {wanted}"))
            .into())
    }

    pub fn digests(&self) -> Vec<SchemaDigest> {
        self.schemas
            .iter()
            .map(|s| SchemaDigest {
                id: s.id.clone(),
                url: redact_url(&s.url),
                sha256: s.sha256.clone(),
                content_hash: s.content_hash.clone(),
            })
            .collect()
    }
}

/// Long `base64://` URLs are shortened in messages and listings.
fn redact_url(url: &str) -> String {
    match url.strip_prefix("base64://") {
        Some(rest) if rest.len() > 24 => format!("base64://{}…", &rest[..16]),
        _ => url.to_string(),
    }
}

/// The schemas in force. Readers get a consistent snapshot; writers replace the whole set at once,
/// so a request never sees half an update.
pub struct SchemaRegistry {
    current: ArcSwap<SchemaSet>,
    loader: Loader,
    /// State of the cluster watch, when the server serves IdentitySchemas from Kubernetes.
    cluster: std::sync::Mutex<Option<cluster::ClusterStatus>>,
}

impl SchemaRegistry {
    pub fn new(set: SchemaSet) -> Self {
        SchemaRegistry {
            current: ArcSwap::from_pointee(set),
            loader: Loader::new(),
            cluster: std::sync::Mutex::new(None),
        }
    }

    /// Loads the schemas configured in `identity.schemas`.
    pub async fn from_config(cfg: &Config) -> Result<Self> {
        let loader = Loader::new();
        let set = SchemaSet::load(
            &loader,
            &cfg.identity.schemas,
            &cfg.identity.default_schema_id,
        )
        .await?;
        Ok(SchemaRegistry {
            current: ArcSwap::from_pointee(set),
            loader,
            cluster: std::sync::Mutex::new(None),
        })
    }

    /// The set in force now. Hold it for the duration of one operation.
    pub fn current(&self) -> Arc<SchemaSet> {
        self.current.load_full()
    }

    /// Shorthand for `current().get(id)`.
    pub fn get(&self, id: &str) -> Result<Arc<IdentitySchema>> {
        self.current().get(id)
    }

    /// Atomically replaces the set in force; returns the previous one.
    pub fn replace(&self, set: SchemaSet) -> Arc<SchemaSet> {
        let digests = set.digests();
        let previous = self.current.swap(Arc::new(set));
        tracing::info!(schemas = ?digests, "identity schemas replaced");
        previous
    }

    /// Reloads from (a new revision of) the configuration. On error the current set stays in force.
    pub async fn reload(&self, cfg: &Config) -> Result<()> {
        let set = SchemaSet::load(
            &self.loader,
            &cfg.identity.schemas,
            &cfg.identity.default_schema_id,
        )
        .await?;
        self.replace(set);
        Ok(())
    }

    /// Ids, URLs and content hashes of the schemas in force.
    pub fn digests(&self) -> Vec<SchemaDigest> {
        self.current().digests()
    }

    pub fn loader(&self) -> &Loader {
        &self.loader
    }

    /// The cluster watch's state, if the server watches IdentitySchemas.
    pub fn cluster_status(&self) -> Option<cluster::ClusterStatus> {
        self.cluster
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Updates the cluster watch's state.
    pub fn update_cluster_status(&self, update: impl FnOnce(&mut cluster::ClusterStatus)) {
        let mut guard = self
            .cluster
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        update(guard.get_or_insert_with(Default::default));
    }
}

/// The URL where a schema can be fetched: `{public base}/schemas/{base64url(id)}`, as Kratos puts
/// in an identity's `schema_url`.
pub fn schema_url(public_base: &url::Url, schema_id: &str) -> String {
    let base = public_base.as_str().trim_end_matches('/');
    format!("{base}/schemas/{}", URL_SAFE_NO_PAD.encode(schema_id))
}
