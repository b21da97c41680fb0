"""The generation engine: replies run detached from the HTTP request that asked for them.

- `log`: the sequence-numbered event log clients replay and follow (`sse`: its encoding);
- `job`: a job with followers — the log and a life cycle; replies and model downloads are jobs;
- `generation`: the worker that drives a provider's stream into a reply's log;
- `engine`: runs generations, checkpoints them, ends them at shutdown;
- `events`: what a stream may yield besides the provider's events (generic phases, named text,
  data events);
- `recording`: what the engine hands over to be saved.
"""

from __future__ import annotations

from .engine import Engine
from .events import CONTENT, REASONING, DataEvent, NamedText, Phase, StreamEvent, StreamFactory
from .generation import EndHook, Generation, LiveReply
from .job import Job, Jobs
from .log import EventLog
from .recording import Checkpoint, Ending, Recorder
from .sse import sse_event

__all__ = [
    "CONTENT",
    "REASONING",
    "Checkpoint",
    "DataEvent",
    "EndHook",
    "Ending",
    "Engine",
    "EventLog",
    "Generation",
    "Job",
    "Jobs",
    "LiveReply",
    "NamedText",
    "Phase",
    "Recorder",
    "StreamEvent",
    "StreamFactory",
    "sse_event",
]
