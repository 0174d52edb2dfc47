"""Serving: the assistant for browsers, programs and agents. server.py runs one uvicorn process
with the JSON API (api.py), the Gradio chat (ui.py, chat_render.py, ui_scripts.py) and the
feeds (feeds_api.py, feeds_panel.py), behind access.py's write token and Host and Origin
rules; agent_tools.py and agent_stdio.py are the MCP tools; ray_serve.py runs the same app
in Ray Serve replicas.

Imports the front door (assistant.py), cluster (ray_serve.py opens a collection) and the
layers below them; never cli or tools.
"""
