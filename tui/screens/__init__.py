"""Screens, each with its ``.tcss`` beside it; imported only when first opened."""
