"""The optional dependency groups (pyproject ``[project.optional-dependencies]``) and, for a command
that needs one that is not installed, a one-line message naming the extra to install.

The engine, the case store and the CLI install with the base dependencies; ``serve`` adds the HTTP
service and web pages, ``batch`` the batch jobs' Excel files, HTML reports and Dask cluster, ``train``
the training commands' data frames and charts, ``dev`` all of them plus the test and lint tools.
"""

from __future__ import annotations

DISTRIBUTION = "petition-triage"

# top-level module → the extras that install it (keep in step with pyproject.toml)
EXTRAS_OF_MODULE: dict[str, tuple[str, ...]] = {
    "fastapi": ("serve",),
    "starlette": ("serve",),
    "uvicorn": ("serve",),
    "multipart": ("serve",),
    "python_multipart": ("serve",),
    "itsdangerous": ("serve",),
    "prometheus_client": ("serve",),
    "PIL": ("serve",),  # Pillow: attachments (triage/store/attachment_files.py)
    "jinja2": ("batch", "serve"),
    "openpyxl": ("batch", "serve"),
    "dask": ("batch",),
    "distributed": ("batch",),
    "matplotlib": ("batch", "train"),
    "pandas": ("train",),
}


def missing_extra_message(exc: ModuleNotFoundError) -> str | None:
    """The message naming the extra that installs the missing module, or None if no extra does."""
    top = (exc.name or "").split(".")[0]
    extras = EXTRAS_OF_MODULE.get(top)
    if not extras:
        return None
    install = " or ".join(f"pip install '{DISTRIBUTION}[{extra}]'" for extra in extras)
    return f"this command needs the optional dependency {top!r}, which is not installed: {install}"
