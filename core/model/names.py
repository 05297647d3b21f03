"""Names of the paper CNN's layers that other code looks up, importable without Keras."""

LAST_CONV_LAYER = "conv4"  # the last convolution (four blocks)
LOGITS_LAYER = "logits"  # the dense layer whose output goes into the softmax
OUTPUT_LAYER = "probabilities"
