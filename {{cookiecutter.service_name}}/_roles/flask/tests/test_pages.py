"""The pages the role serves."""

ROLE_NAME = "{{ role.name }}"


def test_home_page_names_the_role(client):
    response = client.get("/")
    assert response.status_code == 200
    assert f"<h1>{ROLE_NAME}</h1>" in response.text


def test_health_answers_the_load_balancer(client):
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json == {"status": "ok"}
    assert response.headers["Cache-Control"] == "no-store"



def test_health_answers_whatever_host_name_the_probe_uses(client):
    # Probes (the load balancer's, Container Apps') use the instance's own address.
    response = client.get("/health", headers={"Host": "10.0.0.4:8000"})
    assert response.status_code == 200


def test_static_files_are_served(client):
    response = client.get("/static/site.css")
    assert response.status_code == 200
    assert response.mimetype == "text/css"
    response.close()


def test_unknown_page_is_404(client):
    assert client.get("/no-such-page").status_code == 404
