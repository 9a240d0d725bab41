"""Layers: each works on its own on NumPy arrays (forward, backward, params, grads, build)."""

from .activations import Activation, LeakyReLU, ReLU, Sigmoid, Softmax, Tanh
from .augmentation import RandomFlip, RandomRotation, RandomTranslation, RandomZoom
from .base import Layer
from .conv import Conv1D, Conv2D, Conv3D
from .dense import Dense
from .dropout import Dropout
from .flatten import Flatten
from .noise import GaussianDropout, SpatialDropout1D, SpatialDropout2D, SpatialDropout3D
from .normalization import BatchNormalization
from .pooling import (AveragePooling1D, AveragePooling2D, AveragePooling3D, GlobalAveragePooling1D,
                      GlobalAveragePooling2D, GlobalAveragePooling3D, GlobalMaxPooling1D, GlobalMaxPooling2D,
                      GlobalMaxPooling3D, MaxPooling1D, MaxPooling2D, MaxPooling3D, POOLING_LAYERS)
from .residual import Residual

__all__ = ["Layer", "Dense", "Conv1D", "Conv2D", "Conv3D", "Dropout", "Flatten", "Residual", "Activation", "ReLU",
           "LeakyReLU", "Sigmoid", "Tanh", "Softmax", "BatchNormalization", "MaxPooling1D", "MaxPooling2D",
           "MaxPooling3D", "AveragePooling1D", "AveragePooling2D", "AveragePooling3D", "GlobalMaxPooling1D",
           "GlobalMaxPooling2D", "GlobalMaxPooling3D", "GlobalAveragePooling1D", "GlobalAveragePooling2D",
           "GlobalAveragePooling3D", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "GaussianDropout",
           "RandomFlip", "RandomRotation", "RandomZoom", "RandomTranslation"]

# Classes a saved model may name: loading builds only these, never anything named in the file.
REGISTRY = {cls.__name__: cls for cls in (Dense, Conv1D, Conv2D, Conv3D, Dropout, Flatten, Residual, ReLU, LeakyReLU,
                                          Sigmoid, Tanh, Softmax, BatchNormalization, *POOLING_LAYERS,
                                          SpatialDropout1D, SpatialDropout2D, SpatialDropout3D, GaussianDropout,
                                          RandomFlip, RandomRotation, RandomZoom, RandomTranslation)}
