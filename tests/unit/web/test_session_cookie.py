from starlette.responses import Response

from calisera.core.settings import Settings
from calisera.web.session_cookie import set_session_cookie


def _cookie(public_url: str) -> str:
    response = Response()
    set_session_cookie(response, Settings(public_url=public_url), "v", 60)
    return response.headers["set-cookie"]


def test_https_site_gets_a_host_prefixed_secure_strict_cookie():
    cookie = _cookie("https://book.example.test")
    assert cookie.startswith("__Host-calisera_session=v;")
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert "Domain" not in cookie and "Path=/" in cookie


def test_plain_http_loopback_development_drops_host_prefix_and_secure():
    cookie = _cookie("http://127.0.0.1:8000")
    assert cookie.startswith("calisera_session=v;")
    assert "Secure" not in cookie
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie
