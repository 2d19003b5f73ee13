{% include "web/_parts/hardening.py" %}
