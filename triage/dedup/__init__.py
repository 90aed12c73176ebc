"""Duplicate stage: lexical near-duplicates, the same-matter index and hot-issue clusters."""

from triage.dedup.hot_issues import HotIssue, cluster_hot_issues
from triage.dedup.lexical import DuplicateIndex
from triage.dedup.matter import MatterIndex, build_duplicate_index
from triage.dedup.matter_score import MatterScorer

__all__ = [
    "DuplicateIndex",
    "HotIssue",
    "MatterIndex",
    "MatterScorer",
    "build_duplicate_index",
    "cluster_hot_issues",
]
