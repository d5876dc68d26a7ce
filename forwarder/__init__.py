"""The forwarder: allow-listed, de-identified, aggregate conversion signals to ad platforms."""
