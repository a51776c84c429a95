"""The tier1 flow: states and transitions this tier adds to the shared machine."""

from __future__ import annotations

from flows.machine import Flow

FLOW = Flow(name="tier1")
