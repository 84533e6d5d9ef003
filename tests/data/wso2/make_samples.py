#!/usr/bin/python3
"""Writes the JSON and YAML sample exports of this folder (docs/import.md,
"Sample files") from one model per object, in the shapes WSO2 IS 7 writes
them: JSON as Jackson's ObjectMapper serialises IdentityProvider and
ServiceProvider (bean property names: identityProviderName, enable,
idpProperties, inboundConfigurationProtocol with its "type" name
oAuthAppDO, ...), YAML as SnakeYAML dumps the same beans (block style,
properties sorted by name, the class as the root's global tag). The XML
samples are written by hand after JAXB's element names (IdentityProviderName,
IsEnabled, IdpProperties, InboundConfigurationProtocol xsi:type=oAuthAppDO).

Run it after changing a model: /usr/bin/python3 make_samples.py
"""
import base64
import json
import os

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(HERE, "keys", "partner-idp.crt"), "rb") as f:
    CERT_B64 = base64.b64encode(f.read()).decode()

CLAIM_CONFIG = {
    "alwaysSendMappedLocalSubjectId": False, "claimMappings": [], "idpClaims": [],
    "localClaimDialect": False, "roleClaimURI": None, "userClaimURI": None,
    "mappedAttributesOnly": False, "spClaimDialects": []}

IDP_CERT = {
    "identityProviderName": "Partner IdP",
    "identityProviderDescription": "Signs JWT bearer assertions for the partner's users",
    "alias": "https://grantd.example/oauth2/token",
    "primary": False, "federationHub": False, "homeRealmId": "partner",
    "provisioningRole": None, "displayName": "Partner Identity Provider", "enable": True,
    "federatedAuthenticatorConfigs": [{
        "name": "OpenIDConnectAuthenticator", "displayName": "openidconnect", "enabled": True,
        "properties": [
            {"name": "ClientId", "value": "partner-oidc-client", "confidential": False},
            {"name": "ClientSecret", "value": "******", "confidential": True}],
        "tags": ["OIDC"], "definedByType": "SYSTEM"}],
    "defaultAuthenticatorConfig": None,
    "provisioningConnectorConfigs": [], "defaultProvisioningConnectorConfig": None,
    "claimConfig": dict(CLAIM_CONFIG, claimMappings=[{
        "localClaim": {"claimUri": "http://wso2.org/claims/emailaddress"},
        "remoteClaim": {"claimUri": "email"}, "requested": False}]),
    "certificate": CERT_B64,
    "permissionAndRoleConfig": {"permissions": [], "roleMappings": [], "idpRoles": []},
    "justInTimeProvisioningConfig": {
        "provisioningEnabled": False, "provisioningUserStore": "PRIMARY",
        "promptConsent": False, "passwordProvisioningEnabled": False,
        "modifyUserNameAllowed": False, "associateLocalUserEnabled": False},
    "idpProperties": [
        {"name": "idpIssuerName", "value": "https://partner.example.com",
         "displayName": "Identity Provider's Issuer Name"},
        {"name": "isIdPMetadataEnabled", "value": "false", "displayName": None}],
    "imageUrl": "https://partner.example.com/logo.png",
    "templateId": "enterprise-oidc-idp",
}

IDP_JWKS = {
    "identityProviderName": "Keyed IdP",
    "identityProviderDescription": "Publishes its signing keys at a JWKS endpoint",
    "alias": "https://grantd.example/oauth2/token",
    "primary": False, "federationHub": False, "homeRealmId": None, "provisioningRole": None,
    "displayName": "Keyed IdP", "enable": True,
    "federatedAuthenticatorConfigs": [], "defaultAuthenticatorConfig": None,
    "provisioningConnectorConfigs": [], "defaultProvisioningConnectorConfig": None,
    "claimConfig": CLAIM_CONFIG, "certificate": None,
    "permissionAndRoleConfig": None, "justInTimeProvisioningConfig": None,
    "idpProperties": [
        {"name": "jwksUri", "value": "https://keys.example.com/oauth2/jwks",
         "displayName": "Identity Provider's JWKS Endpoint"},
        {"name": "idpIssuerName", "value": "https://keys.example.com", "displayName": None}],
    "imageUrl": None, "templateId": None,
}

OAUTH_APP_DO = {
    "type": "oAuthAppDO",
    "oauthConsumerKey": "partner_app_client_0123456789abc",
    "oauthConsumerSecret": "partnerSecret-0123456789abcdefXYZ",
    "applicationName": "Partner App",
    "callbackUrl": "https://app.partner.example.com/callback",
    "oauthVersion": "OAuth-2.0",
    "grantTypes": "authorization_code urn:ietf:params:oauth:grant-type:jwt-bearer "
                  "refresh_token implicit",
    "scopeValidators": [], "pkceSupportPlain": False, "pkceMandatory": True,
    "hybridFlowEnabled": False, "hybridFlowResponseType": None, "state": "ACTIVE",
    "userAccessTokenExpiryTime": 3600, "applicationAccessTokenExpiryTime": 3600,
    "refreshTokenExpiryTime": 86400, "idTokenExpiryTime": 3600,
    "audiences": ["https://api.partner.example.com"],
    "bypassClientCredentials": False, "renewRefreshTokenEnabled": "true",
    "requestObjectSignatureValidationEnabled": False, "idTokenEncryptionEnabled": False,
    "idTokenEncryptionAlgorithm": None, "idTokenEncryptionMethod": None,
    "backChannelLogoutUrl": "https://app.partner.example.com/logout",
    "frontchannelLogoutUrl": None, "tokenType": "Default", "tokenBindingType": None,
    "tokenRevocationWithIDPSessionTerminationEnabled": False,
    "tokenBindingValidationEnabled": False,
    "tokenEndpointAuthMethod": "client_secret_basic",
    "tokenEndpointAllowReusePvtKeyJwt": None, "tokenEndpointAuthSignatureAlgorithm": None,
    "sectorIdentifierURI": None, "idTokenSignatureAlgorithm": None,
    "requestObjectSignatureAlgorithm": None, "tlsClientAuthSubjectDN": None,
    "requirePushedAuthorizationRequests": False,
    "tlsClientCertificateBoundAccessTokens": False, "subjectType": "public",
    "requestObjectEncryptionAlgorithm": None, "requestObjectEncryptionMethod": None,
    "fapiConformanceEnabled": False, "subjectTokenEnabled": False,
    "subjectTokenExpiryTime": 180, "accessTokenClaims": None,
}

APP = {
    "applicationID": 3,
    "applicationName": "Partner App",
    "description": "Exchanges partner assertions for access tokens",
    "certificateContent": None, "jwksUri": None, "managementApp": False,
    "inboundAuthenticationConfig": {"inboundAuthenticationRequestConfigs": [
        {"inboundAuthKey": "partner_app_client_0123456789abc", "inboundAuthType": "oauth2",
         "inboundConfigType": "standardAPP", "friendlyName": None,
         "inboundConfigurationProtocol": OAUTH_APP_DO, "properties": []},
        {"inboundAuthKey": "Partner App", "inboundAuthType": "passivests",
         "inboundConfigType": None, "friendlyName": None,
         "inboundConfigurationProtocol": None, "properties": []}]},
    "localAndOutBoundAuthenticationConfig": {
        "authenticationSteps": [{
            "stepOrder": 1, "subjectStep": True, "attributeStep": True,
            "localAuthenticatorConfigs": [{"name": "BasicAuthenticator",
                                           "displayName": "basic", "enabled": True}],
            "federatedIdentityProviders": []}],
        "authenticationType": "default", "alwaysSendBackAuthenticatedListOfIdPs": False,
        "useTenantDomainInLocalSubjectIdentifier": False,
        "useUserstoreDomainInRoles": True, "useUserstoreDomainInLocalSubjectIdentifier": False,
        "skipConsent": False, "enableAuthorization": False},
    "requestPathAuthenticatorConfigs": [],
    "inboundProvisioningConfig": {"provisioningUserStore": "", "provisioningEnabled": False,
                                  "dumbMode": False},
    "outboundProvisioningConfig": {"provisioningIdentityProviders": []},
    "claimConfig": dict(CLAIM_CONFIG, localClaimDialect=True),
    "permissionAndRoleConfig": None, "saasApp": False,
    "spProperties": [{"name": "isB2BSSApp", "value": "false"}],
    "accessUrl": "https://app.partner.example.com",
}

TAGS = {
    "IdentityProvider": "org.wso2.carbon.identity.application.common.model.IdentityProvider",
    "ServiceProvider": "org.wso2.carbon.identity.application.common.model.ServiceProvider",
}


def yaml_model(v):
    """SnakeYAML writes bean properties sorted by name, and the OAuthAppDO
    (a subclass of the declared InboundConfigurationProtocol) with its tag."""
    if isinstance(v, dict):
        return {k: yaml_model(v[k]) for k in sorted(v) if k != "type"}
    if isinstance(v, list):
        return [yaml_model(x) for x in v]
    return v


class Tagged(dict):
    pass


def tagged_representer(tag):
    def rep(dumper, data):
        return dumper.represent_mapping("tag:yaml.org,2002:" + tag, data.items())
    return rep


def write(name, model, root):
    with open(os.path.join(HERE, name + ".json"), "w") as f:
        json.dump(model, f, indent=2)
        f.write("\n")
    body = yaml_model(model)
    if root == "ServiceProvider":
        for req in body["inboundAuthenticationConfig"]["inboundAuthenticationRequestConfigs"]:
            if req["inboundConfigurationProtocol"] is not None:
                req["inboundConfigurationProtocol"] = type(
                    "OAuthAppDO", (Tagged,), {})(req["inboundConfigurationProtocol"])
    dumper = type("D", (yaml.SafeDumper,), {})
    dumper.add_representer(type(body["inboundAuthenticationConfig"][
        "inboundAuthenticationRequestConfigs"][0]["inboundConfigurationProtocol"]),
        tagged_representer("org.wso2.carbon.identity.oauth.dao.OAuthAppDO")) \
        if root == "ServiceProvider" else None
    text = yaml.dump(body, Dumper=dumper, default_flow_style=False, sort_keys=False,
                     width=1000)
    with open(os.path.join(HERE, name + ".yaml"), "w") as f:
        f.write("!!" + TAGS[root] + "\n" + text)


write("idp-cert", IDP_CERT, "IdentityProvider")
write("idp-jwks", IDP_JWKS, "IdentityProvider")
write("app-jwt-bearer", APP, "ServiceProvider")
