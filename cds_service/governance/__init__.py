"""Safe rollout: per-site rule modes (the site file), evaluation records, firing-rate
monitoring, replay between knowledge versions, provenance on every card."""
