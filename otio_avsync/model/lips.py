"""Lip geometry from the face mesh: the picture stream that needs little data to learn.

Pixels of a mouth tile differ from face to face (skin, beard, teeth, light), so
a network trained on minutes of video learns the faces it saw. The shape of the
lips does not: how far they are open, how wide, how far pushed out. The face
mesh computes those points anyway (to place the mouth tile), so they come for
the price of running it on every frame instead of every other one.

Each frame's landmarks are put in a head frame (origin between the outer eye
corners, axes along the eye line and the nose, unit the eye distance), so that
head turns, camera distance and face size drop out. Seven measures follow, their
frame-to-frame velocities, and a flag for frames with a face:

``inner_open outer_open width inner_width protrusion jaw corner_lift`` then
the same seven as velocities, then ``present``.
"""

from __future__ import annotations

import numpy as np

#: Face-mesh landmark indices the geometry reads (MediaPipe's 468-point topology).
UPPER_INNER, LOWER_INNER, UPPER_OUTER, LOWER_OUTER = 13, 14, 0, 17
CORNERS, INNER_CORNERS = (61, 291), (78, 308)
EYES, NOSE_TIP, NOSE_BRIDGE, CHIN = (33, 263), 1, 168, 152
#: The landmarks kept per frame, in this order (``track_face_mesh`` gathers them).
POINTS = (
    UPPER_INNER,
    LOWER_INNER,
    UPPER_OUTER,
    LOWER_OUTER,
    *CORNERS,
    *INNER_CORNERS,
    *EYES,
    NOSE_TIP,
    NOSE_BRIDGE,
    CHIN,
)
_AT = {p: i for i, p in enumerate(POINTS)}

MEASURES = ("inner_open", "outer_open", "width", "inner_width", "protrusion", "jaw", "corner_lift")
#: Measures, their velocities, and the face flag.
GEOMETRY_FEATURES = 2 * len(MEASURES) + 1
#: Gaps without a face up to this many frames are bridged by interpolation.
_BRIDGE = 2


def head_frame(points: np.ndarray) -> np.ndarray:
    """head_frame(points (F, K, 3)) -> the same points in head coordinates, eye distance 1.

    ``points`` are ``POINTS`` in pixels (x, y, and MediaPipe's depth in x's scale).
    """
    p = points.astype(np.float64)
    left, right = p[:, _AT[EYES[0]]], p[:, _AT[EYES[1]]]
    origin = (left + right) / 2
    ex = right - left
    scale = np.linalg.norm(ex, axis=1, keepdims=True)
    ex = ex / np.maximum(scale, 1e-9)
    up = p[:, _AT[NOSE_BRIDGE]] - p[:, _AT[NOSE_TIP]]
    up = up - np.sum(up * ex, axis=1, keepdims=True) * ex
    ey = up / np.maximum(np.linalg.norm(up, axis=1, keepdims=True), 1e-9)
    ez = np.cross(ex, ey)
    rot = np.stack([ex, ey, ez], axis=1)  # (F, 3, 3): rows are the head axes
    local = np.einsum("fij,fkj->fki", rot, p - origin[:, None, :])
    return local / np.maximum(scale, 1e-9)[:, :, None]


def measures(points: np.ndarray) -> np.ndarray:
    """measures(points (F, K, 3) in pixels) -> (F, len(MEASURES)) in eye distances."""
    q = head_frame(points)

    def at(i: int) -> np.ndarray:
        return q[:, _AT[i]]

    def dist(a: int, b: int) -> np.ndarray:
        return np.linalg.norm(at(a) - at(b), axis=1)

    lips = (UPPER_OUTER, LOWER_OUTER, UPPER_INNER, LOWER_INNER)
    centre_z = np.mean([at(i)[:, 2] for i in lips], axis=0)
    corner_z = (at(CORNERS[0])[:, 2] + at(CORNERS[1])[:, 2]) / 2
    centre_y = (at(UPPER_OUTER)[:, 1] + at(LOWER_OUTER)[:, 1]) / 2
    corner_y = (at(CORNERS[0])[:, 1] + at(CORNERS[1])[:, 1]) / 2
    return np.stack(
        [
            dist(UPPER_INNER, LOWER_INNER),
            dist(UPPER_OUTER, LOWER_OUTER),
            dist(*CORNERS),
            dist(*INNER_CORNERS),
            corner_z - centre_z,  # the lips' centre ahead of their corners (z grows away)
            dist(CHIN, NOSE_TIP),
            corner_y - centre_y,
        ],
        axis=1,
    )


def lip_geometry(points: np.ndarray) -> np.ndarray:
    """lip_geometry(points (F, K, 3), NaN where no face) -> float32 (F, GEOMETRY_FEATURES)

    Short gaps are interpolated; frames further from a face are zero with
    ``present`` 0.
    """
    n = len(points)
    out = np.zeros((n, GEOMETRY_FEATURES), np.float32)
    if n == 0:
        return out
    seen = ~np.isnan(points).any(axis=(1, 2))
    if not seen.any():
        return out
    k = np.arange(n)
    m = np.full((n, len(MEASURES)), np.nan)
    m[seen] = measures(points[seen])
    at = k[seen]
    filled = np.stack([np.interp(k, at, m[seen, c]) for c in range(m.shape[1])], axis=1)
    gap = np.min(np.abs(k[:, None] - at[None, :]), axis=1)
    present = gap <= _BRIDGE
    vel = np.gradient(filled, axis=0) if n > 1 else np.zeros_like(filled)
    nm = len(MEASURES)
    out[:, :nm] = filled
    out[:, nm : 2 * nm] = vel
    out[:, -1] = present
    out[~present] = 0.0
    return out
