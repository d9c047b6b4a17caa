"""Model files that ship inside qa (the reading model: reader/, see its MODEL_CARD.md)."""
