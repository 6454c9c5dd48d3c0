from sipyco import pyon


def test_roundtrip_small():
    assert pyon.decode(pyon.encode({"a": (1, 2)})) == {"a": (1, 2)}
