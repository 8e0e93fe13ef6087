"""Schema migrations (Alembic) and reference-data seeding for the metadata store."""

from __future__ import annotations

from importlib import resources

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext

from gongshu.store.db import Store


def alembic_config(store: Store) -> Config:
    """An Alembic config bound to ``store``'s engine, reading the packaged migration scripts."""
    config = Config()
    config.set_main_option("script_location", str(resources.files("gongshu.store") / "migrations"))
    config.attributes["engine"] = store.engine
    return config


def upgrade(store: Store, revision: str = "head") -> str | None:
    """Migrate the schema to ``revision`` and seed reference data (divisions, data elements).

    Idempotent: running it on an up-to-date store changes nothing. Returns the new revision.
    """
    command.upgrade(alembic_config(store), revision)
    _seed_reference_data(store)
    return current_revision(store)


def current_revision(store: Store) -> str | None:
    with store.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def _seed_reference_data(store: Store) -> None:
    from gongshu.catalogue.elements import seed_elements
    from gongshu.orgs.organisations import seed_divisions

    with store.session() as session:
        seed_divisions(session)
        seed_elements(session)
