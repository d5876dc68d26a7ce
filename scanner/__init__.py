"""The scanner: watches the organisation's own website for third-party trackers."""
