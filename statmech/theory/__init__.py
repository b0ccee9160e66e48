"""Exact and analytic reference results (used by tests, plots and reports)."""
