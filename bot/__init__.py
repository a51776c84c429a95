"""Tierline's engine and edges: the conversation engine, storage, configuration and the
adapters (console, Telegram, staff, trainer) that translate input and output."""

__version__ = "0.1.0"
