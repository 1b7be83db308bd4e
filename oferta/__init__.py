"""Oferta: contract-driven lifecycle automation for hosting providers."""
