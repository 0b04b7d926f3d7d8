"""Mints the JWTs host/tests/http/jwt.rs sends to the service, with PyJWT: another
implementation than the server's, so the verdicts are not two copies of the same code
agreeing with each other, and a token accepted is one the rest of the world writes.

`python jwt_tokens.py DIR` writes fresh keys each run (nothing secret is committed):

- hs256.secret: the HS256 shared secret;
- rsa.pem, rsa_pkcs1.pem, ec.pem: the RSA (SPKI and PKCS#1) and P-256 public keys;
- jwks.json: both public keys as a JWKS, with `kid`s; jwks.b64: the same, base64;
- tokens.json: {"issuer", "audience", "tokens": [{"name", "server", "token",
  "status"}]}, where `server` names the configuration the token is sent to (the test
  maps it to configuration variables) and `status` is the answer expected (200, 401).
"""

import base64
import json
import secrets
import sys
import time
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, HMACAlgorithm, RSAAlgorithm

ISSUER = "https://issuer.example"
AUDIENCE = "edgewood"
# Far beyond the server's default leeway (60 s) either way, and far beyond a slow run.
HOUR = 3600


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def pem(public_key, fmt=serialization.PublicFormat.SubjectPublicKeyInfo) -> str:
    return public_key.public_bytes(serialization.Encoding.PEM, fmt).decode()


def tampered(token: str) -> str:
    """The token with its payload changed after signing (a claim an attacker would
    want), header and signature kept: only the signature check can catch it."""
    header, payload, signature = token.split(".")
    claims = json.loads(unb64url(payload))
    claims["sub"] = "admin"
    return ".".join([header, b64url(json.dumps(claims).encode()), signature])


class KeyAsIsHMAC(HMACAlgorithm):
    """HMAC that takes any bytes as its secret. PyJWT itself refuses a PEM public key
    as an HMAC secret; an attacker's tool does not, and that token is what algorithm
    confusion looks like on the wire."""

    def prepare_key(self, key):
        return key.encode() if isinstance(key, str) else key


def confused(claims: dict, public_pem: str) -> str:
    """HS256 signed with the server's public key PEM as the secret: accepted by a
    verifier that lets the token's `alg` pick how the configured key is used."""
    jws = jwt.PyJWS(algorithms=[])
    jws.register_algorithm("HS256", KeyAsIsHMAC(HMACAlgorithm.SHA256))
    return jws.encode(json.dumps(claims).encode(), public_pem, algorithm="HS256")


def jwk(algorithm, public_key, kid: str, alg: str) -> dict:
    return {**algorithm.to_jwk(public_key, as_dict=True), "kid": kid, "alg": alg, "use": "sig"}


def main(out: Path) -> None:
    now = int(time.time())
    good = {"sub": "pyjwt-test", "iss": ISSUER, "aud": AUDIENCE, "exp": now + HOUR}
    # The claim variants every key's server must judge the same way.
    variants = [
        ("valid", good, 200),
        ("expired beyond the leeway", {**good, "exp": now - HOUR}, 401),
        ("not yet valid (nbf) beyond the leeway", {**good, "nbf": now + HOUR}, 401),
        ("wrong audience", {**good, "aud": "someone-else"}, 401),
        ("wrong issuer", {**good, "iss": "https://other.example"}, 401),
        ("no exp", {k: v for k, v in good.items() if k != "exp"}, 401),
    ]

    secret = secrets.token_urlsafe(48)
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    # Same algorithms, keys the server never heard of.
    wrong = {
        "HS256": secrets.token_urlsafe(48),
        "RS256": rsa.generate_private_key(public_exponent=65537, key_size=2048),
        "ES256": ec.generate_private_key(ec.SECP256R1()),
    }
    rsa_pem, ec_pem = pem(rsa_key.public_key()), pem(ec_key.public_key())
    (out / "hs256.secret").write_text(secret)
    (out / "rsa.pem").write_text(rsa_pem)
    (out / "rsa_pkcs1.pem").write_text(pem(rsa_key.public_key(), serialization.PublicFormat.PKCS1))
    (out / "ec.pem").write_text(ec_pem)
    jwks = {
        "keys": [
            jwk(RSAAlgorithm, rsa_key.public_key(), "rsa-1", "RS256"),
            jwk(ECAlgorithm, ec_key.public_key(), "ec-1", "ES256"),
        ]
    }
    (out / "jwks.json").write_text(json.dumps(jwks))
    # For `wasmtime serve`, whose -S config-var splits its value at commas.
    (out / "jwks.b64").write_text(base64.b64encode(json.dumps(jwks).encode()).decode())

    tokens = []

    def add(server, status, name, token):
        tokens.append({"name": name, "server": server, "token": token, "status": status})

    sign = jwt.encode
    for alg, key, server in [("HS256", secret, "hs256"), ("RS256", rsa_key, "rs256"),
                             ("ES256", ec_key, "es256")]:
        for what, claims, status in variants:
            add(server, status, f"{alg} {what}", sign(claims, key, algorithm=alg))
        add(server, 401, f"{alg} signed by the wrong key", sign(good, wrong[alg], algorithm=alg))
        add(server, 401, f"{alg} payload tampered after signing",
            tampered(sign(good, key, algorithm=alg)))
        add(server, 401, f"{alg} alg none (unsigned)", sign(good, None, algorithm=None))

    add("hs256", 401, "HS512 with the server's HS256 secret",
        sign(good, secret, algorithm="HS512"))
    add("rs256", 401, "HS256 signed with the RSA public key PEM (algorithm confusion)",
        confused(good, rsa_pem))
    add("es256", 401, "HS256 signed with the EC public key PEM (algorithm confusion)",
        confused(good, ec_pem))

    # JWKS: the kid picks the key, and must name a key of the token's algorithm.
    def by_kid(kid, key, alg, claims=good):
        return sign(claims, key, algorithm=alg, headers={"kid": kid})

    expired = {**good, "exp": now - HOUR}
    add("jwks", 200, "JWKS RS256 kid rsa-1", by_kid("rsa-1", rsa_key, "RS256"))
    add("jwks", 200, "JWKS ES256 kid ec-1", by_kid("ec-1", ec_key, "ES256"))
    add("jwks", 200, "JWKS RS256 no kid (the only RSA key)", sign(good, rsa_key, algorithm="RS256"))
    add("jwks", 401, "JWKS unknown kid", by_kid("rsa-2", rsa_key, "RS256"))
    add("jwks", 401, "JWKS RS256 kid naming the EC key", by_kid("ec-1", rsa_key, "RS256"))
    add("jwks", 401, "JWKS RS256 kid rsa-1 signed by the wrong key",
        by_kid("rsa-1", wrong["RS256"], "RS256"))
    add("jwks", 401, "JWKS ES256 kid ec-1 expired", by_kid("ec-1", ec_key, "ES256", expired))
    add("jwks", 401, "JWKS alg none with kid rsa-1", by_kid("rsa-1", None, None))

    # A server with no issuer or audience configured: iss is not checked, but a token
    # meant for some audience is refused (RFC 7519 4.1.3), as PyJWT's decode does.
    plain = {"sub": "pyjwt-test", "exp": now + HOUR}
    anyone = {**plain, "iss": "https://any.example"}
    add("rs256-pkcs1", 200, "PKCS#1 key, no aud", sign(plain, rsa_key, algorithm="RS256"))
    add("rs256-pkcs1", 200, "PKCS#1 key, any iss", sign(anyone, rsa_key, algorithm="RS256"))
    add("rs256-pkcs1", 401, "PKCS#1 key, an aud the server does not expect",
        sign(good, rsa_key, algorithm="RS256"))

    doc = {"issuer": ISSUER, "audience": AUDIENCE, "tokens": tokens}
    (out / "tokens.json").write_text(json.dumps(doc, indent=1))
    print(f"{len(tokens)} tokens in {out / 'tokens.json'}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
