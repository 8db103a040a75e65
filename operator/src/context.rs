//! State shared by the reconcilers.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kube::Client;

use crate::events::Events;
use crate::metrics::Metrics;

/// What every reconcile gets.
pub struct Context {
    pub client: Client,
    pub events: Events,
    pub metrics: Arc<Metrics>,
    pub backoff: ErrorBackoff,
    /// Talks to the instances' admin APIs.
    pub servers: crate::servers::ServerClient,
}

/// Per-object exponential back-off after failed reconciles: 1 s, 2 s, 4 s, ... up to 5 minutes,
/// reset by the next success.
#[derive(Default)]
pub struct ErrorBackoff {
    failures: Mutex<HashMap<String, u32>>,
}

const MAX_BACKOFF: Duration = Duration::from_secs(300);

impl ErrorBackoff {
    /// Records a failure of `key` and returns how long to wait before retrying it.
    pub fn next_delay(&self, key: &str) -> Duration {
        let mut failures = self
            .failures
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let count = failures.entry(key.to_owned()).or_insert(0);
        let delay = Duration::from_secs(1u64 << (*count).min(9));
        *count = count.saturating_add(1);
        delay.min(MAX_BACKOFF)
    }

    /// Forgets the failures of `key` after a successful reconcile.
    pub fn reset(&self, key: &str) {
        let mut failures = self
            .failures
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        failures.remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_exponentially_up_to_a_cap_and_reset() {
        let backoff = ErrorBackoff::default();
        let delays: Vec<u64> = (0..11)
            .map(|_| backoff.next_delay("ns/a").as_secs())
            .collect();
        assert_eq!(delays, [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]);
        assert_eq!(backoff.next_delay("ns/b").as_secs(), 1);
        backoff.reset("ns/a");
        assert_eq!(backoff.next_delay("ns/a").as_secs(), 1);
    }
}
