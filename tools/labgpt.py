"""lab-gpt in plain PyTorch: Hugging Face GPT2LMHeadModel's architecture and state_dict names.

Learned positions, pre-LN blocks with eps 1e-5, causal multi-head attention, gelu_new MLP of width 4·d,
final LN, LM head tied to wte. Parameter names are exactly those of GPT2LMHeadModel's state_dict
(Conv1D weights [in, out]; lm_head is tied and not stored). Used by tools/pretrain.py; works with
torch 1.13 (Debian, CPU) and 2.x (CUDA).
"""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

PRESETS = {
    "lab-gpt-tiny": dict(n_layer=1, n_embd=32, n_head=2, n_positions=128),
    "lab-gpt": dict(n_layer=4, n_embd=256, n_head=4, n_positions=256),
}
VOCAB = 256
LN_EPS = 1e-5

# ----------------------------------------------------------------------------------------------- model


class Conv1D(nn.Module):
    """HF's Conv1D: y = x @ W + b with W stored [in, out]."""

    def __init__(self, nf: int, nx: int):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(nx, nf))
        self.bias = nn.Parameter(torch.zeros(nf))

    def forward(self, x):
        return x @ self.weight + self.bias


def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x * x * x)))


class Attention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.n_head = cfg["n_head"]
        self.n_embd = cfg["n_embd"]
        self.c_attn = Conv1D(3 * cfg["n_embd"], cfg["n_embd"])
        self.c_proj = Conv1D(cfg["n_embd"], cfg["n_embd"])
        # The fused kernel for training on GPU; the explicit softmax (HF's eager path) for CPU and ONNX.
        self.use_sdpa = False
        self.dropout = 0.0  # HF's attn_pdrop / resid_pdrop; training only

    def forward(self, x):
        # Sizes from the config, not x.shape: the ONNX export then keeps them constant.
        B, T, C = x.shape[0], x.shape[1], self.n_embd
        hd = C // self.n_head
        q, k, v = self.c_attn(x).split(C, dim=2)
        q = q.view(B, T, self.n_head, hd).transpose(1, 2)
        k = k.view(B, T, self.n_head, hd).transpose(1, 2)
        v = v.view(B, T, self.n_head, hd).transpose(1, 2)
        if self.use_sdpa:
            p = self.dropout if self.training else 0.0
            y = F.scaled_dot_product_attention(q, k, v, dropout_p=p, is_causal=True)
        else:
            att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(hd))
            i = torch.arange(T, device=x.device)
            causal = i.unsqueeze(0) <= i.unsqueeze(1)  # [T, T]: key j visible from query i when j <= i
            att = att.masked_fill(~causal, torch.finfo(att.dtype).min)
            att = torch.softmax(att, dim=-1)
            if self.training and self.dropout > 0:
                att = F.dropout(att, self.dropout)
            y = att @ v
        y = y.transpose(1, 2).reshape(B, T, C)
        return F.dropout(self.c_proj(y), self.dropout, self.training)


class MLP(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.c_fc = Conv1D(4 * cfg["n_embd"], cfg["n_embd"])
        self.c_proj = Conv1D(cfg["n_embd"], 4 * cfg["n_embd"])
        self.dropout = 0.0

    def forward(self, x):
        return F.dropout(self.c_proj(gelu_new(self.c_fc(x))), self.dropout, self.training)


class Block(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.ln_1 = nn.LayerNorm(cfg["n_embd"], eps=LN_EPS)
        self.attn = Attention(cfg)
        self.ln_2 = nn.LayerNorm(cfg["n_embd"], eps=LN_EPS)
        self.mlp = MLP(cfg)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT2LMHead(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.transformer = nn.ModuleDict(
            dict(
                wte=nn.Embedding(VOCAB, cfg["n_embd"]),
                wpe=nn.Embedding(cfg["n_positions"], cfg["n_embd"]),
                h=nn.ModuleList([Block(cfg) for _ in range(cfg["n_layer"])]),
                ln_f=nn.LayerNorm(cfg["n_embd"], eps=LN_EPS),
            )
        )
        self.init_weights()

    def init_weights(self):
        # GPT-2's initialisation: N(0, 0.02), residual projections scaled by 1/sqrt(2·n_layer).
        for name, p in self.named_parameters():
            if name.endswith(".bias"):
                nn.init.zeros_(p)
            elif ".ln_" in name:
                nn.init.ones_(p)
            elif name.endswith("c_proj.weight"):
                nn.init.normal_(p, 0.0, 0.02 / math.sqrt(2 * self.cfg["n_layer"]))
            else:
                nn.init.normal_(p, 0.0, 0.02)

    def set_dropout(self, p: float):
        self.dropout = p
        for blk in self.transformer.h:
            blk.attn.dropout = p
            blk.mlp.dropout = p

    def set_sdpa(self, on: bool):
        for blk in self.transformer.h:
            blk.attn.use_sdpa = on

    def forward(self, input_ids):
        T = input_ids.shape[1]
        pos = torch.arange(T, device=input_ids.device)
        x = self.transformer.wte(input_ids) + self.transformer.wpe(pos)
        if self.training and getattr(self, "dropout", 0.0) > 0:
            x = F.dropout(x, self.dropout)
        for blk in self.transformer.h:
            x = blk(x)
        x = self.transformer.ln_f(x)
        return x @ self.transformer.wte.weight.t()  # tied LM head


def build(cfg, state_dict=None):
    model = GPT2LMHead(cfg)
    if state_dict is not None:
        model.load_state_dict(state_dict, strict=True)
    return model


def load_weights(path):
    blob = torch.load(path, map_location="cpu", weights_only=False)  # our own file (holds metadata)
    return blob["config"], {k: v.float() for k, v in blob["state_dict"].items()}


def hf_config(cfg):
    return dict(
        architectures=["GPT2LMHeadModel"],
        model_type="gpt2",
        vocab_size=VOCAB,
        n_positions=cfg["n_positions"],
        n_ctx=cfg["n_positions"],
        n_embd=cfg["n_embd"],
        n_layer=cfg["n_layer"],
        n_head=cfg["n_head"],
        n_inner=None,
        activation_function="gelu_new",
        layer_norm_epsilon=LN_EPS,
        resid_pdrop=0.0,
        embd_pdrop=0.0,
        attn_pdrop=0.0,
        initializer_range=0.02,
        scale_attn_weights=True,
        tie_word_embeddings=True,
        # Byte-level: no special tokens; "\n" (10) ends a jsonl example in this project.
        bos_token_id=10,
        eos_token_id=10,
    )
