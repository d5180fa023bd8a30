"""I/O adapters: each talks to one outside system (Kafka, SSH, Azure) behind a small interface."""
