"""Fine-tunes Aster with TRL's SFTTrainer. Usage: python -m train CONFIG."""

import os
import random
import sys

import numpy as np
import torch
from omegaconf import OmegaConf


def set_seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.cuda.manual_seed_all(seed)


def main(path: str) -> None:
    cfg = OmegaConf.load(path)
    set_seed(cfg.seed)
    # wandb picks WANDB_API_KEY up from the environment; we only check it is there
    if "WANDB_API_KEY" not in os.environ and os.environ.get("WANDB_MODE") != "offline":
        sys.exit("set WANDB_API_KEY or WANDB_MODE=offline")
    os.environ.setdefault("WANDB_PROJECT", cfg.wandb.project)
    from trl import SFTConfig, SFTTrainer  # slow import
    from peft import LoraConfig
    ...


if __name__ == "__main__":
    main(sys.argv[1])
