#!/usr/bin/python3
"""Parameter counts of examples/Transformers/*.net from PyTorch 1.13 modules of the same configuration (torchvision 0.14
for ViT). ExampleNetworkTests asserts the generated classes' ParameterCount equals these.
Run: /usr/bin/python3 examples/Transformers/reference_counts.py (Debian: apt-get install python3-torch python3-torchvision)."""
import torch.nn as nn
import torchvision.models as tv


def count(*ms):
    return sum(p.numel() for m in ms for p in m.parameters())


def encoder_layer(d, h, ff, act="gelu", pre=True):
    return nn.TransformerEncoderLayer(d, h, ff, activation=act, batch_first=True, norm_first=pre)


def encoder_block(d=256, h=4, ff=1024, classes=10):
    return count(encoder_layer(d, h, ff), nn.Linear(d, classes))


def gpt(vocab=50257, d=768, layers=12, heads=12, t=1024):
    return count(nn.Embedding(vocab, d), nn.Embedding(t, d), *[encoder_layer(d, heads, 4 * d) for _ in range(layers)],
                 nn.LayerNorm(d), nn.Linear(d, vocab, bias=False))


def bert(vocab=30522, d=768, layers=12, heads=12, ff=3072, max_len=512, classes=2):
    return count(nn.Embedding(vocab, d), nn.Embedding(max_len, d), nn.LayerNorm(d),
                 *[encoder_layer(d, heads, ff, pre=False) for _ in range(layers)], nn.Linear(d, d), nn.Linear(d, classes))


def transformer(vocab=1000, d=512, heads=8, enc=6, dec=6, ff=2048):
    core = nn.Transformer(d, heads, enc, dec, ff, batch_first=True)
    return count(core), count(core, nn.Embedding(vocab, d), nn.Embedding(vocab, d), nn.Linear(d, vocab))


print("Encoder(4, 1024) block at D 256:", count(encoder_layer(256, 4, 1024)))
print("EncoderBlock", encoder_block())
print("EncoderTiny", encoder_block(16, 2, 32, 4))
print("Gpt", gpt())
print("GptTiny", gpt(6, 16, 2, 2, 8))
print("Bert", bert())
print("BertTiny", bert(12, 16, 2, 2, 32, 8, 3))
print("ViT (vit_b_16)", count(tv.vit_b_16()))
vit_tiny = tv.VisionTransformer(image_size=8, patch_size=4, num_layers=2, num_heads=2, hidden_dim=16, mlp_dim=32, num_classes=4)
print("ViTTiny", count(vit_tiny))
print("Transformer core, Transformer", *transformer())
print("TransformerTiny core, total", *transformer(7, 16, 2, 1, 1, 32))
