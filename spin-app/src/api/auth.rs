//! Who may call: the API key (`X-API-Key`, or `Authorization: Bearer <key>`) and JWT
//! bearer tokens (the `jwt` module). Nothing is required when neither is configured; a
//! refusal says why in `WWW-Authenticate` (RFC 6750) and never repeats what was sent.

use super::jwt::{self, JwtConfig};

/// Why a request is not let in: the `WWW-Authenticate` challenge and a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// The `WWW-Authenticate` header value.
    pub challenge: String,
    /// The answer's `detail`.
    pub message: String,
}

/// Lets the request in, or says why not. Nothing is required when neither a key nor
/// a JWT verifier is configured.
pub fn authorize<'h>(
    api_key: Option<&str>,
    jwt: &JwtConfig,
    header: impl Fn(&str) -> Option<&'h str>,
) -> Result<(), Refusal> {
    let api_key = api_key.filter(|k| !k.is_empty());
    if api_key.is_none() && !jwt.enabled() {
        return Ok(());
    }
    let bearer = header("authorization").and_then(|auth| {
        let (scheme, token) = auth.trim().split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
    });
    if let Some(key) = api_key {
        let presented = header("x-api-key").map(str::trim).or(bearer);
        if presented.is_some_and(|p| constant_time_eq(p.as_bytes(), key.as_bytes())) {
            return Ok(());
        }
    }
    let missing = || {
        Refusal {
        challenge: "Bearer".into(),
        message: match (api_key.is_some(), jwt.enabled()) {
            (true, false) => {
                "missing or invalid API key: send it in X-API-Key or Authorization: Bearer"
            }
            (false, _) => "missing credentials: send a JWT in Authorization: Bearer",
            (true, true) => {
                "missing or invalid credentials: send the API key in X-API-Key, or a JWT in Authorization: Bearer"
            }
        }
        .into(),
    }
    };
    match bearer {
        Some(token) if jwt.enabled() && token.contains('.') => {
            jwt::verify(jwt, token).map_err(|why| Refusal {
                challenge: format!("Bearer error=\"invalid_token\", error_description=\"{why}\""),
                message: format!("invalid token: {why}"),
            })
        }
        _ => Err(missing()),
    }
}

/// Equality whose running time depends only on the lengths.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = (a.len() ^ b.len()) as u8 | ((a.len() ^ b.len()) >> 8) as u8;
    for i in 0..b.len() {
        // Read `a` cyclically so the loop always runs over the secret's length.
        let x = if a.is_empty() { 0 } else { a[i % a.len()] };
        diff |= x ^ b[i];
    }
    diff == 0 && a.len() == b.len()
}
