//! Golden manifests: the ReplicaSet and Secret built for a representative group, compared
//! with the committed files under `tests/golden/`. After an intended change, regenerate
//! them with `FERRY_UPDATE_GOLDEN=1 cargo test -p ferry-runtime-kube --test golden` and
//! review the diff.

mod common;

use std::path::PathBuf;

use ferry_runtime_kube::objects;
use serde::Serialize;

fn check_golden(file: &str, object: &impl Serialize) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(file);
    let actual = serde_json::to_string_pretty(object).expect("serializes") + "\n";
    if std::env::var_os("FERRY_UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &actual).expect("writes the golden file");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; run with FERRY_UPDATE_GOLDEN=1 to create it",
            path.display()
        )
    });
    assert!(
        actual == expected,
        "{} differs from what the builders make now; if the change is intended, run \
         FERRY_UPDATE_GOLDEN=1 cargo test -p ferry-runtime-kube --test golden.\n--- now:\n{actual}",
        path.display()
    );
}

#[test]
fn replica_set_matches_golden() {
    let spec = common::representative_spec("ferry-shop-dev", Some("z2"));
    let replica_set = objects::replica_set(&spec, 3);
    check_golden("replicaset.json", &replica_set);
    // The secret value is in no field of the ReplicaSet (only a secretKeyRef is).
    let text = serde_json::to_string(&replica_set).unwrap();
    assert!(!text.contains(common::SECRET_VALUE));
    assert!(text.contains("\"secretKeyRef\""));
}

#[test]
fn secret_matches_golden() {
    let spec = common::representative_spec("ferry-shop-dev", Some("z2"));
    let secret = objects::secret(&spec, Some("6f1e0a4c-2b7d-4c1e-9a53-0d1f8e2b7c90"))
        .expect("a group with secret env has a Secret");
    check_golden("secret.json", &secret);
}
