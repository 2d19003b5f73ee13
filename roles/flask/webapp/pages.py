"""The site's pages, a blueprint that ``create_app()`` registers."""

from flask import Blueprint, render_template

from role_environment import role_instance

ROLE_NAME = "{{ role.name }}"

bp = Blueprint("pages", __name__)


@bp.get("/")
def home():
    return render_template("home.html", role_name=ROLE_NAME, instance=role_instance())


@bp.get("/health")
def health():
    """The load balancer's probe (ServiceDefinition.csdef): 200 while the app can serve."""
    return {"status": "ok"}, 200, {"Cache-Control": "no-store"}
