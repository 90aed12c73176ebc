"""HTTP service (FastAPI) over the triage engine and the case store; see api.main.create_app."""
