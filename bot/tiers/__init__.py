"""What Tier 1 and Tier 2 share between the dialogs, the staff desk and the CLI: their
configuration files and the storage of callbacks and appointments."""
