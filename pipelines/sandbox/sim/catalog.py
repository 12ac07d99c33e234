"""Products, variants (SKUs) and stock locations; which SKU a shopper picks on each channel."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from pipelines.sandbox.sim.calendar import Calendar
from pipelines.sandbox.sim.context import DAY, Context, ts, ts_or_null
from pipelines.sandbox.sim.ids import UPPER_ALNUM, gapped_ids, random_codes, strings

NEVER = np.iinfo(np.int64).max

# (product type, nouns, variant dimension, price range in dollars)
PRODUCT_TYPES = [
    (
        "Apparel",
        ["Tee", "Hoodie", "Crewneck", "Beanie", "Socks", "Flannel", "Jacket"],
        "size",
        (22, 120),
    ),
    ("Home", ["Mug", "Candle", "Blanket", "Tumbler", "Poster", "Pillow"], "color", (14, 90)),
    (
        "Outdoor",
        ["Water Bottle", "Backpack", "Cap", "Dry Bag", "Camp Chair", "Hammock"],
        "color",
        (18, 140),
    ),
    (
        "Accessories",
        ["Tote", "Keychain", "Sticker Pack", "Enamel Pin", "Wallet"],
        "single",
        (6, 45),
    ),
]
ADJECTIVES = [
    "Harbor",
    "Driftwood",
    "Tidepool",
    "Lighthouse",
    "Saltmarsh",
    "Breakwater",
    "Seaglass",
    "Kelp",
    "Dune",
    "Pier",
    "Anchor",
    "Gull",
    "Foghorn",
    "Estuary",
    "Shoreline",
    "Cove",
    "Jetty",
    "Riptide",
    "Sandbar",
    "Wavecrest",
    "Mooring",
    "Channel",
    "Low Tide",
    "Squall",
]
SIZES = ["XS", "S", "M", "L", "XL", "XXL"]
COLORS = ["Navy", "Sand", "Olive", "Slate", "Rust", "Cream", "Black", "Sea Green"]
VENDORS = ["Tidewater", "Tidewater", "Tidewater", "Saltwater Goods", "Northbound Co."]
KIND_SHARES = [0.4, 0.25, 0.2, 0.15]
PRODUCT_RANGE = (40, 80)
SKU_RANGE = (170, 260)  # products are added until the catalogue has about this many SKUs
LINES_PER_ORDER = [0.55, 0.28, 0.12, 0.05]
UNITS_PER_LINE = [0.82, 0.13, 0.05]


@dataclass(frozen=True)
class Catalog:
    """The catalogue tables and per-variant arrays used to draw order lines."""

    products: pl.DataFrame
    variants: pl.DataFrame
    locations: pl.DataFrame
    variant_id: np.ndarray
    sku: np.ndarray
    title: np.ndarray
    price: np.ndarray
    created: np.ndarray
    retired: np.ndarray  # archived time of the product, NEVER if still sold
    weights: dict[str, np.ndarray]  # channel -> probability of each variant
    core: dict[str, np.ndarray]  # channel -> probability over always-live variants
    location_id: dict[str, int]  # warehouse | popup | amazon_fba -> id

    def draw(self, rng: np.random.Generator, times_us: np.ndarray, channel: str) -> np.ndarray:
        """A variant index per time, live at that time and sold on the channel."""
        picks = rng.choice(len(self.price), len(times_us), p=self.weights[channel])
        dead = (self.created[picks] > times_us) | (self.retired[picks] <= times_us)
        picks[dead] = rng.choice(len(self.price), int(dead.sum()), p=self.core[channel])
        return picks

    def lines(
        self, rng: np.random.Generator, times_us: np.ndarray, channel: str
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Order lines for orders at the given times: (order index, variant index, quantity).

        Lines are sorted by order, one line per distinct variant of an order.
        """
        n_lines = rng.choice(4, len(times_us), p=LINES_PER_ORDER) + 1
        order = np.repeat(np.arange(len(times_us)), n_lines)
        variant = self.draw(rng, times_us[order], channel)
        quantity = rng.choice(3, len(order), p=UNITS_PER_LINE) + 1
        key = order * len(self.price) + variant
        unique, inverse = np.unique(key, return_inverse=True)
        summed = np.bincount(inverse, weights=quantity).astype(np.int64)
        return unique // len(self.price), unique % len(self.price), summed


def _normalised(weights: np.ndarray) -> np.ndarray:
    return weights / weights.sum()


def _options(rng: np.random.Generator, dimension: str) -> list[str]:
    """The variant options of a new product: a run of sizes, a few colours, or none."""
    if dimension == "size":
        first = int(rng.integers(0, 2))
        return SIZES[first : first + int(rng.integers(3, 6))]
    if dimension == "color":
        return [str(c) for c in rng.choice(COLORS, int(rng.integers(2, 6)), replace=False)]
    return ["Default Title"]


def build_catalog(ctx: Context, cal: Calendar) -> Catalog:
    """Draw the product catalogue, its variants and the three stock locations."""
    rng = ctx.rng("catalog")
    target = int(rng.integers(*SKU_RANGE))
    drawn: list[tuple[int, list[str]]] = []
    while len(drawn) < PRODUCT_RANGE[0] or (
        sum(len(o) for _, o in drawn) < target and len(drawn) < PRODUCT_RANGE[1]
    ):
        kind = int(rng.choice(len(PRODUCT_TYPES), p=KIND_SHARES))
        drawn.append((kind, _options(rng, PRODUCT_TYPES[kind][2])))
    n_products = len(drawn)
    kinds = np.array([kind for kind, _ in drawn])
    titles: list[str] = []
    used: set[str] = set()
    for kind in kinds:
        nouns = PRODUCT_TYPES[kind][1]
        while True:
            title = f"{ADJECTIVES[rng.integers(len(ADJECTIVES))]} {nouns[rng.integers(len(nouns))]}"
            if title not in used:
                used.add(title)
                titles.append(title)
                break
    before = rng.random(n_products) < 0.75
    created = np.where(
        before,
        ctx.start_us - rng.integers(30, 400, n_products) * DAY,
        rng.integers(ctx.start_us + 30 * DAY, ctx.horizon_us - 30 * DAY, n_products),
    )
    archived = np.where(
        rng.random(n_products) < np.where(before, 0.12, 0.05),
        np.maximum(created, ctx.start_us) + rng.integers(60, 700, n_products) * DAY,
        NEVER,
    )
    order = np.argsort(created, kind="stable")
    kinds, created, archived, before = kinds[order], created[order], archived[order], before[order]
    titles = [titles[i] for i in order]
    option_lists = [drawn[i][1] for i in order]
    product_ids = gapped_ids(rng, n_products, 8_000_000_000_000, 50_000)
    popularity = rng.permutation(1.0 / np.arange(1, n_products + 1) ** 0.9)

    rows: list[tuple] = []
    for p in range(n_products):
        kind_name, _, _, (low, high) = PRODUCT_TYPES[kinds[p]]
        price = int(rng.integers(low, high + 1)) * 100 - 1
        options = option_lists[p]
        middle = (len(options) - 1) / 2
        for index, option in enumerate(options):
            share = popularity[p] / (1.0 + abs(index - middle)) / len(options)
            extra = 200 if option == "XXL" else 0
            code = option.replace(" ", "").upper()[:4] if option != "Default Title" else "OS"
            sku = f"TW-{kind_name[:3].upper()}-{p + 1:03d}-{code}"
            title = option
            cost = round((price + extra) * rng.uniform(0.32, 0.5))
            rows.append((p, sku, title, price + extra, cost, share))
    n_variants = len(rows)
    product_of = np.array([r[0] for r in rows])
    share = np.array([r[5] for r in rows])
    v_created = created[product_of]
    v_retired = archived[product_of]
    core_variant = before[product_of] & (v_retired == NEVER)
    on_amazon = (rng.random(n_variants) < 0.6) | (share > np.quantile(share, 0.8))
    at_popup = (rng.random(n_variants) < 0.45) | (share > np.quantile(share, 0.85))
    on_amazon &= kinds[product_of] != 3
    asin = strings(
        np.hstack(
            [
                np.tile(np.frombuffer(b"B0", np.uint8), (n_variants, 1)),
                random_codes(rng, n_variants, 8, UPPER_ALNUM),
            ]
        )
    )
    variant_ids = gapped_ids(rng, n_variants, 45_000_000_000_000, 50_000)
    item_ids = gapped_ids(rng, n_variants, 47_000_000_000_000, 50_000)

    products = pl.DataFrame(
        {
            "product_id": product_ids,
            "title": titles,
            "product_type": [PRODUCT_TYPES[k][0] for k in kinds],
            "vendor": [VENDORS[i] for i in rng.integers(0, len(VENDORS), n_products)],
            "status": "ACTIVE",
            "created_at": ts(created),
            "updated_at": ts(created),
            "_archived_at": ts_or_null(archived, archived != NEVER),
        }
    )
    skus = np.array([r[1] for r in rows], dtype=object)
    titles_v = np.array([r[2] for r in rows], dtype=object)
    prices = np.array([r[3] for r in rows], dtype=np.int64)
    variants = pl.DataFrame(
        {
            "variant_id": variant_ids,
            "product_id": product_ids[product_of],
            "inventory_item_id": item_ids,
            "sku": pl.Series(skus.astype(str)),
            "asin": asin,
            "title": pl.Series(titles_v.astype(str)),
            "price_cents": prices,
            "unit_cost_cents": np.array([r[4] for r in rows], dtype=np.int64),
            "created_at": ts(v_created),
            "updated_at": ts(v_created),
            "_on_amazon": on_amazon,
            "_at_popup": at_popup,
        }
    ).with_columns(pl.when(pl.col("_on_amazon")).then(pl.col("asin")).alias("asin"))
    location_id = {"warehouse": 71_245_000_017, "popup": 71_245_000_393, "amazon_fba": 9_000_001}
    locations = pl.DataFrame(
        {
            "location_id": list(location_id.values()),
            "name": ["Reno Fulfillment Center", "Brooklyn Pop-up", "Amazon FBA PHX7"],
            "kind": list(location_id),
            "is_shopify_location": [True, True, False],
            "city": ["Reno", "Brooklyn", "Phoenix"],
            "created_at": ts(
                np.array(
                    [
                        ctx.start_us - 500 * DAY,
                        cal.popup_open_from_us - 10 * DAY,
                        ctx.start_us - 300 * DAY,
                    ]
                )
            ),
        }
    )
    masks = {"web": np.ones(n_variants, bool), "amazon": on_amazon, "pos": at_popup}
    full_titles = np.array(
        [
            titles[p] if t == "Default Title" else f"{titles[p]} - {t}"
            for p, t in zip(product_of, titles_v, strict=True)
        ],
        dtype=object,
    )
    return Catalog(
        products=products,
        variants=variants,
        locations=locations,
        variant_id=variant_ids,
        sku=skus,
        title=full_titles,
        price=prices,
        created=v_created,
        retired=v_retired,
        weights={c: _normalised(share * m) for c, m in masks.items()},
        core={c: _normalised(share * m * core_variant) for c, m in masks.items()},
        location_id=location_id,
    )
