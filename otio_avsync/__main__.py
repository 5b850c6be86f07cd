"""``python -m otio_avsync`` runs the command-line tool."""

from otio_avsync.cli import run

run()
