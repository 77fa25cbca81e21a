"""Callback intake: the token's business (`targets`), the raw body as a record (`records`), the group-commit
writer (`writer`), the local spool when the database fails (`spool`) and its drain (`drain`)."""
