from django.shortcuts import render
from django.views.decorators.http import require_safe

from role_environment import role_instance

ROLE_NAME = "{{ role.name }}"


@require_safe
def home(request):
    return render(
        request, "pages/home.html", {"role_name": ROLE_NAME, "instance": role_instance()}
    )
