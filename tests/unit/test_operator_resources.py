import json

from calisera_operator.kube import differs
from calisera_operator.reconcile import desired_provider, provider_changes
from calisera_operator.resources import (
    IngressOptions,
    booking_page_configmap,
    bounded_name,
    domain_ingresses,
    without_nulls,
)

TENANT = {
    "apiVersion": "calisera.io/v1alpha1",
    "kind": "ProviderTenant",
    "metadata": {"name": "studio-anna", "namespace": "tenants", "uid": "u-1", "generation": 3},
    "spec": {
        "slug": "studio-anna",
        "displayName": "Studio Anna",
        "ownerEmail": "anna@example.com",
        "timezone": "Europe/Berlin",
        "customDomains": ["book.anna.example", "anna.example"],
        "branding": {"accentColor": "#AA3300", "welcomeText": "Hi"},
        "planLimits": {"maxServices": 5},
    },
}
PROVIDER = {
    "id": "p-1",
    "slug": "studio-anna",
    "booking_url": "https://book.example.com/p/studio-anna",
    "qr_code_url": "https://book.example.com/api/v1/providers/p-1/qr",
}
OPTIONS = IngressOptions(web_service="cal-web", web_port=8000, ingress_class="nginx")


def test_configmap_carries_the_booking_page_and_is_owned_by_the_tenant():
    cm = booking_page_configmap(TENANT, PROVIDER)
    assert cm["metadata"]["name"] == "studio-anna-booking-page"
    assert cm["metadata"]["namespace"] == "tenants"
    assert cm["metadata"]["ownerReferences"] == [
        {
            "apiVersion": "calisera.io/v1alpha1",
            "kind": "ProviderTenant",
            "name": "studio-anna",
            "uid": "u-1",
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]
    page = json.loads(cm["data"]["booking-page.json"])
    assert page["providerId"] == "p-1"
    assert page["bookingUrl"] == PROVIDER["booking_url"]
    assert page["branding"]["accentColor"] == "#AA3300"
    assert page["planLimits"] == {"maxServices": 5, "maxMonthlyBookings": 1000}


def test_one_ingress_per_custom_domain_routing_to_web():
    ingresses = domain_ingresses(TENANT, OPTIONS)
    assert [i["metadata"]["name"] for i in ingresses] == [
        "studio-anna-book-anna-example",
        "studio-anna-anna-example",
    ]
    rule = ingresses[0]["spec"]["rules"][0]
    assert rule["host"] == "book.anna.example"
    backend = rule["http"]["paths"][0]["backend"]["service"]
    assert backend == {"name": "cal-web", "port": {"number": 8000}}
    assert ingresses[0]["metadata"]["annotations"]["nginx.ingress.kubernetes.io/app-root"] == (
        "/p/studio-anna"
    )
    assert ingresses[0]["spec"]["ingressClassName"] == "nginx"


def test_tls_through_cert_manager_only_when_an_issuer_is_configured():
    plain = domain_ingresses(TENANT, OPTIONS)[0]
    assert plain["spec"]["tls"] is None  # removed by the merge patch
    assert "tls" not in without_nulls(plain)["spec"]
    secure = domain_ingresses(
        TENANT, IngressOptions(web_service="cal-web", tls_issuer="letsencrypt")
    )[0]
    assert secure["metadata"]["annotations"]["cert-manager.io/cluster-issuer"] == "letsencrypt"
    assert secure["spec"]["tls"] == [
        {"hosts": ["book.anna.example"], "secretName": "studio-anna-book-anna-example-tls"}
    ]


def test_long_names_are_cut_to_63_characters_with_a_stable_hash():
    name = bounded_name("a" * 40, "very-long-domain-name-example-com")
    assert len(name) <= 63
    assert name == bounded_name("a" * 40, "very-long-domain-name-example-com")
    assert name != bounded_name("a" * 40, "very-long-domain-name-example-org")


def test_no_domains_no_ingresses():
    tenant = {**TENANT, "spec": {**TENANT["spec"], "customDomains": []}}
    assert domain_ingresses(tenant, OPTIONS) == []


def test_desired_provider_maps_the_spec_to_the_providers_api():
    assert desired_provider(TENANT["spec"]) == {
        "slug": "studio-anna",
        "name": "Studio Anna",
        "timezone": "Europe/Berlin",
        "owner_email": "anna@example.com",
        "suspended": False,
        "booking_page": {"accent_color": "#AA3300", "welcome_text": "Hi"},
    }


def test_provider_changes_only_what_differs_and_what_the_service_shows():
    desired = desired_provider(TENANT["spec"])
    current = {
        "id": "p-1",
        "slug": "studio-anna",
        "name": "Old name",
        "timezone": "Europe/Berlin",
        "owner_email": "Anna@Example.com",
        "suspended": False,
        "booking_page": {"accent_color": "#aa3300", "welcome_text": "Hello"},
    }
    assert provider_changes(desired, current) == {
        "name": "Studio Anna",
        "booking_page": {"welcome_text": "Hi"},
    }
    settled = {
        **current,
        "name": "Studio Anna",
        "booking_page": {**current["booking_page"], "welcome_text": "Hi"},
    }
    assert provider_changes(desired, settled) == {}
    assert provider_changes(desired, {"id": "p-1", "slug": "studio-anna"}) == {}


def test_differs_ignores_fields_the_server_adds_and_sees_removals():
    desired = {"metadata": {"labels": {"a": "1"}}, "spec": {"tls": None, "rules": [{"host": "x"}]}}
    current = {
        "metadata": {"labels": {"a": "1", "b": "2"}, "resourceVersion": "7"},
        "spec": {"rules": [{"host": "x"}]},
    }
    assert not differs(desired, current)
    assert differs(desired, {**current, "spec": {"rules": [{"host": "x"}], "tls": [{}]}})
    assert differs(desired, {**current, "metadata": {"labels": {"a": "2"}}})
