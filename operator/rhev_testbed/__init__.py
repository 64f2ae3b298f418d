"""The project's test bed: a local Kubernetes API (`kubeapi`), the demo behind `make run`
(`demo`) and the benchmarks (`bench`). Installed by the operator's `demo` and `dev` extras;
never part of the operator's image. The `rhev-operator` command forwards its `dev-apiserver`,
`demo` and `bench` verbs here (`rhev_testbed.cli`)."""
