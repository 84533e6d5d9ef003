"""Issue 10: identity-provider bodies as WSO2 IS 7 sends them: its other
members (image, isPrimary, claims, roles, federatedAuthenticators, ...) are
stored and returned unchanged, type-checked; a typo is still refused by
name."""
import util_certs as uc
import util_jwt as uj

IDPS = uj.API + "/identity-providers"
KEY = uc.rsa_key()

WSO2_MEMBERS = {
    "image": "assets/images/logos/enterprise.svg",
    "isPrimary": False,
    "isFederationHub": False,
    "homeRealmIdentifier": "",
    "templateId": "enterprise-idp",
    "implicitAssociation": {"isEnabled": False, "lookupAttribute": []},
    "claims": {"userIdClaim": {"uri": "http://wso2.org/claims/username"},
               "roleClaim": {"uri": "http://wso2.org/claims/role"},
               "mappings": [], "provisioningClaims": []},
    "roles": {"mappings": [], "outboundProvisioningRoles": []},
    "groups": [],
    "federatedAuthenticators": {"defaultAuthenticatorId": "", "authenticators": []},
    "provisioning": {"jit": {"isEnabled": False, "scheme": "PROVISION_SILENTLY",
                             "userstore": "PRIMARY"}},
}


def body(name, **extra):
    b = uj.jwks_idp(name, [uj.public_jwk(KEY, "k1")], "https://" + name + ".example")
    b.update(extra)
    return b


def test_wso2_members_stored_and_returned(server):
    r = server.post(IDPS, auth=server.admin, json=body("wso2-shaped", **WSO2_MEMBERS))
    assert r.status_code == 201, r.text
    created = r.json()
    for k, v in WSO2_MEMBERS.items():
        assert created[k] == v, k
    got = server.get(IDPS + "/" + created["id"], auth=server.admin).json()
    for k, v in WSO2_MEMBERS.items():
        assert got[k] == v, k
    # The IdP still works for the grant: the members change nothing there.
    assert got["certificate"]["jwks"]["keys"][0]["kid"] == "k1"
    # PUT replaces the whole object: members left out are gone.
    r = server.put(IDPS + "/" + created["id"], auth=server.admin, json=body("wso2-shaped"))
    assert r.status_code == 200, r.text
    assert "claims" not in r.json() and "image" not in r.json()


def test_wso2_member_types_and_typos(server):
    for member, value, why in [("isPrimary", "yes", "isPrimary: must be a boolean"),
                               ("claims", [], "claims: must be an object"),
                               ("groups", {}, "groups: must be an array"),
                               ("image", 5, "image: must be a string")]:
        r = server.post(IDPS, auth=server.admin, json=body("typed", **{member: value}))
        assert r.status_code == 400, r.text
        assert why in r.json()["description"]
    r = server.post(IDPS, auth=server.admin, json=body("typo", imagee="x"))
    assert r.status_code == 400 and "imagee" in r.json()["description"]


def test_idp_with_name_only(server):
    """WSO2 lets an IdP be registered before its keys: valid, verifies
    nothing, and says why; keys added later work."""
    r = server.post(IDPS, auth=server.admin, json={"name": "keys-later", "alias": uj.alias(server)})
    assert r.status_code == 201, r.text
    idp = r.json()
    assert idp["certificate"] == {}
    cid, secret = uj.create_app(server, "keys-later-app")
    a = uj.mint(KEY, uj.claims(uj.alias(server), iss="keys-later"), kid="k1")
    uj.assert_oauth_error(uj.jwt_grant(server, a, (cid, secret)), 400, "invalid_grant",
                          "identity provider 'keys-later' has no keys yet")
    rep = server.post(uj.API + "/jwt-grant/validate", auth=server.admin,
                      json={"assertion": a}).json()
    assert rep["valid"] is False and "has no keys yet" in rep["errorDescription"]
    r = server.put(IDPS + "/" + idp["id"], auth=server.admin,
                   json=body("keys-later", alias=uj.alias(server), idpIssuerName="keys-later"))
    assert r.status_code == 200, r.text
    uj.assert_tokens(uj.jwt_grant(server, a, (cid, secret)))


def test_certificate_with_both_jwks_uri_and_certificates(server):
    """WSO2 lets `certificate` hold both; the jwksUri is what verifies
    (docs/jwt-grant.md, "Key sources"), the certificates are checked,
    stored and returned, never used."""
    cert = uc.self_signed(KEY, "both.example")
    uri = "https://both-unreachable.invalid/jwks.json"
    both = {"jwksUri": uri, "certificates": [uc.cert_pem(cert)]}
    r = server.post(IDPS, auth=server.admin,
                    json={"name": "both", "idpIssuerName": "https://both.example",
                          "alias": uj.alias(server), "certificate": both})
    assert r.status_code == 201, r.text
    got = server.get(IDPS + "/" + r.json()["id"], auth=server.admin).json()["certificate"]
    assert got["jwksUri"] == uri
    assert got["certificates"] == both["certificates"]
    assert got["certificateInfo"][0]["sha256Thumbprint"] == uc.sha256_hex(cert)
    # Signed by the certificate's key: refused, because the keys come from
    # the (unreachable) jwksUri, with no fallback to the certificate.
    cid, secret = uj.create_app(server, "both-app")
    a = uj.mint(KEY, uj.claims(uj.alias(server), iss="https://both.example"))
    r = uj.jwt_grant(server, a, (cid, secret))
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant", r.text
    assert "jwksUri" in r.json()["error_description"] or \
        "being fetched" in r.json()["error_description"], r.text
    # The certificates are still checked: garbage is a 400 naming the entry.
    r = server.post(IDPS, auth=server.admin,
                    json={"name": "both-bad", "certificate": {"jwksUri": uri,
                                                              "certificates": ["garbage"]}})
    assert r.status_code == 400 and "certificate.certificates[0]" in r.json()["description"]
    # jwks combines with neither.
    r = server.post(IDPS, auth=server.admin,
                    json={"name": "both-jwks", "certificate": {
                        "jwksUri": uri, "jwks": {"keys": [uj.public_jwk(KEY, "k1")]}}})
    assert r.status_code == 400 and "jwks cannot be combined" in r.json()["description"]
