# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation: {extension: .py, format_name: percent}
#   kernelspec: {display_name: Python 3 (ml), language: python, name: python3}
# ---

# %% [markdown]
# # Why does "cancel subscription" retrieve the refund article?
# Looking at query and chunk embeddings for the retrieval miss reported in
# ASTER-412.

# %%
import torch
from sentence_transformers import SentenceTransformer

model = SentenceTransformer("BAAI/bge-small-en-v1.5", device="cuda")
q = model.encode(["how do I cancel my subscription"], convert_to_tensor=True, normalize_embeddings=True)
print(q.shape, q.dtype)
print(q[0, :8])
# torch.Size([1, 384]) torch.float32
# tensor([-0.0413,  0.0219, -0.0067,  0.0581, -0.0302,  0.0127,  0.0944, -0.0155],
#        device='cuda:0')

# %%
chunks = ["Cancel your plan: Settings → Plan → Cancel plan ...", "Refunds: if you cancel within 14 days ..."]
c = model.encode(chunks, convert_to_tensor=True, normalize_embeddings=True)
print(q @ c.T)
# tensor([[0.7712, 0.8034]], device='cuda:0')

# %% [markdown]
# The refund chunk wins because it starts with "if you cancel". Adding the
# article title to each chunk (see rag/chunking.py) fixes it:

# %%
print(q @ c_titled.T)
# tensor([[0.8291, 0.7645]], device='cuda:0')

# %%
tok = model.tokenizer
enc = tok("how do I cancel my subscription", return_tensors="pt")
print(enc["input_ids"], enc["attention_mask"])
# tensor([[  101,  2129,  2079,  1045, 17542,  2026, 15002,   102]]) tensor([[1, 1, 1, 1, 1, 1, 1, 1]])

# %%
logits = reranker(pairs)
print(logits)
# tensor([[ 3.1875],
#         [-1.2422]], device='cuda:0', dtype=torch.bfloat16, grad_fn=<AddmmBackward0>)
