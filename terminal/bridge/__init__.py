"""The cash register's bridge: a small local HTTP API a register's loyalty plugin calls.

The register puts its cart for a receipt, reads the loyalty state (member, balance, per-line
discounts for the points spent, earn), and reports the fiscal receipt done, cancelled or
refunded. The bridge is an inbound adapter beside the screens: it calls the till's services
(:mod:`terminal.services`) exactly as the sale screen does, so offline it answers from the
member cache and commits through the outbox. See ``BRIDGE.md``.

- :mod:`terminal.bridge.models` — the wire shapes (requests strict, answers lenient);
- :mod:`terminal.bridge.register` — the register's receipts: calls, the cashier's side;
- :mod:`terminal.bridge.state` — what is kept of a receipt, and the answer about it;
- :mod:`terminal.bridge.discounts` — points spent as per-line money discounts, exact;
- :mod:`terminal.bridge.finishing` — a finish's answer and the text the register prints;
- :mod:`terminal.bridge.views` — what the sale screen is told, and how it answers back;
- :mod:`terminal.bridge.simulator` — a register in a few lines (``till bridge simulate``);
- :mod:`terminal.bridge.app` — the FastAPI routes, the key and the call-id replay;
- :mod:`terminal.bridge.runner` — uvicorn in a thread, started by the composition root.
"""
