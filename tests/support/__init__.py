"""What the tests share: helpers only, no tests (no test module imports another)."""
