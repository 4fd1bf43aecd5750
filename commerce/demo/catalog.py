"""The demo catalogue: project-written product names, their categories and variant axes.

Prices and stock are drawn from the seeded generator; names and structure are fixed here so the
demo reads the same from seed to seed."""

from __future__ import annotations

import itertools
import random
from decimal import Decimal

from commerce.models import InventoryPolicy, Product, Variant

SHOE_SIZES = ["7", "8", "9", "10", "11", "12"]
CLOTHING_SIZES = ["XS", "S", "M", "L", "XL"]
SOCK_SIZES = ["S", "M", "L"]
COLOURS = {
    "BLK": "Black",
    "NVY": "Navy",
    "GRY": "Heather Grey",
    "OLV": "Olive",
    "RST": "Rust",
    "SND": "Sand",
    "FOR": "Forest",
    "SKY": "Sky Blue",
    "WHT": "White",
    "CHR": "Charcoal",
}

# (title, category, base price in dollars, axis, final sale)
# axis: "shoe" | "clothing" | "sock" | "colour" | "single" | "tent" | "gift" | "bottle" | "belt"
#       | "keyboard" | "sleeping_bag" (see _options)
_PRODUCTS: list[tuple[str, str, int, str, bool]] = [
    ("Trail Runner", "footwear", 129, "shoe", False),
    ("Trail Runner GTX", "footwear", 159, "shoe", False),
    ("Ridgeline Hiking Boot", "footwear", 189, "shoe", False),
    ("Harbor Canvas Sneaker", "footwear", 69, "shoe", False),
    ("Summit Approach Shoe", "footwear", 145, "shoe", False),
    ("Camp Slide", "footwear", 39, "shoe", False),
    ("Cedar Leather Loafer", "footwear", 119, "shoe", False),
    ("Tempo Road Shoe", "footwear", 135, "shoe", False),
    ("Puddle Rain Boot", "footwear", 89, "shoe", False),
    ("Fireside Wool Slipper", "footwear", 59, "shoe", False),
    ("Merino Crew Sock", "apparel", 18, "sock", False),
    ("Hiker Cushion Sock (3-pack)", "apparel", 34, "sock", False),
    ("Everyday Organic Tee", "apparel", 28, "clothing", False),
    ("Merino Base Layer Top", "apparel", 85, "clothing", False),
    ("Coastline Flannel Shirt", "apparel", 64, "clothing", False),
    ("Switchback Fleece Jacket", "apparel", 110, "clothing", False),
    ("Stormfront Rain Shell", "apparel", 179, "clothing", False),
    ("Downhill Puffer Vest", "apparel", 129, "clothing", False),
    ("Canyon Hiking Pant", "apparel", 89, "clothing", False),
    ("Boulder Climbing Short", "apparel", 55, "clothing", False),
    ("Lakeside Hoodie", "apparel", 72, "clothing", False),
    ("Quarry Work Jacket", "apparel", 148, "clothing", False),
    ("Meadow Linen Dress", "apparel", 98, "clothing", False),
    ("Basecamp Jogger", "apparel", 68, "clothing", False),
    ("Trailhead Running Tight", "apparel", 75, "clothing", False),
    ("Merino Boxer Brief", "apparel", 32, "clothing", True),
    ("Everyday Bralette", "apparel", 38, "clothing", True),
    ("Ridge Beanie", "accessories", 29, "colour", False),
    ("Sun Runner Cap", "accessories", 27, "colour", False),
    ("Wool Touchscreen Gloves", "accessories", 36, "colour", False),
    ("Roll-Top Daypack 22L", "accessories", 95, "colour", False),
    ("Everyday Belt", "accessories", 48, "belt", False),
    ("Polarized Trail Sunglasses", "accessories", 79, "colour", False),
    ("Canvas Tote", "accessories", 24, "colour", False),
    ("Packable Sling Bag", "accessories", 42, "colour", False),
    ("Insulated Bottle", "accessories", 32, "bottle", False),
    ("Trekking Pole Pair", "outdoor gear", 119, "single", False),
    ("Backcountry Tent", "outdoor gear", 349, "tent", False),
    ("Ultralight Tarp", "outdoor gear", 129, "single", False),
    ("Down Sleeping Bag 20F", "outdoor gear", 289, "sleeping_bag", False),
    ("Self-Inflating Sleeping Pad", "outdoor gear", 119, "single", False),
    ("Camp Stove Kit", "outdoor gear", 89, "single", False),
    ("Titanium Cook Pot", "outdoor gear", 59, "single", False),
    ("Headlamp 400", "outdoor gear", 45, "colour", False),
    ("Hydration Reservoir 2L", "outdoor gear", 38, "single", False),
    ("Trail First Aid Kit", "outdoor gear", 34, "single", False),
    ("Folding Camp Chair", "outdoor gear", 69, "colour", False),
    ("Water Filter Straw", "outdoor gear", 29, "single", False),
    ("Wool Camp Blanket", "home", 129, "colour", False),
    ("Stoneware Mug Set", "home", 44, "colour", False),
    ("Enamel Camp Plate Set", "home", 36, "colour", False),
    ("Cedar Candle", "home", 28, "single", False),
    ("Linen Throw Pillow", "home", 42, "colour", False),
    ("Pour-Over Coffee Kit", "home", 58, "single", False),
    ("Cast Iron Skillet 10in", "home", 65, "single", False),
    ("Waxed Canvas Apron", "home", 54, "colour", False),
    ("Cotton Waffle Towel", "home", 26, "colour", False),
    ("Trail Map Print", "home", 35, "single", False),
    ("Clearance: Retro Windbreaker", "apparel", 49, "clothing", True),
    ("Clearance: Last-Season Trail Runner", "footwear", 79, "shoe", True),
    ("Clearance: Summit Duffel 40L", "accessories", 59, "colour", True),
    ("Gift Card", "gift cards", 0, "gift", True),
    ("Holiday Gift Card", "gift cards", 0, "gift", True),
    ("Repair Kit for Outdoor Gear", "outdoor gear", 22, "single", False),
    ("Cabin Mechanical Keyboard", "home", 119, "keyboard", False),
]

_CATEGORY_CODES = {
    "footwear": "FTW",
    "apparel": "APP",
    "accessories": "ACC",
    "outdoor gear": "OUT",
    "home": "HOM",
    "gift cards": "GFT",
}

_DESCRIPTIONS = {
    "footwear": "Built for long days on foot; half sizes run true to the next size up.",
    "apparel": "Cut for movement and made to be layered.",
    "accessories": "Small things that come along on every trip.",
    "outdoor gear": "Field-tested kit for nights away from the trailhead.",
    "home": "For the cabin, the kitchen and the living room.",
    "gift cards": "Delivered by mail in a card; never expires; redeemable online.",
}

_CENT = Decimal("0.01")


# Option kinds beyond size and colour, each (option name, [(sku code, value), ...]).
CAPACITIES = ("Capacity", [("500", "500 ml"), ("750", "750 ml"), ("1L", "1 L")])
TENT_SIZES = ("Capacity", [("2P", "2-person"), ("3P", "3-person")])
MATERIALS = ("Material", [("LTH", "Leather"), ("CNV", "Waxed canvas")])
BELT_SIZES = ("Size", [("32", "32"), ("34", "34"), ("36", "36"), ("38", "38")])
SWITCHES = ("Switch type", [("LIN", "Linear"), ("TAC", "Tactile"), ("CLK", "Clicky")])
LAYOUTS = ("Layout", [("ANSI", "US ANSI"), ("ISO", "UK ISO")])
BAG_LENGTHS = ("Length", [("REG", "Regular"), ("LNG", "Long")])
GIFT_AMOUNTS = ("Amount", [(str(v), f"${v}") for v in (25, 50, 100, 200)])
# what each extra amount of an option adds to the base price
_PRICE_STEPS = {"3P": 80, "750": 4, "1L": 8, "CNV": -10, "CLK": 10, "LNG": 30}

Axis = list[tuple[str, str]]  # one option: [(sku code, value)]


def _options(axis: str, rng: random.Random) -> list[tuple[str, Axis]]:
    """The option axes of one product: [(option name, [(sku code, value), ...]), ...]."""
    colours = sorted(rng.sample(sorted(COLOURS), k=rng.randint(2, 3)))
    colour_axis = ("Color", [(c, COLOURS[c]) for c in colours])
    two_colours = ("Color", colour_axis[1][:2])
    if axis == "shoe":
        return [("Size", [(s, s) for s in SHOE_SIZES]), two_colours]
    if axis == "clothing":
        return [("Size", [(s, s) for s in CLOTHING_SIZES]), colour_axis]
    if axis == "sock":
        return [("Size", [(s, s) for s in SOCK_SIZES]), two_colours]
    if axis == "colour":
        return [colour_axis]
    if axis == "bottle":
        return [CAPACITIES, two_colours]
    if axis == "belt":
        return [MATERIALS, BELT_SIZES]
    if axis == "keyboard":
        return [SWITCHES, LAYOUTS]
    if axis == "sleeping_bag":
        return [BAG_LENGTHS]
    if axis == "tent":
        return [TENT_SIZES]
    if axis == "gift":
        return [GIFT_AMOUNTS]
    return []  # one variant, no options


def _variants(axes: list[tuple[str, Axis]]) -> list[tuple[str, str, dict[str, str]]]:
    """(sku suffix, title, options) for every combination; the first option varies fastest,
    as the demo has always listed sizes within a colour."""
    if not axes:
        return [("OS", "One size", {})]
    combos = itertools.product(*(values for _, values in reversed(axes)))
    result = []
    for combo in combos:
        picked = list(reversed(combo))
        suffix = "-".join(code for code, _ in picked)
        options = {name: value for (name, _), (_, value) in zip(axes, picked, strict=True)}
        result.append((suffix, " / ".join(options.values()), options))
    return result


def build_catalog(rng: random.Random) -> list[Product]:
    products = []
    for index, (title, category, base, axis, final_sale) in enumerate(_PRODUCTS, start=1):
        # A price ending in .00 or .95 around the base: same shape as a real price list.
        cents = Decimal(rng.choice(["0.00", "0.95"]))
        base_price = (Decimal(base) + rng.choice([-5, 0, 0, 5, 10]) + cents).quantize(_CENT)
        variants = []
        for suffix, variant_title, options in _variants(_options(axis, rng)):
            if axis == "gift":
                price = Decimal(suffix).quantize(_CENT)
            else:
                price = base_price + sum(_PRICE_STEPS.get(c, 0) for c in suffix.split("-"))
            stock = 0 if rng.random() < 0.08 else rng.randint(1, 80)
            code = _CATEGORY_CODES[category]
            variants.append(
                Variant(
                    sku=f"{code}-{index:03d}-{suffix}",
                    title=variant_title,
                    price=price,
                    stock=stock,
                    options=options,
                    # gift cards never run out; everything else stops at 0
                    inventory_policy=InventoryPolicy.CONTINUE
                    if axis == "gift"
                    else InventoryPolicy.DENY,
                )
            )
        products.append(
            Product(
                id=f"prod_{index:03d}",
                title=title,
                category=category,
                description=_DESCRIPTIONS[category],
                final_sale=final_sale,
                variants=variants,
            )
        )
    return products
