"""The model: its alphabets, the names of its activations, the network (defined once, with hook
points) and its checkpoint files."""
from .names import LAYERS, NeuronId, UnknownName
from .net import Intervention, ModelConfig, TranslitNet

__all__ = ["LAYERS", "NeuronId", "UnknownName", "Intervention", "ModelConfig", "TranslitNet"]
