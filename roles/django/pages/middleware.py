"""Middleware that runs before Django's own (MIDDLEWARE in website/settings.py)."""

from django.conf import settings
from django.http import JsonResponse

from forwarded_headers import apply_forwarded_headers
from security_headers import SECURITY_HEADERS

HEALTH_PATH = "/health"


def security_headers(get_response):
    """security_headers.py's headers, on every response that does not set its own (Django's
    SecurityMiddleware and XFrameOptionsMiddleware set most of them first; the
    Content-Security-Policy comes from here). With DEBUG on, Django's debug pages need
    their inline styles and scripts, so they get no Content-Security-Policy."""

    def middleware(request):
        response = get_response(request)
        for name, value in SECURITY_HEADERS.items():
            if name == "Content-Security-Policy" and settings.DEBUG:
                continue
            response.headers.setdefault(name, value)
        return response

    return middleware


def forwarded_headers(get_response):
    """Apply forwarded_headers.py before Django reads the request's scheme and address."""

    def middleware(request):
        apply_forwarded_headers(request.META)
        return get_response(request)

    return middleware


def health_check(get_response):
    """Answer the load balancer's probe (ServiceDefinition.csdef) ahead of the host name
    check and the https redirect: the probe need not use a name in ALLOWED_HOSTS, and it
    comes over plain http."""

    def middleware(request):
        if request.path == HEALTH_PATH:
            return JsonResponse({"status": "ok"}, headers={"Cache-Control": "no-store"})
        return get_response(request)

    return middleware
