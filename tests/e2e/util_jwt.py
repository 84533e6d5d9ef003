"""Helpers for the token endpoint tests: register IdPs and applications through
the admin API, mint assertions (python3-jwt, python3-cryptography, and raw
JOSE for inputs no library would produce), and call /oauth2/token.
"""
import base64
import hashlib
import hmac
import json
import time
import uuid

import jwt
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, utils

import util_certs as uc

API = "/api/server/v1"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def b64u(data):
    if isinstance(data, str):
        data = data.encode()
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def alias(srv, tenant=None):
    """The token endpoint URL the server computes (hostname is localhost)."""
    if tenant:
        return f"https://localhost:{srv.port}/t/{tenant}/oauth2/token"
    return f"https://localhost:{srv.port}/oauth2/token"


def private_pem(key):
    return uc.private_pem(key).encode()


def claims(default_aud, /, **over):
    """Valid claims for `default_aud`; keyword arguments replace claims (None
    removes one); `now` and `lifetime` (seconds) set iat and exp."""
    now = over.pop("now", None)
    now = int(time.time()) if now is None else now
    lifetime = over.pop("lifetime", 300)
    c = {"iss": "https://idp.example", "sub": "alice", "aud": default_aud, "iat": now,
         "exp": now + lifetime, "jti": str(uuid.uuid4())}
    for k, v in over.items():
        if v is None:
            c.pop(k, None)
        else:
            c[k] = v
    return c


def mint(key, payload, alg="RS256", kid=None, headers=None):
    h = dict(headers or {})
    if kid is not None:
        h["kid"] = kid
    return jwt.encode(payload, private_pem(key), algorithm=alg, headers=h or None)


def raw_sign(key, signing_input, alg="RS256"):
    data = signing_input.encode()
    if alg == "RS256":
        return key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    if alg == "PS256":
        return key.sign(data, padding.PSS(mgf=padding.MGF1(hashes.SHA256()),
                                          salt_length=32), hashes.SHA256())
    if alg == "ES256":
        der = key.sign(data, ec.ECDSA(hashes.SHA256()))
        r, s = utils.decode_dss_signature(der)
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")
    raise ValueError(alg)


def raw_jws(header_text, payload_text, key=None, alg="RS256", sig=None):
    """A compact JWS from literal JSON texts (e.g. with duplicate keys)."""
    si = b64u(header_text) + "." + b64u(payload_text)
    if sig is None:
        sig = raw_sign(key, si, alg)
    return si + "." + b64u(sig)


def hs256(header, payload, secret):
    si = b64u(json.dumps(header)) + "." + b64u(json.dumps(payload))
    return si + "." + b64u(hmac.new(secret, si.encode(), hashlib.sha256).digest())


def create_idp(srv, body, prefix=""):
    r = srv.post(prefix + API + "/identity-providers", auth=srv.admin, json=body)
    assert r.status_code == 201, r.text
    return r.json()


def cert_idp(name, cert, iss="https://idp.example", alias_url=None, **extra):
    body = {"name": name, "idpIssuerName": iss,
            "certificate": {"certificates": [uc.cert_pem(cert)]}}
    if alias_url is not None:
        body["alias"] = alias_url
    body.update(extra)
    return body


def jwks_idp(name, keys, iss, alias_url=None, **extra):
    body = {"name": name, "idpIssuerName": iss, "certificate": {"jwks": {"keys": keys}}}
    if alias_url is not None:
        body["alias"] = alias_url
    body.update(extra)
    return body


def public_jwk(key, kid, alg="RS256"):
    j = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key())) \
        if alg.startswith(("RS", "PS")) else \
        json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
    j.update({"kid": kid, "alg": alg, "use": "sig"})
    return j


def create_app(srv, name, grants=(JWT_BEARER, "refresh_token"), prefix="", **oidc):
    o = {"grantTypes": list(grants)}
    o.update(oidc)
    r = srv.post(prefix + API + "/applications", auth=srv.admin,
                 json={"name": name, "inboundProtocolConfiguration": {"oidc": o}})
    assert r.status_code == 201, r.text
    o = r.json()["inboundProtocolConfiguration"]["oidc"]
    return o["clientId"], o.get("clientSecret")


def token(srv, data, auth=None, prefix="", params=None, headers=FORM):
    return srv.post(prefix + "/oauth2/token", data=data, auth=auth, params=params,
                    headers=headers)


def jwt_grant(srv, assertion, auth, prefix="", **extra):
    data = {"grant_type": JWT_BEARER, "assertion": assertion}
    data.update(extra)
    return token(srv, data, auth=auth, prefix=prefix)


def assert_tokens(r, refresh=True):
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "Bearer"
    assert len(body["access_token"]) >= 43
    assert isinstance(body["expires_in"], int) and body["expires_in"] > 0
    assert ("refresh_token" in body) == refresh
    assert r.headers["Cache-Control"] == "no-store"
    assert r.headers["Pragma"] == "no-cache"
    return body


def assert_oauth_error(r, status, error, desc=None, secrets=()):
    assert r.status_code == status, r.text
    body = r.json()
    assert body["error"] == error, body
    if desc is not None:
        assert desc in body["error_description"], body["error_description"]
    # RFC 6749 section 5.2: %x20-21 / %x23-5B / %x5D-7E only.
    assert all(0x20 <= ord(ch) <= 0x7e and ch not in '"\\'
               for ch in body.get("error_description", "")), body
    for s in secrets:
        assert s not in r.text
    assert r.headers["Cache-Control"] == "no-store"
    if status == 401:
        assert r.headers["WWW-Authenticate"] == 'Basic realm="grantd"'
    return body


def sha256(secret_key, tok):
    """HMAC-SHA256(secret_key, tok): the key of a token without time."""
    return hmac.new(secret_key, tok.encode(), hashlib.sha256).digest()


def token_key(secret_key, tok):
    """What the store keeps of a token (src/oauth/tokens.h, tokens_key):
    HMAC-SHA256(server secret, the token's text), led by the token's 48-bit
    millisecond time when it carries one - an opaque token of 38 bytes
    (time, then 32 random bytes), or a JWT whose jti is a UUIDv7 - then
    only the first 26 bytes of the HMAC follow."""
    mac = sha256(secret_key, tok)
    if "." in tok:
        body = tok.split(".")[1]
        jti = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))).get("jti", "")
        if len(jti) == 36 and jti[14] == "7":
            return bytes.fromhex(jti.replace("-", "")[:12]) + mac[:26]
        return mac
    raw = base64.urlsafe_b64decode(tok + "=" * (-len(tok) % 4))
    if len(raw) == 38:
        return raw[:6] + mac[:26]
    return mac
