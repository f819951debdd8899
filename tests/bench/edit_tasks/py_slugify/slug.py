def slugify(text):
    """The text as a URL slug: "Hello, World!" -> "hello-world"."""
    raise NotImplementedError
