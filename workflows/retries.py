"""How the engine's activities retry: the one policy each kind of work needs."""

from __future__ import annotations

from datetime import timedelta

from temporalio.common import RetryPolicy

# Work that must get done (a write to the read model, a look-up, an audit page): retried without
# end, soon at first and then once a minute, until what it needs is back.
PATIENT = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1))
# A first try that is allowed to fail (local_first: the ordinary activity retries after it).
ONCE = RetryPolicy(maximum_attempts=1)
