"""translit_core: Latin-typed Armenian -> Armenian script with a character-level biLSTM, and the
tools to look inside it. Pure Python/PyTorch; the Streamlit dashboard lives outside the package.

    from translit_core import Transliterator
    Transliterator.load().transliterate("barev dzez")   # -> "բարև ձեզ"
"""
from .infer import Transliterator

__all__ = ["Transliterator"]
