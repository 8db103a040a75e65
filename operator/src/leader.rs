//! Optional leader election on a coordination.k8s.io Lease, so several operator replicas can run
//! with one of them reconciling.

use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::Client;
use kube::api::{Api, PostParams};
use tokio::sync::watch;

use crate::error::Error;

/// How long a lease is valid without renewal.
const LEASE_DURATION: Duration = Duration::from_secs(15);
/// How often the holder renews, and how often candidates retry.
const RENEW_INTERVAL: Duration = Duration::from_secs(5);
/// The holder gives up (and exits) when it could not renew for this long.
const RENEW_DEADLINE: Duration = Duration::from_secs(10);

pub struct LeaderElection {
    api: Api<Lease>,
    name: String,
    identity: String,
}

impl LeaderElection {
    pub fn new(client: Client, namespace: &str, name: &str, identity: &str) -> Self {
        Self {
            api: Api::namespaced(client, namespace),
            name: name.to_owned(),
            identity: identity.to_owned(),
        }
    }

    /// Waits until this replica holds the lease; `false` if shutdown came first.
    pub async fn acquire(&self, shutdown: &mut watch::Receiver<bool>) -> Result<bool, Error> {
        loop {
            match self.try_acquire_or_renew().await {
                Ok(true) => {
                    tracing::info!(lease = %self.name, identity = %self.identity, "acquired the leader lease");
                    return Ok(true);
                }
                Ok(false) => tracing::debug!(lease = %self.name, "another replica leads; waiting"),
                Err(error) => tracing::warn!(%error, "leader election attempt failed"),
            }
            tokio::select! {
                () = tokio::time::sleep(RENEW_INTERVAL) => {}
                _ = shutdown.wait_for(|stop| *stop) => return Ok(false),
            }
        }
    }

    /// Keeps renewing the lease until shutdown (then releases it) or until it is lost.
    pub async fn hold(&self, shutdown: &mut watch::Receiver<bool>) -> Result<(), Error> {
        let mut last_renewal = tokio::time::Instant::now();
        loop {
            tokio::select! {
                () = tokio::time::sleep(RENEW_INTERVAL) => {}
                _ = shutdown.wait_for(|stop| *stop) => {
                    self.release().await;
                    return Ok(());
                }
            }
            match self.try_acquire_or_renew().await {
                Ok(true) => last_renewal = tokio::time::Instant::now(),
                Ok(false) => return Err(Error::LeadershipLost),
                Err(error) => {
                    tracing::warn!(%error, "cannot renew the leader lease");
                    if last_renewal.elapsed() > RENEW_DEADLINE {
                        return Err(Error::LeadershipLost);
                    }
                }
            }
        }
    }

    /// Takes the lease if it is free, expired or already ours; `false` if someone else holds it.
    async fn try_acquire_or_renew(&self) -> Result<bool, Error> {
        let now = Timestamp::now();
        let Some(mut lease) = self.api.get_opt(&self.name).await? else {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(self.name.clone()),
                    ..ObjectMeta::default()
                },
                spec: Some(self.spec(now, now, 0)),
            };
            return match self.api.create(&PostParams::default(), &lease).await {
                Ok(_) => Ok(true),
                Err(kube::Error::Api(status)) if status.code == 409 => Ok(false),
                Err(error) => Err(error.into()),
            };
        };
        let current = lease.spec.clone().unwrap_or_default();
        let ours = current.holder_identity.as_deref() == Some(self.identity.as_str());
        if !ours && !is_free(&current, now) {
            return Ok(false);
        }
        let transitions = current.lease_transitions.unwrap_or(0);
        lease.spec = Some(if ours {
            let acquired = current.acquire_time.map_or(now, |time| time.0);
            self.spec(acquired, now, transitions)
        } else {
            self.spec(now, now, transitions + 1)
        });
        // The resourceVersion in `lease` makes this a compare-and-swap.
        match self
            .api
            .replace(&self.name, &PostParams::default(), &lease)
            .await
        {
            Ok(_) => Ok(true),
            Err(kube::Error::Api(status)) if status.code == 409 => Ok(false),
            Err(error) => Err(error.into()),
        }
    }

    fn spec(&self, acquired: Timestamp, renewed: Timestamp, transitions: i32) -> LeaseSpec {
        LeaseSpec {
            holder_identity: Some(self.identity.clone()),
            lease_duration_seconds: Some(LEASE_DURATION.as_secs() as i32),
            acquire_time: Some(MicroTime(acquired)),
            renew_time: Some(MicroTime(renewed)),
            lease_transitions: Some(transitions),
            ..LeaseSpec::default()
        }
    }

    /// Hands the lease over at once instead of letting it expire.
    async fn release(&self) {
        let Ok(Some(mut lease)) = self.api.get_opt(&self.name).await else {
            return;
        };
        let Some(spec) = lease.spec.as_mut() else {
            return;
        };
        if spec.holder_identity.as_deref() != Some(self.identity.as_str()) {
            return;
        }
        spec.holder_identity = None;
        spec.lease_duration_seconds = Some(1);
        match self
            .api
            .replace(&self.name, &PostParams::default(), &lease)
            .await
        {
            Ok(_) => tracing::info!(lease = %self.name, "released the leader lease"),
            Err(error) => tracing::warn!(%error, "cannot release the leader lease"),
        }
    }
}

/// A lease without holder, or whose holder has not renewed it in time.
fn is_free(spec: &LeaseSpec, now: Timestamp) -> bool {
    if spec.holder_identity.as_deref().is_none_or(str::is_empty) {
        return true;
    }
    let duration = SignedDuration::from_secs(i64::from(spec.lease_duration_seconds.unwrap_or(0)));
    spec.renew_time.as_ref().is_none_or(|renewed| {
        renewed
            .0
            .checked_add(duration)
            .is_ok_and(|expiry| expiry <= now)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(holder: Option<&str>, renewed: i64, duration: i32) -> LeaseSpec {
        LeaseSpec {
            holder_identity: holder.map(str::to_owned),
            renew_time: Some(MicroTime(Timestamp::from_second(renewed).unwrap())),
            lease_duration_seconds: Some(duration),
            ..LeaseSpec::default()
        }
    }

    #[test]
    fn a_lease_is_free_without_holder_or_after_expiry() {
        let now = Timestamp::from_second(1_000).unwrap();
        assert!(is_free(&spec(None, 999, 15), now));
        assert!(is_free(&spec(Some(""), 999, 15), now));
        assert!(!is_free(&spec(Some("other"), 990, 15), now));
        assert!(is_free(&spec(Some("other"), 985, 15), now));
        assert!(is_free(
            &LeaseSpec {
                holder_identity: Some("other".into()),
                ..LeaseSpec::default()
            },
            now
        ));
    }
}
