"""Tierline's domain: the state machine declared as data, and the pure rules of each tier.

Nothing in this package performs I/O: no database, no network, no Telegram. Every rule is
a plain function over plain data, so it can be read and unit-tested on its own.
"""
