"""The built-in engine: llama.cpp in a child process, and the model files it runs."""
