"""The site's pages: views, templates, static files, and the middleware in front of them."""
