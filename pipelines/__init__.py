"""Archipelago: a local-first customer data platform for online retailers."""

__version__ = "0.1.0"
