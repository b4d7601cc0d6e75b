"""The domain: organisations, accounts, the consular directory, cases, interviews, audit."""
