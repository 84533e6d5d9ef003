"""Keys, self-signed certificates and JWKs for end-to-end tests (python3-cryptography).

Everything is computed here independently of grantd, so tests can compare what
the server reports (subjects, thumbprints, dates) with what they uploaded.
"""
import base64
import datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import NameOID

NOT_BEFORE = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)
NOT_AFTER = datetime.datetime(2034, 1, 1, tzinfo=datetime.timezone.utc)


def rsa_key(bits=2048):
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def ec_key():
    return ec.generate_private_key(ec.SECP256R1())


def ed_key():
    return ed25519.Ed25519PrivateKey.generate()


def self_signed(key, cn, org="E2E IdP", not_before=NOT_BEFORE, not_after=NOT_AFTER):
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    algo = None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    return (x509.CertificateBuilder()
            .subject_name(name).issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before).not_valid_after(not_after)
            .sign(key, algo))


def cert_pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def cert_b64_pem(cert):
    """The base64 of the PEM text, as WSO2 stores certificates."""
    return base64.b64encode(cert_pem(cert).encode()).decode()


def private_pem(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def sha256_hex(cert):
    """'AB:CD:...' as openssl x509 -fingerprint -sha256 shows it."""
    return cert.fingerprint(hashes.SHA256()).hex(":").upper()


def x5t_s256(cert):
    return b64url(cert.fingerprint(hashes.SHA256()))


def validity(cert):
    """(notBefore, notAfter) as aware UTC datetimes, on old and new cryptography."""
    if hasattr(cert, "not_valid_before_utc"):
        return cert.not_valid_before_utc, cert.not_valid_after_utc
    utc = datetime.timezone.utc
    return (cert.not_valid_before.replace(tzinfo=utc), cert.not_valid_after.replace(tzinfo=utc))


def rfc3339(dt):
    return dt.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def public_jwk(key, kid, alg=None):
    """The public JWK of an EC P-256, Ed25519 or RSA private key."""
    pub = key.public_key()
    if isinstance(key, ec.EllipticCurvePrivateKey):
        n = pub.public_numbers()
        jwk = {"kty": "EC", "crv": "P-256", "x": b64url(n.x.to_bytes(32, "big")),
               "y": b64url(n.y.to_bytes(32, "big"))}
    elif isinstance(key, ed25519.Ed25519PrivateKey):
        raw = pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        jwk = {"kty": "OKP", "crv": "Ed25519", "x": b64url(raw)}
    else:
        n = pub.public_numbers()
        jwk = {"kty": "RSA", "n": b64url(n.n.to_bytes((n.n.bit_length() + 7) // 8, "big")),
               "e": b64url(n.e.to_bytes(3, "big"))}
    jwk["kid"] = kid
    if alg is not None:
        jwk["alg"] = alg
    return jwk
