"""A local Kubernetes API server for tests and the demo.

Use it as a process::

    rhev-operator dev-apiserver --port 6443 --kubeconfig /tmp/kc --crds crds/
    KUBECONFIG=/tmp/kc kubectl apply -f manifests/samples/   # plain kubectl, validation on

or in-process from tests (a background thread with its own event loop)::

    from rhev_testbed.kubeapi.testing import running_apiserver
    with running_apiserver(crds="crds") as api:
        api.url, api.kubeconfig
        api.request("POST", "/apis/rhev.io/v1alpha1/namespaces/default/rhevdatacenters", body)
        api.get("rhev.io/v1alpha1", "rhevdatacenters", "default", "mydc")  # dict or None

or inside a running loop: ``async with serving(DevApi()) as url: ...`` (`server.serving`).

Modules: `emulator` (the `DevApi` aiohttp handler: entry point, routing, reads), `store`
(objects, resourceVersion, history, watchers), `writes` (create/update/patch/delete, CRD and
namespace follow-ups), `admission` (body checks and defaulting), `watches`, `discovery`,
`responses` (request bodies, JSON and Status responses), `resources` (built-in
kinds, CRD to resources), `schema` (structural-schema pruning/defaulting/validation), `table`
(kubectl's server-side Table), `jsonpath` (printer-column JSONPath), `selectors`, `openapi`
(/openapi/v3 documents for kubectl's validation), `protobuf` (what `kubectl create` sends),
`errors` (metav1 Status), `server`, `testing`.
"""
