"""MCP commands (`mcp list`, `mcp tools`, `mcp add`, `mcp remove`, `mcp resources`)."""
