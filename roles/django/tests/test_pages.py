"""The pages the role serves."""

ROLE_NAME = "{{ role.name }}"


def test_home_page_names_the_role(client):
    response = client.get("/")
    assert response.status_code == 200
    assert f"<h1>{ROLE_NAME}</h1>" in response.content.decode()
    assert [template.name for template in response.templates] == ["pages/home.html"]


def test_only_health_answers_any_host_name(client):
    assert client.get("/", HTTP_HOST="10.0.0.4").status_code == 400
    assert client.get("/health", HTTP_HOST="10.0.0.4").status_code == 200


def test_static_files_are_served_by_whitenoise(client):
    response = client.get("/static/pages/site.css")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/css")
    assert b"font-family" in b"".join(response.streaming_content)
    response.close()


def test_errors_show_no_details(client):
    response = client.get("/no-such-page")
    assert b"Traceback" not in response.content
    assert b"urlpatterns" not in response.content
