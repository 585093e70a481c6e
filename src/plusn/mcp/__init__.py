"""MCP, both ways: agents call the tools of MCP servers (:mod:`.client`), and plusn serves its
knowledge bases, skills and agents as MCP tools (:mod:`.tools`, over stdio in :mod:`.cli` and
over streamable HTTP at ``/mcp`` in :mod:`.http`).

The ``mcp`` SDK takes over a second to import, so only functions that talk MCP import it.
"""
