//! A token's header and claims: base64url JSON objects, read with the component's own
//! strict JSON reader, and the claim checks RFC 7519 asks of a server (`exp`, `nbf`,
//! `iss`, `aud`).
//!
//! The rules, as PyJWT and jsonwebtoken apply them: `exp` is required and a token is
//! refused once `now > exp + leeway`; `nbf`, when present, refuses it while
//! `now + leeway < nbf`; a configured issuer must equal `iss`; and when `aud` is
//! present the server must find its configured audience in it (a token meant for some
//! audience is refused by a server configured with none, RFC 7519 4.1.3).

use base64ct::{Base64UrlUnpadded, Encoding as _};
use jsonwebtoken::Algorithm;

use super::JwtConfig;
use crate::api::json::{self, Json};

/// The header fields that decide how a token is checked.
pub(super) struct Header {
    /// The algorithm, one of the three accepted (never `none`).
    pub alg: Algorithm,
    /// The key id, which picks a JWKS key.
    pub kid: Option<String>,
}

impl Header {
    /// Reads the header part: a JSON object naming an accepted `alg`, with no `crit`
    /// extensions (none are understood, so a token that requires one is refused).
    pub fn read(part: &str) -> Result<Header, String> {
        let header = read_part(part)?;
        let alg = match header.get("alg") {
            Some(Json::Str(alg)) => alg.as_str(),
            _ => return Err("the token's header names no alg".into()),
        };
        let alg = match alg {
            "HS256" => Algorithm::HS256,
            "RS256" => Algorithm::RS256,
            "ES256" => Algorithm::ES256,
            _ => {
                return Err(format!(
                    "algorithm {} is not accepted (HS256, RS256, ES256)",
                    printable(alg)
                ))
            }
        };
        if header.get("crit").is_some() {
            return Err(
                "the token requires header extensions (crit) this server does not know".into(),
            );
        }
        let kid = match header.get("kid") {
            None => None,
            Some(Json::Str(kid)) => Some(kid.clone()),
            Some(_) => return Err("the token's kid is not a string".into()),
        };
        Ok(Header { alg, kid })
    }
}

/// A token part: base64url without padding, holding a JSON object.
pub(super) fn read_part(part: &str) -> Result<Json, String> {
    let bytes = Base64UrlUnpadded::decode_vec(part)
        .map_err(|_| "the token is not three base64url parts".to_string())?;
    match json::parse(&bytes) {
        Ok(obj @ Json::Obj(_)) => Ok(obj),
        _ => Err("a part of the token is not a JSON object".into()),
    }
}

/// Checks the claims at time `now` (seconds since the Unix epoch).
pub(super) fn check(claims: &Json, jwt: &JwtConfig, now: f64) -> Result<(), String> {
    let leeway = jwt.leeway_seconds as f64;
    let time = |name: &str| match claims.get(name) {
        None => Ok(None),
        Some(Json::Num(t)) if t.is_finite() => Ok(Some(*t)),
        Some(_) => Err(format!("the token's {name} claim is not a number")),
    };
    match time("exp")? {
        None => return Err("the token has no exp claim".into()),
        Some(exp) if now > exp + leeway => return Err("the token has expired".into()),
        Some(_) => {}
    }
    if time("nbf")?.is_some_and(|nbf| now + leeway < nbf) {
        return Err("the token is not valid yet (nbf)".into());
    }
    if let Some(issuer) = &jwt.issuer {
        if !matches!(claims.get("iss"), Some(Json::Str(iss)) if iss == issuer) {
            return Err("the token's issuer (iss) is not accepted".into());
        }
    }
    let audiences: Vec<&str> = match claims.get("aud") {
        None => Vec::new(),
        Some(Json::Str(aud)) => vec![aud.as_str()],
        Some(Json::Arr(auds)) => auds
            .iter()
            .map(|a| match a {
                Json::Str(a) => Ok(a.as_str()),
                _ => Err("the token's aud claim is not a string or strings".to_string()),
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err("the token's aud claim is not a string or strings".into()),
    };
    let accepted = match &jwt.audience {
        Some(mine) => audiences.contains(&mine.as_str()),
        None => claims.get("aud").is_none(),
    };
    if !accepted {
        return Err("the token's audience (aud) is not accepted".into());
    }
    Ok(())
}

/// A header value quoted in an answer: short, and only characters that need no escape
/// in a `WWW-Authenticate` quoted string.
fn printable(s: &str) -> String {
    let clean: String = s
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "-_.".contains(*c))
        .take(16)
        .collect();
    if clean.is_empty() {
        "(unnamed)".into()
    } else {
        clean
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(issuer: Option<&str>, audience: Option<&str>) -> JwtConfig {
        JwtConfig {
            issuer: issuer.map(Into::into),
            audience: audience.map(Into::into),
            leeway_seconds: 60,
            ..JwtConfig::default()
        }
    }

    fn claims(json: &str) -> Json {
        json::parse(json.as_bytes()).unwrap()
    }

    #[test]
    fn times_are_checked_with_the_leeway() {
        let jwt = config(None, None);
        let now = 1_000_000.0;
        let cases = [
            (r#"{"exp": 1000100}"#, Ok(())),
            (r#"{"exp": 999950}"#, Ok(())),
            (r#"{"exp": 999939}"#, Err("the token has expired")),
            (r#"{"sub": "x"}"#, Err("the token has no exp claim")),
            (
                r#"{"exp": "1000100"}"#,
                Err("the token's exp claim is not a number"),
            ),
            (r#"{"exp": 1000100, "nbf": 1000050}"#, Ok(())),
            (
                r#"{"exp": 1000100, "nbf": 1000061}"#,
                Err("the token is not valid yet (nbf)"),
            ),
        ];
        for (json, want) in cases {
            assert_eq!(
                check(&claims(json), &jwt, now),
                want.map_err(String::from),
                "{json}"
            );
        }
    }

    #[test]
    fn issuer_and_audience_must_match_when_configured() {
        let now = 0.0;
        let aud_refused = Err("the token's audience (aud) is not accepted".to_string());
        let iss_refused = Err("the token's issuer (iss) is not accepted".to_string());
        let both = config(Some("https://issuer.example"), Some("edgewood"));
        let cases = [
            (
                &both,
                r#"{"exp":9,"iss":"https://issuer.example","aud":"edgewood"}"#,
                Ok(()),
            ),
            (
                &both,
                r#"{"exp":9,"iss":"https://issuer.example","aud":["x","edgewood"]}"#,
                Ok(()),
            ),
            (
                &both,
                r#"{"exp":9,"iss":"https://issuer.example","aud":"other"}"#,
                aud_refused.clone(),
            ),
            (
                &both,
                r#"{"exp":9,"iss":"https://issuer.example"}"#,
                aud_refused.clone(),
            ),
            (
                &both,
                r#"{"exp":9,"iss":"https://other.example","aud":"edgewood"}"#,
                iss_refused.clone(),
            ),
            (&both, r#"{"exp":9,"aud":"edgewood"}"#, iss_refused),
        ];
        for (jwt, json, want) in cases {
            assert_eq!(check(&claims(json), jwt, now), want, "{json}");
        }
        // A token meant for an audience is refused where none is configured.
        let none = config(None, None);
        assert_eq!(
            check(&claims(r#"{"exp":9,"aud":"edgewood"}"#), &none, now),
            aud_refused
        );
        assert_eq!(check(&claims(r#"{"exp":9}"#), &none, now), Ok(()));
    }

    #[test]
    fn headers_name_an_accepted_algorithm_and_no_extensions() {
        let b64 = |s: &str| Base64UrlUnpadded::encode_string(s.as_bytes());
        let read = |s: &str| Header::read(&b64(s)).map(|h| (h.alg, h.kid));
        assert_eq!(
            read(r#"{"alg":"ES256","kid":"k1"}"#),
            Ok((Algorithm::ES256, Some("k1".into())))
        );
        assert_eq!(
            read(r#"{"alg":"HS256","typ":"JWT"}"#),
            Ok((Algorithm::HS256, None))
        );
        for (header, why) in [
            (
                r#"{"alg":"none"}"#,
                "algorithm none is not accepted (HS256, RS256, ES256)",
            ),
            (
                r#"{"alg":"HS512"}"#,
                "algorithm HS512 is not accepted (HS256, RS256, ES256)",
            ),
            (
                r#"{"alg":"\"x\r\n"}"#,
                "algorithm x is not accepted (HS256, RS256, ES256)",
            ),
            (r#"{"typ":"JWT"}"#, "the token's header names no alg"),
            (
                r#"{"alg":"RS256","crit":["b64"]}"#,
                "the token requires header extensions (crit) this server does not know",
            ),
            (
                r#"{"alg":"RS256","kid":7}"#,
                "the token's kid is not a string",
            ),
            ("[1]", "a part of the token is not a JSON object"),
        ] {
            assert_eq!(read(header).map(|_| ()), Err(why.to_string()), "{header}");
        }
        assert_eq!(
            Header::read("e30=").map(|_| ()),
            Err("the token is not three base64url parts".to_string())
        );
    }
}
