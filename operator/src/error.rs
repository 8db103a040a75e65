//! The operator's error type.

use crate::render::RenderError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("Kubernetes API request failed: {0}")]
    Kube(#[from] kube::Error),

    #[error(transparent)]
    Render(#[from] RenderError),

    #[error("cannot load a Kubernetes client configuration: {0}")]
    ClientConfig(String),

    #[error(
        "the CustomResourceDefinition {crd} is not installed. Install the CRDs with \
         `kubectl apply --server-side -f crds/` (from a kratos-rs checkout) or with the Helm chart \
         (`helm install kratos-operator charts/kratos-operator --set crds.install=true`), then \
         restart the operator"
    )]
    CrdMissing { crd: String },

    #[error("leader election failed: {0}")]
    LeaderElection(String),

    #[error("lost the leader lease; exiting so that another replica takes over")]
    LeadershipLost,

    #[error("cannot serve metrics and health endpoints: {0}")]
    Http(#[from] std::io::Error),
}

impl Error {
    /// A short, bounded label for the failures metric.
    pub fn metric_reason(&self) -> &'static str {
        match self {
            Self::Kube(kube::Error::Api(status)) if status.code == 409 => "Conflict",
            Self::Kube(kube::Error::Api(_)) => "ApiError",
            Self::Kube(_) => "ClientError",
            Self::Render(_) => "RenderError",
            Self::ClientConfig(_) => "ClientConfig",
            Self::CrdMissing { .. } => "CrdMissing",
            Self::LeaderElection(_) | Self::LeadershipLost => "LeaderElection",
            Self::Http(_) => "Http",
        }
    }
}
