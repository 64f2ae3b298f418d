"""rhev-operator: keeps RHEV-M / oVirt in the state Kubernetes resources declare."""
