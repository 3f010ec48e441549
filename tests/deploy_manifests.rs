//! deploy/kubernetes: the manifests validate against the Kubernetes OpenAPI
//! schemas (kubernetes-validate, which bundles them: offline), strictly
//! (an unknown field fails, as the control shows), and hold what the
//! deployment promises: ≥ 2 replicas, the hardened securityContext, the
//! probes on /health and /ready, egress only to Redis, DNS and the
//! allow-listed range, a PodDisruptionBudget and an HPA.

mod common;

use common::{repo_root, require_env};
use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;

fn manifests() -> Vec<PathBuf> {
    let dir = repo_root().join("deploy/kubernetes");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 3, "{files:?}");
    files
}

fn validate(files: &[PathBuf]) -> std::process::Output {
    let venv = require_env("VANGUARD_TEST_VENV");
    Command::new(format!("{venv}/bin/kubernetes-validate"))
        .args(["--strict", "--kubernetes-version", "1.33.0"])
        .args(files)
        .output()
        .expect("run kubernetes-validate")
}

/// Every document of every manifest, as JSON.
fn documents() -> Vec<Value> {
    let mut docs = vec![];
    for f in manifests() {
        let text = std::fs::read_to_string(&f).unwrap();
        for d in serde_yaml_ng::Deserializer::from_str(&text) {
            let v: Value = serde::Deserialize::deserialize(d)
                .unwrap_or_else(|e| panic!("{}: {e}", f.display()));
            if !v.is_null() {
                docs.push(v);
            }
        }
    }
    docs
}

fn find<'a>(docs: &'a [Value], kind: &str, name: &str) -> &'a Value {
    docs.iter()
        .find(|d| d["kind"] == kind && d["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name}"))
}

#[test]
fn manifests_validate_against_the_kubernetes_schemas() {
    let files = manifests();
    let o = validate(&files);
    let out = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(o.status.success(), "{out}");
    assert!(
        out.contains("passed for resource deployment/vanguard"),
        "{out}"
    );

    // The control: a field the schema does not know fails strict validation.
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yaml");
    let text = std::fs::read_to_string(repo_root().join("deploy/kubernetes/vanguard.yaml"))
        .unwrap()
        .replacen(
            "readOnlyRootFilesystem: true",
            "readOnlyRootFilesystem: true\n            readOnlyRootFilesytem: true",
            1,
        );
    std::fs::write(&bad, text).unwrap();
    let o = validate(&[bad]);
    assert!(
        !o.status.success(),
        "a misspelt field passed:\n{}",
        String::from_utf8_lossy(&o.stdout)
    );
}

#[test]
fn the_gateway_deployment_is_hardened_probed_and_shared() {
    let docs = documents();
    let d = find(&docs, "Deployment", "vanguard");
    assert!(d["spec"]["replicas"].as_u64().unwrap() >= 2);
    let pod = &d["spec"]["template"]["spec"];
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(
        pod["securityContext"]["seccompProfile"]["type"],
        "RuntimeDefault"
    );
    assert_eq!(pod["automountServiceAccountToken"], false);
    let c = &pod["containers"][0];
    let sc = &c["securityContext"];
    assert_eq!(sc["readOnlyRootFilesystem"], true);
    assert_eq!(sc["allowPrivilegeEscalation"], false);
    assert_eq!(sc["capabilities"]["drop"], serde_json::json!(["ALL"]));
    assert!(sc["capabilities"]["add"].is_null(), "{sc}");
    assert!(sc["privileged"].is_null() || sc["privileged"] == false);
    assert_eq!(c["readinessProbe"]["httpGet"]["path"], "/ready");
    assert_eq!(c["livenessProbe"]["httpGet"]["path"], "/health");
    assert!(c["resources"]["limits"]["memory"].is_string());
    assert_eq!(c["args"][0], "sse");
    let env = |name: &str| {
        c["env"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == name)
            .unwrap_or_else(|| panic!("no {name}"))
            .clone()
    };
    assert_eq!(
        env("VANGUARD_STATE_URL")["value"],
        "redis://vanguard-redis:6379/0"
    );
    assert_eq!(env("VANGUARD_HOST")["value"], "0.0.0.0");
    assert!(env("VANGUARD_API_KEY")["valueFrom"]["secretKeyRef"].is_object());

    // Redis is there with its Service; the gateway's Service, PDB and HPA.
    find(&docs, "Deployment", "vanguard-redis");
    assert_eq!(
        find(&docs, "Service", "vanguard-redis")["spec"]["ports"][0]["port"],
        6379
    );
    assert_eq!(
        find(&docs, "Service", "vanguard")["spec"]["sessionAffinity"],
        "ClientIP"
    );
    assert_eq!(
        find(&docs, "PodDisruptionBudget", "vanguard")["spec"]["minAvailable"],
        1
    );
    let hpa = find(&docs, "HorizontalPodAutoscaler", "vanguard");
    assert!(hpa["spec"]["minReplicas"].as_u64().unwrap() >= 2);

    // Egress: Redis, DNS and an ipBlock, nothing open-ended.
    let np = find(&docs, "NetworkPolicy", "vanguard-gateway");
    let types = np["spec"]["policyTypes"].to_string();
    assert!(
        types.contains("Egress") && types.contains("Ingress"),
        "{np}"
    );
    let egress = np["spec"]["egress"].as_array().unwrap();
    assert_eq!(egress.len(), 3, "{np}");
    for rule in egress {
        assert!(
            rule["to"].as_array().is_some_and(|t| !t.is_empty()),
            "{rule}"
        );
        assert!(
            rule["ports"].as_array().is_some_and(|p| !p.is_empty()),
            "{rule}"
        );
    }
    let ports: Vec<u64> = egress
        .iter()
        .flat_map(|r| r["ports"].as_array().unwrap().iter())
        .filter_map(|p| p["port"].as_u64())
        .collect();
    assert!(ports.contains(&6379) && ports.contains(&53), "{ports:?}");
}
