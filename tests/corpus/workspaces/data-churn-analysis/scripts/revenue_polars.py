"""Revenue per day and status from an orders TSV, with polars."""

import sys

import polars as pl

# notes: 0


def main(path: str) -> None:
    df = pl.read_csv(
        path,
        separator="\t",
        schema_overrides={"order_id": pl.Utf8, "coupon_code": pl.Utf8},
        try_parse_dates=True,
    )
    daily = (
        df.with_columns(pl.col("placed_at").dt.date().alias("day"))
        .group_by("day", "status")
        .agg(
            pl.col("amount_cents").sum().alias("cents"),
            pl.len().alias("orders"),
        )
        .sort("day", "status")
    )
    print(daily)
    print(df.group_by("currency").agg(pl.col("amount_cents").sum()).sort("currency"))


if __name__ == "__main__":
    main(sys.argv[1])
