# notes: 0
"""Quote rates with the Python SDK.

    pip install parcelwise python-dotenv
    python create_rate.py
"""
import os

from dotenv import load_dotenv
import parcelwise

load_dotenv()  # reads PARCELWISE_API_KEY from .env

client = parcelwise.Client(
    api_key=os.environ["PARCELWISE_API_KEY"],
    base_url=os.environ.get("PARCELWISE_BASE_URL", "https://sandbox.parcelwise.example/v2"),
)

rates = client.rates.create(
    from_={"postal_code": "10115", "country": "DE"},
    to={"postal_code": "75001", "country": "FR"},
    parcel={"weight_g": 1200, "length_cm": 30, "width_cm": 20, "height_cm": 10},
)
for r in rates.data:
    print(f"{r.carrier} {r.service}: {r.amount} {r.currency}")
