"""MXNet Gluon versions of the MNIST CNN and ResNet-8, for the MXNet backend issues.

Hybrid blocks (so they can be hybridized, exported and quantized with ``quantize_net``), NCHW
like the torch models, same widths and parameter counts. ``in_channels``/``in_units`` are given
explicitly so parameters exist right after ``initialize`` (no deferred shape inference).
"""

from __future__ import annotations

from mxnet import gluon
from mxnet.gluon import nn


def build_cnn(entry) -> gluon.HybridBlock:
    c1, c2 = entry.recipe["channels"]
    hidden = entry.recipe["hidden"]
    net = nn.HybridSequential()
    net.add(
        nn.Conv2D(c1, 3, padding=1, in_channels=1, activation="relu"),
        nn.MaxPool2D(2),
        nn.Conv2D(c2, 3, padding=1, in_channels=c1, activation="relu"),
        nn.MaxPool2D(2),
        nn.Flatten(),
        nn.Dense(hidden, in_units=c2 * 7 * 7, activation="relu"),
        nn.Dense(entry.num_classes, in_units=hidden),
    )
    return net


def _bn(channels: int) -> nn.BatchNorm:
    # MXNet's momentum is the weight of the old statistics: 0.9 equals torch's momentum=0.1.
    return nn.BatchNorm(momentum=0.9, epsilon=1e-5, in_channels=channels)


class BasicBlock(gluon.HybridBlock):
    def __init__(self, c_in: int, c_out: int, stride: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.body = nn.HybridSequential()
        self.body.add(
            nn.Conv2D(c_out, 3, strides=stride, padding=1, use_bias=False, in_channels=c_in),
            _bn(c_out),
            nn.Activation("relu"),
            nn.Conv2D(c_out, 3, padding=1, use_bias=False, in_channels=c_out),
            _bn(c_out),
        )
        self.shortcut = None
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.HybridSequential()
            self.shortcut.add(nn.Conv2D(c_out, 1, strides=stride, use_bias=False, in_channels=c_in), _bn(c_out))

    def hybrid_forward(self, F, x):  # noqa: N803 - Gluon's required signature
        residual = x if self.shortcut is None else self.shortcut(x)
        return F.relu(self.body(x) + residual)


class ResNet(gluon.HybridBlock):
    def __init__(self, widths: tuple[int, ...], num_classes: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.features = nn.HybridSequential()
        self.features.add(nn.Conv2D(widths[0], 3, padding=1, use_bias=False, in_channels=1), _bn(widths[0]))
        self.features.add(nn.Activation("relu"))
        c_in = widths[0]
        for i, width in enumerate(widths):
            self.features.add(BasicBlock(c_in, width, stride=1 if i == 0 else 2))
            c_in = width
        self.features.add(nn.GlobalAvgPool2D(), nn.Flatten())
        self.output = nn.Dense(num_classes, in_units=c_in)

    def hybrid_forward(self, F, x):  # noqa: N803
        return self.output(self.features(x))


def build_resnet(entry) -> gluon.HybridBlock:
    return ResNet(tuple(entry.recipe["widths"]), entry.num_classes)
