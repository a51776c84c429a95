"""Adapters: each translates one channel's input and output to and from the engine."""
