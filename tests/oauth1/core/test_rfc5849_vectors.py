"""Published RFC 5849 values, pinned: the §1.2 photo example and the §3.4.1 parameter example."""

from __future__ import annotations

from authgate.core.http import Request
from authgate.core.oauth1 import collect, generate_signature_base_string
from authgate.core.oauth1.encoding import escape, parse_authorization_header
from authgate.core.oauth1.signature import (
    base_string_uri,
    hmac_sha1_signature,
    normalize_parameters,
    plaintext_signature,
)

PHOTOS_HEADER = (
    'OAuth realm="Photos", oauth_consumer_key="dpf43f3p2l4k3l03", oauth_token="nnch734d00sl2jdk",'
    ' oauth_signature_method="HMAC-SHA1", oauth_timestamp="1191242096",'
    ' oauth_nonce="kllo9940pd9333jh", oauth_version="1.0",'
    ' oauth_signature="tR3%2BTy81lMeYAr%2FFid0kMTYa%2FWM%3D"'
)
PHOTOS_BASE_STRING = (
    "GET&http%3A%2F%2Fphotos.example.net%2Fphotos&file%3Dvacation.jpg%26"
    "oauth_consumer_key%3Ddpf43f3p2l4k3l03%26oauth_nonce%3Dkllo9940pd9333jh%26"
    "oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D1191242096%26"
    "oauth_token%3Dnnch734d00sl2jdk%26oauth_version%3D1.0%26size%3Doriginal"
)


def photos_request() -> Request:
    return Request.build(
        "GET",
        "http://photos.example.net/photos?file=vacation.jpg&size=original",
        headers={"Authorization": PHOTOS_HEADER},
    )


def test_photos_example_base_string() -> None:
    assert generate_signature_base_string(collect(photos_request())) == PHOTOS_BASE_STRING


def test_photos_example_signature() -> None:
    signed = collect(photos_request())
    assert signed.signature == "tR3+Ty81lMeYAr/Fid0kMTYa/WM="
    assert signed.realm == "Photos"
    computed = hmac_sha1_signature(PHOTOS_BASE_STRING, "kd94hf93k423kf44", "pfkkdhi9sl3r4s00")
    assert computed == "tR3+Ty81lMeYAr/Fid0kMTYa/WM="


def test_section_3_4_1_normalized_parameters() -> None:
    # §3.4.1.3.1's request: parameters from the query, the header and the body.
    header = (
        'OAuth realm="Example", oauth_consumer_key="9djdj82h48djs9d2",'
        ' oauth_token="kkk9d7dh3k39sjv7",'
        ' oauth_signature_method="HMAC-SHA1", oauth_timestamp="137131201",'
        ' oauth_nonce="7d8f3e4a", oauth_signature="djosJKDKJSD8743243%2Fjdk33klY%3D"'
    )
    request = Request.build(
        "POST",
        "http://example.com/request?b5=%3D%253D&a3=a&c%40=&a2=r%20b",
        headers={"Authorization": header,
                 "Content-Type": "application/x-www-form-urlencoded"},
        body="c2&a3=2+q",
    )
    signed = collect(request)
    assert normalize_parameters(signed.params) == (
        "a2=r%20b&a3=2%20q&a3=a&b5=%3D%253D&c%40=&c2=&oauth_consumer_key=9djdj82h48djs9d2"
        "&oauth_nonce=7d8f3e4a&oauth_signature_method=HMAC-SHA1&oauth_timestamp=137131201"
        "&oauth_token=kkk9d7dh3k39sjv7"
    )
    assert generate_signature_base_string(signed).startswith(
        "POST&http%3A%2F%2Fexample.com%2Frequest&a2%3Dr%2520b%26a3%3D2%2520q"
    )


def test_base_string_uri_normalises_scheme_host_and_port() -> None:
    assert base_string_uri("HTTP://EXAMPLE.COM:80/r%20v/X?id=123") == "http://example.com/r%20v/X"
    assert base_string_uri("https://www.example.net:8080/?q=1") == "https://www.example.net:8080/"
    assert base_string_uri("https://Example.com:443") == "https://example.com/"


def test_percent_encoding_is_rfc3986_unreserved_only() -> None:
    assert escape("abcABC123-._~") == "abcABC123-._~"
    assert escape("a b+c/&=%") == "a%20b%2Bc%2F%26%3D%25"
    assert escape("é") == "%C3%A9"


def test_plaintext_signature_encodes_both_secrets() -> None:
    assert plaintext_signature("djr9rjt0jd78jf88", "jjd99$tj88uiths3") == (
        "djr9rjt0jd78jf88&jjd99%24tj88uiths3"
    )
    assert plaintext_signature("kd94hf93k423kf44", None) == "kd94hf93k423kf44&"


def test_header_parsing_decodes_values() -> None:
    pairs = parse_authorization_header(PHOTOS_HEADER)
    assert pairs is not None
    assert dict(pairs)["oauth_signature"] == "tR3+Ty81lMeYAr/Fid0kMTYa/WM="
    assert parse_authorization_header("Bearer abc") is None
