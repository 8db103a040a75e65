//! When the database is migrated: before the pods run an image whose migrations were not applied.
//!
//! The image of the running server Deployment is, by construction, an image whose migrations
//! succeeded (the operator only ever moves the Deployment to such an image). So the state needs
//! no bookkeeping of its own: compare the desired image with the deployed one, and look at the
//! Job named after the desired image.

use k8s_openapi::api::batch::v1::Job;
use kratos_crds::kratos_instance::{MigrationState, MigrationStatus};

/// What to run and whether to start a migration.
#[derive(Debug, PartialEq, Eq)]
pub struct MigrationPlan {
    /// The image server and courier pods run now; `None` while the first migration runs, when
    /// no pod should start yet.
    pub run_image: Option<String>,
    /// Whether to create the migration Job for the desired image.
    pub create_job: bool,
    pub status: MigrationStatus,
}

/// Decides from the desired image, the deployed image and the desired image's Job (if any).
pub fn plan(
    enabled: bool,
    desired_image: &str,
    deployed_image: Option<&str>,
    job_name: &str,
    job: Option<&Job>,
) -> MigrationPlan {
    let status = |state, job_name: Option<&str>, message: Option<String>| MigrationStatus {
        state,
        image: desired_image.to_owned(),
        job_name: job_name.map(str::to_owned),
        message,
    };
    if !enabled {
        return MigrationPlan {
            run_image: Some(desired_image.to_owned()),
            create_job: false,
            status: status(MigrationState::Disabled, None, None),
        };
    }
    if deployed_image == Some(desired_image) {
        return MigrationPlan {
            run_image: Some(desired_image.to_owned()),
            create_job: false,
            status: status(MigrationState::Succeeded, job.map(|_| job_name), None),
        };
    }
    let keep_running = deployed_image.map(str::to_owned);
    match job.map(outcome) {
        None => MigrationPlan {
            run_image: keep_running,
            create_job: true,
            status: status(MigrationState::Running, Some(job_name), None),
        },
        Some(JobOutcome::Running) => MigrationPlan {
            run_image: keep_running,
            create_job: false,
            status: status(MigrationState::Running, Some(job_name), None),
        },
        Some(JobOutcome::Succeeded) => MigrationPlan {
            run_image: Some(desired_image.to_owned()),
            create_job: false,
            status: status(MigrationState::Succeeded, Some(job_name), None),
        },
        Some(JobOutcome::Failed(message)) => MigrationPlan {
            run_image: keep_running,
            create_job: false,
            status: status(MigrationState::Failed, Some(job_name), Some(message)),
        },
    }
}

#[derive(Debug, PartialEq, Eq)]
enum JobOutcome {
    Running,
    Succeeded,
    Failed(String),
}

fn outcome(job: &Job) -> JobOutcome {
    let Some(status) = &job.status else {
        return JobOutcome::Running;
    };
    let conditions = status.conditions.as_deref().unwrap_or_default();
    let holds = |type_: &str| {
        conditions
            .iter()
            .find(|condition| condition.type_ == type_ && condition.status == "True")
    };
    if let Some(failed) = holds("Failed") {
        let detail = failed.message.clone().or_else(|| failed.reason.clone());
        return JobOutcome::Failed(detail.unwrap_or_else(|| "the migration Job failed".to_owned()));
    }
    if holds("Complete").is_some() || status.succeeded.unwrap_or(0) > 0 {
        return JobOutcome::Succeeded;
    }
    JobOutcome::Running
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::batch::v1::{JobCondition, JobStatus};

    fn job(condition: Option<(&str, &str)>, succeeded: i32) -> Job {
        Job {
            status: Some(JobStatus {
                succeeded: Some(succeeded),
                conditions: condition.map(|(type_, message)| {
                    vec![JobCondition {
                        type_: type_.to_owned(),
                        status: "True".to_owned(),
                        message: Some(message.to_owned()),
                        ..JobCondition::default()
                    }]
                }),
                ..JobStatus::default()
            }),
            ..Job::default()
        }
    }

    #[test]
    fn first_start_waits_for_the_migration() {
        let plan = plan(true, "k:2", None, "shop-migrate-1", None);
        assert_eq!(plan.run_image, None);
        assert!(plan.create_job);
        assert_eq!(plan.status.state, MigrationState::Running);
        assert_eq!(plan.status.job_name.as_deref(), Some("shop-migrate-1"));
    }

    #[test]
    fn an_upgrade_keeps_the_old_image_until_the_job_succeeds() {
        let running = plan(true, "k:2", Some("k:1"), "j", Some(&job(None, 0)));
        assert_eq!(running.run_image.as_deref(), Some("k:1"));
        assert!(!running.create_job);
        assert_eq!(running.status.state, MigrationState::Running);

        let done = plan(
            true,
            "k:2",
            Some("k:1"),
            "j",
            Some(&job(Some(("Complete", "")), 1)),
        );
        assert_eq!(done.run_image.as_deref(), Some("k:2"));
        assert_eq!(done.status.state, MigrationState::Succeeded);
    }

    #[test]
    fn a_failed_migration_holds_the_rollout() {
        let failed = plan(
            true,
            "k:2",
            Some("k:1"),
            "j",
            Some(&job(
                Some(("Failed", "Job has reached the specified backoff limit")),
                0,
            )),
        );
        assert_eq!(failed.run_image.as_deref(), Some("k:1"));
        assert!(!failed.create_job);
        assert_eq!(failed.status.state, MigrationState::Failed);
        assert_eq!(
            failed.status.message.as_deref(),
            Some("Job has reached the specified backoff limit")
        );
    }

    #[test]
    fn a_deployed_image_needs_nothing() {
        let plan = plan(true, "k:2", Some("k:2"), "j", None);
        assert_eq!(plan.run_image.as_deref(), Some("k:2"));
        assert!(!plan.create_job);
        assert_eq!(plan.status.state, MigrationState::Succeeded);
    }

    #[test]
    fn disabled_migrations_deploy_directly() {
        let plan = plan(false, "k:2", Some("k:1"), "j", None);
        assert_eq!(plan.run_image.as_deref(), Some("k:2"));
        assert!(!plan.create_job);
        assert_eq!(plan.status.state, MigrationState::Disabled);
    }
}
