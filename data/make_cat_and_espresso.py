"""Build cat_and_espresso.jpg: two objects of different classes in one picture, for CAM/Grad-CAM.

Both halves are bundled CC0 photos (cat.jpg, espresso.jpg), scaled to one height and set side
by side. Run from the repository root: python data/make_cat_and_espresso.py
"""
from pathlib import Path

from PIL import Image

here = Path(__file__).parent
height = 300
parts = [Image.open(here / name).convert("RGB") for name in ("cat.jpg", "espresso.jpg")]
parts = [p.resize((round(p.width * height / p.height), height), Image.LANCZOS) for p in parts]
canvas = Image.new("RGB", (sum(p.width for p in parts), height))
x = 0
for p in parts:
    canvas.paste(p, (x, 0))
    x += p.width
canvas.save(here / "cat_and_espresso.jpg", quality=92)
