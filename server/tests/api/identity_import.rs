//! Password import: for every hash format Kratos imports, an identity created with a known
//! vector signs in with its plaintext through the API login flow, a wrong password fails with
//! message 4000006, and the successful login replaced the imported hash with the configured
//! hasher's (argon2id). The vectors are the ones `server/src/hash/vectors.rs` documents.

use ory_kratos_client::apis::identity_api as api;
use ory_kratos_client::models;
use serde_json::{Value, json};

use crate::harness::TestServer;
use crate::identities::{ListQuery, create, from_json, list, sdk_error};

const PW: &str = "correct horse battery staple";
const UTF8_PW: &str = "pässwörd ✓";

/// (format, password, hash)
const VECTORS: &[(&str, &str, &str)] = &[
    (
        "argon2id",
        PW,
        "$argon2id$v=19$m=1024,t=2,p=2$c2FsdHNhbHRzYWx0MTIzNA$FZPLH0ZUDkzkVTbwBD3WDg8x0aIZu9DUHVNrvnqJY2I",
    ),
    (
        "argon2id-utf8",
        UTF8_PW,
        "$argon2id$v=19$m=64,t=1,p=1$MDEyMzQ1Njc4OWFiY2RlZg$hCagDDEheI5AGZoThNR8jA",
    ),
    (
        "argon2i",
        PW,
        "$argon2i$v=19$m=1024,t=2,p=2$c2FsdHNhbHRzYWx0MTIzNA$b49Eq1k1IYR+DNo/3ZkT8WcC3PLvHyK9AzlAIflsJMI",
    ),
    (
        "bcrypt-2a",
        PW,
        "$2a$05$Ro0CUfOqk6cXEKf3dyaM7OdrSwLG1U2chqnSzd9GvjXIGyUTIA9ui",
    ),
    (
        "bcrypt-2b",
        PW,
        "$2b$05$Ro0CUfOqk6cXEKf3dyaM7OdrSwLG1U2chqnSzd9GvjXIGyUTIA9ui",
    ),
    (
        "bcrypt-2y",
        PW,
        "$2y$05$Ro0CUfOqk6cXEKf3dyaM7OdrSwLG1U2chqnSzd9GvjXIGyUTIA9ui",
    ),
    (
        "pbkdf2-sha1",
        PW,
        "$pbkdf2-sha1$i=1000,l=32$TmFDbC1hbmQtcGVwcGVyIQ$lzUuxcMF/dm7pn9JwO97nc+N8b7nYfo6uTiM3EwMXCw",
    ),
    (
        "pbkdf2-sha224",
        PW,
        "$pbkdf2-sha224$i=1000,l=32$TmFDbC1hbmQtcGVwcGVyIQ$ZZGpP3vORuWBBvIWD+kFsvTORL7KUyvFzSL7mNx3t7E",
    ),
    (
        "pbkdf2-sha256",
        PW,
        "$pbkdf2-sha256$i=1000,l=32$TmFDbC1hbmQtcGVwcGVyIQ$wrfFd1opIT6+me+GalRU35gK7neAUuJJPTS7tXlzMuk",
    ),
    (
        "pbkdf2-sha384",
        PW,
        "$pbkdf2-sha384$i=1000,l=32$TmFDbC1hbmQtcGVwcGVyIQ$jg9cF43MprmL03eTRaIpK+ONTcQkLh18frmq70eptWU",
    ),
    (
        "pbkdf2-sha512",
        PW,
        "$pbkdf2-sha512$i=1000,l=32$TmFDbC1hbmQtcGVwcGVyIQ$NoAuKxYBE0qZghrxaQ2SvAaPq6GjmIq7hU4b7RGnE5w",
    ),
    (
        "scrypt",
        PW,
        "$scrypt$ln=1024,r=8,p=1$c2NyeXB0LXNhbHQtMDEyMw==$yLvO5hzUWyoTE55AMqbsF1FgFP4apDc8NrtjiD6e3f8=",
    ),
    (
        "scrypt-utf8",
        UTF8_PW,
        "$scrypt$ln=16,r=4,p=2$c2NyeXB0LXNhbHQtMDEyMw==$63eAH7tpN2od6VSQuNttVw37U/nZNGyz",
    ),
    (
        "firebase-scrypt-readme",
        "user1password",
        "$firescrypt$ln=14,r=8,p=1$42xEC+ixf3L2lw==$lSrfV15cpx95/sZS2W9c9Kp6i/LVgQNDNC/qzrCnh1SAyZvqmZqAjTdn3aoItz+VHjoZilo78198JAdRuid5lQ==$Bw==$jxspr8Ki0RYycVU8zykbdLGjFQ3McFUH0uiiTvC8pVMXAn210wjLNmdZJzxUECKbm0QsEmYUSDzZvpjeJ9WmXA==",
    ),
    (
        "firebase-scrypt",
        PW,
        "$firescrypt$ln=10,r=4,p=1$ZmlyZS1zYWx0$UiNPWgj12W6yab0pvq6a2CC4I7XTi0/CB7XeVaQQa9tIIY0ddEAqBEAnuXlSRMhW$AQI=$AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4v",
    ),
    ("ssha", PW, "{SSHA}+0tGNsuDePFzHCTXkDSAYANRXfpsZGFwc2FsdA=="),
    (
        "ssha256",
        PW,
        "{SSHA256}BebOSBE1U4w1JLqd8VqHIJ1F5UyZ6xfAUM6fkhIFxctsZGFwc2FsdA==",
    ),
    (
        "ssha512",
        PW,
        "{SSHA512}jhD6V0hxZdeddRINr3/38NwWCkp5qqNhzHy62WelGZ5kqprV+KgkUwqV+dA1xhwumWtq7LWyidvzDSYJIduz7mxkYXBzYWx0",
    ),
    (
        "salted-sha1-salt-first",
        PW,
        "$sha1$pf=e1NBTFR9e1BBU1NXT1JEfQ==$cGVwcGVy$4sPPLWU1FnBX2dJ0HlgdluwhtYA=",
    ),
    (
        "salted-sha1-password-first",
        PW,
        "$sha1$pf=e1BBU1NXT1JEfS0te1NBTFR9JA==$cGVwcGVy$MnsI5991qFE32oH+xWXbrK5SFfI=",
    ),
    (
        "salted-sha256",
        PW,
        "$sha256$pf=e1NBTFR9e1BBU1NXT1JEfQ==$cGVwcGVy$dXfhfFNYpGTRRbTn3bvkC4/wpfYl2RmiwyZDp7RIjEM=",
    ),
    (
        "salted-sha512",
        PW,
        "$sha512$pf=e1BBU1NXT1JEfS0te1NBTFR9JA==$cGVwcGVy$rJEdPjbj8pJWjtdDFd824O4/OYcsvW8debUgAXZH86iNGA1K+U06lDQX0RtI8LlxcYrn2ys1/8sDah9dbHdcsQ==",
    ),
    ("md5", PW, "$md5$nMKuihunqT2jm0b8EBnEgQ=="),
    (
        "md5-salted",
        PW,
        "$md5$pf=e1BBU1NXT1JEfTp7U0FMVH0=$czRsdA==$a0V4Hg66Je4chiybKiGG3Q==",
    ),
    (
        "hmac-md4",
        PW,
        "$hmac-md4$ZWQzNzRjMzRjMWYyMDU5MzdlODZlMDY0MzZjOGQxYjM=$aG1hYy1zZWNyZXQta2V5",
    ),
    (
        "hmac-md5",
        PW,
        "$hmac-md5$N2I4ODEzMWRjMjY2ZWJmNTRjYjJmNTMwYTE1YWM3YjQ=$aG1hYy1zZWNyZXQta2V5",
    ),
    (
        "hmac-sha1",
        PW,
        "$hmac-sha1$ZGE1NjU5Yzk1MjcxOGNlM2M2Y2M2ZTdkNzZmM2VhMWIxZGI5NDJkZQ==$aG1hYy1zZWNyZXQta2V5",
    ),
    (
        "hmac-sha224",
        PW,
        "$hmac-sha224$Y2JiYjQzYjk5ZDY3NGNiNjNhZDI2MmFiYTNmN2UwZjlmMWNkNzZhNWQ2NWE0MjlhNmE2NTg0ZTY=$aG1hYy1zZWNyZXQta2V5",
    ),
    (
        "hmac-sha256",
        PW,
        "$hmac-sha256$MTJhY2M1YjRlNzQ3N2VlNGUyMGQ5NWU5NTQ3OGZmOGRhYWJjMzVkYTg4NjkyOTIxN2ZiN2E5YWJkN2M2ZWExZg==$aG1hYy1zZWNyZXQta2V5",
    ),
    (
        "hmac-sha384",
        PW,
        "$hmac-sha384$ODAzYzE3MTI2NmUyY2QwMTQyZTAwYjU0NWE0OTY3MmE0Yjg2ZjE0NWIxNWYyYWMxODk0YzMwNmUzZjc2ZWRlM2ZmZmEyNWNmODQzNmJlZTI2NTMyMDI5NDhlNzcxYTc3$aG1hYy1zZWNyZXQta2V5",
    ),
    (
        "hmac-sha512",
        PW,
        "$hmac-sha512$YjBmMWEyNjkzNmI2OGJjZTU1YzI2ZDkxOWE5ODQ3NmIxMzU4Njk3MGEzOThmYzVmOGE0NWYyOWY2OTNjZTY4ZDU1YTEzMDlhMTE5NDg0NGIzZDk2ZGQ0ZDlkYzA3MTE2MjNkMjEwZmZhYTNjMmEwYjBkZmJiZDI2NzgxODRmMjQ=$aG1hYy1zZWNyZXQta2V5",
    ),
    ("md5-crypt", PW, "$1$saltstri$B9FrnZ8mLTFL6N.rbkMsW0"),
    (
        "md5-crypt-long-prefix",
        PW,
        "$md5-crypt$saltstri$B9FrnZ8mLTFL6N.rbkMsW0",
    ),
    (
        "md5-crypt-utf8",
        UTF8_PW,
        "$1$12345678$6QNoBgUEDu/7g5LcC8Riu.",
    ),
    (
        "sha256-crypt",
        PW,
        "$5$saltstring$hixOXgchwauyzVtlSM/e7UnQx0qiTk74JE/YU53IbE0",
    ),
    (
        "sha256-crypt-rounds",
        PW,
        "$sha256-crypt$rounds=12345$saltstring$UtT56mOVRtpTrV6l1LpwshLzLt.i84gU9PXy92mNq/6",
    ),
    (
        "sha512-crypt",
        PW,
        "$6$saltstring$qvPJY4PeugKzKQqyIJ0gRdJnpS0uaaiZ.X1SaheFedsK/yZPwlluTLS90fJPM41sD5JxCHKgGr1..qt5HqEY8.",
    ),
    (
        "sha512-crypt-long-prefix",
        PW,
        "$sha512-crypt$saltstring$qvPJY4PeugKzKQqyIJ0gRdJnpS0uaaiZ.X1SaheFedsK/yZPwlluTLS90fJPM41sD5JxCHKgGr1..qt5HqEY8.",
    ),
    (
        "sha512-crypt-rounds-utf8",
        UTF8_PW,
        "$6$rounds=2000$0123456789abcdef$LGsHzSTPLDEtYxLoG5xXffEF0URWY88ppwUjX4kM3t9wD75lL/dhryoVmMykQepeyUsEoGNYhFQdYA6u.AOe5/",
    ),
];

/// Signs in through a fresh API login flow; on failure, the status and the answered body.
///
/// Plain HTTP: the SDK 26.2.0 cannot deserialize login flows (its `UiNodeAttributes` expects
/// `node_type` twice, a generator bug), but it does read the successful answer.
pub async fn login(
    ts: &TestServer,
    identifier: &str,
    password: &str,
) -> Result<models::SuccessfulNativeLogin, (u16, Value)> {
    let http = crate::harness::client();
    let flow: Value = http
        .get(format!("{}/self-service/login/api", ts.public_url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let res = http
        .post(format!(
            "{}/self-service/login?flow={}",
            ts.public_url,
            flow["id"].as_str().unwrap()
        ))
        .json(&json!({ "method": "password", "identifier": identifier, "password": password }))
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    if status == 200 {
        Ok(serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}")))
    } else {
        Err((status, serde_json::from_str(&text).unwrap()))
    }
}

async fn stored_hash(ts: &TestServer, id: &str) -> String {
    let identity = api::get_identity(&ts.admin_sdk(), id, Some(vec!["password".into()]))
        .await
        .unwrap();
    identity.credentials.unwrap()["password"]
        .config
        .clone()
        .unwrap()["hashed_password"]
        .as_str()
        .unwrap()
        .to_string()
}

fn assert_invalid_credentials(status: u16, body: &Value) {
    assert_eq!(status, 400, "{body}");
    // The answer is the login flow again, with the message on the whole form.
    let ids: Vec<&Value> = body["ui"]["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| &m["id"])
        .collect();
    assert_eq!(ids, vec![&json!(4000006)], "{body}");
    let message: models::UiText = from_json(body["ui"]["messages"][0].clone());
    assert_eq!(
        message.text,
        "The provided credentials are invalid, check for spelling mistakes in your password or username, email address, or phone number."
    );
}

#[tokio::test]
async fn every_imported_hash_format_signs_in_and_is_rehashed() {
    let ts = TestServer::start("").await;
    for (n, (format, password, hash)) in VECTORS.iter().enumerate() {
        let email = format!("import{n}@example.org");
        let identity = create(
            &ts,
            json!({
                "schema_id": "default",
                "traits": { "email": email },
                "credentials": { "password": { "config": { "hashed_password": hash } } }
            }),
        )
        .await;
        assert_eq!(
            stored_hash(&ts, &identity.id).await,
            *hash,
            "{format}: stored as is"
        );

        let (status, body) = login(&ts, &email, &format!("{password}x"))
            .await
            .unwrap_err();
        assert_invalid_credentials(status, &body);
        assert_eq!(
            stored_hash(&ts, &identity.id).await,
            *hash,
            "{format}: a failed login changes nothing"
        );

        let ok = login(&ts, &email, password)
            .await
            .unwrap_or_else(|e| panic!("{format}: right password refused: {e:?}"));
        assert!(ok.session_token.is_some(), "{format}");
        assert_eq!(
            ok.session.identity.as_ref().unwrap().id,
            identity.id,
            "{format}"
        );

        let rehashed = stored_hash(&ts, &identity.id).await;
        assert!(
            rehashed.starts_with("$argon2id$v=19$m=1024,t=1,p=1$"),
            "{format}: not re-hashed with the configured argon2id: {rehashed}"
        );
        // The new hash holds the same password, and it is not re-hashed again.
        login(&ts, &email, password)
            .await
            .unwrap_or_else(|e| panic!("{format}: refused after re-hash: {e:?}"));
        assert_eq!(stored_hash(&ts, &identity.id).await, rehashed, "{format}");
        let (status, body) = login(&ts, &email, "wrong").await.unwrap_err();
        assert_invalid_credentials(status, &body);
    }
    ts.stop().await;
}

#[tokio::test]
async fn cleartext_import_is_hashed_with_the_configured_hasher() {
    let ts = TestServer::start("").await;
    let identity = create(
        &ts,
        json!({
            "schema_id": "default",
            "traits": { "email": "clear@example.org" },
            "credentials": { "password": { "config": { "password": UTF8_PW } } }
        }),
    )
    .await;
    let hash = stored_hash(&ts, &identity.id).await;
    assert!(hash.starts_with("$argon2id$v=19$m=1024,t=1,p=1$"), "{hash}");
    assert!(!hash.contains(UTF8_PW));

    let (status, body) = login(&ts, "clear@example.org", PW).await.unwrap_err();
    assert_invalid_credentials(status, &body);
    let ok = login(&ts, "Clear@Example.org", UTF8_PW).await.unwrap();
    assert_eq!(ok.session.identity.unwrap().id, identity.id);
    assert_eq!(
        stored_hash(&ts, &identity.id).await,
        hash,
        "already current: kept"
    );
    ts.stop().await;
}

#[tokio::test]
async fn bcrypt_hasher_rehashes_argon2_imports_to_bcrypt() {
    let ts = TestServer::start("hashers: { algorithm: bcrypt, bcrypt: { cost: 4 } }").await;
    let identity = create(
        &ts,
        json!({
            "schema_id": "default",
            "traits": { "email": "to-bcrypt@example.org" },
            "credentials": { "password": { "config": { "hashed_password": VECTORS[0].2 } } }
        }),
    )
    .await;
    login(&ts, "to-bcrypt@example.org", PW).await.unwrap();
    let hash = stored_hash(&ts, &identity.id).await;
    assert!(hash.starts_with("$2a$04$"), "{hash}");
    login(&ts, "to-bcrypt@example.org", PW).await.unwrap();
    ts.stop().await;
}

#[tokio::test]
async fn unknown_or_garbled_hashes_are_refused_at_import() {
    let ts = TestServer::start("").await;
    let sdk = ts.admin_sdk();
    for hash in [
        "plaintext-is-not-a-hash",
        "$unknown$abc",
        "$argon2id$v=19$m=1024,t=2,p=2$not base64!$xx",
        "$2a$05$tooshort",
        "$pbkdf2-sha256$i=1000,l=32$$",
        "{SSHA}",
    ] {
        let (status, body) = sdk_error(
            api::create_identity(
                &sdk,
                Some(from_json(json!({
                    "schema_id": "default",
                    "traits": { "email": "garbled@example.org" },
                    "credentials": { "password": { "config": { "hashed_password": hash } } }
                }))),
            )
            .await,
        );
        assert_eq!(status, 400, "{hash}: {body}");
        crate::identities::assert_kratos_error(&body, 400);
    }
    let all = list(&sdk, ListQuery::default()).await.unwrap();
    assert!(all.is_empty());
    ts.stop().await;
}

#[tokio::test]
async fn put_imports_a_new_password() {
    let ts = TestServer::start("").await;
    let sdk = ts.admin_sdk();
    let identity = create(
        &ts,
        json!({
            "schema_id": "default",
            "traits": { "email": "put@example.org" },
            "credentials": { "password": { "config": { "password": "the old password" } } }
        }),
    )
    .await;
    login(&ts, "put@example.org", "the old password")
        .await
        .unwrap();
    let body: models::UpdateIdentityBody = from_json(json!({
        "schema_id": "default",
        "state": "active",
        "traits": { "email": "put@example.org" },
        "credentials": { "password": { "config": { "hashed_password": VECTORS[6].2 } } }
    }));
    api::update_identity(&sdk, &identity.id, Some(body))
        .await
        .unwrap();
    let (status, body) = login(&ts, "put@example.org", "the old password")
        .await
        .unwrap_err();
    assert_invalid_credentials(status, &body);
    login(&ts, "put@example.org", PW).await.unwrap();
    assert!(
        stored_hash(&ts, &identity.id)
            .await
            .starts_with("$argon2id$")
    );
    ts.stop().await;
}
