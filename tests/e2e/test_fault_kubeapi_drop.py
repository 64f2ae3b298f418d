"""The local API's fault control: `POST /_control/drop-watches` resets every open watch
(the client sees a broken stream, not a clean end), keeps every object, and serves new
watches at once (re-openable, unlike the shutdown's close_watches)."""

from __future__ import annotations

import json

import pytest
import requests

from rhev_testbed.kubeapi.testing import ApiHandle

CM = "/api/v1/namespaces/default/configmaps"


def test_drop_watches_breaks_streams_keeps_objects_and_reopens(kube_api: ApiHandle) -> None:
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "kept"}}
    assert requests.post(kube_api.url + CM, json=body, timeout=10).status_code == 201
    watch = requests.get(kube_api.url + CM + "?watch=1", stream=True, timeout=10)
    lines = watch.iter_lines()
    assert json.loads(next(lines))["object"]["metadata"]["name"] == "kept"
    dropped = requests.post(kube_api.url + "/_control/drop-watches", timeout=10).json()
    assert dropped == {"dropped": 1}
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        for _ in lines:
            pass
    assert requests.get(kube_api.url + CM + "/kept", timeout=10).status_code == 200
    again = requests.get(kube_api.url + CM + "?watch=1", stream=True, timeout=10)
    assert json.loads(next(again.iter_lines()))["object"]["metadata"]["name"] == "kept"
    again.close()
