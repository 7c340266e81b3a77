"""`python -m bot` is the same as the `linkbrief` command."""

from bot.cli import main

raise SystemExit(main())
