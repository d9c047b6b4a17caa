import pytest

from qa.errors import BadInput
from qa.registry import Registry


def test_get_returns_what_was_added_in_order():
    reg = Registry("colour")
    reg.add("red", 1)
    reg.add("blue", 2)
    assert reg.get("blue") == 2 and reg.names() == ("red", "blue") and "red" in reg


def test_get_unknown_name_raises_bad_input_listing_valid_names():
    reg = Registry("colour")
    reg.add("red", 1)
    with pytest.raises(BadInput, match=r"unknown colour 'green'; choose one of red"):
        reg.get("green")


def test_lazy_entry_is_imported_on_first_get_only():
    reg = Registry("helper")
    reg.add_lazy("dumps", "json:dumps")
    import json

    assert reg.get("dumps") is json.dumps and reg.names() == ("dumps",)
