"""The security headers of every response: one table for the whole role.

``CONTENT_SECURITY_POLICY`` says where a page may load anything from. As generated, the
pages load only their own stylesheet and hold no inline script or style, so everything is
limited to the site itself. To allow more, widen the directive concerned here, for example
``"script-src": "'self' https://cdn.example.com"`` for a CDN's scripts or
``"img-src": "'self' data:"`` for inline images; the browser's console names every load the
policy blocks. A view can still send its own value of any of these headers.
"""

CONTENT_SECURITY_POLICY = {
    "default-src": "'self'",
    # These three do not fall back to default-src.
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}
SECURITY_HEADERS = {
    "Content-Security-Policy": "; ".join(
        f"{directive} {sources}" for directive, sources in CONTENT_SECURITY_POLICY.items()
    ),
    "Cross-Origin-Opener-Policy": "same-origin",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}
# Browsers act on it only when it comes over https.
HSTS = "max-age=31536000; includeSubDomains; preload"


def security_headers(https: bool) -> dict[str, str]:
    """The headers a response carries; over https, HSTS too."""
    if https:
        return {**SECURITY_HEADERS, "Strict-Transport-Security": HSTS}
    return dict(SECURITY_HEADERS)
