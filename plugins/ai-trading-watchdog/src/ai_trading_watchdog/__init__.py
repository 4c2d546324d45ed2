"""A dead man's switch for live trading: the ``heartbeat`` risk check writes
``<state_dir>/heartbeat.json`` and/or a Redis key (``redis_url``) while the trader runs;
``ai-trading watchdog``, a separate process (on another host, with Redis), cancels the open
orders and halts the kill switch when the heartbeat goes silent."""
