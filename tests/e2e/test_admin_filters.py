"""Issue 10: WSO2's list filters (`filter=name eq X`, sw, ew, co) and paging
links on identity providers and applications; a filter grantd cannot
evaluate is a 400, never ignored."""
import pytest

import util_certs as uc
import util_jwt as uj

KEY = uc.rsa_key()

IDPS = uj.API + "/identity-providers"
APPS = uj.API + "/applications"


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    from conftest import Server
    s = Server(tmp_path_factory.mktemp("filters")).start()
    for n in ("jwtIDP", "jwtIDP-backup", "corp-jwt", "Other IdP", "other"):
        uj.create_idp(s, uj.jwks_idp(n, [uj.public_jwk(KEY, "k1")],
                                     "https://" + n.replace(" ", "-") + ".example"))
    for n in ("orders-api", "orders-web", "billing"):
        uj.create_app(s, n)
    yield s
    s.stop()


def names(srv, path, flt, key, **params):
    params["filter"] = flt
    r = srv.get(path, auth=srv.admin, params=params)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["totalResults"] == len(body[key]) or "limit" in params
    # Lists are in creation order; objects made in the same second are in
    # id order, so compare as sets of names.
    return sorted(x["name"] for x in body[key])


@pytest.mark.parametrize("flt,want", [
    ("name eq jwtIDP", ["jwtIDP"]),
    ("name EQ jwtIDP", ["jwtIDP"]),
    ("name sw jwtIDP", ["jwtIDP", "jwtIDP-backup"]),  # sorted
    ("name ew jwt", ["corp-jwt"]),
    ("name co IDP", ["jwtIDP", "jwtIDP-backup"]),
    ("name co idp", []),                      # case-sensitive, as names are
    ('name eq "Other IdP"', ["Other IdP"]),
    ("name eq Other IdP", ["Other IdP"]),
    ("name eq nothing", []),
    ("name sw %", []),                        # no LIKE: % is just a character
    ("name ew _", []),
])
def test_idp_filters(srv, flt, want):
    assert names(srv, IDPS, flt, "identityProviders") == want


def test_application_filters(srv):
    assert names(srv, APPS, "name sw orders", "applications") == ["orders-api", "orders-web"]
    assert names(srv, APPS, "name eq billing", "applications") == ["billing"]


@pytest.mark.parametrize("flt,why", [
    ("isEnabled eq true", "filter attribute 'isEnabled' is not supported"),
    ("name gt a", "filter operator 'gt' is not supported"),
    ("name eq jwtIDP and name eq other", "one condition only"),
    ("name eq", "filter operator"),
    ('name eq ""', "filter value must have 1 to 255 characters"),
    ("name eq " + "x" * 256, "filter value must have 1 to 255 characters"),
    ("", "filter attribute"),
])
def test_filters_grantd_cannot_evaluate_are_400(srv, flt, why):
    r = srv.get(IDPS, auth=srv.admin, params={"filter": flt})
    assert r.status_code == 400, r.text
    assert why in r.json()["description"]


def test_filter_refused_where_not_supported(srv):
    for path in (uj.API + "/tenants", uj.API + "/audit-events"):
        r = srv.get(path, auth=srv.admin, params={"filter": "name eq x"})
        assert r.status_code == 400 and "cannot be filtered" in r.json()["description"]
    r = srv.get(IDPS + "?filter=name+eq+a&filter=name+eq+b", auth=srv.admin)
    assert r.status_code == 400 and "repeated" in r.json()["description"]


def test_paging_links(srv):
    r = srv.get(IDPS, auth=srv.admin, params={"limit": 2})
    body = r.json()
    assert body["totalResults"] == 5 and body["count"] == 2
    assert body["links"] == [{"href": IDPS + "?offset=2&limit=2", "rel": "next"}]
    r = srv.get(IDPS, auth=srv.admin, params={"limit": 2, "offset": 2})
    assert r.json()["links"] == [{"href": IDPS + "?offset=4&limit=2", "rel": "next"},
                                 {"href": IDPS + "?offset=0&limit=2", "rel": "previous"}]
    r = srv.get(IDPS, auth=srv.admin, params={"limit": 2, "offset": 4})
    assert r.json()["links"] == [{"href": IDPS + "?offset=2&limit=2", "rel": "previous"}]
    # Following a link keeps the filter.
    r = srv.get(IDPS, auth=srv.admin, params={"limit": 1, "filter": 'name sw jwtIDP'})
    first = [x["name"] for x in r.json()["identityProviders"]]
    link = r.json()["links"][0]["href"]
    assert link == IDPS + "?offset=1&limit=1&filter=name%20sw%20jwtIDP"
    r = srv.get(link, auth=srv.admin)
    second = [x["name"] for x in r.json()["identityProviders"]]
    assert sorted(first + second) == ["jwtIDP", "jwtIDP-backup"]
    # Under a tenant prefix, the links keep it.
    r = srv.get("/t/carbon.super" + IDPS, auth=srv.admin, params={"limit": 4})
    assert r.json()["links"][0]["href"] == "/t/carbon.super" + IDPS + "?offset=4&limit=4"
