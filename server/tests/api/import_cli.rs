//! `kratos import identities`, the built binary against a running test server.

use std::process::Output;

use ory_kratos_client::apis::identity_api as api;
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;

use crate::harness::TestServer;
use crate::identities::{ListQuery, list};
use crate::identity_import::login;

/// Runs `kratos import identities <args>` with `stdin`; the server runs on this test's runtime,
/// so the child is awaited asynchronously.
async fn import(args: &[&str], env_endpoint: Option<&str>, stdin: &str) -> Output {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_kratos"));
    cmd.args(["import", "identities"])
        .args(args)
        .env_remove("KRATOS_ADMIN_URL")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    if let Some(url) = env_endpoint {
        cmd.env("KRATOS_ADMIN_URL", url);
    }
    let mut child = cmd.spawn().unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.as_bytes()).await.unwrap();
    drop(input);
    child.wait_with_output().await.unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn write(dir: &tempfile::TempDir, name: &str, content: &Value) -> String {
    let path = dir.path().join(name);
    std::fs::write(&path, content.to_string()).unwrap();
    path.display().to_string()
}

async fn count(ts: &TestServer) -> usize {
    list(&ts.admin_sdk(), ListQuery::default())
        .await
        .unwrap()
        .len()
}

#[tokio::test]
async fn imports_files_and_stdin_through_the_admin_api() {
    let ts = TestServer::start("").await;
    let dir = tempfile::tempdir().unwrap();
    let single = write(
        &dir,
        "one.json",
        &json!({
            "schema_id": "default",
            "traits": { "email": "cli-one@example.org" },
            "credentials": { "password": { "config": { "hashed_password":
                "$2a$05$Ro0CUfOqk6cXEKf3dyaM7OdrSwLG1U2chqnSzd9GvjXIGyUTIA9ui" } } }
        }),
    );

    // One identity from a file: printed as one JSON object.
    let out = import(
        &["--endpoint", &ts.admin_url, "--format", "json", &single],
        None,
        "",
    )
    .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let printed: Value = serde_json::from_slice(&out.stdout).unwrap();
    let id = printed["id"].as_str().unwrap().to_string();
    assert_eq!(printed["traits"]["email"], "cli-one@example.org");
    let stored = api::get_identity(&ts.admin_sdk(), &id, None).await.unwrap();
    assert_eq!(stored.schema_id, "default");
    // The imported bcrypt hash signs in.
    login(&ts, "cli-one@example.org", "correct horse battery staple")
        .await
        .unwrap();

    // An array from standard input (no file argument), endpoint from KRATOS_ADMIN_URL: an array.
    let array = json!([
        { "schema_id": "default", "traits": { "email": "cli-a@example.org" } },
        { "schema_id": "default", "traits": { "email": "cli-b@example.org" },
          "credentials": { "password": { "config": { "password": "imported in clear" } } } }
    ]);
    let out = import(
        &["--format", "json"],
        Some(&ts.admin_url),
        &array.to_string(),
    )
    .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let printed: Value = serde_json::from_slice(&out.stdout).unwrap();
    let emails: Vec<&str> = printed
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["traits"]["email"].as_str().unwrap())
        .collect();
    assert_eq!(emails, vec!["cli-a@example.org", "cli-b@example.org"]);
    login(&ts, "cli-b@example.org", "imported in clear")
        .await
        .unwrap();

    // `-` is standard input too; `--quiet` prints only ids.
    let out = import(
        &["-e", &ts.admin_url, "-q", "-"],
        None,
        &json!({ "schema_id": "default", "traits": { "email": "cli-q@example.org" } }).to_string(),
    )
    .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let quiet_id = text(&out.stdout).trim().to_string();
    uuid::Uuid::parse_str(&quiet_id).unwrap();

    // The default table names its columns and shows the id and addresses.
    let out = import(
        &["-e", &ts.admin_url],
        None,
        &json!({ "schema_id": "default", "traits": { "email": "cli-t@example.org" } }).to_string(),
    )
    .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let table = text(&out.stdout);
    assert!(table.starts_with("ID "), "{table}");
    assert!(
        table.contains("VERIFIED ADDRESSES") && table.contains("cli-t@example.org"),
        "{table}"
    );

    // YAML, and a JSON pointer into the printed identity.
    let out = import(
        &["-e", &ts.admin_url, "--format", "yaml"],
        None,
        &json!({ "schema_id": "default", "traits": { "email": "cli-y@example.org" } }).to_string(),
    )
    .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let yaml: Value = serde_yaml_ng::from_slice(&out.stdout).unwrap();
    assert_eq!(yaml["traits"]["email"], "cli-y@example.org");
    let out = import(
        &["-e", &ts.admin_url, "--format", "jsonpointer=/traits/email"],
        None,
        &json!({ "schema_id": "default", "traits": { "email": "cli-p@example.org" } }).to_string(),
    )
    .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim(), "\"cli-p@example.org\"");
    let out = import(&["-e", &ts.admin_url, "--format", "xml"], None, "{}").await;
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("unknown output format"));
    assert_eq!(count(&ts).await, 7);

    ts.stop().await;
}

#[tokio::test]
async fn reports_failed_identities_and_exits_non_zero() {
    let ts = TestServer::start("").await;
    let dir = tempfile::tempdir().unwrap();
    let first = write(
        &dir,
        "first.json",
        &json!([
            { "schema_id": "default", "traits": { "email": "ok1@example.org" } },
            { "schema_id": "default", "traits": { "email": "not-an-email" } }
        ]),
    );
    let second = write(
        &dir,
        "second.json",
        &json!({ "schema_id": "default", "traits": { "email": "OK1@example.org" } }),
    );
    let out = import(
        &[
            "--endpoint",
            &ts.admin_url,
            "--format",
            "json",
            &first,
            &second,
        ],
        None,
        "",
    )
    .await;
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(stderr.contains(&format!("{first}[1]: ")), "{stderr}");
    assert!(
        stderr.contains("I[#/traits/email]"),
        "the reason is shown: {stderr}"
    );
    assert!(stderr.contains(&format!("{second}[0]: ")), "{stderr}");
    assert!(
        stderr.contains("This identity conflicts with another identity that already exists."),
        "{stderr}"
    );
    // The good one was imported and printed.
    let printed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(printed["traits"]["email"], "ok1@example.org");
    assert_eq!(count(&ts).await, 1);

    // Unparseable input imports nothing at all.
    let broken = dir.path().join("broken.json");
    std::fs::write(&broken, "{ not json").unwrap();
    let good = write(
        &dir,
        "good.json",
        &json!({ "schema_id": "default", "traits": { "email": "never@example.org" } }),
    );
    let out = import(
        &["-e", &ts.admin_url, &good, &broken.display().to_string()],
        None,
        "",
    )
    .await;
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("Could not parse identity"),
        "{}",
        text(&out.stderr)
    );
    let out = import(&["-e", &ts.admin_url], None, "[1, 2]").await;
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("STD_IN[0]: Could not parse identity"));
    let out = import(&["-e", &ts.admin_url, "/does/not/exist.json"], None, "").await;
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("Could not open identity file"));
    assert_eq!(count(&ts).await, 1);

    // No endpoint at all.
    let out = import(&[&good], None, "").await;
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("you have to set the remote endpoint"),
        "{}",
        text(&out.stderr)
    );
    // An endpoint where nothing listens.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = import(
        &["-e", &format!("http://127.0.0.1:{port}"), &good],
        None,
        "",
    )
    .await;
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("could not be reached"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(count(&ts).await, 1);
    ts.stop().await;
}
