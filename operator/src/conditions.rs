//! Building `metav1.Condition` lists: `lastTransitionTime` moves only when a status changes.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use k8s_openapi::jiff::Timestamp;

/// A condition as the reconciler wants it now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Desired {
    pub type_: &'static str,
    pub status: bool,
    pub reason: &'static str,
    pub message: String,
}

impl Desired {
    pub fn new(
        type_: &'static str,
        status: bool,
        reason: &'static str,
        message: impl Into<String>,
    ) -> Self {
        Self {
            type_,
            status,
            reason,
            message: message.into(),
        }
    }
}

/// The new condition list, keeping each condition's transition time unless its status changed.
pub fn build(
    previous: &[Condition],
    desired: &[Desired],
    generation: Option<i64>,
    now: Timestamp,
) -> Vec<Condition> {
    desired
        .iter()
        .map(|want| {
            let status = if want.status { "True" } else { "False" };
            let last_transition_time = previous
                .iter()
                .find(|old| old.type_ == want.type_ && old.status == status)
                .map_or(Time(now), |old| old.last_transition_time.clone());
            Condition {
                type_: want.type_.to_owned(),
                status: status.to_owned(),
                reason: want.reason.to_owned(),
                message: want.message.clone(),
                observed_generation: generation,
                last_transition_time,
            }
        })
        .collect()
}

/// The condition of `type_` in `conditions`.
pub fn find<'a>(conditions: &'a [Condition], type_: &str) -> Option<&'a Condition> {
    conditions.iter().find(|condition| condition.type_ == type_)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_second(seconds).unwrap()
    }

    #[test]
    fn transition_time_moves_only_with_the_status() {
        let first = build(
            &[],
            &[Desired::new("Ready", false, "Migrating", "m")],
            Some(1),
            at(100),
        );
        assert_eq!(first[0].last_transition_time, Time(at(100)));
        assert_eq!(first[0].status, "False");
        assert_eq!(first[0].observed_generation, Some(1));

        // Same status, other reason and message: the transition time stays.
        let second = build(
            &first,
            &[Desired::new("Ready", false, "RollingOut", "r")],
            Some(2),
            at(200),
        );
        assert_eq!(second[0].last_transition_time, Time(at(100)));
        assert_eq!(second[0].reason, "RollingOut");
        assert_eq!(second[0].observed_generation, Some(2));

        // Status flips: the transition time moves.
        let third = build(
            &second,
            &[Desired::new("Ready", true, "AllReplicasReady", "")],
            Some(2),
            at(300),
        );
        assert_eq!(third[0].last_transition_time, Time(at(300)));
        assert_eq!(third[0].status, "True");
        assert_eq!(
            find(&third, "Ready").map(|c| c.reason.as_str()),
            Some("AllReplicasReady")
        );
        assert!(find(&third, "Degraded").is_none());
    }
}
