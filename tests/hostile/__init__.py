"""Hostile-input tests: the OpenAPI description, schemathesis fuzzing, mutated FHIR, log hygiene."""
