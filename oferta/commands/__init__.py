"""Sub-commands of the ``oferta`` CLI, one module each, each with ``register(subparsers)``."""
