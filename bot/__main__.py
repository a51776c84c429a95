"""`python -m bot ...` does exactly what `tierline ...` does."""

from bot.cli import main

raise SystemExit(main())
