{% extends "web/tests/test_role_environment.py" %}
{% block server_tests %}


def test_under_wfastcgi_logs_go_to_the_wsgi_log_file(monkeypatch, tmp_path, root_logger):
    log_file = tmp_path / "wfastcgi.log"
    monkeypatch.setenv("WSGI_LOG", str(log_file))
    logging.config.dictConfig(logging_config())
    logging.getLogger("webapp").warning("disk almost full")
    for handler in root_logger.handlers:
        handler.flush()
    assert "WARNING webapp: disk almost full" in log_file.read_text(encoding="utf-8")
{% endblock %}
{% block before_logging %}
    monkeypatch.delenv("WSGI_LOG", raising=False)
{% endblock %}
