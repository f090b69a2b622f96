"""Who a request comes from and what it may do: scopes and roles, the principal, and the parts that prove an
identity (keys, passwords, tokens, MFA, single sign-on) or record what it did (audit, usage)."""
