"""Tests on real Temporal servers (the time-skipping test server, the dev server) and a real
PostgreSQL, with the worker and the gateway in the test's own process."""
