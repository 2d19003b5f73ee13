"""pytest puts this folder (it holds the root conftest.py) on sys.path, so ``role_wsgi`` and
the team's modules import in the tests as they do on the role's VMs."""
