//! The `kratos` binary as operators use it: migrations, start-up validation of kratos.yml, live
//! reload with a changing revision, graceful shutdown on SIGTERM.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::{DEFAULT_SCHEMA, base64_encode, client};

fn kratos() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kratos"));
    // The test process's environment must not leak Kratos config keys into the server.
    cmd.env_remove("DSN")
        .env_remove("LOG_LEVEL")
        .env_remove("SERVE_PUBLIC_PORT");
    cmd
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn config_yaml(dsn: &str, public: u16, admin: u16, extra: &str) -> String {
    format!(
        r#"dsn: "{dsn}"
serve:
  public: {{ host: 127.0.0.1, port: {public}, base_url: "http://127.0.0.1:{public}/" }}
  admin: {{ host: 127.0.0.1, port: {admin}, base_url: "http://127.0.0.1:{admin}/" }}
secrets:
  default: ["a-secret-that-is-long-enough-for-tests"]
identity:
  default_schema_id: default
  schemas: [{{ id: default, url: "base64://{schema}" }}]
selfservice:
  default_browser_return_url: http://ui.test/
log:
  level: info
  format: json
{extra}"#,
        schema = base64_encode(DEFAULT_SCHEMA)
    )
}

#[test]
fn migrate_sql_up_status_down() {
    let dir = tempfile::tempdir().unwrap();
    let dsn = format!(
        "sqlite://{}/db.sqlite?_fk=true&mode=rwc",
        dir.path().display()
    );
    let out = kratos()
        .args(["migrate", "sql", "status", &dsn])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Pending") && !text.contains("Applied"),
        "{text}"
    );

    // `-e` reads the DSN from the environment, `--yes` skips the confirmation.
    let out = kratos()
        .args(["migrate", "sql", "-e", "--yes"])
        .env("DSN", &dsn)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("Successfully applied migrations"));
    let out = kratos()
        .args(["migrate", "sql", "status", &dsn])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        text.contains("Applied") && !text.contains("Pending"),
        "{text}"
    );

    let out = kratos()
        .args(["migrate", "sql", "down", "--yes", "--steps", "1", &dsn])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let out = kratos()
        .args(["migrate", "sql", "status", &dsn])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(
        text.matches("Pending").count(),
        1,
        "exactly the last migration was rolled back: {text}"
    );

    // Without a DSN and without -e, the command explains what it needs.
    let out = kratos()
        .args(["migrate", "sql", "up", "--yes"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("-e"),
        "{out:?}"
    );
}

#[test]
fn invalid_configuration_is_refused_with_the_key_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kratos.yml");
    let cfg = config_yaml(
        "memory",
        free_port(),
        free_port(),
        "serve_typo: 1\nsession:\n  lifespan: tomorrow\n",
    );
    std::fs::write(&path, cfg).unwrap();
    let out = kratos().args(["serve", "-c"]).arg(&path).output().unwrap();
    assert!(!out.status.success(), "an invalid config must not start");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("serve_typo"), "unknown key named: {err}");
    assert!(
        err.contains("session.lifespan"),
        "invalid value named with its path: {err}"
    );

    // Outside --dev, a missing secrets.default is an error.
    let cfg = config_yaml("memory", free_port(), free_port(), "").replace(
        "  default: [\"a-secret-that-is-long-enough-for-tests\"]\n",
        "  cookie: [\"cookie-secret-long-enough\"]\n",
    );
    std::fs::write(&path, cfg).unwrap();
    let out = kratos().args(["serve", "-c"]).arg(&path).output().unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("secrets.default"),
        "{out:?}"
    );
}

struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn wait_ready(url: &str) {
    let started = Instant::now();
    while client()
        .get(url)
        .send()
        .await
        .map(|r| r.status() != 200)
        .unwrap_or(true)
    {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "server never became ready at {url}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn live_reload_changes_the_revision_and_sigterm_shuts_down_gracefully() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kratos.yml");
    let (public, admin) = (free_port(), free_port());
    std::fs::write(&path, config_yaml("memory", public, admin, "")).unwrap();
    let child = kratos()
        .args(["serve", "-c"])
        .arg(&path)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut server = Server(child);
    let admin_url = format!("http://127.0.0.1:{admin}");
    wait_ready(&format!("{admin_url}/health/ready")).await;

    let revision = || async {
        client()
            .get(format!("{admin_url}/admin/health/config"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    let first = revision().await;
    assert_eq!(first.len(), 64, "a SHA-256 of the configuration: {first}");

    // A valid change is applied without a restart and changes the revision.
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    writeln!(f, "session:\n  lifespan: 2h").unwrap();
    drop(f);
    let started = Instant::now();
    while revision().await == first {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the config change was never applied"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // SIGTERM: the process stops accepting, finishes, and exits successfully.
    let pid = server.0.id();
    let status = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let started = Instant::now();
    let exit = loop {
        if let Some(exit) = server.0.try_wait().unwrap() {
            break exit;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no graceful exit after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(
        exit.success(),
        "graceful shutdown exits with success: {exit:?}"
    );
    let mut logs = String::new();
    std::io::Read::read_to_string(server.0.stderr.as_mut().unwrap(), &mut logs).unwrap();
    // JSON logs, one object per line.
    let line = logs
        .lines()
        .find(|l| l.contains("shutting down gracefully"))
        .expect("shutdown is logged");
    let entry: serde_json::Value = serde_json::from_str(line).unwrap();
    assert_eq!(entry["level"], "INFO");
}

#[test]
fn version_command() {
    let out = kratos().arg("version").output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains(env!("CARGO_PKG_VERSION")));
}

#[test]
fn hashers_argon2_calibrate_finds_parameters() {
    // Tiny targets so that the search and the load tests take a second, not minutes.
    let out = kratos()
        .args([
            "hashers",
            "argon2",
            "calibrate",
            "120",
            "--start-memory",
            "1MB",
            "--adjust-memory-by",
            "1MB",
            "--max-memory",
            "16MB",
            "--min-duration",
            "4ms",
            "--expected-deviation",
            "1s",
            "--probe-runs",
            "1",
            "--load-sample-time",
            "500ms",
            "--parallelism",
            "1",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let progress = String::from_utf8_lossy(&out.stderr);
    assert!(progress.contains("took"), "{progress}");
    assert!(progress.contains("MEDIAN REQUEST TIME"), "{progress}");
    let result: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let argon2 = &result["hashers"]["argon2"];
    let memory = argon2["memory"].as_str().unwrap();
    assert!(memory.ends_with("B"), "{result}");
    assert!(argon2["iterations"].as_u64().unwrap() >= 1, "{result}");
    assert_eq!(argon2["parallelism"], 1);
    assert_eq!(argon2["expected_duration"], "4ms");

    // The default output is a hashers block to paste into kratos.yml.
    let out = kratos()
        .args([
            "hashers",
            "argon2",
            "calibrate",
            "60",
            "-m",
            "1MB",
            "--adjust-memory-by",
            "1MB",
            "--max-memory",
            "4MB",
            "--min-duration",
            "2ms",
            "-r",
            "1",
            "--load-sample-time",
            "200ms",
            "--quiet",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("hashers:") && text.contains("argon2:") && text.contains("memory:"),
        "{text}"
    );
}

#[test]
fn hashers_argon2_hash_times_each_password() {
    let out = kratos()
        .args([
            "hashers",
            "argon2",
            "hash",
            "--parallel",
            "--memory",
            "1MB",
            "--iterations",
            "1",
            "--parallelism",
            "1",
            "first",
            "second",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    for line in ["password 0: ", "password 1: ", "total: "] {
        assert!(text.contains(line), "{text}");
    }
}
