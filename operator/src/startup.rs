//! Checks at start: are the CRDs installed?

use kratos_crds::{IdentitySchema, KratosInstance};
use kube::api::ListParams;
use kube::{Client, CustomResourceExt};

use crate::controllers::Scope;
use crate::error::Error;

/// Fails with install instructions when a CRD is missing. Listing the resources (rather than
/// reading the CRD objects) needs no extra permission and works in namespaced mode.
pub async fn check_crds(client: &Client, scope: &Scope) -> Result<(), Error> {
    probe(
        scope.api::<IdentitySchema>(client.clone()),
        IdentitySchema::crd_name(),
    )
    .await?;
    probe(
        scope.api::<KratosInstance>(client.clone()),
        KratosInstance::crd_name(),
    )
    .await
}

async fn probe<K>(api: kube::Api<K>, crd: &str) -> Result<(), Error>
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    match api.list(&ListParams::default().limit(1)).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.code == 404 => Err(Error::CrdMissing {
            crd: crd.to_owned(),
        }),
        Err(error) => Err(error.into()),
    }
}
