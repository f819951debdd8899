from mathutils import clamp


def scale_percent(done, total):
    return clamp(done * 100 / total, 0, 100)
