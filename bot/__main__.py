"""`python -m bot VERB`: see `bot.cli`."""

from bot.cli import main

raise SystemExit(main())
