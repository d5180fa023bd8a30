"""The console's screens: one per mode, plus modal dialogs."""
