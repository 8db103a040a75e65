//! Command line and environment configuration.

use std::net::SocketAddr;

use clap::{Parser, ValueEnum};

/// The kratos-rs operator: reconciles IdentitySchemas and KratosInstances.
#[derive(Debug, Clone, Parser)]
#[command(version, about)]
pub struct Config {
    /// Watch only this namespace (default: all namespaces).
    #[arg(long, env = "WATCH_NAMESPACE")]
    pub namespace: Option<String>,

    /// Address of the /metrics, /healthz and /readyz endpoints.
    #[arg(long, env = "METRICS_ADDRESS", default_value = "0.0.0.0:8080")]
    pub metrics_address: SocketAddr,

    /// Log format.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Json)]
    pub log_format: LogFormat,

    /// Run only while holding a Lease, so several replicas can run for availability.
    #[arg(long, env = "LEADER_ELECTION", default_value_t = false)]
    pub leader_election: bool,

    /// Namespace of the Lease (default: the pod's namespace, POD_NAMESPACE).
    #[arg(long, env = "LEADER_ELECTION_NAMESPACE")]
    pub leader_election_namespace: Option<String>,

    /// Name of the Lease.
    #[arg(long, env = "LEADER_ELECTION_LEASE", default_value = "kratos-operator")]
    pub leader_election_lease: String,

    /// Identity of this replica in the Lease and in events (default: POD_NAME or the hostname).
    #[arg(long, env = "POD_NAME")]
    pub identity: Option<String>,

    /// The operator's own namespace, used for the Lease when no other is given.
    #[arg(long, env = "POD_NAMESPACE")]
    pub pod_namespace: Option<String>,

    /// Base URL of the instances' admin APIs, for the schema compatibility check and the served
    /// schema report; `{instance}` and `{namespace}` are replaced. Default: the in-cluster admin
    /// Service (`http://<instance>-admin.<namespace>.svc:<port>`). Set it when the operator runs
    /// outside the cluster.
    #[arg(long, env = "KRATOS_SERVER_ADMIN_URL")]
    pub server_admin_url: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Json,
    Text,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_flags() {
        let config = Config::try_parse_from(["kratos-operator"]).unwrap();
        assert_eq!(config.log_format, LogFormat::Json);
        assert!(!config.leader_election);
        assert_eq!(config.metrics_address.port(), 8080);

        let config = Config::try_parse_from([
            "kratos-operator",
            "--namespace",
            "identity",
            "--leader-election",
            "--log-format",
            "text",
            "--metrics-address",
            "127.0.0.1:9090",
        ])
        .unwrap();
        assert_eq!(config.namespace.as_deref(), Some("identity"));
        assert!(config.leader_election);
        assert_eq!(config.log_format, LogFormat::Text);
        assert_eq!(config.metrics_address.to_string(), "127.0.0.1:9090");
    }
}
