"""Model bundles: the category (and optional department) classifier persisted whole with joblib.

A bundle file is one joblib pickle holding ``{"format", "format_version", "category",
"department", "heads", "metadata"}``. ``department`` is a plain :class:`CategoryClassifier` (older
bundles) or a :class:`~triage.classify.department.DepartmentModel`; ``heads`` (optional, absent in
older bundles) maps head names (``hierarchy``, ``request_type``) to :mod:`triage.classify.heads` objects that
share the category classifier's features. ``model_version`` is a content hash of the pickled models, so the
same training run always gives the same version and any change to the weights gives a new one.

Compatibility policy (checked on load):

* missing, unreadable, truncated or corrupt file, or a pickle that is not a bundle of this
  format → :class:`~triage.errors.ModelLoadError`;
* scikit-learn major.minor differs from the one that trained the model → ``ModelLoadError``
  (pass ``strict=False`` to load anyway with a warning);
* tokenizer fingerprint differs (user dictionary, stopwords or token filter changed since
  training) → :class:`TokenizerMismatchWarning`, because the model still works but its tokens
  drift from the ones it learned; ``strict=True`` turns this into ``ModelLoadError``.

Pickle runs code from the file: only load model files you produced or trust.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import platform
import tempfile
import warnings
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata as importlib_metadata
from importlib import resources
from pathlib import Path
from typing import Any

import joblib

from triage.classify.classifier import CategoryClassifier
from triage.classify.department import DepartmentModel
from triage.classify.heads import HierarchyHead, RequestTypeHead
from triage.errors import ModelLoadError

log = logging.getLogger(__name__)

BUNDLE_FORMAT = "petition-triage-bundle"
FORMAT_VERSION = 1
MODEL_FILENAME = "model.joblib"
_LIBRARIES = {
    "sklearn": "scikit-learn",
    "numpy": "numpy",
    "scipy": "scipy",
    "jieba": "jieba",
    "joblib": "joblib",
}


class TokenizerMismatchWarning(UserWarning):
    """The model was trained with a different tokenizer configuration than the current one."""


@dataclass
class ModelBundle:
    category: CategoryClassifier
    department: CategoryClassifier | DepartmentModel | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    heads: dict[str, HierarchyHead | RequestTypeHead] = field(default_factory=dict)

    @property
    def hierarchy(self) -> HierarchyHead | None:
        head = self.heads.get("hierarchy")
        return head if isinstance(head, HierarchyHead) else None

    @property
    def request_type(self) -> RequestTypeHead | None:
        head = self.heads.get("request_type")
        return head if isinstance(head, RequestTypeHead) else None

    @property
    def model_version(self) -> str:
        return str(self.metadata.get("model_version", "unknown"))


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for key, dist in _LIBRARIES.items():
        try:
            versions[key] = importlib_metadata.version(dist)
        except importlib_metadata.PackageNotFoundError:
            versions[key] = "missing"
    return versions


def tokenizer_fingerprint() -> str:
    """sha256 over the user dictionary, the stopword list and the token filter settings."""
    from triage.text import tokenizer

    digest = hashlib.sha256()
    folder = resources.files("triage").joinpath("resources")
    for name in ("userdict.txt", "stopwords.txt"):
        digest.update(name.encode() + b"\0" + folder.joinpath(name).read_bytes() + b"\0")
    digest.update(f"HMM={tokenizer.USE_HMM};noise={tokenizer._NOISE_RE.pattern}".encode())
    return "tok-" + digest.hexdigest()[:16]


def file_fingerprint(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _major_minor(version: str) -> str:
    return ".".join(str(version).split(".")[:2])


def save_bundle(bundle: ModelBundle, directory: str | Path) -> Path:
    """Write ``directory/model.joblib`` atomically; fills ``model_version``, versions and dates."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    models = {"category": bundle.category, "department": bundle.department}
    joblib.dump(models | ({"heads": bundle.heads} if bundle.heads else {}), buffer)
    meta = dict(bundle.metadata)
    meta["model_version"] = "cat-" + hashlib.sha256(buffer.getvalue()).hexdigest()[:12]
    meta.setdefault("created_at", datetime.now(UTC).isoformat(timespec="seconds"))
    meta["library_versions"] = library_versions()
    meta.setdefault("tokenizer_fingerprint", tokenizer_fingerprint())
    meta["labels"] = [str(c) for c in bundle.category.classes_]
    if bundle.department is not None:
        meta["department_labels"] = [str(c) for c in bundle.department.classes_]
    bundle.metadata = meta
    payload = {
        "format": BUNDLE_FORMAT,
        "format_version": FORMAT_VERSION,
        "category": bundle.category,
        "department": bundle.department,
        "heads": dict(bundle.heads),
        "metadata": meta,
    }
    target = directory / MODEL_FILENAME
    fd, tmp = tempfile.mkstemp(prefix=".model-", suffix=".joblib", dir=directory)
    os.close(fd)
    try:
        joblib.dump(payload, tmp, compress=("zlib", 3))
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; the model is not a secret
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target


def _resolve(path: str | Path) -> Path:
    path = Path(path)
    if path.is_dir():
        path = path / MODEL_FILENAME
    if not path.is_file():
        raise ModelLoadError(f"model file not found: {path}", code="model_not_found", field=str(path))
    return path


def load_bundle(path: str | Path, *, strict: bool | None = None) -> ModelBundle:
    """Load a bundle from a directory holding ``model.joblib`` or from the file itself.

    ``strict=None`` (default): sklearn mismatch is an error, tokenizer mismatch a warning;
    ``strict=True``: both are errors; ``strict=False``: both are warnings.
    """
    file = _resolve(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # sklearn's version warning: checked below instead
            payload = joblib.load(file)
    except Exception as exc:  # pickle can fail in many ways; none of them should leak out raw
        raise ModelLoadError(
            f"cannot read model file {file}: it is truncated, corrupt or not a joblib file "
            f"({type(exc).__name__}: {str(exc)[:120]})",
            code="model_corrupt",
            field=str(file),
        ) from None
    if not isinstance(payload, dict) or payload.get("format") != BUNDLE_FORMAT:
        raise ModelLoadError(
            f"{file} is not a petition-triage model bundle (found {type(payload).__name__})",
            code="not_a_bundle",
            field=str(file),
        )
    if payload.get("format_version") != FORMAT_VERSION:
        raise ModelLoadError(
            f"{file} has bundle format {payload.get('format_version')!r}; this version reads "
            f"{FORMAT_VERSION}: retrain the model",
            code="model_incompatible",
            field=str(file),
        )
    category, department = payload.get("category"), payload.get("department")
    meta, heads = payload.get("metadata"), payload.get("heads") or {}
    if (
        not isinstance(category, CategoryClassifier)
        or not hasattr(category, "coef_")
        or not (department is None or isinstance(department, CategoryClassifier | DepartmentModel))
        or not isinstance(meta, dict)
        or not isinstance(heads, dict)
        or not all(isinstance(h, HierarchyHead | RequestTypeHead) for h in heads.values())
    ):
        raise ModelLoadError(f"{file} holds no fitted classifier", code="not_a_bundle", field=str(file))
    _check_compatibility(file, meta, strict)
    return ModelBundle(category=category, department=department, metadata=meta, heads=heads)


def _check_compatibility(file: Path, meta: dict[str, Any], strict: bool | None) -> None:
    trained = str(meta.get("library_versions", {}).get("sklearn", "?"))
    current = library_versions()["sklearn"]
    if _major_minor(trained) != _major_minor(current):
        msg = (
            f"{file} was trained with scikit-learn {trained} but {current} is installed; "
            f"retrain the model or install scikit-learn=={_major_minor(trained)}.*"
        )
        if strict is False:
            warnings.warn(msg, UserWarning, stacklevel=3)
        else:
            raise ModelLoadError(msg, code="model_incompatible", field=str(file))
    trained_tok, current_tok = meta.get("tokenizer_fingerprint"), tokenizer_fingerprint()
    if trained_tok != current_tok:
        msg = (
            f"{file} was trained with tokenizer {trained_tok} but the current user dictionary / "
            f"stopwords give {current_tok}; predictions may drift: retrain the model"
        )
        if strict:
            raise ModelLoadError(msg, code="tokenizer_mismatch", field=str(file))
        log.warning(msg)
        warnings.warn(msg, TokenizerMismatchWarning, stacklevel=3)
