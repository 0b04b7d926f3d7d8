//! Deployment manifests for a packaged component: a Spin application (`spin.toml`), a
//! SpinKube `SpinApp` and a HorizontalPodAutoscaler for it.
//!
//! They are text templates filled with the model's name, the component's file and the
//! image reference, because every value that varies is a name checked to be safe in
//! both TOML and YAML strings. The host/tests suite validates them against Spin's
//! published manifest schema, the SpinApp CRD's OpenAPI schema and Kubernetes' own.

use anyhow::{ensure, Result};

/// The files `edgewood component --spin-manifest DIR` writes, and their contents.
pub struct Manifests {
    pub spin_toml: String,
    pub spinapp_yaml: String,
    pub hpa_yaml: String,
}

/// The component's settings, as Spin application variables with the component's
/// defaults (the same names it reads from `wasi:config/store`).
const VARIABLES: &[(&str, &str, bool)] = &[
    ("api_key", "", true),
    ("allowed_origins", "", false),
    ("max_body_bytes", "1048576", false),
    ("max_batch_rows", "1000", false),
    ("jwt_hs256_secret", "", true),
    ("jwt_public_key", "", false),
    ("jwt_jwks", "", false),
    ("jwt_issuer", "", false),
    ("jwt_audience", "", false),
    ("jwt_leeway_seconds", "60", false),
];

/// Manifests for the component file `source` (as `spin.toml` should name it: relative
/// to the manifest's directory) serving model `name`, published as OCI image `image`.
pub fn manifests(source: &str, name: &str, image: &str) -> Result<Manifests> {
    ensure!(
        !source.is_empty() && !source.contains(['"', '\\', '\n']),
        "the component's path cannot be written into spin.toml: {source:?}"
    );
    ensure!(
        !image.is_empty()
            && image
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"./:_@-".contains(&b)),
        "--image {image:?}: an OCI reference ([registry/]repository[:tag|@digest])"
    );
    let app = kubernetes_name(name);

    let mut spin_toml = format!(
        "# A Spin 3.x application serving the model '{name}' (written by `edgewood component`).\n\
         # Run it: spin up   (settings: spin up --variable api_key=...)\n\
         # Publish it for SpinKube: spin registry push {image}\n\
         spin_manifest_version = 2\n\n\
         [application]\n\
         name = \"{app}\"\n\
         version = \"0.1.0\"\n\
         description = \"Edgewood tree-ensemble inference: the model '{name}'.\"\n\n\
         [variables]\n"
    );
    for (var, default, secret) in VARIABLES {
        let secret = if *secret { ", secret = true" } else { "" };
        spin_toml.push_str(&format!("{var} = {{ default = \"{default}\"{secret} }}\n"));
    }
    spin_toml.push_str(&format!(
        "\n[[trigger.http]]\n\
         route = \"/...\"\n\
         component = \"edgewood\"\n\n\
         [component.edgewood]\n\
         source = \"{source}\"\n\
         allowed_outbound_hosts = []\n\n\
         [component.edgewood.variables]\n"
    ));
    for (var, _, _) in VARIABLES {
        spin_toml.push_str(&format!("{var} = \"{{{{ {var} }}}}\"\n"));
    }

    // SpinKube: the operator runs the app as a Deployment named after the SpinApp;
    // `enableAutoscaling` hands the replica count to the autoscaler below.
    let spinapp_yaml = format!(
        "# SpinKube: kubectl apply -f spinapp.yaml -f hpa.yaml (after `spin registry push {image}`).\n\
         # api_key comes from the Secret {app}-api-key (optional: without it, no key is needed):\n\
         #   kubectl create secret generic {app}-api-key --from-literal=api_key=...\n\
         apiVersion: core.spinkube.dev/v1alpha1\n\
         kind: SpinApp\n\
         metadata:\n\
         \x20 name: {app}\n\
         spec:\n\
         \x20 image: \"{image}\"\n\
         \x20 executor: containerd-shim-spin\n\
         \x20 enableAutoscaling: true\n\
         \x20 resources:\n\
         \x20   # A request instance needs the component's memory (the model included) and\n\
         \x20   # little CPU; the autoscaler measures CPU against the request below.\n\
         \x20   requests:\n\
         \x20     cpu: 100m\n\
         \x20     memory: 64Mi\n\
         \x20   limits:\n\
         \x20     cpu: \"1\"\n\
         \x20     memory: 256Mi\n\
         \x20 variables:\n\
         \x20   - name: api_key\n\
         \x20     valueFrom:\n\
         \x20       secretKeyRef:\n\
         \x20         name: {app}-api-key\n\
         \x20         key: api_key\n\
         \x20         optional: true\n\
         \x20   - name: max_batch_rows\n\
         \x20     value: \"1000\"\n"
    );
    let hpa_yaml = format!(
        "# Scales the SpinApp {app} (its Deployment) on CPU: each request is a fresh\n\
         # instance, so replicas add throughput linearly until the node's cores are used.\n\
         apiVersion: autoscaling/v2\n\
         kind: HorizontalPodAutoscaler\n\
         metadata:\n\
         \x20 name: {app}\n\
         spec:\n\
         \x20 scaleTargetRef:\n\
         \x20   apiVersion: apps/v1\n\
         \x20   kind: Deployment\n\
         \x20   name: {app}\n\
         \x20 minReplicas: 1\n\
         \x20 maxReplicas: 10\n\
         \x20 metrics:\n\
         \x20   - type: Resource\n\
         \x20     resource:\n\
         \x20       name: cpu\n\
         \x20       target:\n\
         \x20         type: Utilization\n\
         \x20         averageUtilization: 60\n"
    );
    Ok(Manifests {
        spin_toml,
        spinapp_yaml,
        hpa_yaml,
    })
}

/// A Kubernetes object name (an RFC 1123 label: lower-case letters, digits and `-`,
/// starting and ending alphanumeric, at most 63 characters) from a model name.
pub fn kubernetes_name(name: &str) -> String {
    let mapped: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let trimmed = mapped.trim_matches('-');
    let short = &trimmed[..trimmed.len().min(63 - "-api-key".len())];
    let short = short.trim_end_matches('-');
    if short.is_empty() {
        "edgewood".to_string()
    } else {
        short.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubernetes_names_are_rfc1123_labels() {
        assert_eq!(kubernetes_name("xgb_Binary.v2"), "xgb-binary-v2");
        assert_eq!(kubernetes_name("__"), "edgewood");
        assert_eq!(kubernetes_name(&"a".repeat(100)).len(), 55);
    }

    #[test]
    fn unsafe_values_are_refused() {
        assert!(manifests("app.wasm", "m", "ghcr.io/a/b:1").is_ok());
        assert!(manifests("a\"b.wasm", "m", "x").is_err());
        assert!(manifests("app.wasm", "m", "x\ny: 1").is_err());
        assert!(manifests("app.wasm", "m", "").is_err());
    }
}
