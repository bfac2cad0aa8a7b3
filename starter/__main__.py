import process
from starter.cli import main

process.exit_now(main())
