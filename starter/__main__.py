import signal

import logs
import process
from starter.cli import main

logs.configure(level="WARNING")
signal.signal(signal.SIGTERM, process.terminate_like_ctrl_c)  # JSON on stderr: stdout is the command's output
process.exit_now(main())
