"""HTTP: app factory, routes, auth, templates, static files."""
