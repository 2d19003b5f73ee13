{#- The secret key's tests of the kinds whose webapp has create_app() (their tests/test_security.py
    includes this after its imports, with cookie_secure_setting set to the app's config key). -#}
def test_missing_secret_key_stops_the_app(cloud_environment, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "")
    with pytest.raises(SettingError, match="SECRET_KEY is not set"):
        create_app()


def test_placeholder_secret_key_stops_the_app(cloud_environment, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "REPLACE-WITH-A-LONG-RANDOM-SECRET")
    with pytest.raises(SettingError, match="placeholder"):
        create_app()


def test_local_runs_use_the_solution_key(monkeypatch, tmp_path):
    key = secrets.token_urlsafe(50)
    key_file = tmp_path / ".local-secret-key"
    key_file.write_text(key + "\n", encoding="utf-8")
    monkeypatch.setattr(role_environment, "LOCAL_SECRET_FILE", key_file)
    monkeypatch.setenv("EMULATED", "true")
    monkeypatch.setenv("SECRET_KEY", "")
    app = create_app()
    assert app.config["SECRET_KEY"] == key
    assert app.config["{{ cookie_secure_setting }}"] is False
