"""Storage: the ports and their SQL, on SQLite (aiosqlite: one file, group commit) or on
PostgreSQL (asyncpg), chosen by the database location; one list of migrations."""

from bot.storage.database import Conflict, Database, StorageError, Write

__all__ = ["Conflict", "Database", "StorageError", "Write"]
