"""Alembic environment: the engine comes from ``config.attributes['engine']`` (see db.alembic_config),
or from TRIAGE_DATABASE_URL / Settings when run from the alembic command line."""

from __future__ import annotations

from alembic import context

from triage.store import fulltext_schema, models

config = context.config
MIGRATION_LOCK_ID = 7_305_114_201  # arbitrary, constant: the advisory lock held while migrating
target_metadata = models.metadata  # every table (the batch ones too) is defined in triage.store.models


def _engine():  # type: ignore[no-untyped-def]
    engine = config.attributes.get("engine")
    if engine is None:
        from triage.store.db import make_engine

        url = config.get_main_option("sqlalchemy.url")
        if not url:
            from triage.config import get_settings

            url = get_settings().database_url
        engine = make_engine(url)
    return engine


def run_migrations_offline() -> None:
    url = config.get_main_option("sqlalchemy.url")
    context.configure(
        url=url,
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
        include_object=fulltext_schema.include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = _engine()
    with engine.connect() as connection:
        if connection.dialect.name == "sqlite":  # BEGIN IMMEDIATE: concurrent upgrades run one at a time
            connection.execution_options(triage_sqlite_immediate=True)
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",  # SQLite needs table copies to ALTER
            compare_type=True,
            include_object=fulltext_schema.include_object,  # u002's FTS5 table / GIN index: not in metadata
            # One transaction for the whole run on SQLite too (alembic's SQLite default is one per
            # revision): the version read and every revision then happen under one BEGIN IMMEDIATE,
            # so a second worker waits and finds the schema migrated instead of re-creating tables.
            transactional_ddl=True,
        )
        with context.begin_transaction():
            if connection.dialect.name == "postgresql":  # serialise concurrent upgrades (several workers)
                connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK_ID})")
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
