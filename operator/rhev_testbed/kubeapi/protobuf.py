"""Just enough of the Kubernetes protobuf encoding to read what `kubectl create` sends.

kubectl sends built-in kinds as protobuf (`kubectl create namespace`, `kubectl create secret
generic`). This decodes the `k8s\\x00` envelope and the few core kinds served here (Namespace,
Secret, ConfigMap, ServiceAccount) into their JSON form; the server answers in JSON, which
kubectl accepts.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from typing import Any

_MAGIC = b"k8s\x00"


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data):
            raise ValueError("truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def fields(data: bytes) -> Iterator[tuple[int, int, Any]]:
    """(field number, wire type, value) for each field; length-delimited values are bytes."""
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        value: Any
        if wire == 0:
            value, pos = _varint(data, pos)
        elif wire == 2:
            length, pos = _varint(data, pos)
            value, pos = data[pos : pos + length], pos + length
        elif wire == 1:
            value, pos = data[pos : pos + 8], pos + 8
        elif wire == 5:
            value, pos = data[pos : pos + 4], pos + 4
        else:
            raise ValueError(f"unsupported wire type {wire}")
        yield number, wire, value


def _map_entry(data: bytes) -> tuple[str, bytes]:
    key, value = "", b""
    for number, _, raw in fields(data):
        if number == 1:
            key = raw.decode()
        elif number == 2:
            value = raw
    return key, value


def _time(data: bytes) -> str:
    import datetime

    seconds = 0
    for number, _, raw in fields(data):
        if number == 1:
            seconds = raw
    moment = datetime.datetime.fromtimestamp(seconds, datetime.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _metadata(data: bytes) -> dict[str, Any]:
    meta: dict[str, Any] = {}
    strings = {1: "name", 2: "generateName", 3: "namespace", 5: "uid", 6: "resourceVersion"}
    for number, _, raw in fields(data):
        if number in strings:
            if raw:  # proto2 sends empty strings explicitly; JSON omits them
                meta[strings[number]] = raw.decode()
        elif number == 7 and raw:
            meta["generation"] = raw
        elif number in (11, 12):
            key, value = _map_entry(raw)
            meta.setdefault("labels" if number == 11 else "annotations", {})[key] = value.decode()
        elif number == 14:
            meta.setdefault("finalizers", []).append(raw.decode())
        elif number == 13:
            ref: dict[str, Any] = {}
            names = {5: "apiVersion", 1: "kind", 3: "name", 4: "uid"}
            for n, _, v in fields(raw):
                if n in names:
                    ref[names[n]] = v.decode()
                elif n in (6, 7):
                    ref["controller" if n == 6 else "blockOwnerDeletion"] = bool(v)
            meta.setdefault("ownerReferences", []).append(ref)
    return meta


def _namespace(data: bytes, obj: dict[str, Any]) -> None:
    for number, _, raw in fields(data):
        if number == 2:
            finalizers = [v.decode() for n, _, v in fields(raw) if n == 1]
            obj["spec"] = {"finalizers": finalizers} if finalizers else {}


def _secret(data: bytes, obj: dict[str, Any]) -> None:
    for number, wire, raw in fields(data):
        if number == 2:
            key, value = _map_entry(raw)
            obj.setdefault("data", {})[key] = base64.b64encode(value).decode()
        elif number == 3 and raw:
            obj["type"] = raw.decode()
        elif number == 4:
            key, value = _map_entry(raw)
            obj.setdefault("stringData", {})[key] = value.decode()
        elif number == 5 and wire == 0:
            obj["immutable"] = bool(raw)


def _configmap(data: bytes, obj: dict[str, Any]) -> None:
    for number, wire, raw in fields(data):
        if number == 2:
            key, value = _map_entry(raw)
            obj.setdefault("data", {})[key] = value.decode()
        elif number == 3:
            key, value = _map_entry(raw)
            obj.setdefault("binaryData", {})[key] = base64.b64encode(value).decode()
        elif number == 4 and wire == 0:
            obj["immutable"] = bool(raw)


def _nothing(data: bytes, obj: dict[str, Any]) -> None:
    pass


_KINDS: dict[str, Callable[[bytes, dict[str, Any]], None]] = {
    "Namespace": _namespace,
    "Secret": _secret,
    "ConfigMap": _configmap,
    "ServiceAccount": _nothing,
}


def decode_object(payload: bytes) -> dict[str, Any]:
    """Decode a protobuf-encoded core object into its JSON form (ValueError if unsupported)."""
    if not payload.startswith(_MAGIC):
        raise ValueError("not a Kubernetes protobuf envelope")
    api_version = kind = ""
    raw = b""
    for number, _, value in fields(payload[len(_MAGIC) :]):
        if number == 1:
            for n, _, v in fields(value):
                if n == 1:
                    api_version = v.decode()
                elif n == 2:
                    kind = v.decode()
        elif number == 2:
            raw = value
    decoder = _KINDS.get(kind)
    if decoder is None:
        raise ValueError(f"protobuf bodies of kind {kind or '?'} are not supported; send JSON")
    obj: dict[str, Any] = {"apiVersion": api_version, "kind": kind}
    for number, _, value in fields(raw):
        if number == 1:
            obj["metadata"] = _metadata(value)
    decoder(raw, obj)
    return obj
