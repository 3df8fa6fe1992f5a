"""Tests of the deployment files (Dockerfile, compose, Kubernetes) and of observability."""
