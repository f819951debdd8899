from names import camel_to_snake


def test_camel():
    assert camel_to_snake("parseHttpResponse") == "parse_http_response"


def test_pascal():
    assert camel_to_snake("UserName") == "user_name"


def test_already_lower():
    assert camel_to_snake("value") == "value"
