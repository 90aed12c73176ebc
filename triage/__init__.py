"""Petition triage engine: text → tokens → category → route → duplicates → case."""

from triage.errors import ConfigError, InputError, ModelLoadError, TriageError

__all__ = ["ConfigError", "InputError", "ModelLoadError", "TriageError"]
