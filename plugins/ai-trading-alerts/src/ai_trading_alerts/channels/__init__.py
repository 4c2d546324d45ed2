"""Alert transports: log, webhook, e-mail."""
