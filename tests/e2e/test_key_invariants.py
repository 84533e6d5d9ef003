"""Issue 9, finding 5: public keys that parse but are no keys. An Ed25519 key of
small order (x = 01 00..00, the identity) makes the constant signature
R = identity, S = 0 verify for any claims; an RSA exponent of 1 makes every
message its own signature. Every key source refuses them: an inline JWKS and
an uploaded certificate at the admin API (400 naming the problem), and a
fetched JWKS (the document is refused, as for any invalid key in it).
"""
import json

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.x509.oid import NameOID

import util_certs as uc
import util_jwt as uj
from test_token_jwks import EXTRA_TOML, JwksServer

IDENTITY = bytes([1]) + bytes(31)  # the Ed25519 identity point, order 1
SMALL_ORDER = [IDENTITY,
               bytes([0xec]) + b"\xff" * 30 + b"\x7f",  # y = -1: order 2
               bytes(32)]                                # y = 0: order 4
ED_ERROR = "Ed25519 public key is not a valid point"


def okp(x, kid="evil"):
    return {"kty": "OKP", "crv": "Ed25519", "x": uj.b64u(x), "kid": kid, "alg": "EdDSA"}


def forged_assertion(aud, iss, kid="evil"):
    """An EdDSA JWS whose signature is R = identity, S = 0: valid under a
    small-order key for any header and claims."""
    header = json.dumps({"alg": "EdDSA", "kid": kid, "typ": "JWT"}, separators=(",", ":"))
    claims = json.dumps(uj.claims(aud, iss=iss), separators=(",", ":"))
    return uj.raw_jws(header, claims, sig=IDENTITY + bytes(32))


def test_inline_jwks_refuses_small_order_ed25519(server):
    aud = uj.alias(server)
    for i, x in enumerate(SMALL_ORDER):
        r = server.post(uj.API + "/identity-providers", auth=server.admin,
                        json=uj.jwks_idp(f"evil{i}", [okp(x)], "https://evil.example", aud))
        assert r.status_code == 400, r.text
        assert ED_ERROR in r.json()["description"], r.text
    # nothing was stored
    r = server.get(uj.API + "/identity-providers", auth=server.admin)
    assert r.json()["totalResults"] == 0


def test_inline_jwks_refuses_rsa_exponent_one(server):
    key = uc.rsa_key()
    jwk = uj.public_jwk(key, "e1")
    jwk["e"] = uj.b64u(b"\x01")
    r = server.post(uj.API + "/identity-providers", auth=server.admin,
                    json=uj.jwks_idp("e1", [jwk], "https://e1.example", uj.alias(server)))
    assert r.status_code == 400, r.text
    assert "exponent" in r.json()["description"]


def test_certificate_with_small_order_key_is_refused(server):
    ca = uc.ed_key()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "evil.example")])
    cert = (x509.CertificateBuilder()
            .subject_name(name).issuer_name(name)
            .public_key(ed25519.Ed25519PublicKey.from_public_bytes(IDENTITY))
            .serial_number(x509.random_serial_number())
            .not_valid_before(uc.NOT_BEFORE).not_valid_after(uc.NOT_AFTER)
            .sign(ca, None))
    r = server.post(uj.API + "/identity-providers", auth=server.admin,
                    json=uj.cert_idp("evil-cert", cert, "https://evil.example",
                                     uj.alias(server)))
    assert r.status_code == 400, r.text
    assert ED_ERROR in r.json()["description"], r.text


def test_fetched_small_order_key_never_verifies(make_server):
    jwks = JwksServer()
    try:
        srv = make_server(extra_toml=EXTRA_TOML).start()
        aud = uj.alias(srv)
        good = uc.ed_key()
        ep = jwks.endpoint("/evil")
        ep.keys = [okp(IDENTITY), uc.public_jwk(good, "good", alg="EdDSA")]
        iss = "https://evil.example"
        uj.create_idp(srv, {"name": "evil", "idpIssuerName": iss, "alias": aud,
                            "certificate": {"jwksUri": jwks.url("/evil")}})
        cid, secret = uj.create_app(srv, "evil-app")
        # a fetched document holding such a key is refused as a whole
        r = uj.jwt_grant(srv, forged_assertion(aud, iss), (cid, secret))
        uj.assert_oauth_error(r, 400, "invalid_grant", ED_ERROR)
        # the same forgery without kid: refused too
        header = json.dumps({"alg": "EdDSA"}, separators=(",", ":"))
        claims = json.dumps(uj.claims(aud, iss=iss), separators=(",", ":"))
        r = uj.jwt_grant(srv, uj.raw_jws(header, claims, sig=IDENTITY + bytes(32)),
                         (cid, secret))
        uj.assert_oauth_error(r, 400, "invalid_grant")
        # once the IdP serves only its good key, that key works
        with jwks.lock:
            ep.keys = [uc.public_jwk(good, "good", alg="EdDSA")]
        a = uj.mint(good, uj.claims(aud, iss=iss), alg="EdDSA", kid="good")
        uj.assert_tokens(uj.jwt_grant(srv, a, (cid, secret)))
    finally:
        jwks.stop()
