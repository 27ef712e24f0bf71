"""Presentation: text reports, per-thread swimlanes, the --json object.  Nothing below
the CLI imports this package."""
