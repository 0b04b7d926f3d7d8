//! The key a token must be verified with, from configuration only: the HS256 secret,
//! a PEM public key (SPKI for RSA or P-256, or PKCS#1 for RSA), or a JWKS document,
//! read with the component's own JSON reader (serde's derive for JWK sets would add
//! more code than the rest of JWT together).

use base64ct::{Base64UrlUnpadded, Encoding as _};
use jsonwebtoken::{Algorithm, DecodingKey};
use pkcs8::DecodePublicKey as _;
use rsa::pkcs1::DecodeRsaPublicKey as _;
use rsa::traits::PublicKeyParts as _;

use super::JwtConfig;
use crate::api::json::{self, Json};

/// The key for a token of algorithm `alg` (naming key `kid`, if it does), or why none
/// fits. The token chooses nothing but among configured keys of its algorithm's family.
pub(super) fn key_for(
    jwt: &JwtConfig,
    alg: Algorithm,
    kid: Option<&str>,
) -> Result<DecodingKey, String> {
    let name = name(alg);
    let unconfigured = || format!("{name} tokens are not accepted by this server");
    match alg {
        Algorithm::HS256 => jwt
            .hs256_secret
            .as_deref()
            .and_then(|s| DecodingKey::from_secret(s.as_bytes()).ok())
            .ok_or_else(unconfigured),
        Algorithm::RS256 | Algorithm::ES256 => {
            if let Some(pem) = &jwt.public_key_pem {
                if let Some(key) = pem_key(pem, alg)? {
                    return Ok(key);
                }
            }
            match &jwt.jwks {
                Some(jwks) => jwks_key(jwks, alg, kid),
                None => Err(unconfigured()),
            }
        }
        _ => Err(format!("algorithm {name} is not accepted")),
    }
}

/// The configured PEM key when it is of `alg`'s family (RSA for RS256, P-256 for
/// ES256), `None` when it is of the other.
fn pem_key(pem: &str, alg: Algorithm) -> Result<Option<DecodingKey>, String> {
    // One PEM decoding, then the DER read as each key type the label allows.
    let (label, der) = pem_rfc7468::decode_vec(pem.trim().as_bytes())
        .map_err(|_| "the server's public key cannot be read".to_string())?;
    let (rsa, ec) = match label {
        "PUBLIC KEY" => match rsa::PublicKey::from_public_key_der(&der) {
            Ok(key) => (Some(key), None),
            Err(_) => (None, p256::PublicKey::from_public_key_der(&der).ok()),
        },
        "RSA PUBLIC KEY" => (rsa::PublicKey::from_pkcs1_der(&der).ok(), None),
        _ => (None, None),
    };
    match (alg, rsa, ec) {
        (Algorithm::RS256, Some(key), _) => Ok(Some(DecodingKey::from_rsa_raw_components(
            &key.n_bytes(),
            &key.e_bytes(),
        ))),
        (Algorithm::ES256, _, Some(key)) => {
            Ok(Some(DecodingKey::from_ec_der(&key.to_sec1_bytes())))
        }
        (_, None, None) => Err("the server's public key cannot be read".into()),
        _ => Ok(None),
    }
}

/// The JWKS key for a token: the one its `kid` names, or the only key of the token's
/// family when it names none.
fn jwks_key(jwks: &str, alg: Algorithm, kid: Option<&str>) -> Result<DecodingKey, String> {
    let unreadable = || "the server's JWKS cannot be read".to_string();
    let doc = json::parse(&jwks_json(jwks).ok_or_else(unreadable)?).map_err(|_| unreadable())?;
    let Some(Json::Arr(keys)) = doc.get("keys") else {
        return Err(unreadable());
    };
    let field = |key: &'_ Json, name: &str| match key.get(name) {
        Some(Json::Str(s)) => Some(s.clone()),
        _ => None,
    };
    let fits = |key: &&Json| {
        let family = match alg {
            Algorithm::RS256 => field(key, "kty").as_deref() == Some("RSA"),
            _ => {
                field(key, "kty").as_deref() == Some("EC")
                    && field(key, "crv").as_deref() == Some("P-256")
            }
        };
        family
            && field(key, "alg").is_none_or(|a| a == name(alg))
            && field(key, "use").is_none_or(|u| u == "sig")
    };
    let jwk = match kid {
        Some(kid) => {
            let key = keys
                .iter()
                .find(|k| field(k, "kid").as_deref() == Some(kid))
                .ok_or_else(|| "the token's kid names no key of this server".to_string())?;
            if !fits(&key) {
                return Err(format!(
                    "the token's kid names a key that is not for {}",
                    name(alg)
                ));
            }
            key
        }
        None => {
            let mut fitting = keys.iter().filter(fits);
            match (fitting.next(), fitting.next()) {
                (Some(only), None) => only,
                _ => return Err("the token names no kid and the key is ambiguous".into()),
            }
        }
    };
    let part = |name| {
        field(jwk, name)
            .and_then(|b64| Base64UrlUnpadded::decode_vec(&b64).ok())
            .ok_or_else(unreadable)
    };
    Ok(match alg {
        Algorithm::RS256 => DecodingKey::from_rsa_raw_components(&part("n")?, &part("e")?),
        _ => {
            // An uncompressed SEC1 point: 0x04, then x and y.
            let mut point = vec![4];
            point.extend(part("x")?);
            point.extend(part("y")?);
            DecodingKey::from_ec_der(&point)
        }
    })
}

/// The JWKS document's JSON: the variable as given, or base64-decoded when it is not a
/// JSON object. Why base64: `wasmtime serve -S config-var=NAME=VALUE` splits its value
/// at commas, so JSON cannot pass through it; base64 (either alphabet, padded or not)
/// has no commas.
fn jwks_json(jwks: &str) -> Option<std::borrow::Cow<'_, [u8]>> {
    let jwks = jwks.trim();
    if jwks.starts_with('{') {
        return Some(jwks.as_bytes().into());
    }
    // As base64url without padding, the one decoder the component already carries.
    let url: String = jwks
        .chars()
        .filter(|c| *c != '=' && !c.is_ascii_whitespace())
        .map(|c| match c {
            '+' => '-',
            '/' => '_',
            c => c,
        })
        .collect();
    Base64UrlUnpadded::decode_vec(&url).ok().map(Into::into)
}

/// An accepted algorithm's JOSE name (`Algorithm`'s Debug would link a formatter for
/// all twelve).
fn name(alg: Algorithm) -> &'static str {
    match alg {
        Algorithm::HS256 => "HS256",
        Algorithm::RS256 => "RS256",
        Algorithm::ES256 => "ES256",
        _ => "other",
    }
}
