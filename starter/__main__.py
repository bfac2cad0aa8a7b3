from runtime import logs, process
from starter.cli import main

logs.configure(level="WARNING")  # JSON on stderr: stdout is the command's output
process.exit_now(main())
