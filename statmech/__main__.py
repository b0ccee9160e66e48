"""``python -m statmech`` runs the command line."""

from statmech.cli import app

app(prog_name="statmech")
