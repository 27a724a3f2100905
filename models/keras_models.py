"""Keras 3 (TensorFlow) versions of the MNIST CNN and ResNet-8, for the TensorFlow backend issues.

Same layers, widths and parameter counts as the torch models. Inputs stay NCHW like every other
framework's, so one data loader and one input signature serve all; a leading Permute turns them
into NHWC because TensorFlow's CPU convolutions only support channels-last.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import layers


def _image_input() -> tuple[Any, Any]:
    inputs = keras.Input(shape=(1, 28, 28), name="input")
    return inputs, layers.Permute((2, 3, 1), name="nchw_to_nhwc")(inputs)


def build_cnn(entry) -> keras.Model:
    c1, c2 = entry.recipe["channels"]
    inputs, x = _image_input()
    x = layers.Conv2D(c1, 3, padding="same", activation="relu")(x)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Conv2D(c2, 3, padding="same", activation="relu")(x)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Flatten()(x)
    x = layers.Dense(entry.recipe["hidden"], activation="relu")(x)
    outputs = layers.Dense(entry.num_classes, name="logits")(x)
    return keras.Model(inputs, outputs, name=entry.name)


def _bn() -> layers.Layer:
    # torch's defaults (momentum 0.1 of the new batch, eps 1e-5) so both frameworks train alike.
    return layers.BatchNormalization(momentum=0.9, epsilon=1e-5)


def _conv(width: int, kernel: int, stride: int = 1) -> layers.Layer:
    return layers.Conv2D(width, kernel, strides=stride, padding="same", use_bias=False)


def _basic_block(x: Any, width: int, stride: int) -> Any:
    out = layers.ReLU()(_bn()(_conv(width, 3, stride)(x)))
    out = _bn()(_conv(width, 3)(out))
    shortcut = x
    if stride != 1 or x.shape[-1] != width:
        shortcut = _bn()(_conv(width, 1, stride)(x))
    return layers.ReLU()(layers.Add()([out, shortcut]))


def build_resnet(entry) -> keras.Model:
    widths = tuple(entry.recipe["widths"])
    inputs, x = _image_input()
    x = layers.ReLU()(_bn()(_conv(widths[0], 3)(x)))
    for i, width in enumerate(widths):
        x = _basic_block(x, width, stride=1 if i == 0 else 2)
    x = layers.GlobalAveragePooling2D()(x)
    outputs = layers.Dense(entry.num_classes, name="logits")(x)
    return keras.Model(inputs, outputs, name=entry.name)
