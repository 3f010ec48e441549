# %% [markdown]
# # SFT v3 loss curves (from the W&B export)

# %%
import pandas as pd
import wandb

api = wandb.Api()  # uses WANDB_API_KEY from the environment
run = api.run("acme-ml/aster-support-sft/3kq9x2vd")
hist = run.history(keys=["train/loss", "eval/loss", "train/learning_rate"])
print(hist.tail(3))
#      _step  train/loss  eval/loss  train/learning_rate
# 177   1780      0.6121        NaN         2.004e-06
# 178   1790      0.6098        NaN         1.113e-06
# 179   1800      0.6087     0.7342         4.871e-07

# %%
print(torch.tensor(hist["train/loss"].values[-5:]))
# tensor([0.6154, 0.6132, 0.6121, 0.6098, 0.6087], dtype=torch.float64)
