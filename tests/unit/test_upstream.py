import pytest

from mirror.core.http import mask, strip_credentials

@pytest.mark.parametrize("text, expected", [
    ("https://user:pass@pypi.example/simple/", "https://user:***@pypi.example/simple/"),
    ("https://tok3n@pypi.example/simple/", "https://***@pypi.example/simple/"),
    ("https://pypi.example/simple/", "https://pypi.example/simple/"),
    ("https://pypi.example/simple/a@b/", "https://pypi.example/simple/a@b/"),
    ("fetch http://u:p%40ss@h:8080/x failed, then https://t@g/y", "fetch http://u:***@h:8080/x failed, then https://***@g/y"),
])
def test_mask_hides_the_secret_part_of_credentials(text, expected):
    assert mask(text) == expected


def test_mask_hides_a_password_with_an_unencoded_at_sign():
    assert mask("https://user:p@ssw0rd@pypi.example/simple/") == "https://user:***@pypi.example/simple/"


def test_strip_credentials_decodes_a_percent_encoded_password():
    assert strip_credentials("https://alice:p%40ss%3Aw%2Frd@pypi.example:8443/simple/") == (
        "https://pypi.example:8443/simple/", ("alice", "p@ss:w/rd"))


def test_strip_credentials_with_a_token_only():
    assert strip_credentials("https://tok3n@pypi.example/simple/") == ("https://pypi.example/simple/", ("tok3n", ""))


def test_strip_credentials_without_credentials_returns_the_url_unchanged():
    assert strip_credentials("https://pypi.example/simple/") == ("https://pypi.example/simple/", None)


def test_strip_credentials_keeps_ipv6_brackets():
    assert strip_credentials("http://u:p@[::1]:8080/simple/") == ("http://[::1]:8080/simple/", ("u", "p"))
