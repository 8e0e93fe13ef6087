"""The running platform: settings plus an open metadata store, handed to every shell."""

from __future__ import annotations

from dataclasses import dataclass

from gongshu.config import Settings
from gongshu.errors import ConfigError
from gongshu.store import Store, current_revision, open_store
from gongshu.store.migrate import upgrade


@dataclass
class Platform:
    settings: Settings
    store: Store

    def close(self) -> None:
        self.store.dispose()


def open_platform(settings: Settings, *, migrate: bool = False) -> Platform:
    """Open the store named by ``settings``; with ``migrate`` bring its schema up to date first.

    Raises:
        ConfigError: the schema is not migrated and ``migrate`` is false.
    """
    store = open_store(settings.metadata_url)
    if migrate:
        upgrade(store)
    elif current_revision(store) is None:
        store.dispose()
        raise ConfigError(
            f"the metadata store {store.url} has no schema",
            hint="run `gongshu db upgrade` (or `gongshu demo`) first",
        )
    return Platform(settings, store)
