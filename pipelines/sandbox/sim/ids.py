"""Vendor-shaped identifiers, generated vectorised and unique."""

from __future__ import annotations

import numpy as np
import polars as pl
import pyarrow as pa

CROCKFORD = np.frombuffer(b"0123456789ABCDEFGHJKMNPQRSTVWXYZ", dtype=np.uint8)
ALNUM = np.frombuffer(
    b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", dtype=np.uint8
)
UPPER_ALNUM = np.frombuffer(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", dtype=np.uint8)
HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
DIGITS = np.frombuffer(b"0123456789", dtype=np.uint8)


def strings(codes: np.ndarray) -> pl.Series:
    """A string series from an (n, width) array of ASCII codes."""
    n, width = codes.shape
    offsets = pa.py_buffer(np.arange(0, (n + 1) * width, width, dtype=np.int64))
    data = pa.py_buffer(np.ascontiguousarray(codes, dtype=np.uint8))
    return pl.Series(pl.from_arrow(pa.LargeStringArray.from_buffers(n, offsets, data)))


def digits_of(values: np.ndarray, width: int, alphabet: np.ndarray) -> np.ndarray:
    """The (n, width) codes of unsigned integers written in the alphabet's base, most first."""
    base = np.uint64(len(alphabet))
    rest = values.astype(np.uint64).copy()
    codes = np.empty((len(values), width), dtype=np.uint8)
    for position in range(width - 1, -1, -1):
        codes[:, position] = alphabet[(rest % base).astype(np.int64)]
        rest //= base
    return codes


def random_codes(rng: np.random.Generator, n: int, width: int, alphabet: np.ndarray) -> np.ndarray:
    """An (n, width) array of random characters of the alphabet."""
    return alphabet[rng.integers(0, len(alphabet), (n, width))]


def unique_random_ints(rng: np.random.Generator, n: int, low: int, high: int) -> np.ndarray:
    """``n`` distinct random integers in [low, high)."""
    values = rng.integers(low, high, n, dtype=np.int64)
    while True:
        _, first = np.unique(values, return_index=True)
        duplicate = np.ones(n, dtype=bool)
        duplicate[first] = False
        if not duplicate.any():
            return values
        values[duplicate] = rng.integers(low, high, int(duplicate.sum()), dtype=np.int64)


def gapped_ids(rng: np.random.Generator, n: int, base: int, max_gap: int = 1000) -> np.ndarray:
    """Increasing integer ids with random gaps, as Shopify and HubSpot hand them out."""
    return base + np.cumsum(rng.integers(1, max_gap, n, dtype=np.int64))


def ulids(rng: np.random.Generator, times_us: np.ndarray) -> pl.Series:
    """26-character ULID-like ids: 48-bit millisecond time then 80 random bits.

    For times in non-decreasing order the ids come out in increasing order too (the random parts
    are sorted within each millisecond), so a frame built in time order is sorted by its ids.
    """
    n = len(times_us)
    millis = (times_us // 1000).astype(np.uint64)
    high = rng.integers(0, 2**40, n, dtype=np.uint64)
    low = rng.integers(0, 2**40, n, dtype=np.uint64)
    if n and bool(np.all(millis[1:] >= millis[:-1])):
        order = np.lexsort((low, high, millis))
        high, low = high[order], low[order]
    codes = np.empty((n, 26), dtype=np.uint8)
    codes[:, :10] = digits_of(millis, 10, CROCKFORD)
    codes[:, 10:18] = digits_of(high, 8, CROCKFORD)
    codes[:, 18:] = digits_of(low, 8, CROCKFORD)
    return strings(codes)


def short_ids(rng: np.random.Generator, n: int, width: int = 6) -> pl.Series:
    """Distinct random alphanumeric ids such as Klaviyo list ids ("Y6nRLr")."""
    space = len(ALNUM) ** width
    values = unique_random_ints(rng, n, 0, min(space, 2**62))
    return strings(digits_of(values.astype(np.uint64), width, ALNUM))


def amazon_order_ids(rng: np.random.Generator, n: int) -> pl.Series:
    """Distinct ids shaped like ``113-1234567-1234567``."""
    values = unique_random_ints(rng, n, 0, 4 * 10**14)
    region = 111 + values // 10**14
    middle = (values // 10**7) % 10**7
    last = values % 10**7
    frame = pl.DataFrame({"a": region, "b": middle, "c": last})
    return frame.select(
        pl.format(
            "{}-{}-{}",
            pl.col("a"),
            pl.col("b").cast(pl.String).str.zfill(7),
            pl.col("c").cast(pl.String).str.zfill(7),
        )
    ).to_series()


def digit_strings(values: np.ndarray, width: int) -> pl.Series:
    """Zero-padded decimal strings of non-negative integers."""
    return strings(digits_of(values.astype(np.uint64), width, DIGITS))


def _splitmix(values: np.ndarray) -> np.ndarray:
    """The splitmix64 finaliser: a well-mixed 64-bit hash of each value."""
    z = values.astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def hashed_hex(values: np.ndarray, salt: int, width: int = 32) -> pl.Series:
    """Deterministic random-looking hex strings derived from integer ids (no state needed)."""
    chunks = []
    for index in range(0, width, 16):
        mixed = _splitmix(
            values.astype(np.uint64) * np.uint64(1_000_003) + np.uint64(salt * 7_919 + index)
        )
        chunks.append(digits_of(mixed, 16, HEX))
    return strings(np.hstack(chunks)[:, :width])
