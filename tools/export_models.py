#!/usr/bin/python3
"""Export the small PyTorch models bundled in models/ as ONNX test cases.

Each model NAME is written as

    models/NAME/model.onnx
    models/NAME/test_data_set_K/input_0.pb    (ONNX TensorProto, named after the graph input)
    models/NAME/test_data_set_K/output_0.pb   (PyTorch's output, named after the graph output)

in the layout of the ONNX backend test data, so `norma test models/NAME` checks norma
against PyTorch (CPU, float32, eval mode). ctest runs that for every directory in models/.

Why these models: they exist to test BatchNormalization at inference, alone and folded into
the op before it. Every BN layer is exported *unfolded* (training=TrainingMode.PRESERVE with the
model in eval mode, do_constant_folding=False), and before export every BN gets random
running_mean ~ N(0, 0.5), running_var ~ U(0.5, 2), weight ~ U(0.5, 1.5) and bias ~ N(0, 0.2):
with PyTorch's fresh statistics (mean 0, var 1, weight 1, bias 0) BN is almost the identity and
a wrong fold would still look right. The script asserts that each exported graph holds
BatchNormalization nodes and that their statistics are the randomized ones; it also passes
onnx.checker (full check), re-runs PyTorch on a fresh build to confirm the reference is
reproducible, and evaluates the saved graph node by node (interpret(): numpy and
torch.nn.functional, independent of the nn.Module) to confirm the graph computes the reference.

    resnet            torchvision ResNet (BasicBlock, layers [1,1,1,1]) narrowed to widths
                      16/32/64/128, 10 classes, input 1x3x64x64: Conv+BN fold, residual Add.
    resnet_dynamic    the same network and weights with a symbolic batch axis ("batch");
                      test_data_set_0 at batch 1, test_data_set_1 at batch 8 (the batch
                      independence test, tests/unit/test_batch_independence.c, uses it).
    mobilenetv2       torchvision mobilenet_v2(width_mult=0.35, num_classes=10), 1x3x64x64:
                      depthwise Conv+BN, Clip (ReLU6), linear bottlenecks.
    densenet          torchvision DenseNet (growth 8, blocks (2,2,2), bn_size 2), 1x3x64x64:
                      pre-activation BN -> ReLU -> Conv after Concat, so most BNs cannot be
                      folded into a preceding op.
    conv1d_bn         Conv1d + BatchNorm1d + ReLU stack (with and without conv bias), 1x4x64.
    mlp_bn            Linear + BatchNorm1d + ReLU (the Gemm fold), 2-D input 4x32.
    conv3d_bn         Conv3d + BatchNorm3d + ReLU, input 1x2x8x16x16.
    convtranspose_bn  decoder of ConvTranspose2d + BatchNorm2d + ReLU, including a grouped
                      ConvTranspose (BN's channel is axis 1 of the weight, per group), 1x16x8x8.

Sequence models (no BN; they exist to test the recurrent ops). Their input is int64 token ids
(batch, seq) with both axes symbolic, they are always exported at opset 14 with constant
folding (so W, R and B reach LSTM/GRU as initializers, as in real exports), and their
test_data_set_1 has another batch size and sequence length than test_data_set_0:

    lstm_classifier   Embedding(50, 16) -> 2-layer bidirectional LSTM(hidden 24, batch_first)
                      -> last time step -> Linear(48, 5); token shapes 2x7 and 5x3.
    gru_tagger        Embedding(40, 12) -> GRU(hidden 20, batch_first) -> Linear(20, 7) at
                      every step; token shapes 3x6 and 1x11.

Transformers (they exist to test LayerNormalization, native and fused, GELU fusion, attention
and dynamic shapes). Every nn.LayerNorm gets random weight ~ U(0.5, 1.5) and bias ~ N(0, 0.2)
before export; the models are exported and run with autograd on, so PyTorch's native
"fast path" for TransformerEncoderLayer/MultiheadAttention is not used and the traced module
code is what the reference computes. Each has two test data sets at different shapes, and
tests/CMakeLists.txt checks (model.NAME.fused) that the opset-14 ones keep no ReduceMean, Pow,
Sqrt, Erf or Tanh after norma's passes:

    transformer_opset17  nn.TransformerEncoder(d_model 32, 4 heads, ffn 64, GELU, batch_first,
                         2 layers, final LayerNorm) at opset 17 (native LayerNormalization);
                         input (batch, seq, 32) both symbolic; shapes 2x7 and 3x12.
    transformer_opset14  the same module and weights at opset 14 (LayerNorm and GELU
                         decomposed: the fusion passes rebuild them).
    vit_tiny             torchvision VisionTransformer(image 32, patch 8, 2 layers, 2 heads,
                         hidden 32, mlp 64, 10 classes), opset 14, symbolic batch only (the
                         sequence length, 16 patches + class token, is fixed by the image
                         size); batches 2 and 5.
    bert_tiny            BERT-style encoder (token + position + segment embeddings, LayerNorm,
                         2 post-LN layers with hand-written attention), opset 14; inputs
                         input_ids, token_type_ids, attention_mask (int64, batch x seq, both
                         symbolic; the 0/1 mask becomes BERT's additive -10000 mask); 2x9, 3x5.
    gpt_tiny             GPT-style decoder (token + position embeddings, 2 pre-LN blocks, causal
                         mask from a tril buffer sliced to the length, so no Trilu, GPT-2's
                         tanh GELU written out, tied logits), opset 14; input_ids 2x8, 3x13.
    convnext_block       ConvNeXt block (depthwise 7x7 -> NHWC -> LayerNorm(C) -> Linear 4C ->
                         GELU -> Linear C -> layer scale -> NCHW -> residual), C = 32, opset 14;
                         batch, height and width symbolic; 2x32x14x14 and 3x32x9x11.

Regenerate (deterministic: fixed seeds, CPU, float32; needs Debian's python3-torch,
python3-torchvision, python3-onnx):

    /usr/bin/python3 tools/export_models.py                 # all models into models/
    /usr/bin/python3 tools/export_models.py OUTDIR          # all models into OUTDIR
    /usr/bin/python3 tools/export_models.py OUTDIR resnet mlp_bn   # only some models

Options: --opset N (default 13; torch 1.13 exports up to 17), --list.
"""

import argparse
import math
import os
import shutil
import sys

import numpy as np
import onnx
import onnx.checker
import onnx.numpy_helper
import torch
import torch.nn as nn
import torchvision
from torchvision.models.resnet import BasicBlock, ResNet

DEFAULT_OPSET = 13
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# ---------------------------------------------------------------------------------------------
# Models


class NarrowResNet(ResNet):
    """torchvision's ResNet with its stage widths (64, 128, 256, 512) replaced by `widths`.

    Only __init__ is rewritten (ResNet hard-codes the widths there); the blocks, _make_layer
    and forward are torchvision's own, so the graph has ResNet's exact structure.
    """

    def __init__(self, block, layers, widths=(16, 32, 64, 128), num_classes=10):
        nn.Module.__init__(self)
        self._norm_layer = nn.BatchNorm2d
        self.inplanes = widths[0]
        self.dilation = 1
        self.groups = 1
        self.base_width = 64  # BasicBlock requires 64; it is not a channel count here
        self.conv1 = nn.Conv2d(3, self.inplanes, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(self.inplanes)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, widths[0], layers[0])
        self.layer2 = self._make_layer(block, widths[1], layers[1], stride=2)
        self.layer3 = self._make_layer(block, widths[2], layers[2], stride=2)
        self.layer4 = self._make_layer(block, widths[3], layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(widths[3] * block.expansion, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")


def make_resnet():
    return NarrowResNet(BasicBlock, [1, 1, 1, 1])


def make_mobilenetv2():
    return torchvision.models.mobilenet_v2(width_mult=0.35, num_classes=10)


def make_densenet():
    return torchvision.models.DenseNet(growth_rate=8, block_config=(2, 2, 2),
                                       num_init_features=16, bn_size=2, num_classes=10)


def make_conv1d_bn():
    return nn.Sequential(
        nn.Conv1d(4, 16, 3, padding=1), nn.BatchNorm1d(16), nn.ReLU(),
        nn.Conv1d(16, 24, 5, stride=2, padding=2, bias=False), nn.BatchNorm1d(24), nn.ReLU(),
        nn.Conv1d(24, 24, 3, padding=2, dilation=2, groups=4), nn.BatchNorm1d(24), nn.ReLU(),
        nn.Conv1d(24, 8, 1),
    )


def make_mlp_bn():
    return nn.Sequential(
        nn.Linear(32, 64), nn.BatchNorm1d(64), nn.ReLU(),
        nn.Linear(64, 48, bias=False), nn.BatchNorm1d(48), nn.ReLU(),
        nn.Linear(48, 10),
    )


def make_conv3d_bn():
    return nn.Sequential(
        nn.Conv3d(2, 8, 3, padding=1), nn.BatchNorm3d(8), nn.ReLU(),
        nn.Conv3d(8, 16, 3, stride=2, padding=1, bias=False), nn.BatchNorm3d(16), nn.ReLU(),
        nn.Conv3d(16, 4, 1),
    )


def make_convtranspose_bn():
    return nn.Sequential(
        nn.ConvTranspose2d(16, 16, 4, stride=2, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
        nn.ConvTranspose2d(16, 12, 4, stride=2, padding=1, groups=2, bias=False),
        nn.BatchNorm2d(12), nn.ReLU(),
        nn.ConvTranspose2d(12, 8, 3, stride=2, padding=1, output_padding=1), nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.Conv2d(8, 3, 3, padding=1),
    )


class LstmClassifier(nn.Module):
    def __init__(self, vocab=50, emb=16, hidden=24, classes=5):
        super().__init__()
        self.emb = nn.Embedding(vocab, emb)
        self.lstm = nn.LSTM(emb, hidden, num_layers=2, batch_first=True, bidirectional=True)
        self.fc = nn.Linear(2 * hidden, classes)

    def forward(self, tokens):
        y, _ = self.lstm(self.emb(tokens))
        return self.fc(y[:, -1])


class GruTagger(nn.Module):
    def __init__(self, vocab=40, emb=12, hidden=20, tags=7):
        super().__init__()
        self.emb = nn.Embedding(vocab, emb)
        self.gru = nn.GRU(emb, hidden, batch_first=True)
        self.fc = nn.Linear(hidden, tags)

    def forward(self, tokens):
        y, _ = self.gru(self.emb(tokens))
        return self.fc(y)


# name -> (constructor, vocabulary size, token shapes (batch, seq), one per test data set)
SEQUENCE_MODELS = {
    "lstm_classifier": (LstmClassifier, 50, [(2, 7), (5, 3)]),
    "gru_tagger": (GruTagger, 40, [(3, 6), (1, 11)]),
}
SEQUENCE_OPSET = 14


# ---------------------------------------------------------------------------------------------
# Transformers (LayerNormalization, GELU, attention; dynamic batch and sequence)


class TransformerEncoderModel(nn.Module):
    """nn.TransformerEncoder (batch_first, GELU, 2 layers, final LayerNorm) on float input
    (batch, seq, 32)."""

    def __init__(self, d_model=32, nhead=4, ffn=64, layers=2):
        super().__init__()
        layer = nn.TransformerEncoderLayer(d_model, nhead, ffn, dropout=0.0, activation="gelu",
                                           batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, norm=nn.LayerNorm(d_model),
                                             enable_nested_tensor=False)

    def forward(self, x):
        return self.encoder(x)


def make_vit_tiny():
    """torchvision's VisionTransformer; its classifier head starts at zero, so it gets random
    weights (else every output would be 0). The sequence length is fixed by the image size:
    (32 / 8)^2 patches + the class token = 17."""
    vit = torchvision.models.VisionTransformer(image_size=32, patch_size=8, num_layers=2,
                                               num_heads=2, hidden_dim=32, mlp_dim=64,
                                               num_classes=10)
    with torch.no_grad():
        nn.init.normal_(vit.heads.head.weight, std=0.3)
        nn.init.normal_(vit.heads.head.bias, std=0.1)
        nn.init.normal_(vit.class_token, std=0.5)
    return vit


class BertSelfAttention(nn.Module):
    """Hand-written multi-head attention as in BERT: scores / sqrt(d) + additive mask."""

    def __init__(self, d, heads):
        super().__init__()
        self.heads, self.dh = heads, d // heads
        self.query, self.key, self.value = nn.Linear(d, d), nn.Linear(d, d), nn.Linear(d, d)
        self.out = nn.Linear(d, d)

    def split(self, x):
        b, s, _ = x.shape
        return x.view(b, s, self.heads, self.dh).permute(0, 2, 1, 3)

    def forward(self, x, add_mask):
        q, k, v = self.split(self.query(x)), self.split(self.key(x)), self.split(self.value(x))
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.dh) + add_mask
        ctx = torch.matmul(torch.softmax(scores, dim=-1), v)
        b, _, s, _ = ctx.shape
        return self.out(ctx.permute(0, 2, 1, 3).reshape(b, s, self.heads * self.dh))


class BertLayer(nn.Module):
    def __init__(self, d, heads, ffn):
        super().__init__()
        self.attn = BertSelfAttention(d, heads)
        self.ln1 = nn.LayerNorm(d, eps=1e-12)
        self.fc1, self.fc2 = nn.Linear(d, ffn), nn.Linear(ffn, d)
        self.act = nn.GELU()
        self.ln2 = nn.LayerNorm(d, eps=1e-12)

    def forward(self, x, add_mask):
        x = self.ln1(x + self.attn(x, add_mask))
        return self.ln2(x + self.fc2(self.act(self.fc1(x))))


class BertTiny(nn.Module):
    """BERT-style encoder: token + position + segment embeddings -> LayerNorm -> 2 post-LN
    layers; attention_mask (batch, seq) of 0/1 becomes the additive mask (1 - m) * -10000
    over the keys, as in BERT. Position ids are a registered buffer sliced to the length."""

    def __init__(self, vocab=100, max_pos=64, types=2, d=32, heads=4, ffn=64, layers=2):
        super().__init__()
        self.word = nn.Embedding(vocab, d)
        self.position = nn.Embedding(max_pos, d)
        self.segment = nn.Embedding(types, d)
        self.ln = nn.LayerNorm(d, eps=1e-12)
        self.layers = nn.ModuleList([BertLayer(d, heads, ffn) for _ in range(layers)])
        self.register_buffer("position_ids", torch.arange(max_pos).unsqueeze(0))

    def forward(self, input_ids, token_type_ids, attention_mask):
        s = input_ids.shape[1]
        x = self.word(input_ids) + self.position(self.position_ids[:, :s]) + \
            self.segment(token_type_ids)
        x = self.ln(x)
        add_mask = (1.0 - attention_mask[:, None, None, :].to(x.dtype)) * -10000.0
        for layer in self.layers:
            x = layer(x, add_mask)
        return x


class GptBlock(nn.Module):
    """Pre-LN GPT-2 block: causal attention with a tril buffer sliced to the length (no
    Trilu in the graph), torch.where with -10000, and GPT-2's tanh GELU written out."""

    def __init__(self, d, heads, ctx):
        super().__init__()
        self.heads, self.dh = heads, d // heads
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.c_attn, self.c_proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.fc, self.proj = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)
        self.register_buffer("bias", torch.tril(torch.ones(ctx, ctx)).view(1, 1, ctx, ctx))

    @staticmethod
    def gelu(x):
        return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) *
                                           (x + 0.044715 * torch.pow(x, 3.0))))

    def forward(self, x):
        b, s, d = x.shape
        q, k, v = self.c_attn(self.ln1(x)).split(d, dim=2)
        q, k, v = (t.view(b, s, self.heads, self.dh).transpose(1, 2) for t in (q, k, v))
        w = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.dh)
        causal = self.bias[:, :, :s, :s].bool()
        w = torch.where(causal, w, torch.tensor(-10000.0, dtype=w.dtype))
        a = torch.matmul(torch.softmax(w, dim=-1), v).transpose(1, 2).reshape(b, s, d)
        x = x + self.c_proj(a)
        return x + self.proj(self.gelu(self.fc(self.ln2(x))))


class GptTiny(nn.Module):
    """GPT-style decoder: token + position embeddings, 2 pre-LN causal blocks, final
    LayerNorm, logits through the tied token embedding."""

    def __init__(self, vocab=100, ctx=64, d=32, heads=2, layers=2):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(vocab, d), nn.Embedding(ctx, d)
        self.blocks = nn.ModuleList([GptBlock(d, heads, ctx) for _ in range(layers)])
        self.ln_f = nn.LayerNorm(d)
        self.register_buffer("position_ids", torch.arange(ctx).unsqueeze(0))

    def forward(self, input_ids):
        s = input_ids.shape[1]
        x = self.wte(input_ids) + self.wpe(self.position_ids[:, :s])
        for blk in self.blocks:
            x = blk(x)
        return torch.matmul(self.ln_f(x), self.wte.weight.t())


class ConvNeXtBlock(nn.Module):
    """ConvNeXt block: depthwise 7x7 -> NHWC -> LayerNorm(C) -> Linear 4C -> GELU -> Linear C
    -> layer scale -> NCHW -> residual."""

    def __init__(self, dim=32):
        super().__init__()
        self.dwconv = nn.Conv2d(dim, dim, 7, padding=3, groups=dim)
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.pwconv1, self.pwconv2 = nn.Linear(dim, 4 * dim), nn.Linear(4 * dim, dim)
        self.act = nn.GELU()
        self.gamma = nn.Parameter(torch.rand(dim) + 0.5)

    def forward(self, x):
        y = self.dwconv(x).permute(0, 2, 3, 1)
        y = self.pwconv2(self.act(self.pwconv1(self.norm(y))))
        return x + (self.gamma * y).permute(0, 3, 1, 2)


def _float_inputs(shapes):
    return lambda rng: [[rng.standard_normal(s).astype(np.float32)] for s in shapes]


def _token_inputs(vocab, shapes):
    return lambda rng: [[rng.randint(0, vocab, size=s).astype(np.int64)] for s in shapes]


def _bert_inputs(rng):
    sets = []
    for b, s in [(2, 9), (3, 5)]:
        ids = rng.randint(0, 100, size=(b, s)).astype(np.int64)
        types = np.zeros((b, s), np.int64)
        mask = np.ones((b, s), np.int64)
        for i in range(b):
            types[i, rng.randint(1, s):] = 1           # second segment
            if i > 0:
                mask[i, rng.randint(1, s):] = 0        # padding at the end (row 0 has none)
        sets.append([ids, types, mask])
    return sets


BS = {0: "batch", 1: "seq"}
# name -> (constructor, opset, inputs(rng) -> one list of arrays per test data set,
#          input names, dynamic axes of inputs and output)
TRANSFORMER_MODELS = {
    "transformer_opset17": (TransformerEncoderModel, 17, _float_inputs([(2, 7, 32), (3, 12, 32)]),
                            ["input"], {"input": BS, "output": BS}),
    "transformer_opset14": (TransformerEncoderModel, 14, _float_inputs([(2, 7, 32), (3, 12, 32)]),
                            ["input"], {"input": BS, "output": BS}),
    "vit_tiny": (make_vit_tiny, 14, _float_inputs([(2, 3, 32, 32), (5, 3, 32, 32)]),
                 ["input"], {"input": {0: "batch"}, "output": {0: "batch"}}),
    "bert_tiny": (BertTiny, 14, _bert_inputs, ["input_ids", "token_type_ids", "attention_mask"],
                  {"input_ids": BS, "token_type_ids": BS, "attention_mask": BS, "output": BS}),
    "gpt_tiny": (GptTiny, 14, _token_inputs(100, [(2, 8), (3, 13)]), ["input_ids"],
                 {"input_ids": BS, "output": BS}),
    "convnext_block": (ConvNeXtBlock, 14, _float_inputs([(2, 32, 14, 14), (3, 32, 9, 11)]),
                       ["input"], {"input": {0: "batch", 2: "height", 3: "width"},
                                   "output": {0: "batch", 2: "height", 3: "width"}}),
}


# name -> (constructor, list of input shapes, one per test data set, dynamic batch axis)
MODELS = {
    "resnet": (make_resnet, [(1, 3, 64, 64)], False),
    "resnet_dynamic": (make_resnet, [(1, 3, 64, 64), (8, 3, 64, 64)], True),
    "mobilenetv2": (make_mobilenetv2, [(1, 3, 64, 64)], False),
    "densenet": (make_densenet, [(1, 3, 64, 64)], False),
    "conv1d_bn": (make_conv1d_bn, [(1, 4, 64)], False),
    "mlp_bn": (make_mlp_bn, [(4, 32)], False),
    "conv3d_bn": (make_conv3d_bn, [(1, 2, 8, 16, 16)], False),
    "convtranspose_bn": (make_convtranspose_bn, [(1, 16, 8, 8)], False),
}

# The weights of a model depend only on its constructor's seed, so resnet and resnet_dynamic
# are the same network.
WEIGHT_SEEDS = {"resnet": 1, "resnet_dynamic": 1, "mobilenetv2": 2, "densenet": 3,
                "conv1d_bn": 4, "mlp_bn": 5, "conv3d_bn": 6, "convtranspose_bn": 7,
                "lstm_classifier": 8, "gru_tagger": 9,
                "transformer_opset17": 10, "transformer_opset14": 10, "vit_tiny": 11,
                "bert_tiny": 12, "gpt_tiny": 13, "convnext_block": 14}


# ---------------------------------------------------------------------------------------------
# Export


def randomize_bn(model, gen):
    """Gives every BatchNorm layer non-trivial statistics and affine parameters."""
    count = 0
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                c = m.num_features
                m.running_mean.copy_(torch.randn(c, generator=gen) * 0.5)
                m.running_var.copy_(torch.rand(c, generator=gen) * 1.5 + 0.5)
                m.weight.copy_(torch.rand(c, generator=gen) + 0.5)
                m.bias.copy_(torch.randn(c, generator=gen) * 0.2)
                count += 1
    return count


def build(name):
    """Returns the eval-mode model `name` with its deterministic weights."""
    ctor = MODELS[name][0]
    torch.manual_seed(WEIGHT_SEEDS[name])
    model = ctor()
    gen = torch.Generator().manual_seed(1000 + WEIGHT_SEEDS[name])
    assert randomize_bn(model, gen) > 0, name
    model.eval()
    return model


def make_inputs(name, shapes):
    rng = np.random.RandomState(2000 + WEIGHT_SEEDS[name])
    return [rng.standard_normal(s).astype(np.float32) for s in shapes]


def check_bn(name, model, proto):
    """Asserts the graph keeps every BN as a BatchNormalization node with its random stats."""
    bn_layers = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    nodes = [n for n in proto.graph.node if n.op_type == "BatchNormalization"]
    assert len(nodes) == len(bn_layers), \
        "%s: %d BatchNormalization nodes for %d BN layers" % (name, len(nodes), len(bn_layers))
    inits = {t.name: onnx.numpy_helper.to_array(t) for t in proto.graph.initializer}
    for n in nodes:
        # inputs: X, scale, B, input_mean, input_var; all but X must be initializers
        mean, var = inits[n.input[3]], inits[n.input[4]]
        assert np.abs(mean).max() > 0.05, "%s: %s has trivial running_mean" % (name, n.name)
        assert np.abs(var - 1).max() > 0.05, "%s: %s has trivial running_var" % (name, n.name)
        assert len(n.output) == 1, "%s: %s is in training mode" % (name, n.name)
        for a in n.attribute:
            assert not (a.name == "training_mode" and a.i), "%s: training_mode" % name


def _attrs(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _sym_pads(a, rank):
    pads = list(a.get("pads", [0] * (2 * rank)))
    assert pads[:rank] == pads[rank:], "asymmetric pads are not handled here"
    return pads[:rank]


def _recurrent(op, a, x):
    """ONNX LSTM / GRU (default activations, no sequence_lens, layout 0) in float64 numpy,
    written from the spec's equations. Returns (Y, Y_h[, Y_c]) as float32."""
    sig = lambda v: 1.0 / (1.0 + np.exp(-v))
    for k in ("activations", "clip", "input_forget", "layout"):
        assert not a.get(k), "%s attribute %s is not handled here" % (op, k)
    X, W, R = (v.astype(np.float64) for v in x[:3])
    get = lambda i: x[i].astype(np.float64) if len(x) > i and x[i] is not None else None
    B, L, H0, C0 = get(3), (x[4] if len(x) > 4 else None), get(5), get(6)
    assert L is None and (len(x) <= 7 or x[7] is None)
    S, N, _ = X.shape
    D, GH, H = R.shape
    assert H == a["hidden_size"]
    if B is None:
        B = np.zeros((D, 2 * GH))
    Y = np.zeros((S, D, N, H))
    Yh = np.zeros((D, N, H))
    Yc = np.zeros((D, N, H))
    for d in range(D):
        rev = a.get("direction", b"forward") in (b"reverse", "reverse") or d == 1
        h = H0[d] if H0 is not None else np.zeros((N, H))
        c = C0[d] if C0 is not None else np.zeros((N, H))
        wb, rb = B[d, :GH], B[d, GH:]
        for t in (range(S - 1, -1, -1) if rev else range(S)):
            if op == "LSTM":
                g = X[t] @ W[d].T + wb + h @ R[d].T + rb
                i, o, f, cc = (g[:, k * H:(k + 1) * H] for k in range(4))
                c = sig(f) * c + sig(i) * np.tanh(cc)
                h = sig(o) * np.tanh(c)
            else:
                gx = X[t] @ W[d].T + wb
                gh = h @ R[d].T
                z = sig(gx[:, :H] + gh[:, :H] + rb[:H])
                r = sig(gx[:, H:2 * H] + gh[:, H:2 * H] + rb[H:2 * H])
                if a.get("linear_before_reset", 0):
                    n = np.tanh(gx[:, 2 * H:] + r * (gh[:, 2 * H:] + rb[2 * H:]))
                else:
                    n = np.tanh(gx[:, 2 * H:] + (r * h) @ R[d, 2 * H:].T + rb[2 * H:])
                h = (1 - z) * n + z * h
            Y[t, d] = h
        Yh[d], Yc[d] = h, c
    out = (Y, Yh, Yc) if op == "LSTM" else (Y, Yh)
    return tuple(v.astype(np.float32) for v in out)


def interpret(proto, feeds):
    """Evaluates an ONNX graph node by node, independently of the torch module it came from.

    Only the ops (and attribute values) these models use are handled; anything else raises.
    Elementwise ops use numpy, convolutions and pools torch.nn.functional; the point is to
    check that the exported graph (its wiring, attributes and initializers) computes the
    reference outputs, so that `norma test` compares norma with the graph's meaning.
    """
    import torch.nn.functional as F
    env = {t.name: np.array(onnx.numpy_helper.to_array(t)) for t in proto.graph.initializer}
    env.update({k: np.array(v) for k, v in feeds.items()})
    conv = {3: F.conv1d, 4: F.conv2d, 5: F.conv3d}
    convt = {3: F.conv_transpose1d, 4: F.conv_transpose2d, 5: F.conv_transpose3d}
    for n in proto.graph.node:
        a = _attrs(n)
        x = [env[i] if i else None for i in n.input]
        t = n.op_type
        if t == "Constant":
            y = onnx.numpy_helper.to_array(a["value"])
        elif t in ("Conv", "ConvTranspose"):
            r = x[0].ndim - 2
            assert a.get("auto_pad", b"NOTSET") in (b"NOTSET", "NOTSET")
            kw = dict(stride=tuple(a.get("strides", [1] * r)), padding=tuple(_sym_pads(a, r)),
                      dilation=tuple(a.get("dilations", [1] * r)), groups=a.get("group", 1))
            assert tuple(a["kernel_shape"]) == x[1].shape[2:]
            b = torch.from_numpy(x[2]) if len(x) > 2 and x[2] is not None else None
            args = (torch.from_numpy(x[0]), torch.from_numpy(x[1]), b)
            if t == "Conv":
                y = conv[x[0].ndim](*args, **kw).numpy()
            else:
                assert "output_shape" not in a
                kw["output_padding"] = tuple(a.get("output_padding", [0] * r))
                y = convt[x[0].ndim](*args, **kw).numpy()
        elif t == "BatchNormalization":
            shape = (1, -1) + (1,) * (x[0].ndim - 2)
            s, b, m, v = (z.astype(np.float64).reshape(shape) for z in x[1:5])
            y = ((x[0] - m) / np.sqrt(v + a.get("epsilon", 1e-5)) * s + b).astype(np.float32)
        elif t == "Relu":
            y = np.maximum(x[0], 0)
        elif t == "Clip":
            y = np.clip(x[0], x[1], x[2])
        elif t == "Add":
            y = x[0] + x[1]
        elif t == "MaxPool":
            r = x[0].ndim - 2
            assert r == 2 and not a.get("ceil_mode", 0) and a.get("dilations", [1, 1]) == [1, 1]
            y = F.max_pool2d(torch.from_numpy(x[0]), tuple(a["kernel_shape"]),
                             tuple(a["strides"]), tuple(_sym_pads(a, r))).numpy()
        elif t == "AveragePool":
            r = x[0].ndim - 2
            assert r == 2 and not a.get("ceil_mode", 0) and _sym_pads(a, r) == [0, 0]
            y = F.avg_pool2d(torch.from_numpy(x[0]), tuple(a["kernel_shape"]),
                             tuple(a["strides"])).numpy()
        elif t == "GlobalAveragePool":
            y = x[0].mean(axis=tuple(range(2, x[0].ndim)), keepdims=True)
        elif t == "Flatten":
            ax = a.get("axis", 1)
            y = x[0].reshape(int(np.prod(x[0].shape[:ax])), -1)
        elif t == "Gemm":
            A = x[0].T if a.get("transA", 0) else x[0]
            B = x[1].T if a.get("transB", 0) else x[1]
            y = a.get("alpha", 1.0) * (A @ B) + a.get("beta", 1.0) * x[2]
        elif t == "MatMul":
            y = x[0] @ x[1]
        elif t == "Transpose":
            y = np.transpose(x[0], a["perm"])
        elif t == "Concat":
            y = np.concatenate(x, axis=a["axis"])
        elif t == "Gather":
            y = np.take(x[0], x[1].astype(np.int64), axis=a.get("axis", 0))
        elif t == "Shape":
            y = np.array(x[0].shape, dtype=np.int64)
        elif t == "Unsqueeze":
            y = x[0]
            for ax in sorted(int(v) for v in x[1]):
                y = np.expand_dims(y, ax)
        elif t == "Squeeze":
            y = np.squeeze(x[0], axis=tuple(int(v) for v in x[1]))
        elif t == "ConstantOfShape":
            v = onnx.numpy_helper.to_array(a["value"]) if "value" in a else np.zeros(1, np.float32)
            y = np.full(tuple(int(d) for d in x[0]), v.reshape(-1)[0], dtype=v.dtype)
        elif t == "Reshape":
            shape = [int(v) if v != 0 else x[0].shape[i] for i, v in enumerate(x[1])]
            y = x[0].reshape(shape)
        elif t == "Slice":
            sl = [slice(None)] * x[0].ndim
            axes = x[3] if len(x) > 3 else range(len(x[1]))
            steps = x[4] if len(x) > 4 else [1] * len(x[1])
            for ax, b, e, st in zip(axes, x[1], x[2], steps):
                sl[int(ax)] = slice(int(b), int(e), int(st))
            y = x[0][tuple(sl)]
        elif t in ("LSTM", "GRU"):
            y = _recurrent(t, a, x)
        elif t == "Pad":
            assert a.get("mode", b"constant") in (b"constant", "constant") and len(x) == 2
            r = x[0].ndim
            y = np.pad(x[0], [(int(x[1][i]), int(x[1][i + r])) for i in range(r)])
        elif t in ("Mul", "Sub", "Div", "Pow") or (t == "Add" and x[0].dtype != np.float32):
            if t == "Div" and x[0].dtype.kind in "iu":
                y = (np.sign(x[0]) * np.sign(x[1]) * (np.abs(x[0]) // np.abs(x[1])))
            elif t == "Pow":
                y = np.power(x[0].astype(np.float64), x[1].astype(np.float64))
            else:
                y = {"Add": np.add, "Mul": np.multiply, "Sub": np.subtract,
                     "Div": np.divide}[t](x[0], x[1])
            y = np.asarray(y).astype(x[0].dtype)
        elif t in ("Sqrt", "Erf", "Tanh", "Neg", "Sigmoid", "Reciprocal"):
            f = {"Sqrt": np.sqrt, "Erf": lambda v: torch.erf(torch.from_numpy(v)).numpy(), "Tanh": np.tanh, "Neg": np.negative,
                 "Sigmoid": lambda v: 1.0 / (1.0 + np.exp(-v)),
                 "Reciprocal": lambda v: 1.0 / v}[t]
            y = f(x[0].astype(np.float64)).astype(x[0].dtype)
        elif t == "ReduceMean":
            axes = a.get("axes", list(range(x[0].ndim)))
            y = x[0].astype(np.float64).mean(axis=tuple(axes), keepdims=bool(a.get("keepdims", 1)))
            y = y.astype(x[0].dtype)
        elif t == "LayerNormalization":
            ax = a.get("axis", -1) % x[0].ndim
            v = x[0].astype(np.float64)
            red = tuple(range(ax, v.ndim))
            m = v.mean(axis=red, keepdims=True)
            var = ((v - m) ** 2).mean(axis=red, keepdims=True)
            y = (v - m) / np.sqrt(var + a.get("epsilon", 1e-5)) * x[1]
            if len(x) > 2 and x[2] is not None:
                y = y + x[2]
            y = y.astype(x[0].dtype)
        elif t == "Softmax":
            ax = a.get("axis", -1)
            v = x[0].astype(np.float64)
            e = np.exp(v - v.max(axis=ax, keepdims=True))
            y = (e / e.sum(axis=ax, keepdims=True)).astype(x[0].dtype)
        elif t == "Cast":
            y = x[0].astype(onnx.mapping.TENSOR_TYPE_TO_NP_TYPE[a["to"]])
        elif t in ("Equal", "Less", "Greater"):
            y = {"Equal": np.equal, "Less": np.less, "Greater": np.greater}[t](x[0], x[1])
        elif t == "Not":
            y = np.logical_not(x[0])
        elif t == "Where":
            y = np.where(x[0], x[1], x[2]).astype(x[1].dtype)
        elif t == "Expand":
            y = x[0] * np.ones(tuple(int(v) for v in x[1]), dtype=x[0].dtype)
        elif t == "Range":
            y = np.arange(x[0], x[1], x[2]).astype(x[0].dtype)
        elif t == "Split":
            ax = a.get("axis", 0) % x[0].ndim
            sizes = x[1] if len(x) > 1 and x[1] is not None else a.get("split")
            if sizes is None:
                sizes = [x[0].shape[ax] // len(n.output)] * len(n.output)
            y = np.split(x[0], np.cumsum([int(v) for v in sizes])[:-1], axis=ax)
        elif t == "Identity":
            y = x[0]
        else:
            raise NotImplementedError(t)
        if t in ("LSTM", "GRU", "Split"):
            for o, v in zip(n.output, y):
                if o:
                    env[o] = v
            continue
        assert len(n.output) == 1
        keep = t in ("Constant", "Shape", "Gather", "Unsqueeze", "Squeeze", "ConstantOfShape",
                     "Reshape", "Slice", "Concat", "Transpose", "Mul", "Sub", "Div", "Pow",
                     "Sqrt", "Erf", "Tanh", "Neg", "Sigmoid", "Reciprocal", "ReduceMean",
                     "LayerNormalization", "Softmax", "Cast", "Equal", "Less", "Greater", "Not",
                     "Where", "Expand", "Range", "Identity") or x[0].dtype != np.float32
        env[n.output[0]] = np.asarray(y) if keep else np.asarray(y, dtype=np.float32)
    return [env[o.name] for o in proto.graph.output]


def export_one(name, outdir, opset):
    _, shapes, dynamic = MODELS[name]
    model = build(name)
    inputs = make_inputs(name, shapes)
    d = os.path.join(outdir, name)
    if os.path.isdir(d):
        shutil.rmtree(d)
    os.makedirs(d)
    path = os.path.join(d, "model.onnx")
    kwargs = {}
    if dynamic:
        kwargs["dynamic_axes"] = {"input": {0: "batch"}, "output": {0: "batch"}}
    with torch.no_grad():
        torch.onnx.export(model, torch.from_numpy(inputs[0]), path, opset_version=opset,
                          input_names=["input"], output_names=["output"],
                          training=torch.onnx.TrainingMode.PRESERVE,
                          do_constant_folding=False, **kwargs)
    proto = onnx.load(path)
    onnx.checker.check_model(proto, full_check=True)
    check_bn(name, model, proto)
    in_name = proto.graph.input[0].name
    out_name = proto.graph.output[0].name
    assert len(proto.graph.output) == 1

    for k, x in enumerate(inputs):
        with torch.no_grad():
            y = model(torch.from_numpy(x)).numpy()
            # The reference must not depend on anything but x: recompute from a fresh build.
            y2 = build(name)(torch.from_numpy(x.copy())).numpy()
        assert np.array_equal(y, y2), "%s: PyTorch output is not reproducible" % name
        assert np.all(np.isfinite(y)), name
        (z,) = interpret(proto, {in_name: x})
        assert z.shape == y.shape and np.allclose(z, y, rtol=1e-4, atol=1e-5), \
            "%s: the ONNX graph does not compute PyTorch's output (max diff %g)" % (
                name, float(np.abs(z - y).max()))
        sd = os.path.join(d, "test_data_set_%d" % k)
        os.makedirs(sd)
        with open(os.path.join(sd, "input_0.pb"), "wb") as f:
            f.write(onnx.numpy_helper.from_array(x, in_name).SerializeToString())
        with open(os.path.join(sd, "output_0.pb"), "wb") as f:
            f.write(onnx.numpy_helper.from_array(y, out_name).SerializeToString())
    if dynamic:
        # Batch independence of the reference itself: each row of the batch-8 output equals
        # the model run on that sample alone (eval-mode BN uses running statistics).
        with torch.no_grad():
            big = model(torch.from_numpy(inputs[-1])).numpy()
            for i in range(big.shape[0]):
                one = model(torch.from_numpy(inputs[-1][i:i + 1])).numpy()
                assert np.allclose(big[i:i + 1], one, rtol=1e-4, atol=1e-5), name
    return proto


def build_sequence(name):
    """Returns the eval-mode sequence model `name` with its deterministic weights."""
    torch.manual_seed(WEIGHT_SEEDS[name])
    model = SEQUENCE_MODELS[name][0]()
    model.eval()
    return model


def export_sequence(name, outdir):
    """Exports a model of SEQUENCE_MODELS: int64 tokens (batch, seq), both axes symbolic,
    one test data set per token shape, each reference checked as in export_one."""
    _, vocab, shapes = SEQUENCE_MODELS[name]
    model = build_sequence(name)
    rng = np.random.RandomState(2000 + WEIGHT_SEEDS[name])
    inputs = [rng.randint(0, vocab, size=s).astype(np.int64) for s in shapes]
    d = os.path.join(outdir, name)
    if os.path.isdir(d):
        shutil.rmtree(d)
    os.makedirs(d)
    path = os.path.join(d, "model.onnx")
    out_axes = {0: "batch"} if name == "lstm_classifier" else {0: "batch", 1: "seq"}
    with torch.no_grad():
        torch.onnx.export(model, torch.from_numpy(inputs[0]), path, opset_version=SEQUENCE_OPSET,
                          input_names=["tokens"], output_names=["output"],
                          dynamic_axes={"tokens": {0: "batch", 1: "seq"}, "output": out_axes})
    proto = onnx.load(path)
    onnx.checker.check_model(proto, full_check=True)
    rnn_ops = [n.op_type for n in proto.graph.node if n.op_type in ("LSTM", "GRU", "RNN")]
    assert rnn_ops, "%s: no recurrent node in the graph" % name
    in_name, out_name = proto.graph.input[0].name, proto.graph.output[0].name
    for k, x in enumerate(inputs):
        with torch.no_grad():
            y = model(torch.from_numpy(x)).numpy()
            y2 = build_sequence(name)(torch.from_numpy(x.copy())).numpy()
        assert np.array_equal(y, y2), "%s: PyTorch output is not reproducible" % name
        assert np.all(np.isfinite(y)) and np.abs(y).max() > 0.05, name
        (z,) = interpret(proto, {in_name: x})
        assert z.shape == y.shape and np.allclose(z, y, rtol=1e-4, atol=1e-5), \
            "%s: the ONNX graph does not compute PyTorch's output (max diff %g)" % (
                name, float(np.abs(z - y).max()))
        sd = os.path.join(d, "test_data_set_%d" % k)
        os.makedirs(sd)
        with open(os.path.join(sd, "input_0.pb"), "wb") as f:
            f.write(onnx.numpy_helper.from_array(x, in_name).SerializeToString())
        with open(os.path.join(sd, "output_0.pb"), "wb") as f:
            f.write(onnx.numpy_helper.from_array(y, out_name).SerializeToString())
    return proto


def randomize_ln(model, gen):
    """Gives every LayerNorm random affine parameters (ones and zeros hide mistakes)."""
    count = 0
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.LayerNorm):
                m.weight.copy_(torch.rand(m.weight.shape, generator=gen) + 0.5)
                m.bias.copy_(torch.randn(m.bias.shape, generator=gen) * 0.2)
                count += 1
    return count


def build_transformer(name):
    """Returns the eval-mode model `name` of TRANSFORMER_MODELS with its deterministic weights."""
    torch.manual_seed(WEIGHT_SEEDS[name])
    model = TRANSFORMER_MODELS[name][0]()
    gen = torch.Generator().manual_seed(1000 + WEIGHT_SEEDS[name])
    assert randomize_ln(model, gen) > 0, name
    model.eval()
    return model


def _run_torch(model, xs):
    # Export and reference both use the plain (non-"fast path") kernels: with autograd on and
    # parameters requiring grad, nn.TransformerEncoderLayer/MultiheadAttention run the module
    # code the exporter traces, not their fused native inference path.
    with torch.enable_grad():
        return model(*[torch.from_numpy(x.copy()) for x in xs]).detach().numpy()


def export_transformer(name, outdir):
    """Exports a model of TRANSFORMER_MODELS with its dynamic axes, one test data set per
    input set, each reference checked as in export_one."""
    _, opset, make, in_names, axes = TRANSFORMER_MODELS[name]
    model = build_transformer(name)
    rng = np.random.RandomState(2000 + WEIGHT_SEEDS[name])
    sets = make(rng)
    d = os.path.join(outdir, name)
    if os.path.isdir(d):
        shutil.rmtree(d)
    os.makedirs(d)
    path = os.path.join(d, "model.onnx")
    with torch.enable_grad():
        torch.onnx.export(model, tuple(torch.from_numpy(x) for x in sets[0]), path,
                          opset_version=opset, input_names=in_names, output_names=["output"],
                          dynamic_axes=axes)
    proto = onnx.load(path)
    onnx.checker.check_model(proto, full_check=True)
    ops = {n.op_type for n in proto.graph.node}
    if opset >= 17:
        assert "LayerNormalization" in ops, "%s: no native LayerNormalization" % name
    else:
        assert "LayerNormalization" not in ops and "ReduceMean" in ops, name
    assert "Trilu" not in ops, name
    assert [i.name for i in proto.graph.input] == in_names, name
    out_name = proto.graph.output[0].name
    assert len(proto.graph.output) == 1
    for k, xs in enumerate(sets):
        y = _run_torch(model, xs)
        y2 = _run_torch(build_transformer(name), xs)
        assert np.array_equal(y, y2), "%s: PyTorch output is not reproducible" % name
        assert np.all(np.isfinite(y)) and np.abs(y).max() > 0.05, name
        (z,) = interpret(proto, dict(zip(in_names, xs)))
        assert z.shape == y.shape and np.allclose(z, y, rtol=1e-4, atol=1e-5), \
            "%s: the ONNX graph does not compute PyTorch's output (max diff %g)" % (
                name, float(np.abs(z - y).max()))
        sd = os.path.join(d, "test_data_set_%d" % k)
        os.makedirs(sd)
        for i, (n, x) in enumerate(zip(in_names, xs)):
            with open(os.path.join(sd, "input_%d.pb" % i), "wb") as f:
                f.write(onnx.numpy_helper.from_array(x, n).SerializeToString())
        with open(os.path.join(sd, "output_0.pb"), "wb") as f:
            f.write(onnx.numpy_helper.from_array(y, out_name).SerializeToString())
    # Batch independence of the reference: each row equals the model run on it alone.
    big = _run_torch(model, sets[-1])
    for i in range(big.shape[0]):
        one = _run_torch(model, [x[i:i + 1] for x in sets[-1]])
        assert np.allclose(big[i:i + 1], one, rtol=1e-4, atol=1e-5), name
    return proto


def summary(name, outdir, proto):
    counts = {}
    for n in proto.graph.node:
        counts[n.op_type] = counts.get(n.op_type, 0) + 1
    size = sum(os.path.getsize(os.path.join(r, f))
               for r, _, fs in os.walk(os.path.join(outdir, name)) for f in fs)
    ops = ", ".join("%s %d" % kv for kv in sorted(counts.items()))
    print("%-17s %8.1f KB  %s" % (name, size / 1024.0, ops))


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("outdir", nargs="?", default=os.path.join(ROOT, "models"),
                   help="output directory (default: models/ in the source tree)")
    p.add_argument("names", nargs="*", help="models to export (default: all)")
    p.add_argument("--opset", type=int, default=DEFAULT_OPSET)
    p.add_argument("--list", action="store_true", help="list the model names and exit")
    args = p.parse_args(argv)
    if args.list:
        print("\n".join(list(MODELS) + list(SEQUENCE_MODELS) + list(TRANSFORMER_MODELS)))
        return 0
    # A lone model name given without a directory is a name, not a directory.
    known = list(MODELS) + list(SEQUENCE_MODELS) + list(TRANSFORMER_MODELS)
    if args.outdir in known and not os.path.isdir(args.outdir):
        args.names.insert(0, args.outdir)
        args.outdir = os.path.join(ROOT, "models")
    names = args.names or known
    for n in names:
        if n not in known:
            p.error("unknown model '%s' (known: %s)" % (n, ", ".join(known)))
    torch.set_num_threads(1)  # bit-identical references from run to run
    torch.use_deterministic_algorithms(True)
    os.makedirs(args.outdir, exist_ok=True)
    for n in names:
        if n in SEQUENCE_MODELS:
            summary(n, args.outdir, export_sequence(n, args.outdir))
        elif n in TRANSFORMER_MODELS:
            summary(n, args.outdir, export_transformer(n, args.outdir))
        else:
            summary(n, args.outdir, export_one(n, args.outdir, args.opset))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
