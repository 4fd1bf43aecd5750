"""Scenario evals: multi-turn customer conversations run against the real product in process,
scored on the final store state, escalations, tools called and what the replies say.

The format is documented in docs/evals.md; `support-agent eval` runs the suite."""
