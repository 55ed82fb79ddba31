"""Who is calling and what they may do: API tokens, roles, tenants, the one policy."""
