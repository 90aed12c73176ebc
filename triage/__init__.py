"""Petition triage engine: text → tokens → category → route → duplicates → case.

``from triage import Triager`` is the documented entry point. It is resolved lazily so that
``import triage.config`` (or the error types) does not load jieba and scikit-learn.
"""

from typing import Any

from triage.errors import ConfigError, InputError, ModelLoadError, TriageError

__all__ = ["ConfigError", "InputError", "ModelLoadError", "TriageError", "TriageResult", "Triager"]


def __getattr__(name: str) -> Any:
    if name == "Triager":
        from triage.pipeline import Triager

        return Triager
    if name == "TriageResult":
        from triage.result import TriageResult

        return TriageResult
    raise AttributeError(f"module 'triage' has no attribute {name!r}")
