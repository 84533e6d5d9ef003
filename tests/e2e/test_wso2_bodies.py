"""Issue 10: identity-provider and application bodies as WSO2 IS 7 sends
them: its other members (image, isPrimary, claims, roles, ...; for OIDC
allowedOrigins, pkce, logout, scopeValidators, state, ...) are stored and
returned unchanged, type-checked; a typo is still refused by name. An
application may be created with a name only and get its OIDC configuration
later with PUT .../inbound-protocols/oidc, WSO2's console flow."""
import base64
import json


import util_certs as uc
import util_jwt as uj

IDPS = uj.API + "/identity-providers"
APPS = uj.API + "/applications"
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
    for member, value, why in [("isPrimary", "yes", "isPrimary: must be true or false"),
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


# ---- applications -------------------------------------------------------------

# The OIDC members of WSO2 IS 7's OpenIDConnectConfiguration that grantd
# keeps without acting on (its applications.yaml), as its console sends them.
WSO2_OIDC = {
    "state": "ACTIVE",
    "allowedOrigins": ["https://app.example"],
    "pkce": {"mandatory": False, "supportPlainTransformAlgorithm": False},
    "hybridFlow": {"enable": False, "responseType": ""},
    "logout": {"backChannelLogoutUrl": "", "frontChannelLogoutUrl": ""},
    "validateRequestObjectSignature": False,
    "scopeValidators": ["Role based scope validator"],
    "requestObject": {"requestObjectSigningAlg": "", "encryption": {"algorithm": "",
                                                                   "method": ""}},
    "pushAuthorizationRequest": {"requirePushAuthorizationRequest": False},
    "subject": {"subjectType": "public", "sectorIdentifierUri": ""},
    "isFAPIApplication": False,
}
WSO2_NESTED = {
    "accessToken": {"bindingType": "None", "revokeTokensWhenIDPSessionTerminated": False,
                    "validateTokenBinding": False, "accessTokenAttributes": []},
    "refreshToken": {"extendRenewedRefreshTokenExpiryTime": False},
    "idToken": {"idTokenSignedResponseAlg": "RS256",
                "encryption": {"enabled": False, "algorithm": "", "method": ""}},
    "clientAuthentication": {"tokenEndpointAuthSigningAlg": "", "tlsClientAuthSubjectDn": ""},
}


def grant_idp(server, name):
    iss = "https://" + name + ".example"
    uj.create_idp(server, body(name, alias=uj.alias(server), idpIssuerName=iss))
    return uj.mint(KEY, uj.claims(uj.alias(server), iss=iss), kid="k1")


def test_wso2_oidc_members_stored_and_returned(server):
    oidc = {"grantTypes": [uj.JWT_BEARER, "refresh_token"],
            "callbackURLs": ["https://app.example/cb"],
            "accessToken": {"type": "Default", "userAccessTokenExpiryInSeconds": 3600,
                            "applicationAccessTokenExpiryInSeconds": 3600},
            "refreshToken": {"expiryInSeconds": 86400, "renewRefreshToken": True},
            "idToken": {"expiryInSeconds": 3600, "audience": []},
            "clientAuthentication": {"tokenEndpointAuthMethod": "client_secret_basic"},
            "clientSecretExpiresAt": 0}
    oidc.update(WSO2_OIDC)
    for k, v in WSO2_NESTED.items():
        oidc[k] = dict(oidc.get(k, {}), **v)
    r = server.post(APPS, auth=server.admin,
                    json={"name": "wso2-oidc", "inboundProtocolConfiguration": {"oidc": oidc}})
    assert r.status_code == 201, r.text
    app = r.json()
    got_oidc = app["inboundProtocolConfiguration"]["oidc"]
    cid, secret = got_oidc["clientId"], got_oidc["clientSecret"]
    got = server.get(APPS + "/" + app["id"] + "/inbound-protocols/oidc", auth=server.admin).json()
    for k, v in WSO2_OIDC.items():
        assert got[k] == v, k
    for sub, members in WSO2_NESTED.items():
        for k, v in members.items():
            assert got[sub][k] == v, (sub, k)
    assert got["accessToken"]["type"] == "Default"  # grantd's own, side by side
    assert "clientSecretExpiresAt" not in got and "clientSecret" not in got
    # They change nothing: the grant works as for any application.
    uj.assert_tokens(uj.jwt_grant(server, grant_idp(server, "wso2-oidc-idp"), (cid, secret)))
    # A WSO2 GET -> edit -> PUT round trip keeps them ...
    got["callbackURLs"] = ["https://app.example/cb2"]
    r = server.put(APPS + "/" + app["id"] + "/inbound-protocols/oidc", auth=server.admin, json=got)
    assert r.status_code == 200, r.text
    assert r.json()["pkce"] == WSO2_OIDC["pkce"]
    assert r.json()["callbackURLs"] == ["https://app.example/cb2"]
    # ... and a PUT without them drops them (PUT replaces the whole object).
    r = server.put(APPS + "/" + app["id"] + "/inbound-protocols/oidc", auth=server.admin,
                   json={"grantTypes": [uj.JWT_BEARER]})
    assert r.status_code == 200, r.text
    assert "pkce" not in r.json() and "bindingType" not in r.json()["accessToken"]
    # An expiring secret is not something grantd does: refused, by name.
    r = server.post(APPS, auth=server.admin,
                    json={"name": "wso2-expiring", "inboundProtocolConfiguration": {
                        "oidc": {"grantTypes": [uj.JWT_BEARER],
                                 "clientSecretExpiresAt": 1893456000}}})
    assert r.status_code == 400, r.text
    assert "clientSecretExpiresAt: not supported by grantd" in r.json()["description"]


def basic(cid, secret):
    return "Basic " + base64.b64encode(f"{cid}:{secret}".encode()).decode()


def test_application_with_name_only_then_oidc(server):
    """WSO2's console flow: Add (name, description) -> Register, then the
    OAuth/OpenID Connect configuration, which shows the client key and
    secret once."""
    before = server.get(uj.API + "/audit-events", auth=server.admin,
                        params={"limit": 1}).json()["totalResults"]
    r = server.post(APPS, auth=server.admin,
                    json={"name": "console-flow", "description": "made in two steps"})
    assert r.status_code == 201, r.text
    app = r.json()
    assert app["name"] == "console-flow" and app["description"] == "made in two steps"
    assert "inboundProtocolConfiguration" not in app
    assert r.headers["Location"].endswith("/applications/" + app["id"])
    oidc_url = APPS + "/" + app["id"] + "/inbound-protocols/oidc"
    listed = [a for a in server.get(APPS, auth=server.admin, params={"limit": 100})
              .json()["applications"] if a["id"] == app["id"]]
    assert listed and listed[0]["clientId"] is None
    r = server.get(oidc_url, auth=server.admin)
    assert r.status_code == 404 and "no OIDC configuration yet" in r.json()["description"]
    r = server.post(oidc_url + "/regenerate-secret", auth=server.admin)
    assert r.status_code == 404 and "no OIDC configuration yet" in r.json()["description"]
    # It has no client: nothing authenticates as it, not even its placeholder.
    assertion = grant_idp(server, "console-flow-idp")
    r = server.post("/oauth2/token", headers={"Authorization": basic("~" + app["id"], "x"),
                                              "Content-Type": "application/x-www-form-urlencoded"},
                    data={"grant_type": uj.JWT_BEARER, "assertion": assertion})
    assert r.status_code == 401 and r.json()["error"] == "invalid_client", r.text

    # The first PUT creates the configuration: a generated client id and
    # secret, the secret shown this once.
    r = server.put(oidc_url, auth=server.admin, json={"grantTypes": [uj.JWT_BEARER]})
    assert r.status_code == 200, r.text
    cid, secret = r.json()["clientId"], r.json()["clientSecret"]
    assert len(cid) == 28 and len(secret) == 43
    got = server.get(oidc_url, auth=server.admin).json()
    assert got["clientId"] == cid and "clientSecret" not in got
    listed = [a for a in server.get(APPS, auth=server.admin, params={"limit": 100})
              .json()["applications"] if a["id"] == app["id"]]
    assert listed[0]["clientId"] == cid
    body_ = uj.assert_tokens(uj.jwt_grant(server, assertion, (cid, secret)), refresh=False)
    assert body_["access_token"]
    # Later PUTs are updates: the client id stays, a secret cannot be set.
    r = server.put(oidc_url, auth=server.admin,
                   json={"grantTypes": [uj.JWT_BEARER], "clientId": "x" * 28})
    assert r.status_code == 400 and "clientId: cannot change" in r.json()["description"]
    after = server.get(uj.API + "/audit-events", auth=server.admin,
                       params={"limit": 1}).json()["totalResults"]
    assert after == before + 3  # the app, its IdP, the first configuration


def test_first_oidc_with_migrated_credentials(server):
    """An admin moving a client from WSO2 keeps its key and secret; a key
    already taken is a 409 and changes nothing."""
    def name_only(name):
        r = server.post(APPS, auth=server.admin, json={"name": name})
        assert r.status_code == 201, r.text
        return APPS + "/" + r.json()["id"] + "/inbound-protocols/oidc"

    taken, _ = uj.create_app(server, "migrated-taken")
    url = name_only("migrated")
    r = server.put(url, auth=server.admin, json={"grantTypes": [uj.JWT_BEARER],
                                                 "clientId": taken})
    assert r.status_code == 409, r.text
    assert server.get(url, auth=server.admin).status_code == 404  # still unconfigured
    r = server.put(url, auth=server.admin, json={"grantTypes": [uj.JWT_BEARER],
                                                 "clientId": "WSO2_migrated_client_key_0001",
                                                 "clientSecret": "short"})
    assert r.status_code == 400 and "clientSecret: when given" in r.json()["description"]
    secret = "f3Xq9LmT0pWzR2vYb8NcKd4HsJe6"  # WSO2's secrets are 28 characters
    r = server.put(url, auth=server.admin, json={"grantTypes": [uj.JWT_BEARER],
                                                 "clientId": "WSO2_migrated_client_key_0001",
                                                 "clientSecret": secret})
    assert r.status_code == 200, r.text
    assert r.json()["clientId"] == "WSO2_migrated_client_key_0001"
    assert "clientSecret" not in r.json()  # never repeated as given
    assertion = grant_idp(server, "migrated-idp")
    uj.assert_tokens(uj.jwt_grant(server, assertion, ("WSO2_migrated_client_key_0001", secret)),
                     refresh=False)
    # A public client gets no secret, and refuses one.
    url = name_only("migrated-public")
    r = server.put(url, auth=server.admin, json={"grantTypes": [uj.JWT_BEARER],
                                                 "publicClient": True, "clientSecret": secret})
    assert r.status_code == 400 and "does not authenticate with a secret" in r.text
    r = server.put(url, auth=server.admin, json={"grantTypes": [uj.JWT_BEARER],
                                                 "publicClient": True})
    assert r.status_code == 200 and "clientSecret" not in r.json(), r.text


# An application body made of the examples in WSO2 IS 7's application
# OpenAPI document (applications.yaml: ApplicationModel and
# OpenIDConnectConfiguration with their sub-schemas), as its console or a
# migration script sends it.
WSO2_APP_TOP = {
    "description": "This is the configuration for Pickup application.",
    "imageUrl": "https://example.com/logo/my-logo.png",
    "accessUrl": "https://example.com/login",
    "logoutReturnUrl": "https://example.com/app/logout",
    "templateId": "980b8tester24c64a8a09a0d80abf8c337bd2555",
    "templateVersion": "v1.0.0",
    "isManagementApp": False,
    "isB2BSelfServiceApp": False,
    "applicationEnabled": True,
    "claimConfiguration": {"dialect": "LOCAL", "claimMappings": [], "requestedClaims": [],
                           "subject": {"claim": {"uri": "http://wso2.org/claims/username"}},
                           "role": {"includeUserDomain": True}},
    "advancedConfigurations": {"saas": False, "discoverableByEndUsers": False,
                               "skipLoginConsent": False, "skipLogoutConsent": False,
                               "returnAuthenticatedIdpList": False,
                               "enableAuthorization": True},
}
WSO2_APP_OIDC = {
    "grantTypes": [uj.JWT_BEARER, "refresh_token"],
    "callbackURLs": ["https://app.example.com/callback"],
    "allowedOrigins": ["https://app.example.com"],
    "publicClient": False,
    "multipleClientSecretsConfigured": True,
    "pkce": {"mandatory": False, "supportPlainTransformAlgorithm": True},
    "accessToken": {"type": "JWT", "userAccessTokenExpiryInSeconds": 3600,
                    "applicationAccessTokenExpiryInSeconds": 3600, "bindingType": "cookie",
                    "revokeTokensWhenIDPSessionTerminated": True,
                    "validateTokenBinding": False},
    "refreshToken": {"expiryInSeconds": 86400, "extendRenewedRefreshTokenExpiryTime": False,
                     "renewRefreshToken": True, "gracefulRefreshTokenRotationEnabled": False,
                     "gracefulRefreshTokenRotationValidityPeriod": 60,
                     "gracefulRefreshTokenReuseLimit": 1},
    "idToken": {"expiryInSeconds": 3600, "audience": ["http://idp.xyz.com"],
                "idTokenSignedResponseAlg": "PS256"},
    "logout": {"backChannelLogoutUrl": "https://app.example.com/backchannel/callback",
               "frontChannelLogoutUrl": "https://app.example.com/frontchannel/callback"},
    "validateRequestObjectSignature": False,
    "scopeValidators": ["Role based scope validator", "XACML Scope Validator"],
    "clientAuthentication": {"tokenEndpointAuthMethod": "client_secret_basic",
                             "tokenEndpointAllowReusePvtKeyJwt": False,
                             "tokenEndpointAuthSigningAlg": "PS256",
                             "tlsClientAuthSubjectDn": "CN=John Doe,OU=OrgUnit,O=Organization,"
                                                       "L=Colombo,ST=Western,C=LK"},
    "isFAPIApplication": False,
    "fapiProfile": "FAPI1_ADVANCED",
}


def test_wso2_application_example_round_trips(server):
    body = dict(WSO2_APP_TOP, name="pickup",
                inboundProtocolConfiguration={"oidc": WSO2_APP_OIDC})
    r = server.post(APPS, auth=server.admin, json=body)
    assert r.status_code == 201, r.text
    created = r.json()
    oidc = created["inboundProtocolConfiguration"]["oidc"]
    cid, secret = oidc["clientId"], oidc["clientSecret"]
    got = server.get(APPS + "/" + created["id"], auth=server.admin).json()
    for k, v in WSO2_APP_TOP.items():
        if k != "applicationEnabled":
            assert got[k] == v, k
    got_oidc = got["inboundProtocolConfiguration"]["oidc"]
    for k, v in WSO2_APP_OIDC.items():
        if isinstance(v, dict):
            for kk, vv in v.items():
                assert got_oidc[k][kk] == vv, (k, kk)
        else:
            assert got_oidc[k] == v, k
    # grantd's own members act as documented: a JWT access token whose
    # audience is the example's.
    tok = uj.assert_tokens(uj.jwt_grant(server, grant_idp(server, "pickup-idp"), (cid, secret)))
    payload = tok["access_token"].split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert "http://idp.xyz.com" in (claims["aud"] if isinstance(claims["aud"], list)
                                    else [claims["aud"]])
    # PUT of the oidc object keeps the application's members; PATCH of the
    # name keeps both.
    r = server.put(APPS + "/" + created["id"] + "/inbound-protocols/oidc", auth=server.admin,
                   json={"grantTypes": [uj.JWT_BEARER]})
    assert r.status_code == 200, r.text
    r = server.patch(APPS + "/" + created["id"], auth=server.admin, json={"name": "pickup-2"})
    assert r.status_code == 200, r.text
    got = server.get(APPS + "/" + created["id"], auth=server.admin).json()
    assert got["name"] == "pickup-2" and got["imageUrl"] == WSO2_APP_TOP["imageUrl"]
    assert got["claimConfiguration"] == WSO2_APP_TOP["claimConfiguration"]
    # What would contradict grantd is refused by name, a typo too.
    for extra, why in [({"applicationEnabled": False}, "applicationEnabled: only true"),
                       ({"imageURL": "x"}, "imageURL: unknown field"),
                       ({"claimConfiguration": []}, "claimConfiguration: must be an object")]:
        r = server.post(APPS, auth=server.admin, json=dict({"name": "refused"}, **extra))
        assert r.status_code == 400 and why in r.json()["description"], r.text
