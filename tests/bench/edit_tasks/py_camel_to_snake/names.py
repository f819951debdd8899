def camel_to_snake(name):
    """camelCase or PascalCase -> snake_case."""
    raise NotImplementedError
