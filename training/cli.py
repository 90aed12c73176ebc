"""Training commands registered into the ``triage`` CLI (see pyproject entry points)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add ``train`` and ``evaluate`` to the triage CLI."""
