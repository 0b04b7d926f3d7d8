//! JWT bearer auth (issue 14) against tokens minted by PyJWT, an implementation nobody
//! here wrote (tests/clients/jwt_tokens.py, run with tests/.venv's Python): valid ones,
//! and ones expired, not yet valid, for another audience or issuer, signed by another
//! key, tampered with, unsigned (`alg: none`), HS512, algorithm confusion and JWKS
//! `kid`s; on every host, each server configured through its configuration variables
//! as a user would (a PEM's newlines included), and an API key beside a JWT.
//!
//! A refusal must be a 401 with a JSON `detail` and a `WWW-Authenticate: Bearer …`
//! challenge that never repeats the credential, not even one part of a token.

use std::path::Path;

use super::clients::{run_client, venv_python};
use super::{hosts, str_of, Host, Json, Resp, Server, SETOSA};

/// What jwt_tokens.py puts in `iss` and `aud`, and the servers expect.
const ISSUER: &str = "https://issuer.example";
const AUDIENCE: &str = "edgewood";
/// Configured beside ES256, to show either credential lets a caller in.
const API_KEY: &str = "k-jwt-and-key";

/// The server configurations: the tokens each judges (jwt_tokens.py's `server`), and
/// its configuration variables, where a value `@file` is the content of a file the
/// script wrote.
const SERVERS: [(&str, &[(&str, &str)]); 6] = [
    (
        "hs256",
        &[
            ("jwt_hs256_secret", "@hs256.secret"),
            ("jwt_issuer", ISSUER),
            ("jwt_audience", AUDIENCE),
        ],
    ),
    (
        "rs256",
        &[
            ("jwt_public_key", "@rsa.pem"),
            ("jwt_issuer", ISSUER),
            ("jwt_audience", AUDIENCE),
        ],
    ),
    (
        "es256",
        &[
            ("jwt_public_key", "@ec.pem"),
            ("jwt_issuer", ISSUER),
            ("jwt_audience", AUDIENCE),
            ("api_key", API_KEY),
        ],
    ),
    (
        "jwks",
        &[
            ("jwt_jwks", "@jwks.json"),
            ("jwt_issuer", ISSUER),
            ("jwt_audience", AUDIENCE),
        ],
    ),
    // The JWKS base64-encoded: the way it passes `wasmtime serve -S config-var=`.
    (
        "jwks",
        &[
            ("jwt_jwks", "@jwks.b64"),
            ("jwt_issuer", ISSUER),
            ("jwt_audience", AUDIENCE),
        ],
    ),
    // No issuer or audience: what a token must do when the server asks for neither.
    ("rs256-pkcs1", &[("jwt_public_key", "@rsa_pkcs1.pem")]),
];

/// One request of the table: what it is, its credential headers, the status expected.
struct Case {
    name: String,
    headers: Vec<(&'static str, String)>,
    status: u16,
}

/// The requests that carry no PyJWT token, sent to server `server`: none at all, and
/// the API key where one is configured.
fn other_cases(server: &str) -> Vec<Case> {
    let case = |name: &str, headers: Vec<(&'static str, String)>, status| Case {
        name: name.into(),
        headers,
        status,
    };
    let mut cases = vec![
        case("no credentials", vec![], 401),
        case(
            "a bearer that is not a JWT",
            vec![("Authorization", "Bearer not-a-jwt".into())],
            401,
        ),
    ];
    if server == "es256" {
        cases.extend([
            case(
                "the API key in X-API-Key",
                vec![("X-API-Key", API_KEY.into())],
                200,
            ),
            case(
                "the API key as the bearer",
                vec![("Authorization", format!("Bearer {API_KEY}"))],
                200,
            ),
            case(
                "a wrong API key",
                vec![("X-API-Key", "k-wrong-key".into())],
                401,
            ),
        ]);
    }
    cases
}

/// The PyJWT tokens: for each server configuration, its cases.
fn token_cases(dir: &Path) -> Vec<(String, Case)> {
    let doc = std::fs::read(dir.join("tokens.json")).unwrap();
    let doc = super::parse(&doc).unwrap();
    assert_eq!(str_of(doc.get("issuer")), ISSUER);
    assert_eq!(str_of(doc.get("audience")), AUDIENCE);
    let Some(Json::Arr(tokens)) = doc.get("tokens") else {
        panic!("tokens.json has no tokens")
    };
    tokens
        .iter()
        .map(|t| {
            let status = match t.get("status") {
                Some(&Json::Num(s)) => s as u16,
                other => panic!("status {other:?}"),
            };
            let case = Case {
                name: str_of(t.get("name")).into(),
                headers: vec![(
                    "Authorization",
                    format!("Bearer {}", str_of(t.get("token"))),
                )],
                status,
            };
            (str_of(t.get("server")).to_string(), case)
        })
        .collect()
}

/// Checks one answer: the status, the prediction of a 200, and that a 401 says why in
/// JSON and in its challenge without repeating any part of the credential.
fn check(r: &Resp, case: &Case, what: &str) {
    assert_eq!(r.status, case.status, "{what}: {}", r.text());
    if r.status == 200 {
        assert_eq!(str_of(r.json().get("prediction")), "setosa", "{what}");
        eprintln!("{what}: 200");
        return;
    }
    assert!(
        matches!(r.json().get("detail"), Some(Json::Str(d)) if !d.is_empty()),
        "{what}: {}",
        r.text()
    );
    let challenge = r
        .header("www-authenticate")
        .unwrap_or_else(|| panic!("{what}: no WWW-Authenticate"));
    assert!(challenge.starts_with("Bearer"), "{what}: {challenge}");
    for (_, sent) in &case.headers {
        let credential = sent.strip_prefix("Bearer ").unwrap_or(sent);
        // Each part of a token on its own (an `alg: none` token's empty signature aside).
        for part in credential.split('.').filter(|p| !p.is_empty()) {
            assert!(!challenge.contains(part), "{what}: echoed in {challenge}");
            assert!(!r.text().contains(part), "{what}: echoed in {}", r.text());
        }
        if credential.contains('.') {
            assert!(
                challenge.starts_with("Bearer error=\"invalid_token\", error_description=\""),
                "{what}: {challenge}"
            );
        }
    }
    eprintln!("{what}: 401 {challenge}");
}

#[test]
fn jwt_tokens_minted_by_pyjwt_are_judged_on_every_host() {
    if venv_python().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    run_client("jwt_tokens.py", &[dir.path().to_str().unwrap()]);
    let tokens = token_cases(dir.path());
    for (server, case) in &tokens {
        assert!(
            SERVERS.iter().any(|(s, _)| s == server),
            "{}: no server {server}",
            case.name
        );
    }
    let read = |file: &str| std::fs::read_to_string(dir.path().join(file)).unwrap();
    for host in hosts() {
        for (server, table) in SERVERS {
            let vars: Vec<(&str, String)> = table
                .iter()
                .map(|&(k, v)| (k, v.strip_prefix('@').map_or(v.to_string(), read)))
                .collect();
            if host == Host::Wasmtime && vars.iter().any(|(_, v)| v.contains(',')) {
                // wasmtime's -S splits its value at commas: no JSON passes there.
                eprintln!("note: {server} with a comma in a value: not on wasmtime serve");
                continue;
            }
            // Named by the key's file too: two configurations judge the JWKS tokens.
            let label = format!("{host:?} {server} ({})", table[0].1.trim_start_matches('@'));
            let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let running = Server::on(host, &vars);
            let cases = tokens.iter().filter(|(s, _)| s == server).map(|(_, c)| c);
            for case in cases.chain(&other_cases(server)) {
                let mut headers = vec![("Content-Type", "application/json")];
                headers.extend(case.headers.iter().map(|(k, v)| (*k, v.as_str())));
                let r = running.request("POST", "/predict", &headers, SETOSA.as_bytes());
                check(&r, case, &format!("{label}: {}", case.name));
            }
        }
    }
}
