"""Storage on SQLite through aiosqlite: one database file, migrations, group commit."""

from bot.storage.database import Conflict, Database, StorageError, Write

__all__ = ["Conflict", "Database", "StorageError", "Write"]
