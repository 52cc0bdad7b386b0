"""Strict Ed25519 verification, as docs/SPEC.md section 9 states it.

The point checks (canonical encodings of the key and of R, no small-order point, S below the
group order) are done here in pure Python; the cofactorless equation is checked by the
`cryptography` package (OpenSSL), which compares the encoding of [S]B - [k]A with the bytes of R.
"""

from __future__ import annotations

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

P = 2**255 - 19
L = 2**252 + 27742317777372353535851937790883648493
D = (-121665 * pow(121666, P - 2, P)) % P
SQRT_M1 = pow(2, (P - 1) // 4, P)


def _decode_point(encoding: bytes):
    """The point (x, y) a canonical encoding names, or None (y >= p, no x, or -0)."""
    if len(encoding) != 32:
        return None
    value = int.from_bytes(encoding, "little")
    sign = value >> 255
    y = value & ((1 << 255) - 1)
    if y >= P:
        return None
    u = (y * y - 1) % P
    v = (D * y * y + 1) % P
    # x = sqrt(u / v) = u v^3 (u v^7)^((p - 5) / 8)  (RFC 8032 section 5.1.3)
    x = (u * pow(v, 3, P) * pow(u * pow(v, 7, P), (P - 5) // 8, P)) % P
    vxx = (v * x * x) % P
    if vxx == u % P:
        pass
    elif vxx == (-u) % P:
        x = (x * SQRT_M1) % P
    else:
        return None
    if x == 0 and sign == 1:
        return None
    if x & 1 != sign:
        x = P - x
    return x, y


def _double(point):
    """Doubling in extended coordinates (X, Y, Z, T) of the twisted Edwards curve."""
    x1, y1, z1, _ = point
    a = x1 * x1 % P
    b = y1 * y1 % P
    c = 2 * z1 * z1 % P
    h = (a + b) % P
    e = (h - (x1 + y1) * (x1 + y1)) % P
    g = (a - b) % P
    f = (c + g) % P
    return (e * f % P, g * h % P, f * g % P, e * h % P)


def is_small_order(x: int, y: int) -> bool:
    """[8]P is the identity (order 1, 2, 4 or 8)."""
    point = (x, y, 1, x * y % P)
    for _ in range(3):
        point = _double(point)
    px, py, pz, _ = point
    return px % P == 0 and (py - pz) % P == 0


def strong_point(encoding: bytes) -> bool:
    """A canonical encoding of a point that is not of small order."""
    point = _decode_point(encoding)
    return point is not None and not is_small_order(*point)


def verify_strict(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """RFC 8032 5.1.7 with SPEC.md section 9's rules; False for any failure."""
    if len(signature) != 64 or len(public_key) != 32:
        return False
    if not strong_point(public_key) or not strong_point(signature[:32]):
        return False
    if int.from_bytes(signature[32:], "little") >= L:
        return False
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True
