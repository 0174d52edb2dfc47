"""A news question-answering assistant: cited passages from your articles, as of a date."""
from .assistant import Assistant
from .config import Settings
from .errors import AssistantError
from .types import Article, IngestReport, Passage

__all__ = ["Assistant", "Article", "AssistantError", "IngestReport", "Passage", "Settings"]
