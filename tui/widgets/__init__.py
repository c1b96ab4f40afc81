"""Widgets of the chat screen: transcript parts, tool calls, prompt, status line."""
