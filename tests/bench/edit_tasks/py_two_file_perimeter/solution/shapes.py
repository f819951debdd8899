from geometry import distance


def perimeter(points):
    if len(points) < 2:
        return 0
    return sum(distance(points[i], points[(i + 1) % len(points)]) for i in range(len(points)))
