"""The hot routes validate a body from its JSON text; FastAPI validates the parsed object.
Whatever the first accepts, the second must accept as the same model (else the fast path
would answer a request the app refuses), and amounts must be judged alike both ways."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from processing import wire

_VALID_LINE = {"barcode": "4600070000014", "price": "10.50", "quantity": "2", "amount": "21.00"}

_AMOUNTS = st.one_of(
    st.sampled_from(
        [
            "1",
            "1.5",
            "1.50",
            "1.505",
            "-3.00",
            " 2.00 ",
            "2.",
            ".5",
            "1e3",
            "NaN",
            "Infinity",
            "٣.٠٠",
            "0012.30",
            "1234567890123",
            "123456789012.99",
            "+1",
            "",
            "1_000",
            "0x10",
            "1.0\n",
            "\t7",
        ]
    ),
    st.text(alphabet="0123456789.-+e ", max_size=8),
    st.integers(-10, 10),
    st.floats(allow_nan=True),
    st.booleans(),
    st.none(),
)


def _both(model: type[BaseModel], body: bytes) -> tuple[Any, Any]:
    try:
        from_text: Any = model.model_validate_json(body)
    except (ValidationError, ValueError):
        from_text = None
    try:
        from_object: Any = model.model_validate(json.loads(body))
    except (ValidationError, ValueError):
        from_object = None
    return from_text, from_object


@settings(max_examples=400, deadline=None)
@given(
    field=st.sampled_from(["price", "quantity", "amount", "requested_spend"]),
    value=_AMOUNTS,
)
def test_an_amount_is_judged_alike_from_text_and_from_the_parsed_object(
    field: str, value: object
) -> None:
    check: dict[str, Any] = {
        "check_id": "c-1",
        "member_id": "100001",
        "lines": [dict(_VALID_LINE)],
        "fingerprint": "f" * 64,
    }
    if field == "requested_spend":
        check[field] = value
    else:
        check["lines"][0][field] = value
    body = json.dumps(check).encode()
    for model in (wire.HoldBody, wire.CheckRequest):
        if model is wire.CheckRequest:
            body = json.dumps({k: v for k, v in check.items() if k != "fingerprint"}).encode()
        from_text, from_object = _both(model, body)
        assert (from_text is None) == (from_object is None), (model.__name__, body)
        if from_text is not None:
            assert from_text == from_object


@settings(max_examples=200, deadline=None)
@given(
    key=st.sampled_from(["member_id", "check_id", "lines", "coupons", "discounted", "extra"]),
    value=st.one_of(
        st.none(),
        st.integers(),
        st.text(max_size=5),
        st.booleans(),
        st.lists(st.integers(), max_size=2),
    ),
)
def test_any_other_field_is_judged_alike_too(key: str, value: object) -> None:
    check: dict[str, Any] = {
        "member_id": "100001",
        "lines": [dict(_VALID_LINE)],
        "fingerprint": "f" * 64,
    }
    if key == "discounted":
        check["lines"][0]["discounted"] = value
    else:
        check[key] = value
    from_text, from_object = _both(wire.HoldBody, json.dumps(check).encode())
    assert (from_text is None) == (from_object is None)
    if from_text is not None:
        assert from_text == from_object
