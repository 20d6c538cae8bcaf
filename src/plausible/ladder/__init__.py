"""The model ladder: one file per model, each registered with @register (see plausible.registry)."""
