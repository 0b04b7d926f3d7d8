//! JWT bearer tokens, verified with a shared secret (HS256) or a public key (RS256,
//! ES256: a PEM or a JWKS document), each from configuration.
//!
//! Why the algorithm is chosen by the key, never by the token: a token names its own
//! `alg`, so a verifier that trusted it could be made to check an RS256 public key as
//! an HMAC secret (algorithm confusion) or to skip checking (`alg: none`). Here HS256 is
//! accepted only with a configured secret, RS256 only with an RSA key and ES256 only
//! with a P-256 key; anything else is refused.
//!
//! `jsonwebtoken` holds the keys; [`crypto`] checks the signature with verifiers for
//! only those three algorithms: the component carries no signing code and no curve or
//! hash it does not use. The header and claims are read
//! by [`claims`] with the component's own JSON reader: `jsonwebtoken::decode` reads them
//! with serde, whose code for its header type alone (which embeds a whole JWK) was
//! larger than all the rest of JWT.

mod claims;
mod crypto;
mod keys;

use jsonwebtoken::errors::ErrorKind;

/// JWT settings (configuration variables `jwt_hs256_secret`, `jwt_public_key`,
/// `jwt_jwks`, `jwt_issuer`, `jwt_audience`, `jwt_leeway_seconds`).
#[derive(Clone, Debug, Default)]
pub struct JwtConfig {
    /// The HS256 shared secret.
    pub hs256_secret: Option<String>,
    /// A PEM public key: RSA (RS256) or EC P-256 (ES256).
    pub public_key_pem: Option<String>,
    /// A JWKS document (`{"keys": [...]}`); a token's `kid` picks the key.
    pub jwks: Option<String>,
    /// When set, the `iss` claim must equal it.
    pub issuer: Option<String>,
    /// When set, the `aud` claim must contain it.
    pub audience: Option<String>,
    /// Clock skew allowed on `exp` and `nbf`, in seconds.
    pub leeway_seconds: u64,
}

/// Default clock skew allowed on `exp`/`nbf` (as most JWT libraries).
pub const DEFAULT_LEEWAY_SECONDS: u64 = 60;

impl JwtConfig {
    /// Whether any way of verifying a token is configured.
    pub fn enabled(&self) -> bool {
        self.hs256_secret.is_some() || self.public_key_pem.is_some() || self.jwks.is_some()
    }
}

/// Verifies a JWT: its signature with the key its algorithm requires, then `exp`
/// (required), `nbf`, and `iss`/`aud` (see [`claims`]). The error says why, in words
/// that never include the token.
pub fn verify(jwt: &JwtConfig, token: &str) -> Result<(), String> {
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("the token is not three base64url parts".into());
    };
    let header = claims::Header::read(header)?;
    let key = keys::key_for(jwt, header.alg, header.kid.as_deref())?;
    // `header.payload`: everything before the signature's dot.
    let signed = &token[..token.len() - signature.len() - 1];
    match crypto::verify(signature, signed.as_bytes(), &key, header.alg) {
        Ok(true) => {}
        Ok(false) => return Err("the signature does not verify".into()),
        Err(e) => return Err(describe(e.kind())),
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    claims::check(&claims::read_part(payload)?, jwt, now)
}

/// Why a signature check failed, for people (RFC 6750's `error_description`: no quotes).
fn describe(kind: &ErrorKind) -> String {
    match kind {
        ErrorKind::InvalidSignature => "the signature does not verify".into(),
        ErrorKind::InvalidAlgorithm => "the token's algorithm does not fit the key".into(),
        ErrorKind::InvalidRsaKey(_) | ErrorKind::InvalidEcdsaKey | ErrorKind::InvalidKeyFormat => {
            "the token's algorithm does not fit the server's key".into()
        }
        _ => "the signature cannot be checked".into(),
    }
}

#[cfg(test)]
mod tests {
    use base64ct::{Base64, Base64UrlUnpadded, Encoding as _};

    use super::*;

    /// RFC 7515 A.3: an ES256 token (`iss` joe, `exp` 1300819380) and its P-256 key.
    const RFC7515_A3_TOKEN: &str = "eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";
    const RFC7515_A3_JWKS: &str = r#"{"keys":[{"kty":"EC","crv":"P-256","kid":"a3","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}"#;

    fn with_jwks(jwks: &str, leeway_seconds: u64) -> JwtConfig {
        JwtConfig {
            jwks: Some(jwks.into()),
            leeway_seconds,
            ..JwtConfig::default()
        }
    }

    #[test]
    fn a_jwks_is_read_as_json_or_as_base64_of_it() {
        // A leeway reaching back to 2011: only the key and the signature decide.
        let since_2011 = 4_000_000_000;
        let json = RFC7515_A3_JWKS;
        for jwks in [
            json.to_string(),
            format!("  {json}\n"),
            Base64::encode_string(json.as_bytes()),
            Base64UrlUnpadded::encode_string(json.as_bytes()),
        ] {
            let jwt = with_jwks(&jwks, since_2011);
            assert_eq!(verify(&jwt, RFC7515_A3_TOKEN), Ok(()), "{jwks}");
        }
        // Expired with the usual leeway: a verdict reached after the signature verified.
        assert_eq!(
            verify(&with_jwks(json, 60), RFC7515_A3_TOKEN),
            Err("the token has expired".into())
        );
        let tampered = RFC7515_A3_TOKEN.replace("Kg6NU1Q", "Kg6NU1A");
        assert_eq!(
            verify(&with_jwks(json, since_2011), &tampered),
            Err("the signature does not verify".into())
        );
        // "W10" is "[]": base64 of JSON, but no key set.
        for unreadable in ["not base64, nor JSON", "W10", "{\"keys\": 7}"] {
            assert_eq!(
                verify(&with_jwks(unreadable, since_2011), RFC7515_A3_TOKEN),
                Err("the server's JWKS cannot be read".into()),
                "{unreadable}"
            );
        }
    }
}
