{% extends "web/tests/test_forwarded_headers.py" %}
{% block server_tests %}


@pytest.fixture
def behind_iis(monkeypatch):
    monkeypatch.setenv("HTTP_PLATFORM_PORT", "50123")


def test_behind_iis_the_scheme_and_client_come_from_iis(behind_iis):
    environ = request_environ(
        HTTP_X_FORWARDED_PROTO="https", HTTP_X_FORWARDED_FOR="203.0.113.9:51234"
    )
    apply_forwarded_headers(environ)
    assert environ["wsgi.url_scheme"] == "https"
    assert environ["REMOTE_ADDR"] == "203.0.113.9"
    assert not any(name.startswith("HTTP_X_FORWARDED") for name in environ)


def test_entries_the_client_wrote_before_the_iis_hop_are_ignored(behind_iis):
    environ = request_environ(
        HTTP_X_FORWARDED_PROTO="https, http",
        HTTP_X_FORWARDED_FOR="10.0.0.1, 198.51.100.7:40000",
    )
    apply_forwarded_headers(environ)
    assert environ["wsgi.url_scheme"] == "http"
    assert environ["REMOTE_ADDR"] == "198.51.100.7"


def test_ipv6_clients(behind_iis):
    environ = request_environ(HTTP_X_FORWARDED_FOR="[2001:db8::7]:51234")
    apply_forwarded_headers(environ)
    assert environ["REMOTE_ADDR"] == "2001:db8::7"


def test_values_that_are_not_a_scheme_or_an_address_change_nothing(behind_iis):
    environ = request_environ(
        HTTP_X_FORWARDED_PROTO="gopher", HTTP_X_FORWARDED_FOR="<script>", HTTP_FORWARDED="for=x"
    )
    apply_forwarded_headers(environ)
    assert environ == request_environ()


def test_requests_from_another_machine_are_not_believed(behind_iis):
    environ = request_environ(REMOTE_ADDR="198.51.100.7", HTTP_X_FORWARDED_PROTO="https")
    apply_forwarded_headers(environ)
    assert environ == request_environ(REMOTE_ADDR="198.51.100.7")
{% endblock %}
