//! The signature checks behind [`super`]: HS256, RS256 and ES256, verified over
//! `jsonwebtoken`'s key type and nothing else.
//!
//! Why our own verifiers rather than the crate's `rust_crypto` provider: that feature
//! links every algorithm the crate knows (RSA-PSS, P-384, Ed25519, SHA-384/512) and the
//! signing code of each, and the component grew from 399 KB to 1.39 MB of code with it.
//! A verifier for the three accepted algorithms, built from the same RustCrypto crates
//! (without P-256's precomputed tables), is a fraction of that. Nothing here signs.

use base64ct::{Base64UrlUnpadded, Encoding as _};
use hmac::{Hmac, KeyInit, Mac};
use jsonwebtoken::errors::{Error, ErrorKind, Result};
use jsonwebtoken::signature::{self, Verifier};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey, DecodingKeyKind};
use rsa::pkcs1::DecodeRsaPublicKey;
use rsa::{BoxedUint, Pkcs1v15Sign, PublicKey as RsaPublicKey};
use sha2::{Digest, Sha256};

/// Whether `signature` (base64url) signs `message` for `alg` under `key`.
pub(super) fn verify(
    signature: &str,
    message: &[u8],
    key: &DecodingKey,
    alg: Algorithm,
) -> Result<bool> {
    let Ok(signature) = Base64UrlUnpadded::decode_vec(signature) else {
        return Ok(false);
    };
    Ok(verifier(alg, key)?.verify(message, &signature).is_ok())
}

/// The verifier for a token's algorithm and the configured key, refused when the key
/// is not of that algorithm's family.
fn verifier(alg: Algorithm, key: &DecodingKey) -> Result<Box<dyn Verifier<Vec<u8>>>> {
    let family = match alg {
        Algorithm::HS256 => AlgorithmFamily::Hmac,
        Algorithm::RS256 => AlgorithmFamily::Rsa,
        Algorithm::ES256 => AlgorithmFamily::Ec,
        _ => return Err(ErrorKind::InvalidAlgorithm.into()),
    };
    if key.family() != family {
        return Err(ErrorKind::InvalidAlgorithm.into());
    }
    Ok(match alg {
        Algorithm::HS256 => Box::new(Hs256(
            Hmac::<Sha256>::new_from_slice(key.try_get_as_bytes()?)
                .map_err(|_| ErrorKind::InvalidKeyFormat)?,
        )),
        Algorithm::RS256 => Box::new(Rs256(rsa_key(key)?)),
        _ => Box::new(Es256(
            p256::ecdsa::VerifyingKey::from_sec1_bytes(key.try_get_as_bytes()?)
                .map_err(|_| ErrorKind::InvalidEcdsaKey)?,
        )),
    })
}

/// An RSA public key from a PEM's PKCS#1 DER or a JWK's modulus and exponent (at most
/// 4096 bits, the `rsa` crate's bound).
fn rsa_key(key: &DecodingKey) -> Result<RsaPublicKey> {
    // The rsa and der errors' own words are not kept: their Display code is not worth
    // its size for a message that only says the configured key is unusable.
    let invalid = || Error::from(ErrorKind::InvalidRsaKey(String::new()));
    match key.kind() {
        DecodingKeyKind::SecretOrDer(der) => {
            RsaPublicKey::from_pkcs1_der(der).map_err(|_| invalid())
        }
        DecodingKeyKind::RsaModulusExponent { n, e } => RsaPublicKey::new(
            BoxedUint::from_be_slice_vartime(n),
            BoxedUint::from_be_slice_vartime(e),
        )
        .map_err(|_| invalid()),
    }
}

struct Hs256(Hmac<Sha256>);
struct Rs256(RsaPublicKey);
struct Es256(p256::ecdsa::VerifyingKey);

impl Verifier<Vec<u8>> for Hs256 {
    fn verify(&self, msg: &[u8], sig: &Vec<u8>) -> core::result::Result<(), signature::Error> {
        let mut mac = self.0.clone();
        mac.update(msg);
        // verify_slice compares in constant time.
        mac.verify_slice(sig).map_err(|_| signature::Error::new())
    }
}

impl Verifier<Vec<u8>> for Rs256 {
    fn verify(&self, msg: &[u8], sig: &Vec<u8>) -> core::result::Result<(), signature::Error> {
        self.0
            .verify(Pkcs1v15Sign::new::<Sha256>(), &Sha256::digest(msg), sig)
            .map_err(|_| signature::Error::new())
    }
}

impl Verifier<Vec<u8>> for Es256 {
    fn verify(&self, msg: &[u8], sig: &Vec<u8>) -> core::result::Result<(), signature::Error> {
        let sig = p256::ecdsa::Signature::from_slice(sig)?;
        self.0.verify(msg, &sig)
    }
}
