{% extends "web/tests/test_forwarded_headers.py" %}
{% block server_tests %}


def test_under_wfastcgi_the_headers_are_only_removed_whatever_the_address():
    environ = request_environ(REMOTE_ADDR="198.51.100.7", HTTP_X_FORWARDED_PROTO="https")
    apply_forwarded_headers(environ)
    assert environ == request_environ(REMOTE_ADDR="198.51.100.7")
{% endblock %}
