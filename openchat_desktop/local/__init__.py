"""The built-in engine: model files, the engine child, and downloads from Hugging Face."""
