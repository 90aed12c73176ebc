"""City profiles: a trained bundle plus its routing file, selected by name (``TRIAGE_PROFILE``).

A profile is a directory ``<profiles_dir>/<name>/``. Its optional manifest ``profile.toml``::

    [profile]
    title = "海口 12345"
    model = "."               # bundle directory, relative to the profile (default ".")
    routing = "routing.toml"  # routing file, relative to the profile; omitted: routing.toml beside it,
                              # or the routing.toml shipped in triage/resources when there is none

Without a manifest a directory holding ``model.joblib`` is a profile on its own. Switching city is
a setting, never a code change: the service, the CLI and batch jobs resolve model and routing paths
through :func:`resolve` (via :class:`triage.config.Settings`).

Where profiles live: ``TRIAGE_PROFILES_DIR`` when set, otherwise the shipped models directory.

The shipped models directory (:func:`shipped_models_dir`) holds the profiles and the other fitted
artefacts the engine loads by default (``category/``, ``haikou/``, ``tipdm/``, ``matter/scorer.json``);
the settings' default model path and the matter scorer resolve through it as well:

1. ``models/`` of the source checkout the ``triage`` package is imported from (an editable install or
   a plain checkout: ``pyproject.toml`` and ``models/`` beside ``triage/``);
2. otherwise ``share/petition-triage/models`` of the installed distribution: the wheel's data files,
   found through its installed file list, so a venv, ``--user`` or ``--prefix`` install all work;
3. otherwise ``<sys.prefix>/share/petition-triage/models`` (which then may not exist: no profiles).
"""

from __future__ import annotations

import contextlib
import functools
import sys
import tomllib
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from triage.errors import ConfigError

MANIFEST = "profile.toml"
ROUTING_FILE = "routing.toml"
BUNDLE_FILE = "model.joblib"  # triage.classify.bundle.MODEL_FILENAME (not imported: keeps this module light)
DEFAULT_PROFILE = "tipdm"
DISTRIBUTION = "petition-triage"
SHARE_SUBDIR = "share/petition-triage/models"  # pyproject.toml [tool.setuptools.data-files]
SOURCE_ROOT = Path(__file__).resolve().parent.parent
NAME_PATTERN = r"^[a-z][a-z0-9_-]*$"


class _ManifestSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    title: str = ""
    model: str = Field(default=".", min_length=1)
    routing: str | None = None
    description: str = ""


@dataclass(frozen=True, slots=True)
class Profile:
    """Where one city's model and routing file are; ``routing_path`` None means the shipped file."""

    name: str
    root: Path
    model_path: Path
    routing_path: Path | None
    title: str = ""
    description: str = ""

    def to_dict(self) -> dict[str, str | None]:
        return {
            "name": self.name,
            "title": self.title or self.name,
            "model_path": str(self.model_path),
            "routing_path": str(self.routing_path) if self.routing_path else None,
        }


def _installed_models_dir() -> Path | None:
    """Where the installed distribution's data files put the models (None: not installed that way)."""
    try:
        dist = metadata.distribution(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return None
    marker = SHARE_SUBDIR + "/"
    for file in dist.files or ():
        path = str(file).replace("\\", "/")
        at = path.find(marker)
        if at >= 0:
            return Path(str(dist.locate_file(path[: at + len(SHARE_SUBDIR)]))).resolve()
    return None


@functools.cache
def shipped_models_dir() -> Path:
    """The shipped models directory: the checkout's ``models/``, else the installed data files."""
    if (SOURCE_ROOT / "pyproject.toml").is_file() and (SOURCE_ROOT / "models").is_dir():
        return SOURCE_ROOT / "models"
    return _installed_models_dir() or Path(sys.prefix) / SHARE_SUBDIR


def default_profiles_dir() -> Path:
    """Where profiles are looked up when ``TRIAGE_PROFILES_DIR`` is not set."""
    return shipped_models_dir()


def _is_profile(path: Path) -> bool:
    return (path / MANIFEST).is_file() or (path / BUNDLE_FILE).is_file()


def list_profiles(profiles_dir: Path | None = None) -> list[str]:
    """Names of the profiles in ``profiles_dir`` (sorted)."""
    root = Path(profiles_dir) if profiles_dir else default_profiles_dir()
    if not root.is_dir():
        return []
    found = [p for p in root.iterdir() if p.is_dir() and _is_profile(p)]
    # a bundle directory that a manifest points at (models/category for tipdm) is not listed twice
    targets = set()
    for p in found:
        if (p / MANIFEST).is_file():
            with contextlib.suppress(ConfigError):  # a broken manifest is reported when it is resolved
                targets.add((p / _read_manifest(p / MANIFEST).model).resolve())
    return sorted(p.name for p in found if (p / MANIFEST).is_file() or p.resolve() not in targets)


def _read_manifest(path: Path) -> _ManifestSpec:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read profile manifest ({exc.strerror})") from None
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: invalid profile manifest: {exc}") from None
    if set(raw) - {"profile"}:
        raise ConfigError(f"{path}: unknown section(s) {sorted(set(raw) - {'profile'})}; use [profile]")
    try:
        return _ManifestSpec.model_validate(raw.get("profile", {}))
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        problem = "unknown field" if first["type"] == "extra_forbidden" else first["msg"]
        raise ConfigError(f"{path}: profile.{field}: {problem}") from None


def resolve(name: str, profiles_dir: Path | None = None) -> Profile:
    """The profile called ``name``; ConfigError naming the known ones when there is none."""
    root_dir = Path(profiles_dir) if profiles_dir else default_profiles_dir()
    root = root_dir / name
    if "/" in name or "\\" in name or name in ("", ".", "..") or not root.is_dir() or not _is_profile(root):
        known = ", ".join(list_profiles(root_dir)) or "none"
        raise ConfigError(f"unknown profile {name!r} in {root_dir}; known profiles: {known}")
    manifest = root / MANIFEST
    spec = _read_manifest(manifest) if manifest.is_file() else _ManifestSpec()
    model_path = (root / spec.model).resolve()
    routing_path: Path | None
    if spec.routing is not None:
        routing_path = named = (root / spec.routing).resolve()
        if not named.is_file():
            raise ConfigError(f"{manifest}: profile.routing: no routing file at {named}")
    else:
        beside = root / ROUTING_FILE
        routing_path = beside.resolve() if beside.is_file() else None
    return Profile(
        name=name,
        root=root.resolve(),
        model_path=model_path,
        routing_path=routing_path,
        title=spec.title,
        description=spec.description,
    )
