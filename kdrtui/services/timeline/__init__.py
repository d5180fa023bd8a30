"""The incident timeline: a per-plan SQLite store of events and per-minute lag, and the recorder that fills
it from what a long-running process observes."""
