"""What every program of the engine runs on: settings, logs, the process's life, metrics, the
embedded Temporal, and serving HTTP in our own event loop."""
