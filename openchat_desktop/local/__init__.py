"""The built-in engine: llama.cpp's server from `xllamacpp`, run in a child process, the model
files it runs and their downloads from Hugging Face.

`models` finds the model files, `manager` starts, health-checks, unloads and restarts the
child, `child` is the child's own entry point; `gguf` reads a model file's header, `starter`
pins the starter model; `catalog`, `hub` and `downloads` fetch models.
Only `child` imports xllamacpp, and only in the child process: the app stays small while no
model is loaded.
"""
