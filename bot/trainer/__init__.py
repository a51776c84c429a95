"""Trainer mode: the machine diagram, scenario files that replay whole conversations,
transition coverage, recording a stored conversation as a scenario, and narrated demos.

Everything here drives the same engine the applicants talk to; nothing in this package
decides anything about a conversation.
"""
