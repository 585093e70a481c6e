"""Vertical models: SFT data from what plusn sees, LoRA adapters on CPU, adapters in GGUF."""
