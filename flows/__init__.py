"""Prefect flows of statmech: thin wiring around the library (see :mod:`flows.sweep`)."""
