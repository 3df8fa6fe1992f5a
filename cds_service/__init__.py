"""CDS Hooks 2.0 service for restless legs syndrome treatment."""
