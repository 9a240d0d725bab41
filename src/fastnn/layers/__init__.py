"""Layers: each works on its own on NumPy arrays (forward, backward, params, grads, build)."""

from .activations import Activation, LeakyReLU, ReLU, Sigmoid, Softmax, Tanh
from .augmentation import RandomFlip, RandomRotation, RandomTranslation, RandomZoom
from .base import Layer
from .conv import Conv1D, Conv2D, Conv3D
from .dense import Dense
from .dropout import Dropout
from .flatten import Flatten
from .residual import Residual

__all__ = ["Layer", "Dense", "Conv1D", "Conv2D", "Conv3D", "Dropout", "Flatten", "Residual", "Activation", "ReLU",
           "LeakyReLU", "Sigmoid", "Tanh", "Softmax", "RandomFlip", "RandomRotation", "RandomZoom", "RandomTranslation"]

# Classes a saved model may name: loading builds only these, never anything named in the file.
REGISTRY = {cls.__name__: cls for cls in (Dense, Conv1D, Conv2D, Conv3D, Dropout, Flatten, Residual, ReLU, LeakyReLU,
                                          Sigmoid, Tanh, Softmax, RandomFlip, RandomRotation, RandomZoom,
                                          RandomTranslation)}
