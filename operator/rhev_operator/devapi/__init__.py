"""A local Kubernetes API server (kmock-based) for tests and the demo."""
