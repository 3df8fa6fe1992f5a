"""The guideline core: FHIR facts, knowledge and `now` in; findings out. Standard library only."""
