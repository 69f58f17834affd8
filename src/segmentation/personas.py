"""Latent customer personas and the small vocabularies of the demo data generator.

Each persona is a behaviour profile; every customer draws its own rates around the
persona's means (purchase rate ~ Gamma, open/click rates ~ Beta), so customers of one
persona differ, but the personas stay separable on recency, frequency, monetary value,
e-mail engagement, browsing and discount share.  Rates are per 365 days and scale with
the generated window.
"""

from __future__ import annotations

from dataclasses import dataclass

CATEGORIES: tuple[str, ...] = (
    "electronics",
    "fashion",
    "home_garden",
    "beauty",
    "sports_outdoors",
    "books_media",
    "toys_games",
    "grocery",
)


@dataclass(frozen=True)
class Persona:
    name: str
    share: float  # share of persons
    # orders
    order_rate: float  # mean orders per 365 active days
    order_shape: float  # Gamma shape of the per-customer rate (higher = more alike)
    min_orders: int  # floor on the number of orders in the active window
    lines_mean: float  # mean order lines (1-5)
    price_pref: float  # <1 pricier products within a category, >1 cheaper
    categories: tuple[float, ...]  # weights over CATEGORIES
    discount_prob: float  # share of order lines with a discount
    discount_range: tuple[float, float]  # discount as a share of the line amount
    # web
    browse_rate: float  # browse sessions per 365 active days
    session_len: float  # mean events per browse session
    event_gap: float  # mean seconds between events of a session
    p_add: float  # chance a browse event (after the first) is add_to_cart
    p_checkout: float  # chance a browse event is checkout_started (abandoned checkout)
    consider_rate: float  # episodes per 365 days of 2-3 visits ending in an abandoned checkout
    p_anonymous: float  # chance a browse session is not logged in
    # e-mail
    email_recv: float  # chance to be in the audience of a campaign
    open_rate: float  # mean chance to open a delivered e-mail
    click_rate: float  # mean chance to click an opened e-mail
    optout_rate: float  # chance to opt out within 365 days
    consent_rate: float  # chance to opt in to e-mail at signup
    # signup
    signup_in_window: float  # chance the signup falls inside the generated window
    # the planted e-mail effect: chance that a delivered audience e-mail (a campaign to a
    # list the warehouse exported) brings an order within days that would not happen
    # otherwise; its holdout gets none (simulator/audiences.py)
    email_lift: float = 0.0


PERSONAS: tuple[Persona, ...] = (
    Persona(
        name="loyal_high_spender",
        share=0.10,
        order_rate=12.0,  # about monthly, so a loyal customer rarely goes months without an order
        order_shape=8.0,  # and loyal customers are alike in that (few slow ones that look lapsing)
        min_orders=3,
        lines_mean=2.6,
        price_pref=0.45,
        categories=(0.28, 0.24, 0.2, 0.1, 0.1, 0.03, 0.03, 0.02),
        discount_prob=0.04,
        discount_range=(0.05, 0.15),
        browse_rate=3.0,
        session_len=4.0,
        event_gap=70.0,
        p_add=0.05,
        p_checkout=0.01,
        consider_rate=0.3,
        p_anonymous=0.1,
        email_recv=0.045,
        open_rate=0.35,
        click_rate=0.2,
        optout_rate=0.03,
        consent_rate=0.88,
        signup_in_window=0.05,
        email_lift=0.06,
    ),
    Persona(
        name="bargain_hunter",
        share=0.15,
        order_rate=5.0,
        order_shape=4.0,
        min_orders=2,
        lines_mean=2.6,
        price_pref=2.2,
        categories=(0.06, 0.3, 0.18, 0.16, 0.06, 0.04, 0.08, 0.12),
        discount_prob=0.88,
        discount_range=(0.2, 0.5),
        browse_rate=3.0,
        session_len=4.0,
        event_gap=50.0,
        p_add=0.06,
        p_checkout=0.01,
        consider_rate=0.3,
        p_anonymous=0.12,
        email_recv=0.04,
        open_rate=0.45,
        click_rate=0.35,
        optout_rate=0.05,
        consent_rate=0.88,
        signup_in_window=0.3,
        email_lift=0.15,
    ),
    Persona(
        name="window_shopper",
        share=0.17,
        order_rate=0.15,
        order_shape=2.0,
        min_orders=0,
        lines_mean=1.3,
        price_pref=0.9,
        categories=(0.3, 0.3, 0.18, 0.06, 0.08, 0.03, 0.03, 0.02),
        discount_prob=0.05,
        discount_range=(0.05, 0.2),
        browse_rate=7.0,
        session_len=5.0,
        event_gap=55.0,
        p_add=0.25,
        p_checkout=0.1,
        consider_rate=2.0,
        p_anonymous=0.2,
        email_recv=0.035,
        open_rate=0.12,
        click_rate=0.15,
        optout_rate=0.06,
        consent_rate=0.8,
        signup_in_window=0.35,
        email_lift=0.04,
    ),
    Persona(
        name="new_customer",
        share=0.10,
        order_rate=4.0,  # on top of the first order most of them place right away
        order_shape=3.0,
        min_orders=0,
        lines_mean=1.8,
        price_pref=1.0,
        categories=(0.15, 0.2, 0.15, 0.15, 0.12, 0.08, 0.08, 0.07),
        discount_prob=0.1,
        discount_range=(0.1, 0.15),  # welcome voucher
        browse_rate=150.0,
        session_len=6.0,
        event_gap=60.0,
        p_add=0.04,
        p_checkout=0.01,
        consider_rate=1.0,
        p_anonymous=0.15,
        email_recv=0.4,  # welcome series
        open_rate=0.6,
        click_rate=0.3,
        optout_rate=0.05,
        consent_rate=0.92,
        signup_in_window=1.0,
        email_lift=0.1,
    ),
    Persona(
        name="lapsing",
        share=0.14,
        order_rate=8.0,
        order_shape=4.0,
        min_orders=3,
        lines_mean=2.0,
        price_pref=1.0,
        categories=(0.14, 0.2, 0.2, 0.14, 0.14, 0.08, 0.06, 0.04),
        discount_prob=0.06,
        discount_range=(0.05, 0.2),
        browse_rate=5.0,
        session_len=4.0,
        event_gap=70.0,
        p_add=0.05,
        p_checkout=0.01,
        consider_rate=0.2,
        p_anonymous=0.12,
        email_recv=0.04,
        open_rate=0.3,  # before the lapse; afterwards a fraction of it
        click_rate=0.2,
        optout_rate=0.12,
        consent_rate=0.85,
        signup_in_window=0.1,
        email_lift=0.08,
    ),
    Persona(
        name="email_reader",
        share=0.16,
        order_rate=0.15,
        order_shape=2.0,
        min_orders=0,
        lines_mean=1.4,
        price_pref=1.1,
        categories=(0.08, 0.14, 0.14, 0.14, 0.1, 0.3, 0.06, 0.04),
        discount_prob=0.05,
        discount_range=(0.05, 0.2),
        browse_rate=2.0,
        session_len=3.0,
        event_gap=80.0,
        p_add=0.03,
        p_checkout=0.0,
        consider_rate=0.1,
        p_anonymous=0.1,
        email_recv=0.25,  # subscribed to most newsletters: several e-mails a month, not one
        open_rate=0.75,
        click_rate=0.45,
        optout_rate=0.01,
        consent_rate=0.99,
        signup_in_window=0.25,
        email_lift=0.12,
    ),
    Persona(
        name="one_time_buyer",
        share=0.18,
        order_rate=0.0,  # exactly one order
        order_shape=1.0,
        min_orders=1,
        lines_mean=1.3,
        price_pref=1.2,
        categories=(0.16, 0.2, 0.16, 0.12, 0.12, 0.1, 0.08, 0.06),
        discount_prob=0.04,
        discount_range=(0.05, 0.2),
        browse_rate=1.0,
        session_len=3.0,
        event_gap=70.0,
        p_add=0.04,
        p_checkout=0.0,
        consider_rate=0.1,
        p_anonymous=0.2,
        email_recv=0.035,
        open_rate=0.07,
        click_rate=0.1,
        optout_rate=0.1,
        consent_rate=0.75,
        signup_in_window=0.6,
        email_lift=0.03,
    ),
)

PERSONA_NAMES: tuple[str, ...] = tuple(p.name for p in PERSONAS)

# Persona-independent profile of visitors who never sign up (anonymous-only traffic).
STRANGER = Persona(
    name="anonymous_visitor",
    share=0.0,
    order_rate=0.0,
    order_shape=1.0,
    min_orders=0,
    lines_mean=1.0,
    price_pref=1.0,
    categories=(0.2, 0.2, 0.15, 0.1, 0.1, 0.1, 0.1, 0.05),
    discount_prob=0.0,
    discount_range=(0.0, 0.0),
    browse_rate=0.0,
    session_len=3.5,
    event_gap=60.0,
    p_add=0.05,
    p_checkout=0.0,
    consider_rate=0.0,
    p_anonymous=1.0,
    email_recv=0.0,
    open_rate=0.0,
    click_rate=0.0,
    optout_rate=0.0,
    consent_rate=0.0,
    signup_in_window=0.0,
)

# ---------------------------------------------------------------------------------------
# Vocabularies
# ---------------------------------------------------------------------------------------

FIRST_NAMES_FEMALE: tuple[str, ...] = (
    "Anna", "Emma", "Sophie", "Marie", "Laura", "Julia", "Lea", "Hannah", "Mia", "Lena",
    "Sara", "Clara", "Chiara", "Giulia", "Francesca", "Lucia", "Carmen", "Elena", "Ines",
    "Camille", "Chloe", "Manon", "Louise", "Ana", "Beatriz", "Mariana", "Sofia", "Eva",
    "Nina", "Lisa", "Katharina", "Johanna", "Aoife", "Siobhan", "Niamh", "Emilia", "Aino",
    "Noor", "Fleur", "Lotte", "Isabel", "Paula", "Alice", "Martina", "Valentina", "Greta",
)  # fmt: skip
FIRST_NAMES_MALE: tuple[str, ...] = (
    "Lukas", "Leon", "Felix", "Jonas", "Paul", "Max", "Ben", "Noah", "Elias", "Finn",
    "Luca", "Marco", "Matteo", "Lorenzo", "Alessandro", "Pablo", "Javier", "Diego", "Hugo",
    "Lucas", "Louis", "Gabriel", "Arthur", "Jules", "Tiago", "Joao", "Pedro", "Rui",
    "Daan", "Sem", "Bram", "Thomas", "Jan", "Stefan", "Florian", "Sean", "Liam", "Conor",
    "Mikko", "Juho", "Oliver", "David", "Simon", "Tobias", "Niklas", "Andrea",
)  # fmt: skip
LAST_NAMES: tuple[str, ...] = (
    "Muller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker",
    "Hoffmann", "Schulz", "Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano",
    "Garcia", "Martinez", "Lopez", "Sanchez", "Perez", "Gonzalez", "Martin", "Bernard",
    "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Silva", "Santos",
    "Ferreira", "Pereira", "Costa", "DeJong", "Jansen", "DeVries", "Bakker", "Visser",
    "Peeters", "Janssens", "Maes", "Murphy", "Kelly", "Byrne", "Walsh", "Gruber", "Huber",
    "Bauer", "Korhonen", "Virtanen", "Nieminen", "Keller", "Wolf", "Neumann", "Lang",
)  # fmt: skip

# (city, ISO 3166-1 alpha-2 country, weight)
CITIES: tuple[tuple[str, str, float], ...] = (
    ("Berlin", "DE", 6.0), ("Hamburg", "DE", 3.0), ("Munich", "DE", 3.0),
    ("Cologne", "DE", 2.0), ("Frankfurt", "DE", 1.5), ("Stuttgart", "DE", 1.2),
    ("Paris", "FR", 5.0), ("Lyon", "FR", 1.5), ("Marseille", "FR", 1.5),
    ("Toulouse", "FR", 1.0), ("Amsterdam", "NL", 2.0), ("Rotterdam", "NL", 1.2),
    ("Utrecht", "NL", 0.8), ("Madrid", "ES", 3.0), ("Barcelona", "ES", 2.5),
    ("Valencia", "ES", 1.0), ("Rome", "IT", 2.5), ("Milan", "IT", 2.5), ("Naples", "IT", 1.0),
    ("Turin", "IT", 1.0), ("Brussels", "BE", 1.2), ("Antwerp", "BE", 0.8),
    ("Vienna", "AT", 1.8), ("Graz", "AT", 0.5), ("Dublin", "IE", 1.2), ("Cork", "IE", 0.4),
    ("Lisbon", "PT", 1.0), ("Porto", "PT", 0.6), ("Helsinki", "FI", 0.8),
)  # fmt: skip

# Per category: (share of the catalogue, median price, price sigma, brands, nouns)
CATALOG: dict[str, tuple[float, float, float, tuple[str, ...], tuple[str, ...]]] = {
    "electronics": (
        0.14, 120.0, 1.0,
        ("Voltix", "Nordtek", "Lumina", "Sonara", "Pixelon", "Ampere"),
        ("Headphones", "Speaker", "Smartwatch", "Tablet", "Charger", "Camera", "Monitor",
         "Keyboard", "Router", "E-Reader"),
    ),
    "fashion": (
        0.2, 45.0, 0.7,
        ("Atelier Nord", "Linea", "Urban Thread", "Maison Vert", "Koto", "Bravo"),
        ("T-Shirt", "Jeans", "Sweater", "Jacket", "Dress", "Sneakers", "Scarf", "Boots",
         "Shirt", "Coat"),
    ),
    "home_garden": (
        0.15, 35.0, 0.9,
        ("Casa Bella", "Hygge Home", "Greenleaf", "Stilla", "Oakridge"),
        ("Lamp", "Cushion", "Vase", "Cookware Set", "Plant Pot", "Blanket", "Knife Set",
         "Garden Hose", "Chair", "Rug"),
    ),
    "beauty": (
        0.12, 18.0, 0.6,
        ("Belle Peau", "Aura", "Naturelle", "Glow Lab", "Sira"),
        ("Face Cream", "Serum", "Shampoo", "Perfume", "Lipstick", "Body Lotion", "Mascara",
         "Sunscreen"),
    ),
    "sports_outdoors": (
        0.11, 40.0, 0.9,
        ("Peakline", "Stride", "Alpenwerk", "Velo", "Kinetic"),
        ("Running Shoes", "Yoga Mat", "Backpack", "Tent", "Bike Helmet", "Water Bottle",
         "Dumbbells", "Rain Jacket"),
    ),
    "books_media": (
        0.1, 14.0, 0.45,
        ("Page & Co", "Inkwell", "Northern Press", "Vinylia"),
        ("Novel", "Cookbook", "Travel Guide", "Biography", "Vinyl Record", "Board Book",
         "Comic", "Audiobook"),
    ),
    "toys_games": (
        0.1, 25.0, 0.7,
        ("Brickly", "Funfair", "Kiddo", "Puzzlewerk"),
        ("Puzzle", "Board Game", "Building Set", "Plush Toy", "Card Game", "Doll",
         "RC Car"),
    ),
    "grocery": (
        0.08, 7.0, 0.5,
        ("Bonfarm", "Terra", "Caffe Sole", "Nordic Pantry"),
        ("Coffee Beans", "Olive Oil", "Tea Selection", "Chocolate", "Pasta", "Honey",
         "Granola", "Spices"),
    ),
}  # fmt: skip

ADJECTIVES: tuple[str, ...] = (
    "Classic", "Essential", "Premium", "Eco", "Compact", "Pro", "Soft", "Urban", "Vintage",
    "Light", "Deluxe", "Everyday", "Smart", "Organic", "Sport", "Mini",
)  # fmt: skip

SEARCH_TERMS: tuple[str, ...] = (
    "headphones", "wireless speaker", "smartwatch", "jeans", "winter jacket", "sneakers",
    "dress", "lamp", "cushion", "coffee", "face cream", "perfume", "running shoes",
    "yoga mat", "tent", "novel", "cookbook", "board game", "puzzle", "gift ideas", "sale",
    "black friday", "backpack", "tablet", "chocolate", "olive oil", "sweater", "boots",
)  # fmt: skip

STATIC_PAGES: tuple[str, ...] = (
    "/",
    "/sale",
    "/new-arrivals",
    "/account",
    "/help/shipping",
    "/blog/style-guide",
    "/wishlist",
    "/cart",
)

CAMPAIGN_KINDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "Weekly Newsletter",
        ("This week's picks for you", "New in: fresh finds", "Your weekly inspiration"),
    ),
    (
        "Weekend Sale",
        ("Up to 40% off this weekend", "Weekend deals end Sunday", "Extra 20% off sale items"),
    ),
    (
        "New Arrivals",
        ("Just landed: new arrivals", "Be the first to shop the new collection"),
    ),
    (
        "Member Picks",
        ("Handpicked for our members", "Your favourites are back in stock"),
    ),
    (
        "Flash Sale",
        ("24 hours only: flash sale", "Flash sale: prices drop now"),
    ),
    (
        "Audience",  # a send to a list the warehouse exported: named after the audience
        ("Picked for you", "Something you will like", "We saved these for you"),
    ),
)
AUDIENCE_KIND = len(CAMPAIGN_KINDS) - 1
