"""Escalation and ticket routing: triage, ownership, helpdesk connectors."""
