"""Pure pieces of the local API: schema pruning/validation, selectors, JSONPath, ages, protobuf."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from rhev_testbed.kubeapi.errors import ApiError, invalid
from rhev_testbed.kubeapi.jsonpath import JsonPathError, compile_path, find
from rhev_testbed.kubeapi.protobuf import decode_object
from rhev_testbed.kubeapi.schema import prune, validate
from rhev_testbed.kubeapi.selectors import field_selector, label_selector
from rhev_testbed.kubeapi.table import human_duration

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "spec": {
            "type": "object",
            "required": ["storageType"],
            "properties": {
                "storageType": {"type": "string", "enum": ["nfs", "localfs"]},
                "size": {"type": "integer", "minimum": 1, "maximum": 10, "default": 1},
                "label": {"type": "string", "pattern": "^[a-z]+$", "minLength": 2, "maxLength": 4},
                "tags": {
                    "type": "array",
                    "items": {"type": "string"},
                    "minItems": 1,
                    "maxItems": 2,
                },
                "port": {"x-kubernetes-int-or-string": True},
                "note": {"type": "string", "nullable": True},
                "other": {"type": "string"},
                "extra": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                "map": {"type": "object", "additionalProperties": {"type": "integer"}},
                "disks": {
                    "type": "array",
                    "items": {"type": "object", "properties": {"gb": {"type": "number"}}},
                },
            },
        },
        "status": {"type": "object", "properties": {"phase": {"type": "string"}}},
    },
}


def errors_of(spec: dict[str, Any]) -> list[str]:
    obj = {"apiVersion": "x/v1", "kind": "X", "metadata": {"name": "x"}, "spec": spec}
    prune(obj, SCHEMA)
    return [str(e) for e in validate(obj, SCHEMA)]


def test_valid_object_passes_and_gets_defaults() -> None:
    obj: dict[str, Any] = {
        "metadata": {"name": "x"},
        "spec": {"storageType": "nfs", "port": "http"},
    }
    assert prune(obj, SCHEMA) == []
    assert validate(obj, SCHEMA) == []
    assert obj["spec"]["size"] == 1


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            {"storageType": "foo"},
            'spec.storageType: Unsupported value: "foo": supported values: "nfs", "localfs"',
        ),
        ({}, "spec.storageType: Required value"),
        (
            {"storageType": "nfs", "size": 0},
            "spec.size: Invalid value: 0: spec.size in body should be greater than or equal to 1",
        ),
        (
            {"storageType": "nfs", "size": 11},
            "spec.size: Invalid value: 11: spec.size in body should be less than or equal to 10",
        ),
        (
            {"storageType": "nfs", "size": "big"},
            'spec.size: Invalid value: "string": spec.size'
            ' in body must be of type integer: "string"',
        ),
        (
            {"storageType": "nfs", "label": "AB"},
            "spec.label: Invalid value: \"AB\": spec.label in body should match '^[a-z]+$'",
        ),
        (
            {"storageType": "nfs", "label": "a"},
            'spec.label: Invalid value: "a": spec.label in body should be at least 2 chars long',
        ),
        (
            {"storageType": "nfs", "label": "abcde"},
            "spec.label: Too long: may not be more than 4 bytes",
        ),
        (
            {"storageType": "nfs", "tags": []},
            "spec.tags: Invalid value: 0: spec.tags in body should have at least 1 items",
        ),
        (
            {"storageType": "nfs", "tags": ["a", "b", "c"]},
            "spec.tags: Too many: 3: must have at most 2 items",
        ),
        (
            {"storageType": "nfs", "port": 1.5},
            'spec.port: Invalid value: "number": spec.port'
            ' in body must be of type integer-or-string: "number"',
        ),
        (
            {"storageType": "nfs", "map": {"a": "x"}},
            'spec.map.a: Invalid value: "string": spec.map.a'
            ' in body must be of type integer: "string"',
        ),
        (
            {"storageType": "nfs", "disks": [{"gb": "x"}]},
            'spec.disks[0].gb: Invalid value: "string": spec.disks[0].gb'
            ' in body must be of type number: "string"',
        ),
    ],
)
def test_validation_messages_read_like_the_api_server(spec: dict[str, Any], message: str) -> None:
    assert message in errors_of(spec)


def test_nullable_kept_other_nulls_dropped_unknown_pruned() -> None:
    obj: dict[str, Any] = {
        "metadata": {"name": "x"},
        "spec": {
            "storageType": "nfs",
            "note": None,
            "other": None,
            "bogus": 1,
            "extra": {"anything": {"goes": True}},
            "disks": [{"gb": 1, "junk": 2}],
        },
        "junk": 1,
    }
    assert sorted(prune(obj, SCHEMA)) == ["junk", "spec.bogus", "spec.disks[0].junk"]
    assert obj["spec"]["note"] is None and "other" not in obj["spec"]
    assert obj["spec"]["extra"] == {"anything": {"goes": True}}
    assert validate(obj, SCHEMA) == []


def test_invalid_status_body() -> None:
    errors = validate({"spec": {"storageType": "foo"}}, SCHEMA)
    status = invalid("RhevDataCenter", "rhev.io", "x", errors).status()
    assert status["code"] == 422 and status["reason"] == "Invalid"
    assert status["message"] == (
        'RhevDataCenter.rhev.io "x" is invalid: spec.storageType: Unsupported value: "foo": '
        'supported values: "nfs", "localfs"'
    )
    assert status["details"]["causes"] == [
        {
            "reason": "FieldValueNotSupported",
            "field": "spec.storageType",
            "message": 'Unsupported value: "foo": supported values: "nfs", "localfs"',
        }
    ]


def labelled(**labels: str) -> dict[str, Any]:
    return {"metadata": {"name": "n", "namespace": "ns", "labels": labels}, "spec": {"x": "1"}}


@pytest.mark.parametrize(
    ("selector", "labels", "expected"),
    [
        ("app=a", {"app": "a"}, True),
        ("app==a", {"app": "b"}, False),
        ("app!=a", {}, True),
        ("app", {"app": ""}, True),
        ("!app", {"app": "a"}, False),
        ("app in (a, b),tier notin (db)", {"app": "b", "tier": "web"}, True),
        ("app in (a,b)", {"app": "c"}, False),
        ("tier notin (db)", {}, True),
        ("n>3", {"n": "5"}, True),
        ("app=a,tier=web", {"app": "a"}, False),
        ("example.com/role=x", {"example.com/role": "x"}, True),
    ],
)
def test_label_selectors(selector: str, labels: dict[str, str], expected: bool) -> None:
    match = label_selector(selector)
    assert match is not None and match(labelled(**labels)) is expected


def test_bad_label_selector_is_a_400() -> None:
    with pytest.raises(ApiError) as caught:
        label_selector("app in a,b")
    assert caught.value.code == 400


def test_field_selectors() -> None:
    obj = labelled()
    assert field_selector("metadata.name=n,metadata.namespace=ns")(obj)  # type: ignore[misc]
    assert not field_selector("metadata.name!=n")(obj)  # type: ignore[misc]
    assert field_selector("spec.x=1")(obj)  # type: ignore[misc]
    assert label_selector("") is None and field_selector(None) is None


def test_jsonpath_subset() -> None:
    obj = {
        "metadata": {"labels": {"app.kubernetes.io/name": "w"}},
        "status": {
            "conditions": [
                {"type": "Synced", "status": "False"},
                {"type": "Ready", "status": "True", "n": 3},
            ]
        },
        "spec": {"items": [{"a": 1}, {"a": 2}]},
    }
    assert find(compile_path('.status.conditions[?(@.type=="Ready")].status'), obj) == ["True"]
    assert find(compile_path(".status.conditions[?(@.n>2)].type"), obj) == ["Ready"]
    assert find(compile_path(".status.conditions[?(@.n)].type"), obj) == ["Ready"]
    assert find(compile_path(r".metadata.labels.app\.kubernetes\.io/name"), obj) == ["w"]
    assert find(compile_path(".metadata.labels['app.kubernetes.io/name']"), obj) == ["w"]
    assert find(compile_path(".spec.items[*].a"), obj) == [1, 2]
    assert find(compile_path(".spec.items[-1].a"), obj) == [2]
    assert find(compile_path("{.spec.items[0:1].a}"), obj) == [1]
    assert find(compile_path("..type"), obj) == ["Synced", "Ready"]
    assert find(compile_path(".status.missing"), obj) == []
    with pytest.raises(JsonPathError):
        compile_path(".a[?(foo)]")


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (5, "5s"),
        (119, "119s"),
        (150, "2m30s"),
        (600, "10m"),
        (3 * 3600 + 60, "3h1m"),
        (10 * 3600, "10h"),
        (3 * 86400 + 3600, "3d1h"),
        (20 * 86400, "20d"),
        (3 * 365 * 86400, "3y"),
    ],
)
def test_ages_render_like_kubectl(seconds: int, text: str) -> None:
    assert human_duration(seconds) == text


def _field(number: int, payload: bytes) -> bytes:
    return bytes([number << 3 | 2, len(payload)]) + payload


def test_protobuf_secret_from_kubectl_create() -> None:
    meta = _field(1, b"s1") + _field(3, b"ns") + _field(11, _field(1, b"app") + _field(2, b"x"))
    raw = _field(1, meta) + _field(2, _field(1, b"k") + _field(2, b"\x00\x01")) + _field(3, b"")
    envelope = _field(1, _field(1, b"v1") + _field(2, b"Secret")) + _field(2, raw)
    obj = decode_object(b"k8s\x00" + envelope)
    assert obj == {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "s1", "namespace": "ns", "labels": {"app": "x"}},
        "data": {"k": base64.b64encode(b"\x00\x01").decode()},
    }
    with pytest.raises(ValueError, match="not supported"):
        decode_object(b"k8s\x00" + _field(1, _field(1, b"apps/v1") + _field(2, b"Deployment")))
