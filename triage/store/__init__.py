"""Case database and human review queue (SQLModel on SQLite or PostgreSQL)."""
