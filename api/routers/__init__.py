"""API routers: every module here with a ``router`` attribute is mounted by ``create_app``."""
