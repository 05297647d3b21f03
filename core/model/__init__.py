"""The compact CNN, the classifier that serves it, and the model card with its weights check."""
