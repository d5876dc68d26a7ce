"""Sluice's composition root: the config file, the `sluice` command and process wiring."""
