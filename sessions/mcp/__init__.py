"""MCP (Model Context Protocol) client: servers from config and ``.mcp.json``, their tools
offered to the model under ``SERVER_tool`` names. Nothing here imports the ``mcp`` SDK at
module level: a run with no MCP server configured never loads it."""
