def parse_config(text):
    result = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if "=" not in line:
            raise ValueError(line)
        key, value = line.split("=", 1)
        result[key.strip()] = value.strip()
    return result
