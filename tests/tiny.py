"""Small things the tests share: a tiny seeded network, a few sentences, the fixture data."""
from __future__ import annotations

from pathlib import Path

import torch

TESTS = Path(__file__).resolve().parent
FIXTURE_DATA = TESTS / "fixtures" / "corpus" / "data"

# Held-out-style sentences for the tiny analysis (written for the tests, not from the data).
SENTENCES = [
    "Ես սիրում եմ ազատություն և ծառեր։",
    "Թեյը տաք է, իսկ ծովը՝ խաղաղ։",
    "Հայաստանի մայրաքաղաքը Երևանն է։",
    "Ծաղիկները ծաղկում են գարնանը, թիթեռները թռչում են։",
    "Համալսարանի ուսանողները հետաքրքրությամբ լսում էին։",
    "Մեր տան առաջ մեծ թթենի կա, որի թթերը շատ քաղցր են։",
    "Ճշմարտությունը և արդարությունը կարևոր են բոլորի համար։",
    "Ցուրտ ձմռանը երեխաները ձնեմարդ են սարքում բակում։",
]


def tiny_net(seed: int = 0, n_in: int = 13, n_out: int = 7, lstm: int = 6, hidden: int = 5, scale: float = 3.0):
    """A tiny seeded TranslitNet; weights scaled up so the gates leave their linear range."""
    from translit_core.model.net import ModelConfig, TranslitNet
    torch.manual_seed(seed)
    model = TranslitNet(ModelConfig(n_in=n_in, n_out=n_out, lstm=lstm, hidden=hidden)).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(scale)
    return model
