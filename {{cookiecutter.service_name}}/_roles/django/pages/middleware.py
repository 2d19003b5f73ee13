"""Middleware that runs before Django's own (MIDDLEWARE in website/settings.py)."""

from django.http import JsonResponse

from forwarded_headers import apply_forwarded_headers

HEALTH_PATH = "/health"


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
