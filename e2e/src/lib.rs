//! End-to-end suite and benchmarks.
//!
//! This library holds the harness of the operator tests (`tests/operator.rs`), which run against a
//! real Kubernetes API server through `e2e/run.sh`: the cluster from `KUBECONFIG`, `kubectl` and
//! `helm` from `PATH`, and the operator binary from `KRATOS_OPERATOR_BIN`. Nothing here is
//! optional: without a cluster every test fails with a message saying what is missing.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use kube::Client;

/// How long to wait for the operator to react before a test fails.
pub const TIMEOUT: Duration = Duration::from_secs(60);

/// Namespace and release name of the chart installed by the suite.
pub const RELEASE_NAMESPACE: &str = "kratos-system";
pub const RELEASE: &str = "kratos-operator";

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A client for the cluster in `KUBECONFIG`; panics with instructions when there is none.
pub async fn client() -> Client {
    if std::env::var_os("KUBECONFIG").is_none() {
        panic!(
            "KUBECONFIG is not set: run the operator end-to-end tests with e2e/run.sh, which \
             starts a local API server (or uses the cluster KUBECONFIG points to)"
        );
    }
    let client = Client::try_default().await.unwrap_or_else(|error| {
        panic!("cannot build a Kubernetes client from KUBECONFIG: {error}")
    });
    client.apiserver_version().await.unwrap_or_else(|error| {
        panic!("the Kubernetes API server in KUBECONFIG is unreachable: {error}")
    });
    client
}

/// The output of a command that must succeed.
pub fn run(program: &str, args: &[&str]) -> String {
    let output = command_output(program, args);
    assert!(
        output.status.success(),
        "`{program} {}` failed ({}):\n{}{}",
        args.join(" "),
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The combined output of a command that must fail.
pub fn run_failing(program: &str, args: &[&str]) -> String {
    let output = command_output(program, args);
    assert!(
        !output.status.success(),
        "`{program} {}` unexpectedly succeeded:\n{}",
        args.join(" "),
        String::from_utf8_lossy(&output.stdout)
    );
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn command_output(program: &str, args: &[&str]) -> std::process::Output {
    Command::new(program)
        .args(args)
        .current_dir(repo_root())
        .output()
        .unwrap_or_else(|error| panic!("cannot run {program} (is it on PATH?): {error}"))
}

/// `kubectl` with the given arguments; must succeed.
pub fn kubectl(args: &[&str]) -> String {
    run("kubectl", args)
}

/// Applies example files (paths relative to the repository root) in `namespace` with `kubectl apply`.
///
/// Secrets written with `stringData` are turned into `data` first, which is what a real API server
/// does on write; the local test API server stores `stringData` as given, and the operator (like
/// every client of a real cluster) reads `data` only.
pub fn apply_files(namespace: &str, files: &[&str]) {
    let mut items = Vec::new();
    for file in files {
        let path = repo_root().join(file);
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
        let documents = serde_saphyr::from_multiple::<serde_json::Value>(&text)
            .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
        items.extend(
            documents
                .into_iter()
                .filter(|document| !document.is_null())
                .map(string_data_to_data),
        );
    }
    let list = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": items});
    let manifest =
        std::env::temp_dir().join(format!("kratos-e2e-{namespace}-{}.json", free_port()));
    std::fs::write(&manifest, list.to_string())
        .unwrap_or_else(|error| panic!("cannot write {}: {error}", manifest.display()));
    kubectl(&["apply", "-n", namespace, "-f", &manifest.to_string_lossy()]);
    let _ = std::fs::remove_file(manifest);
}

fn string_data_to_data(mut document: serde_json::Value) -> serde_json::Value {
    if document["kind"] != "Secret" {
        return document;
    }
    let Some(string_data) = document
        .as_object_mut()
        .and_then(|secret| secret.remove("stringData"))
    else {
        return document;
    };
    if let Some(entries) = string_data.as_object() {
        for (key, value) in entries {
            document["data"][key] =
                serde_json::Value::String(base64(value.as_str().unwrap_or_default()));
        }
    }
    document
}

/// Base64 of `value`, as Secret `data` carries it.
pub fn base64(value: &str) -> String {
    serde_json::to_value(k8s_openapi::ByteString(value.as_bytes().to_vec()))
        .ok()
        .and_then(|encoded| encoded.as_str().map(str::to_owned))
        .unwrap_or_else(|| panic!("cannot base64-encode a Secret value"))
}

/// What the suite's one-time setup found and did.
#[derive(Debug, Clone)]
pub struct Setup {
    /// Output of the operator started before the CRDs were installed, if the cluster had none.
    pub operator_without_crds: Option<OperatorExit>,
}

/// How an operator process ended.
#[derive(Debug, Clone)]
pub struct OperatorExit {
    pub success: bool,
    pub output: String,
}

static SETUP: OnceLock<Setup> = OnceLock::new();

/// Installs the chart (CRDs included) once per test run. On a cluster without the CRDs it first
/// runs the operator to record how it reports their absence.
pub fn setup() -> &'static Setup {
    SETUP.get_or_init(|| {
        let crds_present = command_output(
            "kubectl",
            &[
                "get",
                "crd",
                "identityschemas.kratos.rs",
                "kratosinstances.kratos.rs",
            ],
        )
        .status
        .success();
        let operator_without_crds = (!crds_present).then(|| {
            let output = Command::new(operator_binary())
                .args(["--metrics-address", &format!("127.0.0.1:{}", free_port())])
                .output()
                .unwrap_or_else(|error| panic!("cannot run the operator: {error}"));
            OperatorExit {
                success: output.status.success(),
                output: format!(
                    "{}{}",
                    String::from_utf8_lossy(&output.stdout),
                    String::from_utf8_lossy(&output.stderr)
                ),
            }
        });
        let chart = repo_root().join("charts/kratos-operator");
        let chart = chart.to_string_lossy();
        run(
            "helm",
            &[
                "upgrade",
                "--install",
                RELEASE,
                &chart,
                "--namespace",
                RELEASE_NAMESPACE,
                "--create-namespace",
                "--set",
                "crds.install=true",
            ],
        );
        kubectl(&[
            "wait",
            "--for=condition=Established",
            "--timeout=60s",
            "crd/identityschemas.kratos.rs",
            "crd/kratosinstances.kratos.rs",
        ]);
        Setup {
            operator_without_crds,
        }
    })
}

/// Path of the operator binary built by run.sh.
pub fn operator_binary() -> PathBuf {
    let path = std::env::var_os("KRATOS_OPERATOR_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            panic!("KRATOS_OPERATOR_BIN is not set: run the end-to-end tests with e2e/run.sh")
        });
    assert!(
        path.is_file(),
        "KRATOS_OPERATOR_BIN={} does not exist",
        path.display()
    );
    path
}

/// A free TCP port on the loopback interface.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .unwrap_or_else(|error| panic!("no free port: {error}"))
}

/// A fresh namespace for one test. Kept afterwards, for inspection (test API servers run no
/// namespace controller to finish a deletion, and run.sh throws the local one away); a namespace
/// left by an earlier run against a real cluster is deleted first.
pub fn namespace(name: &str) -> String {
    let namespace = format!("e2e-{name}");
    if command_output("kubectl", &["get", "namespace", &namespace])
        .status
        .success()
    {
        kubectl(&[
            "delete",
            "namespace",
            &namespace,
            "--wait=true",
            "--timeout=180s",
        ]);
    }
    kubectl(&["create", "namespace", &namespace]);
    namespace
}

/// An operator process, stopped with SIGTERM when dropped.
pub struct Operator {
    child: Child,
    pub metrics_port: u16,
    pub log: PathBuf,
}

impl Operator {
    /// Starts the operator binary against the test cluster with `args`.
    pub fn start(name: &str, args: &[&str]) -> Self {
        Self::start_with_env(name, args, &[])
    }

    /// Like [`Operator::start`], with extra environment variables.
    pub fn start_with_env(name: &str, args: &[&str], env: &[(&str, &str)]) -> Self {
        let metrics_port = free_port();
        let log =
            std::env::temp_dir().join(format!("kratos-e2e-operator-{name}-{metrics_port}.log"));
        let file = std::fs::File::create(&log)
            .unwrap_or_else(|error| panic!("cannot create {}: {error}", log.display()));
        let child = Command::new(operator_binary())
            .args([
                "--metrics-address",
                &format!("127.0.0.1:{metrics_port}"),
                "--log-format",
                "json",
            ])
            .args(args)
            .env("RUST_LOG", "info,kratos_operator=debug")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start the operator: {error}"));
        Self {
            child,
            metrics_port,
            log,
        }
    }

    /// Starts an operator watching only `namespace`.
    pub fn for_namespace(namespace: &str) -> Self {
        Self::start(namespace, &["--namespace", namespace])
    }

    /// The operator's log so far, for failure messages.
    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// GET `path` on the metrics address: status code and body.
    pub fn get(&self, path: &str) -> (u16, String) {
        use std::io::{Read, Write};
        let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", self.metrics_port)) else {
            return (0, String::new());
        };
        let request =
            format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
        let mut response = String::new();
        if stream.write_all(request.as_bytes()).is_err()
            || stream.read_to_string(&mut response).is_err()
        {
            return (0, String::new());
        }
        let code = response
            .get(9..12)
            .and_then(|code| code.parse().ok())
            .unwrap_or(0);
        let body = response
            .split_once("\r\n\r\n")
            .map(|(_, body)| body.to_owned())
            .unwrap_or_default();
        (code, body)
    }

    /// Sends SIGTERM and waits for the process to exit; returns whether it exited cleanly.
    pub fn terminate(&mut self) -> bool {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.success();
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        false
    }

    /// Whether the process still runs.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Operator {
    fn drop(&mut self) {
        if self.is_running() {
            self.terminate();
        }
    }
}

/// Polls `check` every 200 ms until it returns `Some`, or panics after [`TIMEOUT`] with `what`
/// and the last observation.
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, String>>,
{
    let deadline = Instant::now() + TIMEOUT;
    loop {
        match check().await {
            Ok(value) => return value,
            Err(last) if Instant::now() >= deadline => {
                panic!("timed out after {TIMEOUT:?} waiting for {what}; last observation: {last}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}
