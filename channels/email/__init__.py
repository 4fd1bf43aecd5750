"""The email channel (issue #15): the same agent, tools, policies, owner rules and queue as chat,
reached through a mailbox. See docs/email.md."""
