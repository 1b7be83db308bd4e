"""oferta api — run the billing API (uvicorn)."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("api", help="run the billing API (FastAPI on uvicorn)")
    parser.add_argument("--host", help="bind address (default: OFERTA_API_HOST or 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (default: OFERTA_API_PORT or 8000)")
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    import uvicorn

    from api.main import create_app
    from oferta.observability import configure_logging
    from oferta.settings import get_settings

    settings = get_settings()
    configure_logging(settings.log_json)
    host, port = args.host or settings.api_host, args.port or settings.api_port
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info", log_config=None)
    return 0
