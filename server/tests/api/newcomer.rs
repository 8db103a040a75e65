//! A newcomer's first run: `kratos serve --dev` with the example configuration (on a temporary
//! SQLite file and free ports), driven like a browser through registration, login, a profile
//! change, a password change and logout.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::flowkit::{Browser, csrf_of, location, query_param};

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn kratos(workspace: &std::path::Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kratos"));
    cmd.current_dir(workspace)
        .env_remove("DSN")
        .env_remove("LOG_LEVEL")
        .env_remove("SERVE_PUBLIC_PORT");
    cmd
}

/// examples/kratos.yml with the database, ports and hasher cost changed, nothing else.
fn example_config(workspace: &std::path::Path, dsn: &str, public: u16, admin: u16) -> String {
    let example = std::fs::read_to_string(workspace.join("examples/kratos.yml")).unwrap();
    let replaced = example
        .replace("dsn: memory", &format!("dsn: \"{dsn}\""))
        .replace(
            "    base_url: http://127.0.0.1:4433/",
            &format!(
                "    base_url: http://127.0.0.1:{public}/\n    host: 127.0.0.1\n    port: {public}"
            ),
        )
        .replace(
            "    base_url: http://127.0.0.1:4434/",
            &format!(
                "    base_url: http://127.0.0.1:{admin}/\n    host: 127.0.0.1\n    port: {admin}"
            ),
        )
        // The example's 64MB argon2 is right for production, too slow for two shared test cores.
        .replace("memory: 64MB", "memory: 8MB")
        .replace("iterations: 2", "iterations: 1");
    assert_ne!(replaced, example);
    assert!(
        replaced.contains(&format!("port: {public}"))
            && replaced.contains(&format!("port: {admin}")),
        "the example's layout changed:\n{replaced}"
    );
    replaced
}

async fn wait_ready(url: &str, server: &mut Server) {
    let started = Instant::now();
    loop {
        if let Ok(res) = crate::harness::client().get(url).send().await
            && res.status() == 200
        {
            return;
        }
        if let Some(exit) = server.0.try_wait().unwrap() {
            panic!("kratos exited early: {exit:?}");
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "server never became ready at {url}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn form_post(
    b: &Browser,
    flow: &serde_json::Value,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let csrf = csrf_of(flow);
    let mut all = vec![("csrf_token", csrf.as_str())];
    all.extend_from_slice(fields);
    b.submit_form(flow, &all).await
}

#[tokio::test]
async fn newcomer_round_trip_against_kratos_serve_dev() {
    let workspace = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf();
    let dir = tempfile::tempdir().unwrap();
    let dsn = format!(
        "sqlite://{}/kratos.sqlite?_fk=true&mode=rwc",
        dir.path().display()
    );
    let (public, admin) = (free_port(), free_port());
    let config_path = dir.path().join("kratos.yml");
    std::fs::write(
        &config_path,
        example_config(&workspace, &dsn, public, admin),
    )
    .unwrap();

    let out = kratos(&workspace)
        .args(["migrate", "sql", "-e", "--yes", "-c"])
        .arg(&config_path)
        .output()
        .unwrap();
    assert!(out.status.success(), "migrate: {out:?}");

    let child = kratos(&workspace)
        .args(["serve", "--dev", "-c"])
        .arg(&config_path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut server = Server(child);
    let public_url = format!("http://127.0.0.1:{public}");
    wait_ready(&format!("{public_url}/health/ready"), &mut server).await;

    let ui = "http://127.0.0.1:4455";
    let b = Browser::at(&public_url);
    let email = format!(
        "newcomer-{}@example.org",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let password = "my first kratos-rs password!";

    // Registration, profile first: traits, then the password.
    let id = b
        .init(
            "/self-service/registration/browser",
            &format!("{ui}/registration?flow="),
        )
        .await;
    let flow = b.flow("registration", &id).await;
    let res = form_post(
        &b,
        &flow,
        &[
            ("traits.email", &email),
            ("traits.name.first", "New"),
            ("method", "profile"),
        ],
    )
    .await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), format!("{ui}/registration?flow={id}"));
    let flow = b.flow("registration", &id).await;
    assert!(crate::flowkit::node(&flow, "password").is_some(), "{flow}");
    let res = form_post(
        &b,
        &flow,
        &[
            ("traits.email", &email),
            ("traits.name.first", "New"),
            ("password", password),
            ("method", "password"),
        ],
    )
    .await;
    assert_eq!(res.status(), 303, "{:?}", res.text().await);
    assert!(location(&res).starts_with(ui), "{}", location(&res));
    assert!(
        b.has_cookie("ory_kratos_session"),
        "registration signs in (session hook)"
    );
    let whoami: serde_json::Value = b
        .get(&format!("{public_url}/sessions/whoami"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(whoami["identity"]["traits"]["email"], email.as_str());

    // Logout.
    let logout: serde_json::Value = b
        .get(&format!("{public_url}/self-service/logout/browser"))
        .await
        .json()
        .await
        .unwrap();
    let res = b.get(logout["logout_url"].as_str().unwrap()).await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), format!("{ui}/login"));
    assert_eq!(
        b.get(&format!("{public_url}/sessions/whoami"))
            .await
            .status(),
        401
    );

    // Login.
    let id = b
        .init("/self-service/login/browser", &format!("{ui}/login?flow="))
        .await;
    let flow = b.flow("login", &id).await;
    let res = form_post(
        &b,
        &flow,
        &[
            ("identifier", &email),
            ("password", password),
            ("method", "password"),
        ],
    )
    .await;
    assert_eq!(res.status(), 303, "{:?}", res.text().await);
    assert_eq!(location(&res), format!("{ui}/"));
    assert_eq!(
        b.get(&format!("{public_url}/sessions/whoami"))
            .await
            .status(),
        200
    );

    // Profile change.
    let id = b
        .init(
            "/self-service/settings/browser",
            &format!("{ui}/settings?flow="),
        )
        .await;
    let flow = b.flow("settings", &id).await;
    let res = form_post(
        &b,
        &flow,
        &[
            ("traits.email", &email),
            ("traits.name.first", "Renamed"),
            ("method", "profile"),
        ],
    )
    .await;
    assert_eq!(res.status(), 303);
    assert_eq!(
        query_param(&location(&res), "flow").as_deref(),
        Some(id.as_str())
    );
    let flow = b.flow("settings", &id).await;
    assert_eq!(flow["state"], "success");
    assert_eq!(flow["identity"]["traits"]["name"]["first"], "Renamed");

    // Password change (the session is fresh, so privileged).
    let new_password = "my second kratos-rs password!";
    let res = form_post(
        &b,
        &flow,
        &[("password", new_password), ("method", "password")],
    )
    .await;
    assert_eq!(res.status(), 303);
    let flow = b.flow("settings", &id).await;
    assert_eq!(flow["state"], "success", "{flow}");

    // Logout, and the new password is the one that works.
    let logout: serde_json::Value = b
        .get(&format!("{public_url}/self-service/logout/browser"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        b.get(logout["logout_url"].as_str().unwrap()).await.status(),
        303
    );
    assert_eq!(
        b.get(&format!("{public_url}/sessions/whoami"))
            .await
            .status(),
        401
    );
    let id = b
        .init("/self-service/login/browser", &format!("{ui}/login?flow="))
        .await;
    let flow = b.flow("login", &id).await;
    let res = form_post(
        &b,
        &flow,
        &[
            ("identifier", &email),
            ("password", password),
            ("method", "password"),
        ],
    )
    .await;
    assert_eq!(
        location(&res),
        format!("{ui}/login?flow={id}"),
        "the old password is refused"
    );
    let flow = b.flow("login", &id).await;
    let res = form_post(
        &b,
        &flow,
        &[
            ("identifier", &email),
            ("password", new_password),
            ("method", "password"),
        ],
    )
    .await;
    assert_eq!(location(&res), format!("{ui}/"));
    assert_eq!(
        b.get(&format!("{public_url}/sessions/whoami"))
            .await
            .status(),
        200
    );
    drop(server);
}
