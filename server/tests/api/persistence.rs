use kratos::identity::model::{CredentialsType, Identity, RecoveryAddress, VerifiableAddress};
use kratos::persistence::identities::{self, Expand, ListFilter};
use serde_json::json;

use crate::harness::TestServer;

fn identity_with(email: &str) -> Identity {
    let mut i = Identity::new("default", json!({ "email": email }));
    i.set_credentials(
        CredentialsType::Password,
        vec![email.to_string()],
        json!({ "hashed_password": "$argon2id$x" }),
    );
    let now = kratos::persistence::now();
    i.verifiable_addresses.push(VerifiableAddress {
        id: uuid::Uuid::new_v4(),
        value: email.into(),
        verified: false,
        via: "email".into(),
        status: Default::default(),
        verified_at: None,
        created_at: now,
        updated_at: now,
    });
    i.recovery_addresses.push(RecoveryAddress {
        id: uuid::Uuid::new_v4(),
        value: email.into(),
        via: "email".into(),
        created_at: now,
        updated_at: now,
    });
    i
}

#[tokio::test]
async fn identities_round_trip_and_conflict() {
    let srv = TestServer::start("").await;
    let db = &srv.app.db;
    let identity = identity_with("ann@example.org");
    let mut tx = db.begin().await.unwrap();
    identities::insert(tx.conn(), &identity).await.unwrap();
    tx.commit().await.unwrap();

    let mut c = db.conn().await.unwrap();
    let loaded = identities::get(c.conn(), identity.id, Expand::EVERYTHING)
        .await
        .unwrap();
    assert_eq!(
        loaded, identity,
        "what is read back equals what was written, timestamps included"
    );

    let found = identities::find_by_identifier(
        c.conn(),
        CredentialsType::Password,
        "ann@example.org",
        Expand::NOTHING,
    )
    .await
    .unwrap();
    assert_eq!(found.map(|i| i.id), Some(identity.id));

    // The same identifier on another identity is a 409, and the transaction leaves nothing behind.
    let dup = identity_with("ann@example.org");
    let mut tx = db.begin().await.unwrap();
    let err = identities::insert(tx.conn(), &dup).await.unwrap_err();
    assert_eq!(err.status(), 409);
    drop(tx);
    assert_eq!(identities::count(c.conn()).await.unwrap(), 1);
    assert!(
        identities::find(c.conn(), dup.id, Expand::NOTHING)
            .await
            .unwrap()
            .is_none()
    );
    srv.stop().await;
}

#[tokio::test]
async fn keyset_pages_cover_everything_once() {
    let srv = TestServer::start("").await;
    let db = &srv.app.db;
    let mut ids = Vec::new();
    for n in 0..7 {
        let i = identity_with(&format!("user{n}@example.org"));
        ids.push(i.id);
        let mut tx = db.begin().await.unwrap();
        identities::insert(tx.conn(), &i).await.unwrap();
        tx.commit().await.unwrap();
    }
    ids.sort();
    let mut c = db.conn().await.unwrap();
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = identities::list(
            c.conn(),
            &ListFilter {
                after,
                limit: 3,
                ..Default::default()
            },
            Expand::EVERYTHING,
        )
        .await
        .unwrap();
        if page.is_empty() {
            break;
        }
        assert!(
            page.iter()
                .all(|i| i.credentials.contains_key(&CredentialsType::Password))
        );
        after = page.last().map(|i| i.id);
        seen.extend(page.into_iter().map(|i| i.id));
    }
    assert_eq!(seen, ids);

    let filtered = identities::list(
        c.conn(),
        &ListFilter {
            credentials_identifier: Some("user3@example.org".into()),
            limit: 10,
            ..Default::default()
        },
        Expand::NOTHING,
    )
    .await
    .unwrap();
    assert_eq!(filtered.len(), 1);
    assert_eq!(filtered[0].traits["email"], "user3@example.org");
    srv.stop().await;
}

#[tokio::test]
async fn migrations_go_down_and_up_again() {
    let srv = TestServer::start("").await;
    let db = &srv.app.db;
    let status = db.migration_status().await.unwrap();
    assert!(status.len() >= 2 && status.iter().all(|m| m.applied));
    let reverted = db.migrate_down(status.len()).await.unwrap();
    assert_eq!(reverted.len(), status.len());
    assert!(
        db.migration_status()
            .await
            .unwrap()
            .iter()
            .all(|m| !m.applied)
    );
    db.migrate_up().await.unwrap();
    assert!(db.is_migrated().await.unwrap());
    srv.stop().await;
}
