"""Classify stage: category classifier, extra heads (path, request type), department model, bundles."""

from triage.classify.bundle import ModelBundle, load_bundle, save_bundle
from triage.classify.classifier import CategoryClassifier
from triage.classify.department import DepartmentModel, DepartmentSuggestion
from triage.classify.dispatch import ThresholdChoice, department_confidence, threshold_at_precision
from triage.classify.heads import HierarchyHead, RequestTypeHead

__all__ = [
    "CategoryClassifier",
    "DepartmentModel",
    "DepartmentSuggestion",
    "HierarchyHead",
    "ModelBundle",
    "RequestTypeHead",
    "ThresholdChoice",
    "department_confidence",
    "load_bundle",
    "save_bundle",
    "threshold_at_precision",
]
