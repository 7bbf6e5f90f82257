"""celeba-tui: label face images in the terminal, train CNNs, auto-label the rest."""

__version__ = "0.1.0"
