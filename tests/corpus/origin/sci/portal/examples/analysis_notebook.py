# %% [markdown]
# # Ocean heat content: trend per basin
# Example analysis for DOI 10.5281/zenodo.8123456. Download the file, check it
# against SHA256SUMS, then run the cells in order (VS Code / Jupytext "percent" format).

# %%
import hashlib
import uuid
from pathlib import Path

import h5py
import numpy as np

DATA = Path("data/ohc_025deg_1993_2024_v3.1.h5")
EXPECTED_SHA256 = "93cd884f61c1be6270cda86026f5d2ebee4c69979b04d336d1244d907ff0e6fe"
RUNS = {
    "baseline": "899778fa-cb3a-4f34-95dc-5c542353a9a9",
    "no_argo": "fc39daa1-6e36-497d-bf4a-1895bb5c93bb",
    "high_res_mixing": "fc64a82a-4b92-4de9-8f62-c079e7a7ff6d",
}

# %%
def sha256sum(path, bufsize=1 << 24):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(bufsize):
            h.update(chunk)
    return h.hexdigest()

assert sha256sum(DATA) == EXPECTED_SHA256, "download corrupted; fetch it again"

# %%
with h5py.File(DATA, "r") as f:
    print(f.attrs["doi"], f.attrs["run_id"])
    lat = f["grid/lat"][:]
    ohc = f["ohc/ohc_0_700m"]
    weights = np.cos(np.deg2rad(lat))[:, None]
    series = np.array([np.nansum(ohc[t] * weights) / np.nansum(weights) for t in range(ohc.shape[0])])

# %%
months = np.arange(series.size) / 12.0 + 1993
slope, intercept = np.polyfit(months, series, 1)
print(f"trend: {slope:.3e} J m-2 per year")

# %%
out = Path("runs") / str(uuid.uuid4())
out.mkdir(parents=True)
np.savez_compressed(out / "series.npz", months=months, series=series)
print("saved to", out)   # e.g. runs/58d7561e-40c9-411d-b897-5eb33204b2be/series.npz
