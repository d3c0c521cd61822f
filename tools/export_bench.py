#!/usr/bin/python3
"""Export the benchmark models (too large for the repository) with Debian's PyTorch.

    /usr/bin/python3 tools/export_bench.py [OUTDIR] [MODEL ...]   # OUTDIR default ~/norma-bench

Each MODEL is written as OUTDIR/MODEL/model.onnx and OUTDIR/MODEL/test_data_set_0/{input_0,
output_0}.pb (PyTorch's output, ONNX backend-test layout), so `norma test OUTDIR/MODEL` and
`tools/bench.py --models OUTDIR/*` work on them. Random weights (no download), fixed seeds,
CPU, float32, eval mode, opset 17, do_constant_folding=False.

    resnet50     torchvision resnet50(), 1x3x224x224. Every BatchNorm gets random running
                 statistics (mean ~ N(0, 0.1), var ~ U(0.5, 1.5), weight ~ U(0.5, 1.5),
                 bias ~ N(0, 0.1)) and stays unfolded in the file (the runtime folds it).
    mobilenetv2  torchvision mobilenet_v2(), 1x3x224x224, BatchNorm as above.
    bert         a BERT-base-sized encoder: nn.TransformerEncoder, 12 layers (each with its
                 own random weights), d_model 768, 12 heads, FFN 3072, GELU, batch_first,
                 input 1x128x768 (the embeddings).
    vit_b_16     torchvision VisionTransformer (ViT-B/16: patch 16, 12 layers, 12 heads,
                 hidden 768, MLP 3072), 1x3x224x224.

Options: --opset N (default 17), --list.
"""
import argparse
import os
import sys

import numpy as np
import onnx
import onnx.numpy_helper
import torch
import torch.nn as nn
import torchvision

MODELS = ['resnet50', 'mobilenetv2', 'bert', 'vit_b_16']


def randomize_bn(model, gen):
    n = 0
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            c = m.num_features
            with torch.no_grad():
                m.running_mean.copy_(torch.randn(c, generator=gen) * 0.1)
                m.running_var.copy_(torch.rand(c, generator=gen) + 0.5)
                m.weight.copy_(torch.rand(c, generator=gen) + 0.5)
                m.bias.copy_(torch.randn(c, generator=gen) * 0.1)
            n += 1
    return n


def build(name):
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(1)
    if name == 'resnet50':
        m = torchvision.models.resnet50()
        assert randomize_bn(m, gen) > 0
        x = torch.randn(1, 3, 224, 224, generator=gen)
    elif name == 'mobilenetv2':
        m = torchvision.models.mobilenet_v2()
        assert randomize_bn(m, gen) > 0
        x = torch.randn(1, 3, 224, 224, generator=gen)
    elif name == 'bert':
        layer = nn.TransformerEncoderLayer(d_model=768, nhead=12, dim_feedforward=3072, dropout=0.0,
                                           activation='gelu', batch_first=True)
        # TransformerEncoder deep-copies the layer; re-initialize each copy so every layer
        # has its own random weights.
        m = nn.TransformerEncoder(layer, num_layers=12, enable_nested_tensor=False)
        for p in m.parameters():
            with torch.no_grad():
                if p.dim() > 1:
                    nn.init.xavier_uniform_(p)
                else:
                    p.copy_(torch.randn(p.shape, generator=gen) * 0.02)
        x = torch.randn(1, 128, 768, generator=gen)
    elif name == 'vit_b_16':
        m = torchvision.models.vision_transformer.VisionTransformer(
            image_size=224, patch_size=16, num_layers=12, num_heads=12, hidden_dim=768, mlp_dim=3072)
        x = torch.randn(1, 3, 224, 224, generator=gen)
    else:
        raise ValueError(name)
    return m.eval(), x


def tensor_pb(arr, name, path):
    t = onnx.numpy_helper.from_array(np.ascontiguousarray(arr), name)
    with open(path, 'wb') as f:
        f.write(t.SerializeToString())


def export(name, outdir, opset):
    m, x = build(name)
    d = os.path.join(outdir, name)
    os.makedirs(os.path.join(d, 'test_data_set_0'), exist_ok=True)
    path = os.path.join(d, 'model.onnx')
    with torch.no_grad():
        y = m(x)
    # exported with grad enabled: under no_grad nn.TransformerEncoder takes its fused
    # fast path (aten::_transformer_encoder_layer_fwd), which has no ONNX export
    if True:
        torch.onnx.export(m, (x,), path, opset_version=opset, do_constant_folding=False,
                          training=torch.onnx.TrainingMode.PRESERVE if 'bert' not in name else
                          torch.onnx.TrainingMode.EVAL,
                          input_names=['input'], output_names=['output'])
    g = onnx.load(path, load_external_data=False)
    ops = sorted({n.op_type for n in g.graph.node})
    if name in ('resnet50', 'mobilenetv2'):
        assert 'BatchNormalization' in ops, 'BN was folded away on export'
    tensor_pb(x.numpy(), 'input', os.path.join(d, 'test_data_set_0', 'input_0.pb'))
    tensor_pb(y.numpy(), 'output', os.path.join(d, 'test_data_set_0', 'output_0.pb'))
    mb = os.path.getsize(path) / 1e6
    print('%-12s %7.1f MB  %d nodes  ops: %s' % (name, mb, len(g.graph.node), ' '.join(ops)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('outdir', nargs='?', default=os.path.expanduser('~/norma-bench'))
    ap.add_argument('models', nargs='*', default=MODELS)
    ap.add_argument('--opset', type=int, default=17)
    ap.add_argument('--list', action='store_true')
    a = ap.parse_args()
    if a.list:
        print('\n'.join(MODELS))
        return 0
    for n in a.models:
        if n not in MODELS:
            sys.exit('unknown model %s (have: %s)' % (n, ' '.join(MODELS)))
    torch.set_num_threads(2)
    for n in a.models:
        export(n, a.outdir, a.opset)
    return 0


if __name__ == '__main__':
    sys.exit(main())
