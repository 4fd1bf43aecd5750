"""Staff side: the staff API (approvals now; queue, conversations and analytics later)."""
