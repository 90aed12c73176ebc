"""Route stage: category + rules + jurisdiction → responsible department, handling level, deadline."""

from triage.route.config import LoadedConfig, load_config
from triage.route.from_history import routing_from_history
from triage.route.router import Department, Router

__all__ = ["Department", "LoadedConfig", "Router", "load_config", "routing_from_history"]
